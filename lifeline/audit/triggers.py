"""Database triggers that refuse UPDATE and DELETE on audit events (per database vendor)."""

from __future__ import annotations

from typing import Any

TABLE = "audit_auditevent"

SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
]
SQLITE_REMOVE = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"]

POSTGRES_INSTALL = [
    """CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql;""",
    f"""DROP TRIGGER IF EXISTS audit_append_only ON {TABLE};""",
    f"""CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();""",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_append_only ON {TABLE};",
    "DROP FUNCTION IF EXISTS audit_refuse_change();",
]


def install(connection: Any) -> None:
    statements = SQLITE_INSTALL if connection.vendor == "sqlite" else POSTGRES_INSTALL
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remove(connection: Any) -> None:
    statements = SQLITE_REMOVE if connection.vendor == "sqlite" else POSTGRES_REMOVE
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
