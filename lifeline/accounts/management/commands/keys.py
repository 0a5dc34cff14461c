"""`lifeline keys generate | status | rotate` — field-encryption key management."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from lifeline.audit.models import AuditAction
from lifeline.audit.services import SystemActor, audit_record
from lifeline.core import crypto, rotation
from lifeline.core.devkeys import new_key_b64


class Command(BaseCommand):
    help = "Manage field-encryption keys (LIFELINE_FIELD_KEYS)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        gen = sub.add_parser("generate", help="print a new key entry to put first in the list")
        gen.add_argument("--id", default="", help="key id (letters and digits)")
        sub.add_parser("status", help="count stored values per key id")
        sub.add_parser("rotate", help="re-encrypt every value under the first (primary) key")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "generate":
            from lifeline.core import clock

            key_id = options["id"] or clock.now().strftime("k%Y%m%d%H%M")
            self.stdout.write(f"{key_id}:{new_key_b64()}")
            self.stdout.write(
                "Put this entry FIRST in LIFELINE_FIELD_KEYS (keep the old ones after it), "
                "restart, then run `lifeline keys rotate`."
            )
            return
        if action == "status":
            usage = rotation.key_usage()
            primary = crypto.keyring().primary_id
            for kid, count in sorted(usage.items()):
                marker = " (primary)" if kid == primary else ""
                self.stdout.write(f"{kid}{marker}: {count} values")
            if not usage:
                self.stdout.write("no encrypted values stored yet")
            return
        report = rotation.rotate()
        with transaction.atomic():
            audit_record(
                actor=SystemActor("keys"),
                action=AuditAction.KEYS_ROTATED,
                metadata={
                    "primary": crypto.keyring().primary_id,
                    "rewritten": report.rewritten,
                    "unreadable": len(report.unreadable),
                },
            )
        self.stdout.write(
            f"re-encrypted {report.rewritten} values; {report.already_current} already current; "
            f"{len(report.unreadable)} unreadable"
        )
        if report.unreadable:
            raise CommandError("unreadable values: " + ", ".join(report.unreadable[:20]))
