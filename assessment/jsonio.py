"""Reading contract JSON from text, shared by the CLI and the API so both report bad JSON alike."""

from __future__ import annotations

import json
from typing import Any

from .engine import FieldError, InvalidInput


def parse_json(text: str | bytes, *, field: str = "body") -> Any:
    """Parse JSON text or raise InvalidInput naming ``field`` with the line and column."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise InvalidInput([FieldError(field, "must be UTF-8 encoded JSON")]) from None
    except json.JSONDecodeError as error:
        raise InvalidInput([FieldError(
            field, f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        )]) from None
    except ValueError as error:  # NaN/Infinity, or an integer too long to parse
        raise InvalidInput([FieldError(field, f"is not valid JSON: {error}")]) from None
    except RecursionError:
        raise InvalidInput([FieldError(field, "is nested too deeply")]) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def dumps(data: Any) -> str:
    """Deterministic JSON: same input and ruleset give byte-identical text."""
    return json.dumps(data, ensure_ascii=False, indent=2)
