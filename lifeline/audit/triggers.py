"""Database triggers that keep audit events append-only (per database vendor).

Allowed, and nothing else:
- INSERT of an *unlinked* event (`seq`, `prev_hash`, `hash` all NULL), so no one can insert a row
  that claims a place in the chain without going through the linker;
- the linker's one UPDATE per row: those three columns from NULL to values (hashes of 64
  characters), every other column unchanged.
Every other UPDATE, and every DELETE, is refused. TRUNCATE is not (see ADR 0002).
"""

from __future__ import annotations

from typing import Any

TABLE = "audit_auditevent"
CONTENT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "agency_id",
    "role",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "metadata",
)
APPEND_ONLY = "audit events are append-only"
INSERT_UNLINKED = "audit events are inserted unlinked; only the linker links them"

_SQLITE_SAME = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in CONTENT_COLUMNS)
_SQLITE_IS_LINK = (
    "OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL "
    "AND NEW.seq IS NOT NULL AND length(NEW.prev_hash) = 64 AND length(NEW.hash) = 64 "
    f"AND {_SQLITE_SAME}"
)

SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON {TABLE}
        WHEN NOT coalesce(({_SQLITE_IS_LINK}), 0)
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_insert_unlinked BEFORE INSERT ON {TABLE}
        WHEN NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{INSERT_UNLINKED}'); END;""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_no_update",
    "DROP TRIGGER IF EXISTS audit_no_delete",
    "DROP TRIGGER IF EXISTS audit_insert_unlinked",
]

_PG_NEW = ", ".join(f"NEW.{c}" for c in CONTENT_COLUMNS)
_PG_OLD = ", ".join(f"OLD.{c}" for c in CONTENT_COLUMNS)

POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           IF NEW.seq IS NULL AND NEW.prev_hash IS NULL AND NEW.hash IS NULL THEN
             RETURN NEW;
           END IF;
           RAISE EXCEPTION '{INSERT_UNLINKED}';
         END IF;
         IF TG_OP = 'UPDATE'
            AND OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
            AND NEW.seq IS NOT NULL AND length(NEW.prev_hash) = 64 AND length(NEW.hash) = 64
            AND ({_PG_NEW}) IS NOT DISTINCT FROM ({_PG_OLD}) THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION '{APPEND_ONLY}';
       END; $$ LANGUAGE plpgsql;""",
    f"""DROP TRIGGER IF EXISTS audit_append_only ON {TABLE};""",
    f"""CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();""",
    f"""DROP TRIGGER IF EXISTS audit_insert_unlinked ON {TABLE};""",
    f"""CREATE TRIGGER audit_insert_unlinked BEFORE INSERT ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();""",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_append_only ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_insert_unlinked ON {TABLE};",
    "DROP FUNCTION IF EXISTS audit_refuse_change();",
]


def install(connection: Any) -> None:
    statements = SQLITE_INSTALL if connection.vendor == "sqlite" else POSTGRES_INSTALL
    # nosemgrep: lifeline-raw-sql -- installs/removes the append-only triggers (constant DDL)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remove(connection: Any) -> None:
    statements = SQLITE_REMOVE if connection.vendor == "sqlite" else POSTGRES_REMOVE
    # nosemgrep: lifeline-raw-sql -- installs/removes the append-only triggers (constant DDL)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
