"""The dashboard's materialised view: each active agency's internal report for this year and the
last, in English and Khmer, computed by the worker every few minutes and stored as JSON
(`DashboardSnapshot`).

The dashboard serves a snapshot only for what one holds exactly (the viewer's agency, a whole
year, no country filter, the viewer's language) and only while it is younger than twice the
refresh interval; anything else is computed live by `stats.build_report`, as before. A snapshot is
the same `ReportData` the live path returns (data.report_to_dict / report_from_dict), so the page
reads the same either way, bar a note saying when the figures were computed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction

from lifeline.accounts.models import Agency
from lifeline.core import clock

from . import stats
from .data import ReportData, report_from_dict, report_to_dict
from .models import DashboardSnapshot

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "km")


def refresh_seconds() -> float:
    """How often the worker refreshes the snapshots (settings.LIFELINE_DASHBOARD_SNAPSHOT_SECONDS,
    default ten minutes)."""
    return float(getattr(settings, "LIFELINE_DASHBOARD_SNAPSHOT_SECONDS", 600))


def max_age() -> timedelta:
    """A snapshot older than two refresh intervals is not served (the worker is behind)."""
    return timedelta(seconds=2 * refresh_seconds())


def refresh_one(agency: Agency, *, year: int, language: str, now: datetime) -> DashboardSnapshot:
    """Compute one (agency, year, language) report and store it, in one transaction."""
    scope = stats.Scope(period=stats.year_period(year), agency=agency)
    with transaction.atomic():
        report = stats.build_report(scope, year=year, language=language, public=False, now=now)
        snapshot, _created = DashboardSnapshot.objects.update_or_create(
            agency=agency,
            year=year,
            language=language,
            defaults={"computed_at": now, "content": report_to_dict(report)},
        )
    return snapshot


def dashboard_snapshots_refresh(now: datetime | None = None) -> dict[str, Any]:
    """Recompute every active agency's snapshots for `now`'s year and the year before, in each
    language. One failure is logged and does not stop the others."""
    now = now or clock.now()
    done = failed = 0
    for agency in Agency.objects.filter(is_active=True).order_by("pk"):
        for year in (now.year, now.year - 1):
            for language in LANGUAGES:
                try:
                    refresh_one(agency, year=year, language=language, now=now)
                    done += 1
                except Exception:
                    logger.exception(
                        "dashboard snapshot failed: agency %s, %s, %s", agency.pk, year, language
                    )
                    failed += 1
    return {"snapshots": done, "failed": failed}


_running = threading.Lock()


def dashboard_snapshots_job() -> dict[str, Any]:
    """The worker's periodic job. The refresh runs in its own thread, so that a long one (minutes
    at a million cases) never holds up the deadline sweepers that share the scheduler; a tick that
    finds the previous refresh still running skips."""
    if not _running.acquire(blocking=False):
        return {"skipped": "previous refresh still running"}

    def work() -> None:
        try:
            close_old_connections()
            dashboard_snapshots_refresh()
        except Exception:
            logger.exception("dashboard snapshot refresh failed")
        finally:
            connections.close_all()  # this thread's own connections
            _running.release()

    threading.Thread(target=work, name="lifeline-dashboard-snapshots", daemon=True).start()
    return {"started": True}


@dataclass(frozen=True)
class Freshness:
    """When the served figures were computed, for the dashboard's note."""

    computed_at: datetime
    every_minutes: int

    @property
    def as_of(self) -> str:
        """HH:MM in UTC."""
        return f"{self.computed_at.astimezone(UTC):%H:%M}"


def fresh_snapshot(scope: stats.Scope, *, year: int, language: str) -> DashboardSnapshot | None:
    """The snapshot that holds exactly this scope, if one is fresh enough to serve."""
    if (
        scope.agency is None
        or scope.country
        or scope.period != stats.year_period(year)
        or language not in LANGUAGES
    ):
        return None
    return DashboardSnapshot.objects.filter(
        agency=scope.agency,
        year=year,
        language=language,
        computed_at__gt=clock.now() - max_age(),
    ).first()


def dashboard_report(
    scope: stats.Scope, *, year: int, language: str
) -> tuple[ReportData, Freshness | None]:
    """The report the dashboard renders: from a fresh snapshot when one holds exactly this scope
    (with when it was computed), else computed live (and None)."""
    snapshot = fresh_snapshot(scope, year=year, language=language)
    if snapshot is not None:
        freshness = Freshness(snapshot.computed_at, max(1, round(refresh_seconds() / 60)))
        return report_from_dict(snapshot.content), freshness
    return stats.build_report(scope, year=year, language=language, public=False), None
