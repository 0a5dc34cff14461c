"""The project's URLs plus views that fail on purpose, for test_error_pages.py."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler404
from config.urls import urlpatterns as project_urlpatterns
from lifeline.accounts.access import public

CANARY = "CANARY-ERR-7Q3X Sokha Phantom +85512999777"

__all__ = ["handler404", "urlpatterns"]


@public
def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"unexpected state for {CANARY}")


@public
def crash_in_sql(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT '{CANARY}' FROM no_such_table_canary")  # noqa: S608 (fixed text)
    return HttpResponse("unreachable")


@public
def bad(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation(f"bad input {CANARY}")


@public
def denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied(f"not for {CANARY}")


@public
def missing(request: HttpRequest) -> HttpResponse:
    raise Http404(f"no record {CANARY}")


urlpatterns = [
    path("boom/", crash),
    path("boom-sql/", crash_in_sql),
    path("bad/", bad),
    path("denied/", denied),
    path("missing/", missing),
    *project_urlpatterns,
]
