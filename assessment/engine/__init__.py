"""The clinical assessment engine: pure Python, no Django, no clock, no database.

``assess(data)`` takes a contract input (see docs in README) and returns the contract output;
``InvalidInput`` carries the field errors of bad input.
"""

from .core import RULESET_VERSION, assess, assess_findings
from .validation import FieldError, Findings, InvalidInput, validate
from .vocab import CONTRACT_VERSION

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
