"""The clinical assessment engine: pure Python, no Django, no clock, no database.

``assess(data)`` takes a contract input (see docs in README) and returns the contract output;
``InvalidInput`` carries the field errors of bad input.
"""

from .. import engine_loader

# Before any engine module is imported: the Cython build when it matches the source, else the
# source itself (engine_loader.py).
engine_loader.choose()

from .core import RULESET_VERSION, assess, assess_findings  # noqa: E402
from .validation import FieldError, Findings, InvalidInput, validate  # noqa: E402
from .vocab import CONTRACT_VERSION  # noqa: E402

__all__ = [
    "CONTRACT_VERSION",
    "RULESET_VERSION",
    "FieldError",
    "Findings",
    "InvalidInput",
    "assess",
    "assess_findings",
    "validate",
]
