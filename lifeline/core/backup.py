"""Whole-database backups and restores (battery G6): `lifeline backup`, `lifeline restore`.

PostgreSQL: `pg_dump -Fc` (custom format, compressed) and `pg_restore` in one transaction.
SQLite: the sqlite3 online-backup API, which copies a consistent snapshot while the server runs.

Sensitive fields are encrypted before they reach the database, so a backup holds ciphertext
only; the field keys are *not* in it and must be escrowed separately, or the backup is useless.
A restore never overwrites a database that already has tables: restoring over live data is a
decision for a person, made by dropping that database first.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dj_database_url
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    vendor: str
    size: int


def _pg_tool(name: str) -> str:
    """pg_dump/pg_restore: from LIFELINE_PG_BIN when set (to match the server's major version)."""
    folder = os.environ.get("LIFELINE_PG_BIN")
    found = str(Path(folder) / name) if folder else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(_("%(tool)s is not installed.") % {"tool": name})
    return found


def _libpq_env(conf: dict[str, Any]) -> dict[str, str]:
    """Connection settings for pg_dump/pg_restore, passed in the environment so that a password
    never appears on a command line (visible to every user in `ps`)."""
    env = dict(os.environ)
    env.update(
        PGHOST=str(conf.get("HOST") or "127.0.0.1"),
        PGPORT=str(conf.get("PORT") or 5432),
        PGUSER=str(conf.get("USER") or "postgres"),
        PGDATABASE=str(conf["NAME"]),
    )
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name}: {done.stderr.strip()[-2000:]}")


def database_backup(*, output: Path, alias: str = DEFAULT_DB_ALIAS) -> BackupResult:
    """Write a consistent copy of the whole database to `output` (mode 0600)."""
    connection = connections[alias]
    output = output.resolve()
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    # Created 0600 before anything is written into it: ciphertext still deserves no audience.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if connection.vendor == "postgresql":
            env = _libpq_env(connection.settings_dict)
            _run([_pg_tool("pg_dump"), "--format=custom", "--file", str(partial)], env)
        elif connection.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(partial)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
        else:
            raise BackupError(_("Backups support PostgreSQL and SQLite only."))
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(output, connection.vendor, output.stat().st_size)


def _target_config(database_url: str | None, alias: str) -> dict[str, Any]:
    if database_url:
        return dict(dj_database_url.parse(database_url))
    return dict(connections[alias].settings_dict)


def database_restore(
    *, input_path: Path, database_url: str | None = None, alias: str = DEFAULT_DB_ALIAS
) -> str:
    """Restore a backup into an empty database: the one at `database_url`, else the configured
    one. Returns the vendor restored into."""
    if not input_path.is_file():
        raise BackupError(_("No backup file at %(path)s.") % {"path": input_path})
    with open(input_path, "rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    conf = _target_config(database_url, alias)
    engine = str(conf.get("ENGINE", ""))
    if engine.endswith("postgresql"):
        if not head.startswith(PG_CUSTOM_MAGIC):
            raise BackupError(_("This file is not a PostgreSQL backup made by `lifeline backup`."))
        _pg_restore(input_path, conf)
        return "postgresql"
    if engine.endswith("sqlite3"):
        if head != SQLITE_MAGIC:
            raise BackupError(_("This file is not a SQLite backup made by `lifeline backup`."))
        _sqlite_restore(input_path, Path(str(conf["NAME"])))
        return "sqlite"
    raise BackupError(_("Restores support PostgreSQL and SQLite only."))


def _refuse_non_empty(table_count: int, where: str) -> None:
    if table_count:
        raise BackupError(
            _(
                "The target database %(where)s already has %(count)d tables; restore only into "
                "an empty database (drop and create it first)."
            )
            % {"where": where, "count": table_count}
        )


def _pg_restore(input_path: Path, conf: dict[str, Any]) -> None:
    import psycopg

    env = _libpq_env(conf)
    with psycopg.connect(
        host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], dbname=env["PGDATABASE"],
        password=env.get("PGPASSWORD"), connect_timeout=10,
    ) as conn:  # fmt: skip
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')"
        ).fetchone()
    _refuse_non_empty(int(row[0]) if row else 0, env["PGDATABASE"])
    # One transaction: a restore that fails half-way leaves the target empty, not half-filled.
    # Owners and grants belong to the source cluster's roles; the target's are set up by hand.
    command = [
        _pg_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner",
        "--no-privileges", "--dbname", env["PGDATABASE"], str(input_path),
    ]  # fmt: skip
    _run(command, env)


def _sqlite_restore(input_path: Path, target_path: Path) -> None:
    source = sqlite3.connect(f"file:{input_path}?mode=ro", uri=True)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()
        if not check or check[0] != "ok":
            raise BackupError(_("The backup file is damaged (SQLite integrity check failed)."))
        target = sqlite3.connect(target_path)
        try:
            row = target.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
            _refuse_non_empty(int(row[0]) if row else 0, str(target_path))
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
