"""`lifeline demo [--serve]`: migrate, load the synthetic scenario, print the demo logins."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifeline.core import demo_registry as registry
from lifeline.demo import scenario


class Command(BaseCommand):
    help = "Load the synthetic demo scenario (idempotent) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--serve", action="store_true", help="then start `lifeline serve`")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "LIFELINE_DEMO_TOOLS", False):
            raise CommandError("the demo refuses to run with production settings")
        call_command("migrate", interactive=False, verbosity=0)
        logins = scenario.load_accounts()
        summaries = [step() for _name, step in registry.DEMO_STEPS]
        password = scenario.demo_password()
        self.stdout.write(self.style.SUCCESS("Demo data loaded (all synthetic)."))
        for line in summaries:
            self.stdout.write(f"  {line}")
        self.stdout.write("")
        self.stdout.write(f"Demo logins — password for every user: {password}")
        self.stdout.write("Second factor: add the TOTP key to an authenticator app, or run")
        self.stdout.write("  lifeline totp <username>   to print the current 6-digit code.")
        self.stdout.write(f"  {'username':28} {'role':26} TOTP key")
        for login in logins:
            self.stdout.write(f"  {login.username:28} {login.role:26} {login.totp_secret_b32}")
        if options["serve"]:
            self.stdout.write("")
            call_command("serve", port=options["port"])
