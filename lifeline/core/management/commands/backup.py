"""`lifeline backup --output FILE`: a consistent copy of the whole database (ciphertext only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from lifeline.core.backup import BackupError, database_backup


class Command(BaseCommand):
    help = "Back up the database (PostgreSQL: pg_dump custom format; SQLite: online backup)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, type=Path, help="backup file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = database_backup(output=options["output"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Backup written: %(path)s (%(vendor)s, %(size)d bytes).")
            % {"path": result.path, "vendor": result.vendor, "size": result.size}
        )
        self.stdout.write(
            _("The field-encryption keys are not in it: keep them escrowed separately.")
        )
