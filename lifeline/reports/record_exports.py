"""Person-level record exports (HTCDS- or CTDC-shaped) under the two-person rule.

A supervisor asks for the rows of one year of their agency's cases and states why. Exports of
more cases than `export_two_person_threshold()` wait until a second person of the same agency
(a data protection officer or another supervisor) approves them; the requester can never approve
their own (here and in a CHECK constraint). Only the requester downloads, once, within
`DOWNLOAD_HOURS` of the approval, and only as an AES-256 encrypted ZIP whose passphrase they
choose at download time and that Lifeline never stores.

What leaves: one row per victim who gave research-and-statistics consent to the agency (live at
download time), with coarse attributes only (year, sex, age or age band, citizenship, country of
exploitation, status). Never names, contacts, ids, places below the country, or dates. Every
step is audited: the request, each decision, a refused self-approval, and every case the
download exposes (one audit row per case).
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyzipper
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import AuditEntry, audit_record, audit_record_many
from lifeline.cases.models import Case, CasePerson, Consent, ConsentScope, PersonRole
from lifeline.cases.selectors import consent_live_q
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.people.names import parse_dob
from lifeline.screening.models import (
    FINISHED_STATUSES,
    DeterminationValue,
    OfficialDetermination,
    ScreeningInterview,
    SuggestedOutcome,
)

from . import policies
from .breakdowns import AGE_BANDS, age_at
from .models import ExportShape, ExportStatus, RecordExport, export_two_person_threshold

DOWNLOAD_HOURS = 72
MIN_PURPOSE = 15
MIN_PASSPHRASE = 12

AUDIT_REQUESTED = "export.requested"
AUDIT_APPROVED = "export.approved"
AUDIT_REJECTED = "export.rejected"
AUDIT_SELF_APPROVAL_REFUSED = "export.self_approval_refused"

# ISO 3166 alpha-2 -> alpha-3 for the countries Lifeline's cases name (Cambodia and the
# destinations in ../shared/context); anything else is left blank rather than guessed.
ALPHA3 = {
    "KH": "KHM", "TH": "THA", "LA": "LAO", "VN": "VNM", "MY": "MYS", "CN": "CHN",
    "ID": "IDN", "MM": "MMR", "SG": "SGP", "PH": "PHL", "KR": "KOR", "JP": "JPN",
}  # fmt: skip

HTCDS_COLUMNS = (
    "recordId", "yearOfRegistration", "prs_Gender", "vic_AgeWhenTrafficked", "prs_Citizenship",
    "vic_LocationOfExploitationCountry", "vic_TraffickingStatus",
    "vic_TraffickingStatusDecisionMakingOrg", "cas_Status", "cas_ReasonForCaseClosure",
)  # fmt: skip
CTDC_COLUMNS = (
    "recordId", "yearOfRegistration", "gender", "ageBroad", "majorityStatus", "citizenship",
    "CountryOfExploitation", "isForcedLabour",
)  # fmt: skip

HTCDS_GENDER = {"female": "Feminine", "male": "Masculine", "tgnc": "NonConforming"}
CTDC_GENDER = {"female": "Woman", "male": "Man", "tgnc": "Trans/Transgender/NonConforming"}
DECISION_ORG = {"police": "Police", "ngo": "NGO", "hotline": "NGO", "shelter": "NGO"}


# --- what an export would contain --------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    """One consented victim of one case, reduced to the exported attributes."""

    case_id: int
    year: int
    sex: str
    age: int | None
    citizenship: str
    country: str
    status: str  # HTCDS vic_TraffickingStatus
    decided_by: str
    case_closed: bool
    closure_reason: str
    forced_labour: bool


def _cases(agency_id: int, year: int) -> QuerySet[Case]:
    return Case.objects.filter(owner_agency_id=agency_id, opened_at__year=year)


def _consented_person_ids(agency_id: int, person_ids: set[int], now: datetime) -> set[int]:
    consents = Consent.objects.filter(
        consent_live_q("", now),
        agency_id=agency_id,
        scope=ConsentScope.RESEARCH,
        person_id__in=person_ids,
    )
    return set(consents.values_list("person_id", flat=True))


def _victim_links(agency_id: int, year: int) -> list[CasePerson]:
    return list(
        CasePerson.objects.filter(
            case__in=_cases(agency_id, year), role__in=[PersonRole.VICTIM, PersonRole.CO_VICTIM]
        )
        .select_related("case", "person")
        .order_by("case_id", "person_id")
    )


def _age(date_of_birth: str, at: datetime) -> int | None:
    """Age in whole years at `at`, by the same rule as the age breakdown (`breakdowns.age_at`);
    None when the date is unknown, malformed or gives no plausible age."""
    try:
        dob = parse_dob(date_of_birth)
    except ValueError:
        return None
    if dob is None:
        return None
    age = age_at(dob, at.astimezone(UTC).date())
    return age if 0 <= age < 120 else None


def ctdc_age_band(age: int | None) -> str:
    """CTDC's ageBroad value (the breakdowns' bands, written as the codebook does: "18--20")."""
    if age is None:
        return ""
    return next(
        label.replace("\u2013", "--")
        for label, low, high in AGE_BANDS
        if low <= age and (high is None or age <= high)
    )


def _status(person_id: int, official: dict[int, OfficialDetermination],
            suggested: dict[int, str]) -> tuple[str, str, bool]:  # fmt: skip
    """HTCDS trafficking status, who decided it, and whether it is forced labour."""
    decision = official.get(person_id)
    if decision is not None and decision.value in (
        DeterminationValue.VICTIM_OF_TRAFFICKING,
        DeterminationValue.VICTIM_OF_FORCED_LABOUR,
        DeterminationValue.NOT_VICTIM,
    ):
        kind = decision.authority.kind if decision.authority else ""
        org = DECISION_ORG.get(kind, "NonPoliceGovernmentalOrganization" if kind else "Other")
        if decision.value == DeterminationValue.NOT_VICTIM:
            return "NotAVictimOfTrafficking", org, False
        forced = decision.value == DeterminationValue.VICTIM_OF_FORCED_LABOUR
        return "ActualVictimOfTrafficking", org, forced
    outcome = suggested.get(person_id, "")
    if outcome in (SuggestedOutcome.POSSIBLE_VOT, SuggestedOutcome.POSSIBLE_FORCED_LABOUR):
        return (
            "PossibleVictimOfTrafficking",
            "NGO",
            outcome == SuggestedOutcome.POSSIBLE_FORCED_LABOUR,
        )
    return "", "", False


def _export_rows(agency_id: int, year: int, now: datetime) -> tuple[list[ExportRow], int]:
    """The rows an export of this agency's year holds now, and how many victims were left out
    for want of a live research consent."""
    links = _victim_links(agency_id, year)
    person_ids = {link.person_id for link in links}
    consented = _consented_person_ids(agency_id, person_ids, now)
    official: dict[int, OfficialDetermination] = {}
    for decision in (
        OfficialDetermination.objects.filter(person_id__in=consented)
        .select_related("authority")
        .order_by("recorded_at", "id")
    ):
        official[decision.person_id] = decision  # the latest wins
    suggested: dict[int, str] = {}
    for person_id, outcome, override in (
        ScreeningInterview.objects.filter(person_id__in=consented, status__in=FINISHED_STATUSES)
        .order_by("started_at", "id")
        .values_list("person_id", "suggested_outcome", "override_outcome")
    ):
        suggested[person_id] = override or outcome
    rows = []
    for link in links:
        if link.person_id not in consented:
            continue
        case, person = link.case, link.person
        status, decided_by, forced = _status(person.pk, official, suggested)
        rows.append(
            ExportRow(
                case_id=case.pk,
                year=case.opened_at.year,
                sex=person.sex,
                age=_age(person.date_of_birth, case.opened_at),
                citizenship=ALPHA3.get(person.nationality, ""),
                country=ALPHA3.get(case.destination_country, ""),
                status=status,
                decided_by=decided_by,
                case_closed=case.closed_at is not None,
                closure_reason=case.closure_reason,
                forced_labour=forced,
            )
        )
    return rows, len(person_ids - consented)


def _htcds(row: ExportRow) -> tuple[object, ...]:
    return (
        row.year,
        HTCDS_GENDER.get(row.sex, "NonSpecifiedUnknown"),
        "" if row.age is None else row.age,
        row.citizenship,
        row.country,
        row.status,
        row.decided_by,
        "Closed" if row.case_closed else "Active",
        row.closure_reason,
    )


def _ctdc(row: ExportRow) -> tuple[object, ...]:
    majority = "" if row.age is None else ("Minor" if row.age < 18 else "Adult")
    return (
        row.year,
        CTDC_GENDER.get(row.sex, ""),
        ctdc_age_band(row.age),
        majority,
        row.citizenship,
        row.country,
        1 if row.forced_labour else "",
    )


def export_csv(shape: str, rows: list[ExportRow]) -> str:
    """The CSV text of an export: a random, per-export record id and the shape's columns. Rows
    are shuffled so their order does not follow case ids."""
    columns, cells = (
        (HTCDS_COLUMNS, _htcds) if shape == ExportShape.HTCDS else (CTDC_COLUMNS, _ctdc)
    )
    shuffled = list(rows)
    secrets.SystemRandom().shuffle(shuffled)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in shuffled:
        writer.writerow((secrets.token_hex(8), *cells(row)))
    return out.getvalue()


def encrypted_zip(*, name: str, data: bytes, passphrase: str) -> bytes:
    """A ZIP holding one file, encrypted with WinZip AES-256 (opens in 7-Zip and most archivers;
    the passphrase is the only key)."""
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(passphrase.encode("utf-8"))
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.writestr(name, data)
    return buffer.getvalue()


# --- services -----------------------------------------------------------------------------


def clean_purpose(purpose: str) -> str:
    purpose = " ".join(purpose.split())
    if len(purpose) < MIN_PURPOSE:
        raise ValidationFailed(
            {"purpose": [_("State the purpose of this export in at least 15 characters.")]}
        )
    if len(purpose) > 500:
        raise ValidationFailed({"purpose": [_("Keep the purpose under 500 characters.")]})
    return purpose


def year_and_purpose_errors(year: int, purpose: str) -> tuple[dict[str, list[str]], str]:
    """What every export asks of its year and stated purpose: the errors found (by field) and
    the purpose cleaned. Shared by record exports, report files and public releases."""
    errors: dict[str, list[str]] = {}
    if not 2000 <= year <= clock.now().year:
        errors["year"] = [_("Choose a year from 2000 to this year.")]
    try:
        purpose = clean_purpose(purpose)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    return errors, purpose


def record_export_request(*, actor: Principal, shape: str, year: int, purpose: str) -> RecordExport:
    """Ask for an export. It is approved at once when it holds at most the threshold's number of
    cases, else it waits for a second person."""
    if not policies.can_request_record_export(actor) or actor.agency is None or actor.user is None:
        raise NotFound
    errors, purpose = year_and_purpose_errors(year, purpose)
    if shape not in ExportShape.values:
        errors["shape"] = [_("Choose HTCDS or CTDC.")]
    now = clock.now()
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        case_count = _cases(actor.agency.pk, year).count()
        if case_count == 0:
            raise ValidationFailed({"year": [_("Your agency has no cases opened in that year.")]})
        rows, withheld = _export_rows(actor.agency.pk, year, now)
        needs_approval = case_count > export_two_person_threshold()
        export = RecordExport.objects.create(
            agency=actor.agency,
            shape=shape,
            year=year,
            purpose=purpose,
            case_count=case_count,
            person_count=len(rows),
            withheld_count=withheld,
            needs_approval=needs_approval,
            status=ExportStatus.PENDING if needs_approval else ExportStatus.APPROVED,
            requested_by=actor.user,
            requested_at=now,
        )
        audit_record(
            actor=actor,
            action=AUDIT_REQUESTED,
            target_type="record_export",
            target_id=export.pk,
            metadata={
                "shape": shape,
                "year": year,
                "cases": case_count,
                "persons": len(rows),
                "needs_approval": needs_approval,
            },
        )
    return export


def _locked(actor: Principal, export_id: int) -> RecordExport:
    export = RecordExport.objects.select_for_update().filter(pk=export_id).first()
    if export is None or not policies.can_see_record_export(actor, export):
        raise NotFound
    return export


def record_export_decide(
    *, actor: Principal, export_id: int, approve: bool, note: str = ""
) -> RecordExport:
    """A second person approves or rejects a pending export. The requester cannot: that attempt
    is refused and audited (the rule is also a database constraint)."""
    if not policies.can_approve_record_export(actor):
        raise NotFound
    with transaction.atomic():
        export = _locked(actor, export_id)
        self_approval = export.requested_by_id == actor.user_id
        if not self_approval:
            if export.status != ExportStatus.PENDING:
                raise Conflict("this export was already decided")
            _decide(actor, export, approve=approve, note=note)
    if self_approval:
        # Written after the locking transaction, so that the refusal's row stays.
        audit_record(
            actor=actor,
            action=AUDIT_SELF_APPROVAL_REFUSED,
            target_type="record_export",
            target_id=export.pk,
        )
        raise SelfApproval
    return export


def _decide(actor: Principal, export: RecordExport, *, approve: bool, note: str) -> None:
    export.status = ExportStatus.APPROVED if approve else ExportStatus.REJECTED
    export.decided_by = actor.user
    export.decided_at = clock.now()
    export.decision_note = " ".join(note.split())[:500]
    export.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action=AUDIT_APPROVED if approve else AUDIT_REJECTED,
        target_type="record_export",
        target_id=export.pk,
        metadata={"requested_by": export.requested_by_id, "cases": export.case_count},
    )


class SelfApproval(Conflict):
    """The requester tried to approve their own export."""


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    rows: int


def download_deadline(export: RecordExport) -> datetime | None:
    approved_at = export.decided_at if export.needs_approval else export.requested_at
    return approved_at + timedelta(hours=DOWNLOAD_HOURS) if approved_at else None


def record_export_download(*, actor: Principal, export_id: int, passphrase: str) -> ExportFile:
    """The requester takes an approved export, once, encrypted with their passphrase. Consent is
    checked again now: a consent withdrawn since the request takes its person out."""
    with transaction.atomic():
        export = _locked(actor, export_id)
        if export.requested_by_id != actor.user_id or not policies.can_request_record_export(actor):
            raise NotFound
        if len(passphrase) < MIN_PASSPHRASE:
            raise ValidationFailed(
                {"passphrase": [_("Choose a passphrase of at least 12 characters.")]}
            )
        if export.status != ExportStatus.APPROVED:
            raise Conflict(f"this export is {export.status}")
        now = clock.now()
        deadline = download_deadline(export)
        if deadline is None or now > deadline:
            raise Conflict("this export has expired")
        rows, _withheld = _export_rows(export.agency_id, export.year, now)
        export.status = ExportStatus.DOWNLOADED
        export.downloaded_at = now
        export.save(update_fields=["status", "downloaded_at"])
        case_ids = sorted({row.case_id for row in rows})
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    AuditAction.RECORD_EXPORTED,
                    "case",
                    case_id,
                    {"export": export.pk, "shape": export.shape},
                )
                for case_id in case_ids
            ]
            + [
                AuditEntry(
                    AuditAction.RECORD_EXPORTED,
                    "record_export",
                    export.pk,
                    {"rows": len(rows), "cases": len(case_ids)},
                )
            ],
        )
    name = f"lifeline-{export.shape}-{export.year}-{export.pk}"
    content = encrypted_zip(
        name=f"{name}.csv", data=export_csv(export.shape, rows).encode(), passphrase=passphrase
    )
    return ExportFile(filename=f"{name}.zip", content=content, rows=len(rows))


# --- reads --------------------------------------------------------------------------------


def record_export_list(*, actor: Principal) -> QuerySet[RecordExport]:
    """The agency's exports, newest first, for those who may ask for or approve them."""
    if actor.agency is None or not (
        policies.can_request_record_export(actor) or policies.can_approve_record_export(actor)
    ):
        raise NotFound
    return RecordExport.objects.filter(agency=actor.agency).select_related(
        "requested_by", "decided_by"
    )


def record_export_get(*, actor: Principal, export_id: int) -> RecordExport:
    export = (
        RecordExport.objects.select_related("requested_by", "decided_by")
        .filter(pk=export_id)
        .first()
    )
    if export is None or not policies.can_see_record_export(actor, export):
        raise NotFound
    return export
