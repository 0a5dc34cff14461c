"""`lifeline report annual --year 2022 --format pdf|json|csv|xlsx [--public] [--lang km|en]
[--agency CODE] [--output FILE]`: the annual report from the same selectors as the dashboard.

`lifeline report synthetic --year 2022 --epsilon 1 --user USERNAME --output FILE.csv
[--agency CODE] [--contributions N] [--release NAME] [--seed N] [--lang km|en]`: differentially
private synthetic microdata about the year's victims (lifeline/reports/synthetic.py), charged to
the privacy ledger as one release by USERNAME, who must hold report.export.

Run by an operator on the server: without --agency it counts every agency's records. --public
keeps only count tables, suppresses small cells and refuses to write anything unless every table
passes the disclosure audit and the re-identification check; synthetic microdata are written only
after the re-identification check passes on them.

`lifeline report snapshots`: recompute the dashboard's snapshots once (every active agency, this
year and the last, English and Khmer; lifeline/reports/snapshots.py), as the worker does every
ten minutes; for cron or a benchmark.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import principal_for
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.reports import stats
from lifeline.reports.disclosure import DisclosureError
from lifeline.reports.reidentification import ReidentificationError, assert_report_releasable
from lifeline.reports.releases import render_report


def _say(message: str, **params: object) -> str:
    """A message for the operator in the command's language, then in English if that differs."""
    said = gettext(message) % params if params else gettext(message)
    if translation.get_language() == "en":
        return said
    with translation.override("en"):
        english = gettext(message) % params if params else gettext(message)
    return said if said == english else f"{said}\n{english}"


