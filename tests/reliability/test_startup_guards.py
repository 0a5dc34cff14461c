"""G5: `lifeline serve` and `lifeline worker` refuse to start (non-zero exit, a message naming the
problem) when PostgreSQL could lose an acknowledged commit (`fsync` or `synchronous_commit` off)
or when migrations are pending; with everything in order the worker starts and keeps running.
(A stale gunicorn pid file not blocking a restart is tested in test_crash.py.)"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from .harness import (
    PYTHON,
    REPO,
    Cluster,
    connect,
    django_env,
    free_port,
    postgres_url,
    scratch_database,
    site_prepare,
    with_dbname,
)

COMMANDS = {
    "serve": ["serve", "--port", "0", "--no-worker"],
    "worker": ["worker"],
}


def _start(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    args = [PYTHON, "-m", "lifeline.cli", *COMMANDS[command]]
    if command == "serve":
        args[args.index("0")] = str(free_port())
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def _set_database(url: str, setting: str, value: str | None) -> None:
    name = url.rsplit("/", 1)[1]
    with connect(with_dbname(url, "postgres")) as conn:
        if value is None:
            statement = sql.SQL("ALTER DATABASE {} RESET {}")
            conn.execute(statement.format(sql.Identifier(name), sql.Identifier(setting)))
        else:
            statement = sql.SQL("ALTER DATABASE {} SET {} = {}")
            conn.execute(
                statement.format(sql.Identifier(name), sql.Identifier(setting), sql.Literal(value))
            )


class NoFsyncCluster(Cluster):
    """A throwaway cluster started the way a careless benchmark tuning would start it."""

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options,
                  "-w", "-t", "30", "start")  # fmt: skip


@pytest.fixture(scope="module")
def migrated_url() -> Iterator[str]:
    """One migrated scratch database for the module (migrating is the slow part)."""
    server_url = postgres_url()
    if server_url is None:
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgresql://…")
    var_dir = Path(tempfile.mkdtemp(prefix="lifeline-guards-"))
    try:
        with scratch_database(server_url, "lifeline_guards") as url:
            site_prepare(url, var_dir)
            yield url
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_refuses_to_start_with_synchronous_commit_off_then_starts_once_it_is_on(
    migrated_url: str, workdir: Path, command: str
) -> None:
    env = django_env(migrated_url, workdir)
    _set_database(migrated_url, "synchronous_commit", "off")
    refused = _start(env, command)
    assert refused.returncode != 0
    # Commands speak the site's default language (Khmer unless configured): either wording.
    assert any(t in refused.stderr for t in ("Lifeline refuses to start", "Lifeline បដិសេធ"))
    assert "synchronous_commit = off" in refused.stderr
    assert "fsync" not in refused.stderr and "migration" not in refused.stderr

    # The same database with the setting back on: the command starts and stays up.
    _set_database(migrated_url, "synchronous_commit", None)
    args = [PYTHON, "-m", "lifeline.cli", *COMMANDS[command]]
    if command == "serve":
        args[args.index("0")] = str(free_port())
    with open(workdir / f"{command}.log", "wb") as log:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(4)
        assert proc.poll() is None, (workdir / f"{command}.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_refuses_to_start_with_migrations_pending(pg_server_url: str, workdir: Path) -> None:
    with scratch_database(pg_server_url, "lifeline_guards_empty") as url:
        env = django_env(url, workdir)
        for command in COMMANDS:
            refused = _start(env, command)
            assert refused.returncode != 0, command
            # Either language: both name the pending migrations and the command to run.
            assert "migration" in refused.stderr, refused.stderr
            assert "`lifeline migrate`" in refused.stderr
            assert "fsync" not in refused.stderr and "synchronous_commit" not in refused.stderr


@pytest.mark.slow
def test_refuses_to_start_on_a_cluster_running_with_fsync_off(
    pg_server_url: str, workdir: Path
) -> None:
    # pg_server_url: only to skip where PostgreSQL is not the database under test.
    cluster = NoFsyncCluster()
    try:
        cluster.init()
        cluster.start()
        env = django_env(cluster.url, workdir)
        for command in COMMANDS:
            refused = _start(env, command)
            assert refused.returncode != 0, command
            assert "fsync = off" in refused.stderr, refused.stderr
            assert "synchronous_commit" not in refused.stderr
    finally:
        cluster.stop()
