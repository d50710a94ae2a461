"""``make bench``: the registry-scale benchmark, printed as a table.

For each scale (default 1,000 and 100,000 patients) it uses a PostgreSQL database named
``calc_bench_<n>`` next to DATABASE_URL's server (created, migrated and filled by
``manage.py synth`` when needed, then kept for the next run), and measures:

1. every page's server time (median, 95th percentile) and query count, in process
   (``manage.py bench_pages``);
2. requests per second under concurrent load through gunicorn (same settings at every scale)
   for the trivial view, the worklist and the assessment API, with ``wrk`` on the loopback
   interface, in bounded runs; and each gunicorn worker's peak resident memory;
3. the engine's assessments per second.

Then it prints the targets: same query counts at both scales, p95 at the large scale within
1.5x of the small one, worklist >= 15% and API >= 25% of the trivial view's requests/s,
workers under 250 MB. The figures vary with the machine; the ratios are the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PORT = 8040
GUNICORN_WORKERS = 3
WRK = ["wrk", "--threads", "2", "--connections", "8", "--duration", "10s", "--timeout", "10s"]
SECRET = "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/calcinosis")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("make bench measures PostgreSQL: set DATABASE_URL=postgres://… (the server "
                 "is used; databases calc_bench_<n> are created on it)")
    return url.rsplit("/", 1)[0]


def env_for(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({
        "DATABASE_URL": f"{server_url()}/{database}", "DJANGO_SETTINGS_MODULE":
        "calcinosis_site.settings", "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_SECURE_HSTS_SECONDS": "0", "DJANGO_LOG_LEVEL": "WARNING",
    })
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                            capture_output=True, check=False)
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(patients: int) -> tuple[str, dict[str, str], str]:
    import psycopg

    database = f"calc_bench_{patients}"
    with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    env = env_for(database)
    manage(env, "migrate", "--noinput", "-v", "0")
    with psycopg.connect(f"{server_url()}/{database}") as conn:
        have = conn.execute("SELECT count(*) FROM assessment_patient WHERE record_number "
                            "LIKE 'SYN%%'").fetchone()[0]
    note = f"{have} synthetic patients present"
    if have < patients:
        note = manage(env, "synth", "--patients", str(patients - have)).strip()
    return database, env, note


def page_figures(env: dict[str, str], repeat: int) -> list[dict[str, Any]]:
    out = manage(env, "bench_pages", "--repeat", str(repeat), "--json")
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


SESSIONS = """
from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from assessment.management.commands.bench_pages import bench_user
from assessment import services
user = bench_user()
keys = []
for _ in range(8):
    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "assessment.auth.DemoAwareModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    keys.append(s.session_key)
