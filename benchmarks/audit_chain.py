"""Audit chain benchmark (issue 7, battery B5): build a chain of 100,000 audit events, then time
`audit_verify` over it. Target: verify < 60 s.

    python benchmarks/audit_chain.py [--rows 100000] [--database postgresql|sqlite]

PostgreSQL (default) needs DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres;
only the server is used: a scratch database is created, migrated and dropped). SQLite uses a
scratch file in a temporary folder. Rows are synthetic events by the system actor (ids and codes
only), inserted with `audit_record_many` and linked with `audit_link`, the paths the worker and
sweeps use. Prints one JSON line last: {"rows", "verify_s", "build_s", "database", ...}. Not a
timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INSERT_BATCH = 5000


def run(rows: int) -> dict[str, object]:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from lifeline.audit.models import AuditAction, AuditEvent
    from lifeline.audit.services import (
        SYSTEM,
        AuditEntry,
        audit_link,
        audit_record_many,
        audit_verify,
    )

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    for start in range(0, rows, INSERT_BATCH):
        entries = [
            AuditEntry(
                AuditAction.RECORD_VIEWED,
                target_type="case",
                target_id=n,
                metadata={"sections": ["all"], "bench": n % 97},
                agency_id=1 + n % 5,
            )
            for n in range(start, min(rows, start + INSERT_BATCH))
        ]
        with transaction.atomic():
            audit_record_many(actor=SYSTEM, entries=entries)
    insert_s = time.perf_counter() - started
    linked = audit_link()
    build_s = time.perf_counter() - started
    assert linked == rows, (linked, rows)

    started = time.perf_counter()
    result = audit_verify()
    verify_s = time.perf_counter() - started
    assert result.ok and result.checked == rows, result
    assert AuditEvent.objects.count() == rows
    return {
        "rows": rows,
        "verify_s": round(verify_s, 2),
        "build_s": round(build_s, 2),
        "insert_s": round(insert_s, 2),
        "link_s": round(build_s - insert_s, 2),
        "verify_rows_per_s": round(rows / verify_s),
        "database": connection.vendor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    if args.database == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        with tempfile.TemporaryDirectory() as folder:
            os.environ["LIFELINE_SQLITE_PATH"] = str(Path(folder) / "audit-bench.sqlite3")
            print(json.dumps(run(args.rows)))
        return
    from tests.reliability.harness import scratch_database

    server_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    with scratch_database(server_url, "lifeline_auditbench") as url:
        os.environ["DATABASE_URL"] = url
        print(json.dumps(run(args.rows)))


if __name__ == "__main__":
    main()
