"""What the signed-in user may do anywhere, for showing or hiding links (the views check
again): ``{% load access_tags %}{% can_anywhere user "report" as can_report %}``."""

from __future__ import annotations

from typing import Any

from django import template

from assessment import access

register = template.Library()


@register.simple_tag
def can_anywhere(user: Any, action: str) -> bool:
    """True when the user's role at some clinic allows ``action`` (one of access.VIEW,
    WRITE, REVIEW, REPORT). Roles are read once per request (access.roles caches them)."""
    return bool(user and user.is_authenticated and access.can_anywhere(user, action))