_, key = services.api_token_create(user=user, name="benchmark")
print("SESSIONS", " ".join(keys))
print("TOKEN", key)
"""


def load_figures(env: dict[str, str], body: str) -> dict[str, Any]:
    out = manage(env, "shell", "-c", SESSIONS)
    sessions = re.search(r"SESSIONS (.+)", out).group(1).split()
    token = re.search(r"TOKEN (\S+)", out).group(1)
    scripts = Path(tempfile.mkdtemp(prefix="bench-"))
    cookies = ", ".join(f'"sessionid={key}"' for key in sessions)
    (scripts / "get.lua").write_text(
        f"local cookies = {{{cookies}}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n"
        "  wrk.headers['Cookie'] = cookies[(n % #cookies) + 1]\n"
        "  return wrk.format('GET')\nend\n")
    (scripts / "body.json").write_text(body)
    (scripts / "api.lua").write_text(
        "wrk.method = 'POST'\n"
        f"wrk.body = io.open('{scripts / 'body.json'}'):read('*a')\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        f"wrk.headers['Authorization'] = 'Bearer {token}'\n")
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "calcinosis_site.wsgi",
         "--bind", f"127.0.0.1:{PORT}", "--workers", str(GUNICORN_WORKERS),
         "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        figures: dict[str, Any] = {}
        for name, path, script in (("trivial view", "/ping", "get.lua"),
                                   ("worklist", "/", "get.lua"),
                                   ("assessment API", "/api/v1/assess", "api.lua")):
            result = subprocess.run([*WRK, "--script", str(scripts / script),
                                     f"http://127.0.0.1:{PORT}{path}"], capture_output=True,
                                    text=True, check=True, timeout=60)
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
            figures[name] = {"rps": rps, "errors": int(errors.group(1)) if errors else 0}
        workers = subprocess.run(["pgrep", "-P", str(gunicorn.pid)], capture_output=True,
                                 text=True).stdout.split()
        peaks = []
        for pid in workers:
            status = Path(f"/proc/{pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024)
        figures["worker_peak_mb"] = max(peaks) if peaks else None
        return figures
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)


def engine_figure() -> str:
    result = subprocess.run([sys.executable, "-m", "assessment.engine_bench", "5000"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return re.search(r"([\d,]+) assessments/s", result.stdout).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    body = json.dumps(json.loads((ROOT / "tests" / "data" / "cases" /
                                  "seed_case_c_heel_stick_nodules.json").read_text())["input"])
    results: dict[int, dict[str, Any]] = {}
    for scale in args.scales:
        print(f"== {scale} patients: preparing", flush=True)
        _, env, note = prepare(scale)
        print(f"   {note}", flush=True)
        manage(env, "collectstatic", "--noinput", "-v", "0")
        results[scale] = {"pages": page_figures(env, args.repeat),
                          "load": load_figures(env, body)}
    report(results, engine_figure())


def report(results: dict[int, dict[str, Any]], engine: str) -> None:
    small, large = min(results), max(results)
    print()
    print("Server time per page (ms, in process) and queries")
    head = f"{'page':28}" + "".join(f" | {s:>7} pts: q  median    p95" for s in results)
    print(head + "  | p95 ratio")
    pages = [row["page"] for row in results[small]["pages"]]
    failures = []
    for page in pages:
        rows = {s: next(r for r in results[s]["pages"] if r["page"] == page) for s in results}
        line = f"{page:28}" + "".join(
            f" | {rows[s]['queries']:>11} {rows[s]['median_ms']:>7.1f} {rows[s]['p95_ms']:>6.1f}"
            for s in results)
        ratio = rows[large]["p95_ms"] / max(rows[small]["p95_ms"], 1e-9)
        same = len({rows[s]["queries"] for s in results}) == 1
        line += f"  | {ratio:>5.2f}x" + ("" if same else "  QUERIES DIFFER")
        print(line)
        if not same:
            failures.append(f"{page}: query count differs")
        if ratio > 1.5:
            failures.append(f"{page}: p95 ratio {ratio:.2f} > 1.5")
    print()
    print("Throughput under load (gunicorn, "
          f"{GUNICORN_WORKERS} sync workers; wrk 2 threads, 8 connections, 10 s)")
    for scale in results:
        load = results[scale]["load"]
        floor = load["trivial view"]["rps"]
        worklist, api = load["worklist"]["rps"], load["assessment API"]["rps"]
        print(f"  {scale:>7} patients: trivial {floor:8.1f} req/s | worklist {worklist:7.1f} "
              f"({worklist / floor:5.1%}) | API {api:7.1f} ({api / floor:5.1%}) | "
              f"worker peak {load['worker_peak_mb']} MB")
        errors = sum(v["errors"] for k, v in load.items() if isinstance(v, dict))
        if errors:
            failures.append(f"{scale}: {errors} non-2xx responses under load")
        if scale == large:
            if worklist / floor < 0.15:
                failures.append(f"worklist {worklist / floor:.1%} < 15% of the trivial view")
            if api / floor < 0.25:
                failures.append(f"API {api / floor:.1%} < 25% of the trivial view")
        if (load["worker_peak_mb"] or 0) >= 250:
            failures.append(f"{scale}: worker peak {load['worker_peak_mb']} MB >= 250 MB")
    print()
    print(f"Engine: {engine} assessments/s on one core")
    print()
    print("Targets: " + ("all met." if not failures else "NOT MET: " + "; ".join(failures)))


if __name__ == "__main__":
    main()
