"""Encryption at rest (issue 7, battery C1/C5): a raw `pg_dump` of a database holding canary
person names, case summaries, screening notes and letters contains none of them in plaintext.

PostgreSQL only (set DATABASE_URL); skipped on SQLite. Needs `pg_dump` on the PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),  # committed rows: pg_dump reads another session
]


def _dump() -> str:
    conf = connection.settings_dict
    env = dict(os.environ)
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])
    command = [
        str(shutil.which("pg_dump")),
        "--no-owner",
        "--data-only",
        "-h",
        str(conf.get("HOST") or "127.0.0.1"),
        "-p",
        str(conf.get("PORT") or 5432),
        "-U",
        str(conf.get("USER") or "postgres"),
        str(conf["NAME"]),
    ]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return result.stdout


def test_pg_dump_holds_no_canary_plaintext(world):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://...")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")

    dump = _dump()

    # The dump holds the world (plain columns are there)...
    assert "Agency A (synthetic)" in dump
    assert world.objects["own"].case.reference in dump
    # ...but no canary planted in an encrypted column, of any agency's case.
    canaries = [c for obj in world.objects.values() for c in obj.canaries]
    assert len(canaries) >= 28
    leaked = [c for c in canaries if c in dump]
    assert leaked == []
