"""Shared machinery for the reliability tests and the intake benchmark: scratch PostgreSQL
databases and clusters, a real server in its own process group, and an idempotent load generator.

Everything here talks to 127.0.0.1 only and is bounded in count and time. Whatever starts a
process also stops it (try/finally at the call sites; `Server.stop` and `Cluster.stop` are safe
to call twice).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PG_BIN = Path(os.environ.get("LIFELINE_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_SCHEMES = ("postgres", "postgresql", "pgsql")


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_url() -> str | None:
    """DATABASE_URL when it points at PostgreSQL, else None (the tests then skip)."""
    url = os.environ.get("DATABASE_URL", "")
    return url if urlsplit(url).scheme in PG_SCHEMES else None


def with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, "/" + name, parts.query, ""))


def connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`; dropped (forcibly) afterwards."""
    from psycopg import sql

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = with_dbname(server_url, "postgres")
    with connect(admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_dbname(server_url, name)
    finally:
        with connect(admin) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A throwaway PostgreSQL cluster (initdb in a temp dir, loopback port, fsync on)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lifeline-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=on"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options,
                  "-w", "-t", "30", "start")  # fmt: skip

    def crash(self) -> None:
        """What a power cut looks like to the server: no checkpoint, WAL replay on start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- a project checkout running as a server -------------------------------------------------


def django_env(database_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DATABASE_URL=database_url,
        LIFELINE_VAR_DIR=str(var_dir),
        LIFELINE_DEBUG="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def django_run(env: dict[str, str], code: str, *args: str, timeout: float = 120) -> str:
    """Run `code` in a fresh interpreter with Django set up for `env`; return its stdout."""
    script = "import django\ndjango.setup()\n" + code
    done = subprocess.run(
        [PYTHON, "-c", script, *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"django_run failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


SETUP_CODE = """
import json, sys
from lifeline.accounts.models import Agency
from lifeline.accounts.services import api_client_create
from lifeline.audit.services import SystemActor
from lifeline.intake.models import IntakeSettings
agency, _ = Agency.objects.get_or_create(
    code=sys.argv[1],
    defaults={"name": "Reliability hotline (synthetic)", "kind": "hotline", "country": "KH"},
)
IntakeSettings.objects.get_or_create(agency=agency)
client, token = api_client_create(actor=SystemActor("reliability"), agency=agency, name="load")
print(json.dumps({"agency_id": agency.pk, "token": token}))
"""


@dataclass
class Site:
    """A migrated database with one agency and one API client."""

    database_url: str
    var_dir: Path
    agency_id: int
    token: str

    @property
    def env(self) -> dict[str, str]:
        return django_env(self.database_url, self.var_dir)


def site_prepare(database_url: str, var_dir: Path) -> Site:
    env = django_env(database_url, var_dir)
    subprocess.run(
        [PYTHON, "-m", "lifeline.cli", "migrate", "--noinput", "-v", "0"],
        cwd=REPO, env=env, check=True, timeout=180,
    )  # fmt: skip
    out = json.loads(django_run(env, SETUP_CODE, "rel-hotline").strip().splitlines()[-1])
    return Site(database_url, var_dir, int(out["agency_id"]), str(out["token"]))


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command name) is the parent pid.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


class Server:
    """gunicorn (config.wsgi) plus, optionally, `lifeline worker`, in one process group.

    Started the way a supervisor would start it, with a pid file, so a restart after kill -9
    meets the stale pid file the dead master left behind.
    """

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        *,
        port: int | None = None,
        workers: int = 2,
        threads: int = 4,
        with_worker: bool = True,
    ) -> None:
        self.env = env
        self.workdir = workdir
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.with_worker = with_worker
        self.pidfile = workdir / "gunicorn.pid"
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *, ready_timeout: float = 60) -> None:
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 (child keeps it)
        web = [
            PYTHON, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--threads", str(self.threads),
            "--pid", str(self.pidfile), "--graceful-timeout", "5", "--timeout", "30",
        ]  # fmt: skip
        self.web = subprocess.Popen(
            web, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            process_group=0,  # a group of its own; the worker joins it (same session)
        )  # fmt: skip
        if self.with_worker:
            self.worker = subprocess.Popen(
                [PYTHON, "-m", "lifeline.cli", "worker"], cwd=REPO, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, process_group=self.web.pid,
            )  # fmt: skip
        log.close()
        self.starts += 1
        self.wait_ready(ready_timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.web is not None
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.web.returncode}); see {self.workdir}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/health")
                conn.getresponse().read()
                conn.close()
                return
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    @property
    def pgid(self) -> int:
        assert self.web is not None
        return self.web.pid

    def kill_group(self) -> None:
        """kill -9 every process of the server at once, as a crash or OOM kill would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        for proc in (self.web, self.worker):
            if proc is not None:
                proc.wait(timeout=10)

    def web_workers(self) -> list[int]:
        return _children(self.pgid)

    def kill_one_web_worker(self) -> int:
        victim = self.web_workers()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self) -> None:
        for proc in (self.worker, self.web):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.worker, self.web):
            if proc is None:
                continue
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self.web is not None:  # stragglers of the group (workers of a killed master)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.web.pid, signal.SIGKILL)


