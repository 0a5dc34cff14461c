"""The annual report taken from the dashboard, and public releases served by the public API.

A report file (PDF, JSON, CSV or XLSX; internal or public version; Khmer or English) leaves only
with a stated purpose, in the register (`ReportExport`), audited, and as an AES-256 ZIP under the
taker's passphrase. A public version is also checked before it is written: every table passes the
disclosure audit (k = 11 with complementary suppression) and the re-identification check.

Publishing freezes a public version (`PublicRelease`): the public API serves that copy and never
runs a query on the records, so nobody learns about one person by asking twice and comparing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import Principal
from lifeline.audit.services import audit_record
from lifeline.core import clock
from lifeline.core.errors import NotFound, ValidationFailed

from . import policies, selectors, stats
from .data import ReportData
from .exports import report_csv, report_dict, report_json, report_xlsx
from .models import PublicRelease, ReportExport, ReportFormat
from .record_exports import MIN_PASSPHRASE, encrypted_zip, year_and_purpose_errors
from .reidentification import assert_report_releasable

AUDIT_REPORT_EXPORTED = "report.exported"
AUDIT_REPORT_PUBLISHED = "report.published"
LANGUAGES = ("en", "km")


@dataclass(frozen=True)
class ReportFile:
    filename: str
    content: bytes


def render_report(report: ReportData, fmt: str) -> bytes:
    """The report's bytes in one of `ReportFormat` (the CLI and the dashboard share this)."""
    if fmt == ReportFormat.PDF:
        from .pdf import report_pdf  # WeasyPrint loads Pango: only where PDFs are made

        return report_pdf(report)
    if fmt == ReportFormat.XLSX:
        return report_xlsx(report)
    if fmt == ReportFormat.CSV:
        return report_csv(report).encode("utf-8")
    return report_json(report).encode("utf-8")


def _report(actor: Principal, *, year: int, language: str, public: bool) -> ReportData:
    scope = selectors.statistics_scope(actor=actor, period=stats.year_period(year))
    report = stats.build_report(scope, year=year, language=language, public=public)
    if public:
        # Raises before anything is written or sent; it includes the disclosure audit that the
        # writers (report_dict, report_csv, ...) run again on what they write.
        assert_report_releasable(report)
    return report


def _checked(
    actor: Principal, *, year: int, language: str, purpose: str
) -> tuple[Agency, User, dict[str, list[str]], str]:
    """Who may take or publish the agency's report, and what both ask of year, language and
    purpose: the actor's agency and user, the errors found so far, and the purpose cleaned."""
    if (
        not policies.can_release_public_statistics(actor)
        or actor.agency is None
        or actor.user is None
    ):
        raise NotFound
    errors, purpose = year_and_purpose_errors(year, purpose)
    if language not in LANGUAGES:
        errors["language"] = [_("Choose Khmer or English.")]
    return actor.agency, actor.user, errors, purpose


def report_export(
    *, actor: Principal, year: int, fmt: str, language: str, public: bool, purpose: str,
    passphrase: str,
) -> ReportFile:  # fmt: skip
    """The annual report of the actor's agency as an encrypted file, registered and audited."""
    agency, user, errors, purpose = _checked(actor, year=year, language=language, purpose=purpose)
    if fmt not in ReportFormat.values:
        errors["format"] = [_("Choose PDF, JSON, CSV or XLSX.")]
    if len(passphrase) < MIN_PASSPHRASE:
        errors["passphrase"] = [_("Choose a passphrase of at least 12 characters.")]
    if errors:
        raise ValidationFailed(errors)
    report = _report(actor, year=year, language=language, public=public)
    data = render_report(report, fmt)
    with transaction.atomic():
        entry = ReportExport.objects.create(
            agency=agency,
            year=year,
            format=fmt,
            language=language,
            public=public,
            purpose=purpose,
            exported_by=user,
            exported_at=clock.now(),
        )
        audit_record(
            actor=actor,
            action=AUDIT_REPORT_EXPORTED,
            target_type="report_export",
            target_id=entry.pk,
            metadata={"year": year, "format": fmt, "language": language, "public": public},
        )
    kind = "public" if public else "internal"
    name = f"lifeline-annual-{year}-{kind}-{language}"
    content = encrypted_zip(name=f"{name}.{fmt}", data=data, passphrase=passphrase)
    return ReportFile(filename=f"{name}.zip", content=content)


def public_release_publish(
    *, actor: Principal, year: int, language: str, purpose: str
) -> PublicRelease:
    """Freeze the public version of the agency's annual report for the public API."""
    agency, user, errors, purpose = _checked(actor, year=year, language=language, purpose=purpose)
    if errors:
        raise ValidationFailed(errors)
    report = _report(actor, year=year, language=language, public=True)
    content = report_dict(report)
    with transaction.atomic():
        release = PublicRelease.objects.create(
            agency=agency,
            year=year,
            language=language,
            title=str(content["title"])[:200],
            content=content,
            purpose=purpose,
            published_by=user,
            published_at=clock.now(),
        )
        audit_record(
            actor=actor,
            action=AUDIT_REPORT_PUBLISHED,
            target_type="public_release",
            target_id=release.pk,
            metadata={"year": year, "language": language},
        )
    return release


def public_release_list(*, year: int | None = None) -> QuerySet[PublicRelease]:
    """Every public release, newest first (anyone may read them: they passed the checks)."""
    releases = PublicRelease.objects.select_related("agency")
    return releases.filter(year=year) if year is not None else releases


def public_release_get(*, release_id: int) -> PublicRelease:
    release = PublicRelease.objects.select_related("agency").filter(pk=release_id).first()
    if release is None:
        raise NotFound
    return release
