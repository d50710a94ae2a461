"""JSON API: POST /api/v1/assess runs the engine on a contract input.

Authentication is the browser session of a clinician or staff user for now (per-user tokens
come with the hardening issue); anonymous callers get 401 JSON, never the engine. CSRF
protection stays on: a session-authenticated POST without it would be forgeable.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse

from .engine import InvalidInput, assess
from .jsonio import parse_json


def _error(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


@login_not_required
def assess_view(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "method", "use POST with a JSON body")
        response["Allow"] = "POST"
        return response
    if not request.user.is_authenticated:
        return _error(401, "authentication", "log in first; the API is not open to anonymous "
                                             "callers")
    if not (request.user.is_staff or request.user.has_perm("assessment.add_assessment")):
        return _error(403, "authentication", "the assessment API is limited to clinicians and "
                                             "staff")
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
                                   "value in the X-CSRFToken header")
    from django.views.csrf import csrf_failure as default_failure

    return default_failure(request, reason=reason)
