"""`lifeline apiclient create --agency CODE --name NAME`: prints the bearer token once.

`lifeline apiclient staff-token --user NAME --agency CODE [--days N]` issues a personal token
with which the JSON API acts as that user (cases, screening, referrals).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifeline.accounts.models import Agency, User
from lifeline.accounts.services import api_client_create, staff_token_create
from lifeline.audit.services import SystemActor
from lifeline.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create an API client for a partner system or channel gateway."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--agency", required=True, help="agency short code")
        create.add_argument("--name", required=True)
        staff = sub.add_parser("staff-token")
        staff.add_argument("--user", required=True, help="username")
        staff.add_argument("--agency", required=True, help="agency short code")
        staff.add_argument("--days", type=int, default=30)
        staff.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        agency = Agency.objects.filter(code=options["agency"], is_active=True).first()
        if agency is None:
            raise CommandError(f"no active agency with code {options['agency']!r}")
        if options["action"] == "staff-token":
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['user']!r}")
            try:
                staff_token, token = staff_token_create(
                    actor=SystemActor("cli"),
                    user=user,
                    agency=agency,
                    name=options["name"],
                    days=options["days"],
                )
            except ValidationFailed as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Staff token {staff_token.pk} for {user.username} at {agency.code}.")
            self.stdout.write(f"Expires {staff_token.expires_at:%Y-%m-%d}. Token (shown once):")
            self.stdout.write(token)
            return
        client, token = api_client_create(
            actor=SystemActor("cli"), agency=agency, name=options["name"]
        )
        self.stdout.write(f"API client {client.pk} for {agency.code}. Token (shown once):")
        self.stdout.write(token)
