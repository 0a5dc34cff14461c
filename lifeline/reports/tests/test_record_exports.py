"""Record exports under the two-person rule (battery A10, ASVS 2.3.5) and issue 6's exports:
a stated purpose, consent respected, every step audited, and an encrypted file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import pyzipper
from django.db import IntegrityError, transaction
from django.test import Client, override_settings

from lifeline.accounts.models import Agency, Role, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.cases.models import Case, ConsentScope
from lifeline.cases.tests.factories import CaseFactory, ConsentFactory, victim_of
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.reports import record_exports
from lifeline.reports.models import ExportStatus, RecordExport
from lifeline.reports.record_exports import (
    CTDC_COLUMNS,
    HTCDS_COLUMNS,
    SelfApproval,
    ctdc_age_band,
    record_export_decide,
    record_export_download,
    record_export_request,
)

PURPOSE = "Annual submission of anonymised rows to the national statistics office"
PASSPHRASE = "correct horse battery staple"
YEAR = 2022
OPENED = datetime(2022, 3, 15, 9, 0, tzinfo=UTC)


def research_consent(case: Case, *, withdrawn: bool = False) -> None:
    person = victim_of(case)
    ConsentFactory(
        person=person,
        agency=case.owner_agency,
        scope=ConsentScope.RESEARCH,
        recipient_agency=None,
        purpose="",
        withdrawn_at=clock.now() if withdrawn else None,
    )


def make_cases(agency: Agency, n: int, *, consented: int) -> list[Case]:
    cases = []
    for i in range(n):
        case = CaseFactory(owner_agency=agency, opened_at=OPENED, destination_country="TH")
        person = victim_of(case)
        person.sex = "female" if i % 2 else "male"
        person.date_of_birth = "2006" if i == 0 else "1996-05-02"
        person.save()
        if i < consented:
            research_consent(case)
        cases.append(case)
    return cases


@pytest.fixture
def requester(supervisor: User) -> Principal:
    return principal_for(supervisor)


@pytest.fixture
def approver(data_protection_officer: User) -> Principal:
    return principal_for(data_protection_officer)


def unzip(content: bytes, passphrase: str = PASSPHRASE) -> list[dict[str, str]]:
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        archive.setpassword(passphrase.encode())
        (name,) = archive.namelist()
        text = archive.read(name).decode()
    return list(csv.DictReader(io.StringIO(text)))


# --- the two-person rule -------------------------------------------------------------------


@override_settings(LIFELINE_EXPORT_TWO_PERSON_THRESHOLD=3)
def test_one_person_cannot_complete_a_large_export(requester: Principal, agency_a: Agency) -> None:
    make_cases(agency_a, 4, consented=4)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    assert (export.needs_approval, export.status, export.case_count) == (True, "pending", 4)
    # The requester holds record.export.approve too (a supervisor) and still cannot approve.
    with pytest.raises(SelfApproval):
        record_export_decide(actor=requester, export_id=export.pk, approve=True)
    # Nor download while it waits.
    with pytest.raises(Conflict):
        record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)
    export.refresh_from_db()
    assert (export.status, export.decided_by_id, export.downloaded_at) == ("pending", None, None)
    refused = AuditEvent.objects.get(action=record_exports.AUDIT_SELF_APPROVAL_REFUSED)
    assert (refused.actor_id, refused.target_id) == (requester.user_id, str(export.pk))
    assert not AuditEvent.objects.filter(action=AuditAction.RECORD_EXPORTED).exists()


@override_settings(LIFELINE_EXPORT_TWO_PERSON_THRESHOLD=3)
def test_the_database_refuses_a_self_approval_too(requester: Principal, agency_a: Agency) -> None:
    make_cases(agency_a, 4, consented=0)
    export = record_export_request(actor=requester, shape="ctdc", year=YEAR, purpose=PURPOSE)
    export.status = ExportStatus.APPROVED
    export.decided_by_id = export.requested_by_id
    with pytest.raises(IntegrityError), transaction.atomic():
        export.save()
    # An approval with no decider is refused as well.
    export.decided_by_id = None
    with pytest.raises(IntegrityError), transaction.atomic():
        export.save()


@override_settings(LIFELINE_EXPORT_TWO_PERSON_THRESHOLD=3)
def test_a_second_person_approves_and_both_are_audited(
    requester: Principal, approver: Principal, agency_a: Agency
) -> None:
    cases = make_cases(agency_a, 4, consented=3)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    record_export_decide(actor=approver, export_id=export.pk, approve=True, note="Checked.")
    exported = record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)
    export.refresh_from_db()
    assert export.status == ExportStatus.DOWNLOADED
    assert export.decided_by_id == approver.user_id
    actions = {
        (e.action, e.actor_id)
        for e in AuditEvent.objects.filter(target_type="record_export", target_id=str(export.pk))
    }
    assert {
        (record_exports.AUDIT_REQUESTED, requester.user_id),
        (record_exports.AUDIT_APPROVED, approver.user_id),
        (AuditAction.RECORD_EXPORTED, requester.user_id),
    } <= actions
    # Every case the file exposes has its own audit row; the unconsented one exposes nothing.
    exposed = set(
        AuditEvent.objects.filter(
            action=AuditAction.RECORD_EXPORTED, target_type="case"
        ).values_list("target_id", flat=True)
    )
    assert exposed == {str(c.pk) for c in cases[:3]}
    assert exported.rows == 3
    assert len(unzip(exported.content)) == 3


@override_settings(LIFELINE_EXPORT_TWO_PERSON_THRESHOLD=3)
def test_a_rejected_export_never_leaves(
    requester: Principal, approver: Principal, agency_a: Agency
) -> None:
    make_cases(agency_a, 4, consented=4)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    record_export_decide(actor=approver, export_id=export.pk, approve=False)
    with pytest.raises(Conflict):
        record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)
    with pytest.raises(Conflict):  # decided once
        record_export_decide(actor=approver, export_id=export.pk, approve=True)


@override_settings(LIFELINE_EXPORT_TWO_PERSON_THRESHOLD=3)
def test_only_the_own_agency_and_the_right_roles_see_or_decide(
    requester: Principal, agency_a: Agency, make_staff: Callable[..., User], agency_b: Agency
) -> None:
    make_cases(agency_a, 4, consented=4)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    outsiders = [
        make_staff("b-dpo", Role.DATA_PROTECTION_OFFICER, agency_b),
        make_staff("b-supervisor", Role.SUPERVISOR, agency_b),
        make_staff("a-analyst", Role.ANALYST, agency_a),
        make_staff("a-worker", Role.CASE_WORKER, agency_a),
    ]
    for user in outsiders:
        actor = principal_for(user)
        with pytest.raises(NotFound):
            record_export_decide(actor=actor, export_id=export.pk, approve=True)
        with pytest.raises(NotFound):
            record_exports.record_export_get(actor=actor, export_id=export.pk)
    # The approver may not download what someone else asked for.
    second = principal_for(make_staff("a-supervisor-2", Role.SUPERVISOR, agency_a))
    record_export_decide(actor=second, export_id=export.pk, approve=True)
    with pytest.raises(NotFound):
        record_export_download(actor=second, export_id=export.pk, passphrase=PASSPHRASE)
    # An analyst (aggregates only) cannot even ask.
    with pytest.raises(NotFound):
        record_export_request(
            actor=principal_for(outsiders[2]), shape="htcds", year=YEAR, purpose=PURPOSE
        )


# --- small exports, purpose, consent, the file -----------------------------------------------


@override_settings(LIFELINE_EXPORT_TWO_PERSON_THRESHOLD=3)
def test_a_small_export_needs_no_second_person_and_downloads_once(
    requester: Principal, agency_a: Agency
) -> None:
    make_cases(agency_a, 3, consented=2)
    export = record_export_request(actor=requester, shape="ctdc", year=YEAR, purpose=PURPOSE)
    assert (export.needs_approval, export.status) == (False, "approved")
    assert (export.person_count, export.withheld_count) == (2, 1)
    exported = record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)
    rows = unzip(exported.content)
    assert tuple(rows[0]) == CTDC_COLUMNS
    # Born "2006" (year only, taken as mid-year) is 15 in March 2022; born 1996-05-02 is 25.
    assert sorted(r["ageBroad"] for r in rows) == ["24--26", "9--17"]
    assert sorted(r["majorityStatus"] for r in rows) == ["Adult", "Minor"]
    assert {r["CountryOfExploitation"] for r in rows} == {"THA"}
    assert {r["citizenship"] for r in rows} == {"KHM"}
    with pytest.raises(Conflict):
        record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)


def test_the_file_is_encrypted_and_holds_no_identifiers(
    requester: Principal, agency_a: Agency
) -> None:
    cases = make_cases(agency_a, 2, consented=2)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    exported = record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)
    assert exported.filename.endswith(".zip")
    rows = unzip(exported.content)
    assert tuple(rows[0]) == HTCDS_COLUMNS
    assert sorted(r["prs_Gender"] for r in rows) == ["Feminine", "Masculine"]
    forbidden = [c.reference for c in cases] + [victim_of(c).name_latin for c in cases]
    forbidden += ["1996-05-02", "2022-03-15", "Synthetic"]
    for secret in forbidden:
        assert secret.encode() not in exported.content  # encrypted, not merely zipped
        for row in rows:
            assert secret not in ",".join(row.values())
    with pytest.raises(RuntimeError), pyzipper.AESZipFile(io.BytesIO(exported.content)) as z:
        z.setpassword(b"the wrong passphrase")
        z.read(z.namelist()[0])


def test_consent_withdrawn_after_the_request_takes_the_person_out(
    requester: Principal, agency_a: Agency
) -> None:
    cases = make_cases(agency_a, 2, consented=2)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    consent = victim_of(cases[0]).consents.get(scope=ConsentScope.RESEARCH)
    consent.withdrawn_at = clock.now()
    consent.save()
    exported = record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)
    assert exported.rows == 1
    exposed = AuditEvent.objects.filter(action=AuditAction.RECORD_EXPORTED, target_type="case")
    assert list(exposed.values_list("target_id", flat=True)) == [str(cases[1].pk)]


@pytest.mark.parametrize(
    ("shape", "year", "purpose", "field"),
    [
        ("htcds", YEAR, "for stats", "purpose"),
        ("spreadsheet", YEAR, PURPOSE, "shape"),
        ("htcds", 1999, PURPOSE, "year"),
        ("htcds", 2021, PURPOSE, "year"),  # no cases opened that year
    ],
)
def test_bad_requests_are_refused_and_write_nothing(
    requester: Principal, agency_a: Agency, shape: str, year: int, purpose: str, field: str
) -> None:
    make_cases(agency_a, 1, consented=1)
    with pytest.raises(ValidationFailed) as refused:
        record_export_request(actor=requester, shape=shape, year=year, purpose=purpose)
    assert field in refused.value.errors
    assert not RecordExport.objects.exists()
    assert not AuditEvent.objects.filter(target_type="record_export").exists()


def test_a_short_passphrase_is_refused_and_the_export_stays(
    requester: Principal, agency_a: Agency
) -> None:
    make_cases(agency_a, 1, consented=1)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    with pytest.raises(ValidationFailed):
        record_export_download(actor=requester, export_id=export.pk, passphrase="short")
    export.refresh_from_db()
    assert export.status == ExportStatus.APPROVED


def test_an_approved_export_expires(requester: Principal, agency_a: Agency) -> None:
    make_cases(agency_a, 1, consented=1)
    export = record_export_request(actor=requester, shape="htcds", year=YEAR, purpose=PURPOSE)
    clock.advance(timedelta(hours=record_exports.DOWNLOAD_HOURS, minutes=1))
    with pytest.raises(Conflict):
        record_export_download(actor=requester, export_id=export.pk, passphrase=PASSPHRASE)


@pytest.mark.parametrize(
    ("age", "band"),
    [(None, ""), (0, "0--8"), (8, "0--8"), (9, "9--17"), (17, "9--17"), (18, "18--20"),
     (29, "27--29"), (30, "30--38"), (47, "39--47"), (48, "48+"), (90, "48+")],
)  # fmt: skip
def test_ctdc_age_bands(age: int | None, band: str) -> None:
    assert ctdc_age_band(age) == band


# --- the pages -------------------------------------------------------------------------------


@override_settings(LIFELINE_EXPORT_TWO_PERSON_THRESHOLD=1)
def test_the_pages_carry_the_rule_in_khmer_and_english(
    client: Client,
    login_fully: Callable[..., object],
    supervisor: User,
    data_protection_officer: User,
    agency_a: Agency,
) -> None:
    make_cases(agency_a, 2, consented=2)
    login_fully(client, supervisor)
    response = client.post(
        "/reports/exports/new/", {"shape": "htcds", "year": str(YEAR), "purpose": PURPOSE}
    )
    export = RecordExport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{export.pk}/")
    page = client.get(f"/reports/exports/{export.pk}/").content.decode()
    assert "Waiting for a second person" in page and 'name="decision"' not in page
    # The requester's own approval attempt is refused with a reason, and nothing changes.
    refused = client.post(f"/reports/exports/{export.pk}/decide/", {"decision": "approve"})
    assert refused.status_code == 403
    assert "a second person must approve it" in refused.content.decode()
    export.refresh_from_db()
    assert export.status == ExportStatus.PENDING

    data_protection_officer.preferred_language = "km"
    data_protection_officer.save(update_fields=["preferred_language"])
    second = Client()
    login_fully(second, data_protection_officer)
    khmer = second.get(f"/reports/exports/{export.pk}/").content.decode()
    assert "ការសម្រេចរបស់អ្នកជាមនុស្សទីពីរ" in khmer  # "your decision as the second person"
    assert (
        second.post(f"/reports/exports/{export.pk}/decide/", {"decision": "approve"}).status_code
        == 302
    )
    export.refresh_from_db()
    assert export.status == ExportStatus.APPROVED

    download = client.post(f"/reports/exports/{export.pk}/download/", {"passphrase": PASSPHRASE})
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "no-store"
    assert len(unzip(download.content)) == 2
