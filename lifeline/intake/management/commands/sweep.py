"""`lifeline sweep`: one deadline sweep and one outbox round, for cron or by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from lifeline.core import periodic
from lifeline.intake import services


class Command(BaseCommand):
    help = "Escalate overdue help requests once, and deliver pending notifications."

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.sweep()
        periodic.beat("sweeper", result)
        delivered = services.outbox_deliver()
        self.stdout.write(
            f"looked at {result['looked_at']}, escalated {result['escalated']}; "
            f"outbox delivered {delivered['delivered']}, failed {delivered['failed']}"
        )
