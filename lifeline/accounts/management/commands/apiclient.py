"""`lifeline apiclient create --agency CODE --name NAME`: prints the bearer token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifeline.accounts.models import Agency
from lifeline.accounts.services import api_client_create
from lifeline.audit.services import SystemActor


class Command(BaseCommand):
    help = "Create an API client for a partner system or channel gateway."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--agency", required=True, help="agency short code")
        create.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        agency = Agency.objects.filter(code=options["agency"], is_active=True).first()
        if agency is None:
            raise CommandError(f"no active agency with code {options['agency']!r}")
        client, token = api_client_create(
            actor=SystemActor("cli"), agency=agency, name=options["name"]
        )
        self.stdout.write(f"API client {client.pk} for {agency.code}. Token (shown once):")
        self.stdout.write(token)
