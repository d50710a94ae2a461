# The two commands: `make run` and `make test`. Both create .venv and install what they need.
# The interpreter: Debian's python3.11 when there is one, else the first python3.11 or python3 on
# PATH. Debian builds it with profile-guided optimisation and LTO and links the interpreter into
# the executable; the pyenv 3.11.7 found first on PATH here has neither and ran the engine 16-22%
# and the unit tests 17% slower (docs/PERFORMANCE.md, sixth session). A .venv made by another
# interpreter is kept: `make clean` first to switch.
PYTHON ?= $(or $(wildcard /usr/bin/python3.11),$(shell command -v python3.11 || command -v python3))
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
DEV_ENV := DJANGO_DEBUG=1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint chromium bench bench-engine serve backup restore clean

$(PY):
	$(PYTHON) -m venv $(VENV) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,speed]'
	touch $@

# The engine's hot modules compiled with Cython, rebuilt whenever an engine source changes
# (assessment/engine_build.py). Without a compiler the engine runs as plain Python.
ENGINE_BUILD := assessment/engine/compiled.json
$(ENGINE_BUILD): $(wildcard assessment/engine/*.py assessment/engine/*.pxd) assessment/engine_build.py \
		assessment/engine_loader.py | $(VENV)/.installed
	@$(PY) -m assessment.engine_build || \
		echo "  The engine runs as plain Python: the same answers, slower."

install: $(VENV)/.installed $(ENGINE_BUILD)

## make run: set up, migrate, load the demo cases and start on http://127.0.0.1:8000
run: install
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py ensure_demo_user
	$(DEV_ENV) $(PY) manage.py load_demo --as demo
	@echo ""
	@echo "  Open http://$(HOST):$(PORT)/ and log in with the demo clinician printed above"
	@echo "  (user 'demo'); reviewers use the 'reviewer' account in the admin (/admin/)."
	@echo ""
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

## make test: set up, install Chromium when missing, lint, and run every test
test: install chromium lint
	@$(PY) -c "from assessment import engine, engine_loader; print('Engine:', engine_loader.running().describe())"
	$(PY) -m pytest

lint: install
	$(BIN)/ruff check .

# Browser tests drive Debian's Chromium; `playwright install` cannot download here.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

## make bench: pages, load and engine at 1,000 and 100,000 patients on PostgreSQL
## (DATABASE_URL names the server; databases calc_bench_<n> are created there and kept)
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(PY) -m assessment.benchmark $(BENCH_ARGS)

## make bench-engine: engine assessments per second on one core
bench-engine: install
	$(PY) -m assessment.engine_bench 5000

## make serve: production-style (gunicorn + whitenoise, DEBUG off); settings from the environment
serve: install
	$(PY) manage.py collectstatic --noinput
	$(PY) manage.py migrate --noinput
	$(BIN)/gunicorn calcinosis_site.wsgi --bind $(HOST):$(PORT) --workers 2 --access-logfile -

## make backup: database (records and history) and photos into backups/<date-time>/
backup: install
	$(PY) manage.py backup --output backups/$$(date +%Y%m%d-%H%M%S)

## make restore BACKUP=backups/<folder>: into an empty database (migrated first)
restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/<folder>"; exit 2; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py restore --input $(BACKUP)

clean:
	rm -f assessment/engine/*.so assessment/engine/compiled.json
	rm -rf $(VENV) build staticfiles test-output .pytest_cache .ruff_cache .hypothesis
