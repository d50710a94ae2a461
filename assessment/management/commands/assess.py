"""``python manage.py assess FILE|-``: run the engine on a contract input file.

Exit 0 with the assessment JSON on standard output; exit 2 with one ``field: message`` line per
problem on standard error and nothing on standard output when the input is invalid.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from assessment.engine import InvalidInput, assess
from assessment.jsonio import dumps, parse_json

MAX_INPUT_BYTES = 1024 * 1024


class Command(BaseCommand):
    help = "Assess one lesion presentation (contract JSON) from FILE, or '-' for standard input."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="path to a contract input JSON file, or - for stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["file"]
        try:
            if source == "-":
                text = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
            else:
                path = Path(source)
                if not path.is_file():
                    self._fail([f"file: no such file '{source}'"])
                text = path.read_bytes()[: MAX_INPUT_BYTES + 1]
            if len(text) > MAX_INPUT_BYTES:
                self._fail([f"file: larger than {MAX_INPUT_BYTES} bytes"])
            result = assess(parse_json(text, field="file"))
        except InvalidInput as error:
            self._fail([str(e) for e in error.errors])
        except OSError as error:
            self._fail([f"file: cannot be read ({error.strerror})"])
        self.stdout.write(dumps(result))

    def _fail(self, lines: list[str]) -> None:
        for line in lines:
            self.stderr.write(line)
        raise SystemExit(2)
