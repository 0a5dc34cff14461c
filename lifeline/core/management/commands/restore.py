"""`lifeline restore --input FILE [--database-url URL]`: restore a backup into an empty database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from lifeline.core.backup import BackupError, database_restore


class Command(BaseCommand):
    help = "Restore a `lifeline backup` file into an empty database (default: the configured one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="backup file to read")
        parser.add_argument(
            "--database-url",
            default=None,
            help="target database (postgres://… or sqlite:////path); default: DATABASE_URL",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            vendor = database_restore(
                input_path=options["input"], database_url=options["database_url"]
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Restored %(path)s into the %(vendor)s database. Run `lifeline audit verify` next.")
            % {"path": options["input"], "vendor": vendor}
        )
