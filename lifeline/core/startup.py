"""Start-up guards for `lifeline serve` and `lifeline worker` (battery G5).

An acknowledged help request is one whose transaction committed. That promise holds only if
PostgreSQL flushes the commit to disk before it answers: with `fsync` off a power cut can lose
(or corrupt) committed rows, with `synchronous_commit` off the last few hundred milliseconds of
acknowledged commits can vanish. A half-migrated schema fails in stranger ways. So the server and
the worker refuse to start, with a message naming each problem, instead of running unsafely.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def durability_problems(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """PostgreSQL settings under which a committed (acknowledged) transaction can be lost."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return []  # SQLite runs with PRAGMA synchronous=FULL, set by the settings themselves
    # nosemgrep: lifeline-raw-sql -- reads two server settings (fsync, synchronous_commit); no table
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
        fsync, synchronous_commit = cursor.fetchone()
    problems = []
    if fsync != "on":
        problems.append(
            _("PostgreSQL has fsync = %(value)s: committed help requests can be lost in a crash.")
            % {"value": fsync}
        )
    # "local", "remote_write" and "remote_apply" all flush the local WAL before answering.
    if synchronous_commit == "off":
        problems.append(
            _(
                "PostgreSQL has synchronous_commit = off: the last acknowledged help requests "
                "can be lost in a crash."
            )
        )
    return problems


def startup_problems(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Every reason not to start, durability first (it needs no schema), then migrations."""
    problems = durability_problems(alias)
    pending = pending_migrations(alias)
    if pending:
        problems.append(
            _("%(count)d migration(s) pending (%(names)s…): run `lifeline migrate` first.")
            % {"count": len(pending), "names": ", ".join(pending[:3])}
        )
    return problems


def startup_refusal(alias: str = DEFAULT_DB_ALIAS) -> str:
    """The message to stop with, or "" when it is safe to start."""
    problems = startup_problems(alias)
    if not problems:
        return ""
    heading = _("Lifeline refuses to start:")
    return "\n".join([heading, *(f"  - {problem}" for problem in problems)])
