"""List markup for the assessment body (``_assessment_body.html``), built in one call per list.

A typical engine output has some 150 sentences (reasons, options, rules fired, sources); as
``{% for %}`` loops the template engine spent about 10 µs on each, and ``format_html`` (lazy
string checks on every argument) nearly as much: most of the body's rendering time. ``_escape``
is Django's ``conditional_escape`` without those checks (the values are the stored output's
plain strings), so the markup is byte-identical.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _escape(value: Any) -> str:
    """As django.utils.html.conditional_escape: markup already safe is kept as it is."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


@register.filter
def li_items(items: Iterable[Any] | None, prefix: str = "") -> SafeString:
    """``<li>{prefix}{item}</li>`` for each item (the prefix is escaped too)."""
    start = f"<li>{_escape(prefix)}"
    return mark_safe("".join(f"{start}{_escape(item)}</li>" for item in items or ()))


@register.filter
def rule_items(rules: Iterable[Mapping[str, Any]] | None) -> SafeString:
    """The rules fired: id, sentence and source tag."""
    return mark_safe("".join(
        f'<li><code>{_escape(rule["id"])}</code> {_escape(rule["text"])} '
        f'<span class="source-tag">{_escape(rule["source"])}</span></li>'
        for rule in rules or ()))


@register.filter
def source_items(sources: Mapping[str, Any] | None) -> SafeString:
    """The sources cited: tag and title, as definition list entries."""
    return mark_safe("".join(f"<dt>{_escape(code)}</dt><dd>{_escape(title)}</dd>"
                             for code, title in (sources or {}).items()))


@register.filter
def dl_items(items: Iterable[tuple[Any, Any]] | None) -> SafeString:
    """``(label, text)`` pairs as definition list entries, one ``<div>`` each (the findings
    entered)."""
    return mark_safe("".join(f"<div><dt>{_escape(label)}</dt><dd>{_escape(text)}</dd></div>"
                             for label, text in items or ()))
