"""Periodic jobs run by the worker (`lifeline worker`), each with its own heartbeat.

Deadlines are enforced by sweeping deadline columns on a timer, not by delayed tasks, so a lost
task cannot silence an escalation. Apps register their jobs in `AppConfig.ready()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections

from . import clock
from .models import Heartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], dict[str, Any] | None]


JOBS: dict[str, Job] = {}


def register(name: str, every_seconds: float, run: Callable[[], dict[str, Any] | None]) -> None:
    JOBS[name] = Job(name, every_seconds, run)


def beat(name: str, detail: dict[str, Any] | None = None) -> None:
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": clock.now(), "detail": detail or {}}
    )


def last_beat(name: str) -> Heartbeat | None:
    return Heartbeat.objects.filter(name=name).first()


def run_job(job: Job) -> None:
    """Run one job once and record its heartbeat; a failure is logged, never fatal."""
    try:
        detail = job.run() or {}
        beat(job.name, detail)
    except Exception:
        logger.exception("periodic job %s failed", job.name)


class Scheduler(threading.Thread):
    """Runs every registered job on its interval, plus the worker's own heartbeat."""

    def __init__(self, *, worker_beat_seconds: float = 5.0) -> None:
        super().__init__(name="lifeline-scheduler", daemon=True)
        self.stopping = threading.Event()
        self.worker_beat_seconds = worker_beat_seconds

    def run(self) -> None:
        due: dict[str, float] = {}
        while not self.stopping.is_set():
            now = time.monotonic()
            close_old_connections()
            jobs = [Job("worker", self.worker_beat_seconds, lambda: None), *JOBS.values()]
            for job in jobs:
                if due.get(job.name, 0.0) <= now:
                    run_job(job)
                    due[job.name] = now + job.every_seconds
            close_old_connections()
            wake = min(due.values()) - time.monotonic()
            self.stopping.wait(max(0.2, min(wake, 1.0)))

    def stop(self) -> None:
        self.stopping.set()
