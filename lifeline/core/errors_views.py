from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The same page for "missing" and "not yours", so refusals reveal nothing."""
    return HttpResponse(loader.render_to_string("404.html", request=request), status=404)
