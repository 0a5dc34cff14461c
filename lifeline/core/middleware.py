"""Middleware that belongs to no domain app."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

# TRACE (and Microsoft's TRACK) echo the request back, cookies and headers included, and CONNECT
# asks for a tunnel: no Lifeline view has a use for any of them (battery E7).
REFUSED_METHODS = frozenset({"TRACE", "TRACK", "CONNECT"})


class RefuseTraceMiddleware:
    """Answer 405 to TRACE, TRACK and CONNECT on every route, before any view or login redirect."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (request.method or "").upper() in REFUSED_METHODS:
            return HttpResponseNotAllowed(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        return self.get_response(request)
