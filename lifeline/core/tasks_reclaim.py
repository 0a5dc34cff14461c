"""Give back tasks whose worker died in the middle of running them.

django-tasks-db marks a task RUNNING when a worker claims it and nothing ever resets it: if that
worker is killed (kill -9, OOM, a lost machine) the task stays RUNNING for good and never runs.
This periodic job puts such a task back to READY once it has been RUNNING for longer than any
task should take, so another worker runs it. Tasks take ids and are idempotent, so running one
again after a crash is safe. A task that has already been claimed `max_claims` times is marked
FAILED instead of being retried forever (it may be what kills its workers).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from . import clock

RUNNING = TaskResultStatus.RUNNING
# Longer than any task may run: a task older than this in RUNNING has lost its worker.
DEFAULT_RECLAIM_AFTER_SECONDS = 15 * 60
DEFAULT_MAX_CLAIMS = 5
WORKER_LOST = "lifeline.core.tasks_reclaim.WorkerLost"


def tasks_reclaim(
    *, older_than_seconds: float | None = None, max_claims: int | None = None
) -> dict[str, int]:
    """Reset RUNNING tasks started more than `older_than_seconds` ago to READY (or FAILED after
    `max_claims` claims). Each row is changed only if it is still the same stale claim, so a
    worker finishing at the same moment is not overwritten."""
    if older_than_seconds is None:
        older_than_seconds = getattr(
            settings, "LIFELINE_TASK_RECLAIM_SECONDS", DEFAULT_RECLAIM_AFTER_SECONDS
        )
    if max_claims is None:
        max_claims = getattr(settings, "LIFELINE_TASK_MAX_CLAIMS", DEFAULT_MAX_CLAIMS)
    now = clock.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    reclaimed = failed = 0
    stale = DBTaskResult.objects.filter(status=RUNNING, started_at__lt=cutoff).values_list(
        "pk", "started_at", "worker_ids"
    )
    for pk, started_at, worker_ids in list(stale[:500]):
        same_claim = DBTaskResult.objects.filter(pk=pk, status=RUNNING, started_at=started_at)
        with transaction.atomic():
            if len(worker_ids or []) >= max_claims:
                failed += same_claim.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path=WORKER_LOST,
                    traceback=f"worker lost {len(worker_ids)} times; not retried again",
                )
            else:
                reclaimed += same_claim.update(status=TaskResultStatus.READY)
    return {"reclaimed": reclaimed, "failed": failed}


def tasks_reclaim_job() -> dict[str, Any]:
    return dict(tasks_reclaim())
