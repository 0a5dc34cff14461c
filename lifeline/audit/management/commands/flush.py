"""Django's flush, made aware of the audit table's append-only triggers.

Flushing wipes the entire database (tests and `lifeline flush` on a dev machine). On SQLite,
flush deletes row by row, which the audit trigger rightly refuses; we lift the triggers for the
duration of the wipe and put them back. PostgreSQL's flush uses TRUNCATE, which the row triggers
do not see. Production database roles should not hold TRUNCATE on the audit table.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections

from lifeline.audit import triggers


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        triggers.remove(connection)
        try:
            super().handle(**options)
        finally:
            triggers.install(connection)
