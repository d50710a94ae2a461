"""Response headers every dynamic page needs."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase
from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every response Django makes.

    Pages, the admin, the API, the CSV export and photos carry patient data, which no shared
    proxy nor the browser's disk cache may keep (a shared clinic computer, the back button after
    logout). Merged with what a view already set (the photo view's, the admin's never_cache), so
    none of its directives is lost. Static files never get here: WhiteNoise, earlier in
    MIDDLEWARE, answers them itself and they stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response


CONTENT_LENGTH = re.compile(r"[0-9]{1,18}", re.ASCII)


class MalformedContentLengthMiddleware:
    """400 for a request whose ``Content-Length`` is not a plain number of bytes.

    Django reads the header with ``int()`` when a view or the CSRF check first touches the body,
    so ``Content-Length: abc`` on any form POST would otherwise end in a 500. The JSON API
    answers this itself, in its own error shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        raw = request.META.get("CONTENT_LENGTH")
        if raw and not request.path.startswith("/api/") and not CONTENT_LENGTH.fullmatch(
                raw.strip(" \t")):
            return HttpResponseBadRequest("The Content-Length header must be a number of bytes.",
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)
