"""`lifeline audit verify [--anchors FILE]`, `lifeline audit anchor [--append FILE]` and
`lifeline audit link` (what the worker does every second, for cron or by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifeline.audit.services import LINKER_JOB, audit_anchor, audit_link, audit_verify
from lifeline.core import periodic


class Command(BaseCommand):
    help = "Verify the audit hash chain, or export its head as an anchor."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="walk the chain; name the first bad row")
        verify.add_argument("--anchors", type=Path, help="file of anchors exported earlier")
        anchor = sub.add_parser("anchor", help="print the current head as one JSON line")
        anchor.add_argument("--append", type=Path, help="also append it to this file")
        sub.add_parser("link", help="link committed events into the chain now")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "link":
            linked = audit_link()
            periodic.beat(LINKER_JOB, {"linked": linked})
            self.stdout.write(f"linked {linked} events")
            return
        if options["action"] == "anchor":
            line = json.dumps(audit_anchor(), sort_keys=True)
            if options.get("append"):
                with options["append"].open("a") as handle:
                    handle.write(line + "\n")
            self.stdout.write(line)
            return
        result = audit_verify(anchor_file=options.get("anchors"))
        if result.ok:
            self.stdout.write(
                f"audit chain OK: {result.checked} events, head #{result.last_seq} "
                f"{result.last_hash}"
            )
            return
        where = f"#{result.first_bad_seq}"
        if result.first_bad_id is not None:
            where += f" (id {result.first_bad_id})"
        raise CommandError(
            f"audit chain BROKEN at event {where}: {result.reason}; "
            f"{result.checked} events before it verified"
        )
