"""Liveness and readiness: the database, and (once they exist) the worker and the sweeper."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse

# Apps register extra health checks here: name -> callable returning (ok, detail).
HEALTH_CHECKS: dict[str, Callable[[], tuple[bool, dict[str, object]]]] = {}


def _database() -> tuple[bool, dict[str, object]]:
    try:
        # nosemgrep: lifeline-raw-sql -- health probe, SELECT 1, touches no table
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy", reported without detail leaks
        return False, {"error": type(exc).__name__}
    return True, {"vendor": connection.vendor}


def health(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, object]] = {}
    ok_all = True
    for name, check in {"database": _database, **HEALTH_CHECKS}.items():
        ok, detail = check()
        checks[name] = {"ok": ok, **detail}
        ok_all = ok_all and ok
    return JsonResponse(
        {"status": "green" if ok_all else "red", "checks": checks}, status=200 if ok_all else 503
    )


def _worker() -> tuple[bool, dict[str, object]]:
    from . import clock, periodic

    beat = periodic.last_beat("worker")
    if beat is None:
        return False, {"error": "worker has never run"}
    age = (clock.now() - beat.beat_at).total_seconds()
    return age <= 60, {"seconds_since_beat": round(age, 1)}


HEALTH_CHECKS["worker"] = _worker
