"""JSON API: POST /api/v1/assess runs the engine on a contract input.

Two ways in: a per-user token (``Authorization: Bearer cal_…``, stored hashed; no cookie, so no
CSRF check is needed), or the browser session of a logged-in user, which keeps Django's CSRF
protection (a session-authenticated POST without it would be forgeable). Either way the user
must be a clinician at some site: viewers and reviewers get 403, anonymous callers 401.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from . import access, services
from .engine import InvalidInput, assess
from .jsonio import parse_json, response_bytes


def _error(status: int, field: str, message: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="assess"'
    return response


# Digits only (int() would also take "+12", " 12", "١٢" or "1_000"); 18 digits is beyond any
# real body, and a longer number is refused as malformed rather than converted.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}", re.ASCII)


def _refuse_body_headers(request: HttpRequest) -> JsonResponse | None:
    """400 for a malformed Content-Length, 413 for a body over the limit, 415 for anything but
    UTF-8 JSON (RFC 8259: JSON is UTF-8, and parse_json reads it as such); None when fine."""
    raw = request.META.get("CONTENT_LENGTH") or "0"
    value = raw.strip(" \t")
    if not _CONTENT_LENGTH.fullmatch(value):
        return _error(400, "Content-Length", f"must be a number of bytes, got '{raw[:40]}'")
    if int(value) > settings.API_MAX_BODY_BYTES:
        return _error(413, "body", f"is {int(value)} bytes; the limit is "
                                   f"{settings.API_MAX_BODY_BYTES} bytes")
    content_type = request.content_type or ""  # lower case, parameters split off
    charset = request.content_params.get("charset", "utf-8").lower()
    if content_type != "application/json" or charset not in ("utf-8", "utf8"):
        return _error(415, "content_type", "must be application/json (UTF-8), got "
                                           f"'{request.META.get('CONTENT_TYPE', '')[:60]}'")
    return None


@csrf_exempt  # CSRF is enforced below for session callers; token callers send no cookie
@login_not_required
def assess_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _error(405, "method", "use POST with a JSON body")
        response["Allow"] = "POST"
        return response
    # The body's headers are checked before anything reads the body: the CSRF check of a
    # session caller would parse a form body, trusting a Content-Length Django reads with int().
    refused = _refuse_body_headers(request)
    if refused is not None:
        return refused
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, key = header.partition(" ")
        key = key.strip()
        # A real key is printable ASCII; anything else (NUL, which PostgreSQL refuses in a
        # query, or a lone surrogate, which cannot be hashed) is unknown without a lookup.
        usable = scheme.lower() == "bearer" and key.isascii() and key.isprintable()
        user = services.api_token_user(key) if usable else None
        if user is None:
            return _error(401, "authentication", "the API token is missing, unknown or revoked")
        request.user = user
        return _assess(request)
    if not request.user.is_authenticated:
        return _error(401, "authentication", "send 'Authorization: Bearer <token>' or log in; "
                                             "the API is not open to anonymous callers")
    return csrf_protect(_assess)(request)


def _assess(request: HttpRequest) -> HttpResponse:
    if not access.can_anywhere(request.user, access.WRITE):
        return _error(403, "authentication", "the assessment API is limited to clinicians")
    try:
        data = parse_json(request.body)
        result = assess(data)
    except InvalidInput as error:
        return JsonResponse({"errors": error.as_list()}, status=400)
    return HttpResponse(response_bytes(result), content_type="application/json")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """JSON for API callers, Django's page for everyone else."""
    if request.path.startswith("/api/"):
        return _error(403, "csrf", "CSRF token missing or incorrect: send the csrftoken cookie "
                                   "value in the X-CSRFToken header, or use an API token")
    from django.views.csrf import csrf_failure as default_failure

    return default_failure(request, reason=reason)