class Command(BaseCommand):
    help = "Produce the annual statistics report (PDF, JSON, CSV or XLSX) or synthetic microdata."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["annual", "synthetic", "snapshots"])
        parser.add_argument("--year", type=int, default=None, help="required but for snapshots")
        parser.add_argument(
            "--format", dest="fmt", choices=["pdf", "json", "csv", "xlsx"], default="pdf"
        )
        parser.add_argument("--public", action="store_true")
        parser.add_argument("--lang", choices=["km", "en"], default="km")
        parser.add_argument("--agency", default="", help="agency code (default: every agency)")
        parser.add_argument("--country", default="", help="destination country (ISO alpha-2)")
        parser.add_argument("--output", default="", help="file to write (default: stdout)")
        synthetic = parser.add_argument_group("synthetic microdata")
        synthetic.add_argument("--epsilon", default="", help="ε this release spends")
        synthetic.add_argument("--user", default="", help="username of the releaser")
        synthetic.add_argument(
            "--contributions", type=int, default=1, help="rows one person may hold (default 1)"
        )
        synthetic.add_argument("--release", default="", help="release name for the ledger")
        synthetic.add_argument(
            "--seed", type=int, default=None, help="seed the sampling step (tests only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        year = options["year"]
        with translation.override(options["lang"]):
            if options["kind"] == "snapshots":
                self._snapshots()
                return
            if year is None or not 1900 <= year <= 2999:
                raise CommandError(_say(gettext_noop("--year must be a four-digit year")))
            agency = None
            if options["agency"]:
                agency = Agency.objects.filter(code=options["agency"]).first()
                if agency is None:
                    raise CommandError(
                        _say(gettext_noop("no agency with code %(code)s"), code=options["agency"])
                    )
            scope = stats.Scope(
                period=stats.year_period(year), agency=agency, country=options["country"].upper()
            )
            if options["kind"] == "synthetic":
                self._synthetic(scope, year, options)
            else:
                self._annual(scope, year, options)

    def _annual(self, scope: stats.Scope, year: int, options: dict[str, Any]) -> None:
        if options["fmt"] in ("pdf", "xlsx") and not options["output"]:
            raise CommandError(_say(gettext_noop("a PDF or XLSX file needs --output FILE")))
        try:
            report = stats.build_report(
                scope, year=year, language=options["lang"], public=options["public"]
            )
            if options["public"]:
                assert_report_releasable(report)
            content = render_report(report, options["fmt"])
        except (DisclosureError, ReidentificationError) as exc:
            msg = gettext_noop(
                "refused: the public report fails the disclosure audit: %(problems)s"
            )
            raise CommandError(_say(msg, problems=exc)) from exc
        if options["output"]:
            Path(options["output"]).write_bytes(content)
            self.stderr.write(
                _say(
                    gettext_noop("wrote %(size)s bytes to %(file)s"),
                    size=len(content),
                    file=options["output"],
                )
            )
        else:
            self.stdout.write(content.decode(), ending="")

    def _snapshots(self) -> None:
        from lifeline.reports.snapshots import dashboard_snapshots_refresh

        result = dashboard_snapshots_refresh()
        self.stderr.write(
            _say(
                gettext_noop("dashboard snapshots refreshed: %(done)s, failed: %(failed)s"),
                done=result["snapshots"],
                failed=result["failed"],
            )
        )
        if result["failed"]:
            raise CommandError(
                _say(gettext_noop("%(failed)s dashboard snapshots failed"), failed=result["failed"])
            )

    def _synthetic(self, scope: stats.Scope, year: int, options: dict[str, Any]) -> None:
        # Imported here: the synthesiser loads OpenDP's mbi extra (JAX), which `annual` never needs.
        from lifeline.reports.services import BudgetExhausted
        from lifeline.reports.synthetic import microdata_csv, synthetic_release

        if not options["output"]:
            raise CommandError(_say(gettext_noop("synthetic microdata need --output FILE.csv")))
        try:
            epsilon = Decimal(options["epsilon"])
        except InvalidOperation:
            raise CommandError(_say(gettext_noop("--epsilon must be a number, e.g. 1"))) from None
        user = User.objects.filter(username=options["user"]).first() if options["user"] else None
        if user is None:
            raise CommandError(
                _say(gettext_noop("--user must name the staff member making the release"))
            )
        actor = principal_for(user, agency_id=scope.agency.pk if scope.agency else None)
        release = options["release"] or f"synthetic-{clock.now():%Y%m%dt%H%M%S}"
        try:
            result = synthetic_release(
                actor=actor,
                scope=scope,
                year=year,
                epsilon=epsilon,
                release=release,
                contributions=options["contributions"],
                seed=options["seed"],
            )
        except BudgetExhausted as exc:
            msg = gettext_noop(
                "refused: the privacy budget for %(year)s has %(remaining)s left, "
                "this release asks for %(asked)s"
            )
            raise CommandError(
                _say(msg, year=year, remaining=exc.remaining, asked=exc.asked)
            ) from exc
        except ValidationFailed as exc:
            msg = gettext_noop("refused: invalid release: %(errors)s")
            raise CommandError(_say(msg, errors=exc.args[0] if exc.args else exc)) from exc
        except NotFound as exc:
            msg = gettext_noop("refused: this user may not make a public release for this agency")
            raise CommandError(_say(msg)) from exc
        except Conflict as exc:
            msg = gettext_noop("refused: a release named %(release)s was already made")
            raise CommandError(_say(msg, release=release)) from exc
        except ReidentificationError as exc:
            msg = gettext_noop(
                "refused: a synthetic row could single out a person (%(problems)s); the ε stays "
                "charged because the mechanism ran"
            )
            raise CommandError(_say(msg, problems=exc)) from exc
        content = microdata_csv(result.rows).encode()
        Path(options["output"]).write_bytes(content)
        written = gettext_noop(
            "wrote %(rows)s synthetic rows to %(file)s; ε = %(epsilon)s charged to release "
            "%(release)s; %(dropped)s rows dropped (combinations shared by fewer than %(k)s)"
        )
        self.stderr.write(
            _say(
                written,
                rows=len(result.rows),
                file=options["output"],
                epsilon=result.entry.epsilon.normalize(),
                release=release,
                dropped=result.dropped,
                k=result.min_count,
            )
        )
        utility = gettext_noop(
            "for the operator only, not for publication: two-way total variation distance "
            "from the real data: mean %(mean).3f, max %(max).3f, over %(persons)s persons; "
            "%(seconds).1f s"
        )
        self.stderr.write(
            _say(
                utility,
                mean=result.utility.mean,
                max=result.utility.max,
                persons=result.real_rows,
                seconds=result.seconds,
            )
        )
