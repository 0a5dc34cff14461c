"""A task left RUNNING by a killed worker is reclaimed (back to READY) and then run by another
worker; one that keeps losing its worker is failed instead of retried for ever."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker as DbWorker
from django_tasks_db.models import DBTaskResult

from lifeline.core import clock
from lifeline.core.models import Heartbeat
from lifeline.core.tasks_reclaim import WORKER_LOST, tasks_reclaim

from .harness import Site, Worker, django_run, query

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
TABLE = "django_tasks_database_dbtaskresult"


@pytest.fixture
def db_tasks(settings: Any) -> None:
    settings.TASKS = DB_TASKS


def _claimed_by_dead_worker(marker: str, dead: list[str]) -> DBTaskResult:
    from .tasks import reliability_marker_task

    result = reliability_marker_task.enqueue(marker=marker)
    row = DBTaskResult.objects.get(pk=result.id)
    for worker_id in dead:
        row.claim(worker_id)  # RUNNING, then the worker is killed: nobody finishes it
    return row


def _run_next(worker_id: str) -> None:
    """What `db_worker` does for one task: lock the next READY row, claim it, run it."""
    row = DBTaskResult.objects.ready().get_locked()
    assert row is not None
    row.claim(worker_id)
    worker = DbWorker(
        queue_names=["default"], interval=0, batch=True, backend_name="default",
        startup_delay=False, max_tasks=1, worker_id=worker_id, excluded_queue_names=[],
    )  # fmt: skip
    worker.run_task(row)


@pytest.mark.django_db
def test_task_left_running_by_a_killed_worker_is_reclaimed_and_then_runs(db_tasks: None) -> None:
    row = _claimed_by_dead_worker("unit", ["dead-host-4242"])

    assert tasks_reclaim() == {"reclaimed": 0, "failed": 0}  # still within the time a task may run
    clock.advance(timedelta(minutes=16))
    assert tasks_reclaim() == {"reclaimed": 1, "failed": 0}
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY

    _run_next("live-worker")
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.worker_ids == ["dead-host-4242", "live-worker"]
    assert row.return_value == 2
    assert Heartbeat.objects.get(name="marker:unit").detail == {"claims": 2}


@pytest.mark.django_db
def test_task_that_keeps_losing_its_worker_is_failed_not_retried(db_tasks: None) -> None:
    row = _claimed_by_dead_worker("poison", [f"dead-{i}" for i in range(5)])
    clock.advance(timedelta(minutes=16))
    assert tasks_reclaim() == {"reclaimed": 0, "failed": 1}
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == WORKER_LOST


@pytest.mark.django_db
def test_reclaim_leaves_finished_and_waiting_tasks_alone(db_tasks: None) -> None:
    from .tasks import reliability_marker_task

    waiting = reliability_marker_task.enqueue(marker="waiting")
    _run_next("w1")
    finished = reliability_marker_task.enqueue(marker="finished")
    clock.advance(timedelta(hours=2))
    assert tasks_reclaim() == {"reclaimed": 0, "failed": 0}
    statuses = {str(pk): s for pk, s in DBTaskResult.objects.values_list("id", "status")}
    assert statuses[waiting.id] == TaskResultStatus.SUCCESSFUL
    assert statuses[finished.id] == TaskResultStatus.READY


ENQUEUE = """
from tests.reliability.tasks import reliability_marker_task
print(reliability_marker_task.enqueue(marker="e2e", hang_seconds=120).id)
"""


def _task_row(site: Site, task_id: str) -> tuple[str, list[str]]:
    sql = f"SELECT status, worker_ids FROM {TABLE} WHERE id = %s"  # noqa: S608
    rows = query(site.database_url, sql, (task_id,))
    return rows[0][0], rows[0][1]


def _wait_status(site: Site, task_id: str, status: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current, worker_ids = _task_row(site, task_id)
        if current == status:
            return worker_ids
        time.sleep(0.2)
    raise AssertionError(f"task still {current}, wanted {status}")


@pytest.mark.slow
def test_real_worker_killed_mid_task_leaves_it_running_and_the_next_worker_reclaims_it(
    crash_site: Site, workdir: Path
) -> None:
    task_id = django_run(crash_site.env, ENQUEUE).strip().splitlines()[-1]
    first = Worker(crash_site.env, workdir)
    second = Worker(crash_site.env, workdir)
    try:
        first.start()
        _wait_status(crash_site, task_id, "RUNNING", 30)
        first.kill()  # kill -9 in the middle of the task
        time.sleep(1)
        assert _task_row(crash_site, task_id)[0] == "RUNNING"
        # As if the worker had died 16 minutes ago, beyond the longest a task may run.
        query(
            crash_site.database_url,
            f"UPDATE {TABLE} SET started_at = now() - interval '16 minutes' WHERE id = %s",  # noqa: S608
            (task_id,),
        )
        started = time.monotonic()
        second.start()
        worker_ids = _wait_status(crash_site, task_id, "SUCCESSFUL", 30)
        assert len(worker_ids) == 2
        marker = query(
            crash_site.database_url, "SELECT detail FROM core_heartbeat WHERE name = 'marker:e2e'"
        )
        assert marker == [({"claims": 2},)]
        print(
            f"\ntask reclaim: killed worker's task reclaimed and run "
            f"{time.monotonic() - started:.1f}s after the next worker started"
        )
    finally:
        first.stop()
        second.stop()