class Worker:
    """`lifeline worker` alone, in its own process group."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.workdir / "worker.log", "ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "lifeline.cli", "worker"], cwd=REPO, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    stop = kill


# --- the load generator ------------------------------------------------------------------------


def request_body(i: int) -> bytes:
    """A synthetic help request; every tenth one urgent (it then also writes an outbox row)."""
    return json.dumps(
        {
            "reporter_type": "family",
            "reporter_name": "Synthetic Reporter " + "".join(chr(97 + int(d)) for d in str(i)),
            "reporter_phone": "+85512345678",
            "country": "TH",
            "narrative": f"Synthetic load-test request {i}. Not a real person. " * 3,
            "is_child": i % 10 == 0,
            "language": "en",
        }
    ).encode()


@dataclass
class Attempt:
    key: str
    sent: float
    received: float
    status: int  # -1: no HTTP answer (refused, reset, timeout)


@dataclass
class Outcome:
    key: str
    body: bytes
    status: int = 0
    reference: str = ""
    attempts: int = 0
    error: str = ""

    @property
    def acked(self) -> bool:
        return self.status in (200, 201)


@dataclass
class LoadGenerator:
    """Sends logical requests, each with its own UUID Idempotency-Key reused on every retry.

    A new connection per attempt (as a phone on a bad network would), full-jitter exponential
    backoff on 5xx and connection errors, bounded attempts; a 4xx is final.
    """

    port: int
    token: str
    threads: int = 32
    max_attempts: int = 12
    base_backoff: float = 0.05
    max_backoff: float = 2.0
    timeout: float = 10.0
    attempts: list[Attempt] = field(default_factory=list)
    started: float = 0.0

    def send_once(self, key: str, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(
                "POST", "/api/v1/requests", body=body,
                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key,
                         "Content-Type": "application/json"},
            )  # fmt: skip
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def deliver(self, outcome: Outcome, *, max_attempts: int | None = None) -> Outcome:
        limit = max_attempts or self.max_attempts
        for attempt in range(limit):
            outcome.attempts += 1
            sent = time.monotonic()
            try:
                status, payload = self.send_once(outcome.key, outcome.body)
            except (OSError, http.client.HTTPException) as exc:
                status, payload = -1, b""
                outcome.error = type(exc).__name__
            self.attempts.append(Attempt(outcome.key, sent, time.monotonic(), status))
            outcome.status = status
            if status in (200, 201):
                outcome.reference = json.loads(payload)["reference"]
                outcome.error = ""
                return outcome
            if 400 <= status < 500:
                outcome.error = payload.decode(errors="replace")[:200]
                return outcome
            if attempt + 1 < limit:
                time.sleep(random.uniform(0, min(self.max_backoff, self.base_backoff * 2**attempt)))
        return outcome

    def run(self, count: int, rate: float, *, first: int = 0) -> list[Outcome]:
        """`count` logical requests, released at `rate` per second (open loop: a slow server
        builds a queue here, it does not slow the arrivals down)."""
        outcomes = [Outcome(str(uuid.uuid4()), request_body(first + i)) for i in range(count)]
        work: queue.Queue[Outcome | None] = queue.Queue()

        def drain() -> None:
            while (item := work.get()) is not None:
                self.deliver(item)

        pool = [threading.Thread(target=drain, daemon=True) for _ in range(self.threads)]
        for thread in pool:
            thread.start()
        self.started = time.monotonic()
        for i, outcome in enumerate(outcomes):
            delay = self.started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            work.put(outcome)
        for _ in pool:
            work.put(None)
        for thread in pool:
            thread.join()
        return outcomes


def stored_by_key(database_url: str, agency_id: int) -> dict[str, list[str]]:
    """Client key -> references stored under it (keys are stored as "<agency id>:<key>")."""
    prefix = f"{agency_id}:"
    rows = query(
        database_url,
        "SELECT idempotency_key, reference FROM intake_helprequest WHERE idempotency_key LIKE %s",
        (prefix + "%",),
    )
    found: dict[str, list[str]] = {}
    for key, ref in rows:
        found.setdefault(key[len(prefix) :], []).append(ref)
    return found


def duplicate_references(database_url: str) -> int:
    rows = query(
        database_url,
        "SELECT count(*) FROM (SELECT reference FROM intake_helprequest "
        "GROUP BY reference HAVING count(*) > 1) d",
    )
    return int(rows[0][0])
