"""JSON API: POST /api/v1/assess runs the engine on a contract input.

Two ways in: a per-user token (``Authorization: Bearer cal_…``, stored hashed; no cookie, so no
CSRF check is needed), or the browser session of a logged-in user, which keeps Django's CSRF
protection (a session-authenticated POST without it would be forgeable). Either way the user
must be a clinician at some site: viewers and reviewers get 403, anonymous callers 401.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from . import access, services
from .engine import InvalidInput, assess
from .jsonio import parse_json


def _error(status: int, field: str, message: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="assess"'
    return response


@csrf_exempt  # CSRF is enforced below for session callers; token callers send no cookie
@login_not_required
def assess_view(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "method", "use POST with a JSON body")
        response["Allow"] = "POST"
        return response
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, key = header.partition(" ")
        user = services.api_token_user(key.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            return _error(401, "authentication", "the API token is missing, unknown or revoked")
        request.user = user
        return _assess(request)
    if not request.user.is_authenticated:
        return _error(401, "authentication", "send 'Authorization: Bearer <token>' or log in; "
                                             "the API is not open to anonymous callers")
    return csrf_protect(_assess)(request)


def _assess(request: HttpRequest) -> JsonResponse:
    if not access.can_anywhere(request.user, access.WRITE):
        return _error(403, "authentication", "the assessment API is limited to clinicians")
    content_type = request.content_type or ""
    if content_type != "application/json":
        return _error(415, "content_type", f"must be application/json, got '{content_type[:60]}'")
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.API_MAX_BODY_BYTES:
        return _error(413, "body", f"is {length} bytes; the limit is "
                                   f"{settings.API_MAX_BODY_BYTES} bytes")
    try:
        data = parse_json(request.body)
        result = assess(data)
    except InvalidInput as error:
        return JsonResponse({"errors": error.as_list()}, status=400)
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """JSON for API callers, Django's page for everyone else."""
    if request.path.startswith("/api/"):
        return _error(403, "csrf", "CSRF token missing or incorrect: send the csrftoken cookie "
                                   "value in the X-CSRFToken header, or use an API token")
    from django.views.csrf import csrf_failure as default_failure

    return default_failure(request, reason=reason)
