"""`lifeline worker`: the background worker (django-tasks queue) plus periodic jobs."""

from __future__ import annotations

import os
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tasks_db.management.commands.db_worker import Worker

from lifeline.core.periodic import Scheduler
from lifeline.core.startup import startup_refusal


class Command(BaseCommand):
    help = "Run queued tasks and the periodic jobs (deadline sweeper, heartbeats)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="queue poll seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        refusal = startup_refusal()
        if refusal:
            raise CommandError(refusal)
        scheduler = Scheduler()
        scheduler.start()
        worker = Worker(
            queue_names=["default"],
            interval=options["interval"],
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{socket.gethostname()}-{os.getpid()}"[:64],
            excluded_queue_names=[],
        )
        worker.configure_signals()
        try:
            worker.run()
        finally:
            scheduler.stop()
            scheduler.join(timeout=5)
