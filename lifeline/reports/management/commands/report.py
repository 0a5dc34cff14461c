"""`lifeline report annual --year 2022 --format pdf|json|csv [--public] [--lang km|en]
[--agency CODE] [--output FILE]`: the annual report from the same selectors as the dashboard.

Run by an operator on the server: without --agency it counts every agency's records. --public
keeps only count tables, suppresses small cells and refuses to write anything unless every table
passes the disclosure audit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifeline.accounts.models import Agency
from lifeline.reports import stats
from lifeline.reports.disclosure import DisclosureError
from lifeline.reports.exports import report_csv, report_json
from lifeline.reports.pdf import report_pdf


class Command(BaseCommand):
    help = "Produce the annual statistics report (PDF, JSON or CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["annual"])
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--format", dest="fmt", choices=["pdf", "json", "csv"], default="pdf")
        parser.add_argument("--public", action="store_true")
        parser.add_argument("--lang", choices=["km", "en"], default="km")
        parser.add_argument("--agency", default="", help="agency code (default: every agency)")
        parser.add_argument("--country", default="", help="destination country (ISO alpha-2)")
        parser.add_argument("--output", default="", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        year = options["year"]
        if not 1900 <= year <= 2999:
            raise CommandError("--year must be a four-digit year")
        if options["fmt"] == "pdf" and not options["output"]:
            raise CommandError("a PDF needs --output FILE")
        agency = None
        if options["agency"]:
            agency = Agency.objects.filter(code=options["agency"]).first()
            if agency is None:
                raise CommandError(f"no agency with code {options['agency']!r}")
        scope = stats.Scope(
            period=stats.year_period(year), agency=agency, country=options["country"].upper()
        )
        try:
            report = stats.build_report(
                scope, year=year, language=options["lang"], public=options["public"]
            )
            fmt = options["fmt"]
            content: bytes
            if fmt == "pdf":
                content = report_pdf(report)
            elif fmt == "json":
                content = report_json(report).encode()
            else:
                content = report_csv(report).encode()
        except DisclosureError as exc:
            msg = f"refused: the public report fails the disclosure audit: {exc}"
            raise CommandError(msg) from exc
        if options["output"]:
            Path(options["output"]).write_bytes(content)
            self.stderr.write(f"wrote {len(content)} bytes to {options['output']}")
        else:
            self.stdout.write(content.decode(), ending="")
