"""`lifeline sweep`: one deadline sweep, one outbox round and one audit-linker round, for cron
or by hand (the worker does all three on its own timers)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from lifeline.audit.services import LINKER_JOB, audit_link
from lifeline.core import periodic
from lifeline.intake import services


class Command(BaseCommand):
    help = "Escalate overdue help requests once, deliver pending notifications, link audit events."

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.sweep()
        periodic.beat("sweeper", result)
        delivered = services.outbox_deliver()
        # A cron-only site has no worker to link audit events; link what this run wrote too.
        linked = audit_link()
        periodic.beat(LINKER_JOB, {"linked": linked})
        self.stdout.write(
            f"looked at {result['looked_at']}, escalated {result['escalated']}; "
            f"outbox delivered {delivered['delivered']}, failed {delivered['failed']}; "
            f"audit events linked {linked}"
        )
