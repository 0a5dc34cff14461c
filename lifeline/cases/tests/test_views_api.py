"""The case screens and the case API, as a person and as a partner system use them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.test import Client

from lifeline.accounts.models import Agency, Role, User
from lifeline.accounts.services import staff_token_create
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SystemActor
from lifeline.cases.models import Case, CaseEvent, Consent
from lifeline.people.models import PersonRecord

pytestmark = pytest.mark.django_db


def _bearer(user: User, agency: Agency) -> dict[str, str]:
    _, token = staff_token_create(actor=SystemActor("test"), user=user, agency=agency)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _open_via_form(client: Client) -> Case:
    response = client.get("/cases/new/", {"q_name": "Sok Heang"})
    assert response.status_code == 200
    assert b"No possible match found" in response.content
    response = client.post(
        "/cases/new/",
        {
            "confirm": "1",
            "person_id": "new",
            "q_name": "Sok Heang",
            "name_latin": "Sok Heang",
            "name_khmer": "សុខ ហៀង",
            "date_of_birth": "1999",
            "sex": "female",
            "destination_country": "th",
            "summary": "synthetic case",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    case = Case.objects.get()
    assert response["Location"] == f"/cases/{case.reference}/"
    return case


def test_case_worker_searches_opens_and_moves_a_case(
    client: Client, case_worker: User, login_fully: Callable[..., object]
) -> None:
    login_fully(client, case_worker)
    case = _open_via_form(client)
    assert case.destination_country == "TH"
    person = case.persons.get().person
    assert (person.name_latin, person.name_khmer, person.agency_id) == (
        "Sok Heang",
        "សុខ ហៀង",
        case.owner_agency_id,
    )
    page = client.get(f"/cases/{case.reference}/")
    assert page.status_code == 200
    assert b"Request received" in page.content and "សុខ ហៀង".encode() in page.content

    moved = client.post(f"/cases/{case.reference}/move/", {"target": "triaged", "version": 1})
    assert moved.status_code == 302
    case.refresh_from_db()
    assert (case.state, case.version) == ("triaged", 2)

    # A second editor still holding version 1 is told, and nothing is overwritten.
    stale = client.post(f"/cases/{case.reference}/move/", {"target": "verifying", "version": 1})
    assert stale.status_code == 409
    assert b"changed by someone else" in stale.content
    case.refresh_from_db()
    assert (case.state, case.version) == ("triaged", 2)

    # An illegal move names the allowed next states.
    illegal = client.post(f"/cases/{case.reference}/move/", {"target": "returned", "version": 2})
    assert illegal.status_code == 409
    assert b"allowed:" in illegal.content and b"verifying" in illegal.content
    case.refresh_from_db()
    assert case.state == "triaged"

    # Searching again finds the person and the case.
    again = client.get("/cases/new/", {"q_name": "Sok Heang"})
    assert case.reference.encode() in again.content


def test_other_agency_and_wrong_roles_get_not_found(
    client: Client,
    case_worker: User,
    other_agency_user: User,
    analyst: User,
    login_fully: Callable[..., object],
) -> None:
    login_fully(client, case_worker)
    case = _open_via_form(client)
    events_before = CaseEvent.objects.count()
    for user in (other_agency_user, analyst):
        other = Client(headers={"Accept-Language": "en"})
        login_fully(other, user)
        assert other.get(f"/cases/{case.reference}/").status_code == 404
        response = other.post(f"/cases/{case.reference}/move/", {"target": "triaged", "version": 1})
        assert response.status_code == 404
    case.refresh_from_db()
    assert case.state == "request_received"
    assert CaseEvent.objects.count() == events_before
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).count() >= 2


def test_consent_is_recorded_and_withdrawn_from_the_panel(
    client: Client, case_worker: User, agency_b: Agency, login_fully: Callable[..., object]
) -> None:
    login_fully(client, case_worker)
    case = _open_via_form(client)
    person = case.persons.get().person
    bad = client.post(
        f"/cases/{case.reference}/consent/",
        {"person_id": person.pk, "scope": "share", "given_by": "self", "method": "verbal",
         "given_on": "2020-01-01"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert b"Sharing consent names the recipient" in bad.content
    assert not Consent.objects.exists()
    ok = client.post(
        f"/cases/{case.reference}/consent/",
        {"person_id": person.pk, "scope": "share", "recipient_agency": agency_b.pk,
         "purpose": "rescue", "given_by": "self", "method": "verbal", "given_on": "2020-01-01"},
    )  # fmt: skip
    assert ok.status_code == 302
    consent = Consent.objects.get()
    assert (consent.recipient_agency_id, consent.purpose) == (agency_b.pk, "rescue")
    withdrawn = client.post(f"/cases/{case.reference}/consent/{consent.pk}/withdraw/")
    assert withdrawn.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None


def test_api_opens_moves_and_refuses(
    client: Client,
    case_worker: User,
    agency_a: Agency,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    headers = _bearer(case_worker, agency_a)
    created = client.post(
        "/api/v1/cases",
        {"victim": {"name_latin": "Chan Dara", "date_of_birth": "2001-02-03", "sex": "male"},
         "destination_country": "MY"},
        content_type="application/json", **headers,
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    reference = body["reference"]
    assert body["state"] == "request_received" and body["is_owner"] is True
    assert {"state": "triaged", "ready": True} in body["next_states"]
    assert body["persons"][0]["name_latin"] == "Chan Dara"

    moved = client.post(
        f"/api/v1/cases/{reference}/transition",
        {"target": "triaged", "version": body["version"]},
        content_type="application/json",
        **headers,
    )
    assert moved.status_code == 200 and moved.json()["state"] == "triaged"

    stale = client.post(
        f"/api/v1/cases/{reference}/transition",
        {"target": "verifying", "version": body["version"]},
        content_type="application/json",
        **headers,
    )
    assert stale.status_code == 409

    bad = client.post(
        f"/api/v1/cases/{reference}/records/removal",
        {"mode": "rescue", "date": "2999-01-01", "country": "MY"},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "date"]

    other = _bearer(other_agency_user, agency_b)
    assert client.get(f"/api/v1/cases/{reference}", **other).status_code == 404
    assert (
        client.post(
            f"/api/v1/cases/{reference}/transition",
            {"target": "verifying", "version": 2},
            content_type="application/json",
            **other,
        ).status_code
        == 404
    )
    assert client.get("/api/v1/cases", **other).json() == []
    assert client.get(f"/api/v1/cases/{reference}").status_code == 401


def test_api_search_before_create_finds_khmer_and_latin(
    client: Client, case_worker: User, agency_a: Agency
) -> None:
    headers = _bearer(case_worker, agency_a)
    created = client.post(
        "/api/v1/cases",
        {"victim": {"name_latin": "Sok Heang", "name_khmer": "សុខ ហៀង", "phone": "012 345 678"}},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    person_id = created.json()["persons"][0]["person_id"]
    for query in ({"name": "Sokheang"}, {"name": "សុខ ហៀង"}, {"phone": "+85512345678"}):
        found = client.get("/api/v1/cases/search", query, **headers).json()
        assert found and found[0]["person_id"] == person_id, query
        assert found[0]["cases"] == [created.json()["reference"]]


def test_api_consent_then_withdrawal(
    client: Client, case_worker: User, agency_a: Agency, agency_b: Agency
) -> None:
    headers = _bearer(case_worker, agency_a)
    person = PersonRecord.objects.create(
        agency=agency_a, name_latin="Srey Pov", created_at=date(2024, 1, 1).isoformat() + "T00:00Z",
        updated_at="2024-01-01T00:00Z",
    )  # fmt: skip
    created = client.post(
        "/api/v1/cases", {"victim_person_id": person.pk}, content_type="application/json", **headers
    )
    assert created.status_code == 201, created.content
    reference = created.json()["reference"]
    consent = client.post(
        f"/api/v1/cases/{reference}/consents",
        {"person_id": person.pk, "scope": "share", "recipient_agency": agency_b.pk,
         "purpose": "rescue", "given_by": "self", "method": "written", "given_on": "2024-05-01"},
        content_type="application/json", **headers,
    )  # fmt: skip
    assert consent.status_code == 201, consent.content
    withdrawn = client.post(
        f"/api/v1/cases/{reference}/consents/{consent.json()['id']}/withdraw", **headers
    )
    assert withdrawn.status_code == 200
    assert Consent.objects.get().withdrawn_at is not None


def test_intake_officer_may_open_and_triage_but_not_verify(
    client: Client, intake_officer: User, agency_a: Agency
) -> None:
    headers = _bearer(intake_officer, agency_a)
    created = client.post(
        "/api/v1/cases", {"victim": {"name_latin": "Keo Sina"}}, content_type="application/json",
        **headers,
    )  # fmt: skip
    assert created.status_code == 201
    reference = created.json()["reference"]
    assert [m["state"] for m in created.json()["next_states"]] == ["triaged", "reception_screening"]
    triaged = client.post(
        f"/api/v1/cases/{reference}/transition", {"target": "triaged", "version": 1},
        content_type="application/json", **headers,
    )  # fmt: skip
    assert triaged.status_code == 200
    refused = client.post(
        f"/api/v1/cases/{reference}/transition", {"target": "verifying", "version": 2},
        content_type="application/json", **headers,
    )  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["detail"] == "Your role may not make this change."
    assert Case.objects.get().state == "triaged"
    assert Role.INTAKE_OFFICER  # the role under test


def test_co_victim_and_reporter_are_added_and_a_victim_role_is_refused(
    client: Client, case_worker: User, agency_a: Agency, login_fully: Callable[..., object]
) -> None:
    headers = _bearer(case_worker, agency_a)
    reference = client.post(
        "/api/v1/cases", {"victim": {"name_latin": "Ros Chanthy"}},
        content_type="application/json", **headers,
    ).json()["reference"]  # fmt: skip
    added = client.post(
        f"/api/v1/cases/{reference}/persons",
        {"role": "co_victim", "person": {"name_latin": "Ros Vanna", "date_of_birth": "2003"}},
        content_type="application/json", **headers,
    )  # fmt: skip
    assert added.status_code == 201, added.content
    refused = client.post(
        f"/api/v1/cases/{reference}/persons",
        {"role": "victim", "person": {"name_latin": "Someone Else"}},
        content_type="application/json", **headers,
    )  # fmt: skip
    assert refused.status_code == 422
    login_fully(client, case_worker)
    form = client.post(
        f"/cases/{reference}/persons/",
        {"role": "reporter", "name_khmer": "រស់ សុខា", "sex": "male"},
    )
    assert form.status_code == 302
    case = Case.objects.get(reference=reference)
    assert sorted(case.persons.values_list("role", flat=True)) == [
        "co_victim",
        "reporter",
        "victim",
    ]
    assert PersonRecord.objects.filter(agency=agency_a).count() == 3


@pytest.mark.parametrize("path", ["move/", "persons/", "override/", "tasks/"])
def test_a_refused_write_to_a_shared_case_is_not_found_whatever_the_body(
    path: str, client: Client, agency_a: Agency, agency_b: Agency, supervisor: User,
    login_fully: Callable[..., object],
) -> None:  # fmt: skip
    from lifeline.cases.tests.factories import CaseFactory, ConsentFactory, victim_of
    from lifeline.cases.tests.test_selectors import shared

    theirs = CaseFactory(owner_agency=agency_b)
    shared(theirs, agency_a, ["summary"])  # no workflow, persons or tasks section
    assert ConsentFactory._meta.model.objects.exists() and victim_of(theirs)
    login_fully(client, supervisor)
    assert client.get(f"/cases/{theirs.reference}/").status_code == 200
    events = CaseEvent.objects.count()
    assert client.post(f"/cases/{theirs.reference}/{path}", {}).status_code == 404
    assert CaseEvent.objects.count() == events
