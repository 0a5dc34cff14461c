"""A task for the reclaim tests: on its first claim it hangs (so a worker can be killed while
running it); on any later claim it finishes at once and leaves a marker row."""

from __future__ import annotations

import time

from django_tasks import TaskContext, task

from lifeline.core import clock
from lifeline.core.models import Heartbeat


@task(takes_context=True)
def reliability_marker_task(context: TaskContext, marker: str, hang_seconds: float = 0.0) -> int:
    claims = len(context.task_result.worker_ids)
    if claims <= 1 and hang_seconds:
        time.sleep(hang_seconds)
    Heartbeat.objects.update_or_create(
        name=f"marker:{marker}"[:64],
        defaults={"beat_at": clock.now(), "detail": {"claims": claims}},
    )
    return claims
