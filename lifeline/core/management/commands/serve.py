"""`lifeline serve`: the web server and the background worker together; one Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifeline.core.startup import startup_refusal

# Two single-threaded workers per core: each connection goes to a worker that is free. On the
# 2-core machine, intake at 100 req/s (benchmarks/intake.py, idle machine, 20 s runs) had
# p99 17-27 ms and max 27-67 ms with 4 x 1, p99 19-25 ms but max 135-184 ms with 4 x 4, and
# p99 36 ms with the former default 2 x 4; with other work on the cores 4 x 1 led in every pair.
# Sync workers expect a buffering reverse proxy (e.g. nginx) in front in production, as
# gunicorn advises; give --threads for a deployment without one.
DEFAULT_WORKERS = max(2, 2 * (os.cpu_count() or 1))


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and the worker; stop both with one Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=DEFAULT_WORKERS,
            help=f"gunicorn worker processes (default: 2 per core, here {DEFAULT_WORKERS})",
        )  # fmt: skip
        parser.add_argument(
            "--threads", type=int, default=1,
            help="threads per worker (default 1: gunicorn's sync worker; see the README)",
        )  # fmt: skip
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, *args: Any, **options: Any) -> None:
        refusal = startup_refusal()
        if refusal:
            raise CommandError(refusal)
        env = dict(os.environ)
        bind = f"{options['host']}:{options['port']}"
        web = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", bind,
            "--workers", str(options["workers"]),
            "--threads", str(options["threads"]),
            "--graceful-timeout", "10",
            "--access-logfile", "-",
        ]  # fmt: skip
        children = [subprocess.Popen(web, env=env)]  # noqa: S603 (our own interpreter)
        if not options["no_worker"]:
            worker = [sys.executable, "-m", "lifeline.cli", "worker"]
            children.append(subprocess.Popen(worker, env=env))  # noqa: S603
        self.stdout.write(f"Lifeline is running at http://{bind}/  (Ctrl-C stops it)")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                if any(child.poll() is not None for child in children):
                    self.stderr.write("a Lifeline process exited; stopping the others")
                    break
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
