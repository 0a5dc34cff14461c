"""The referral API: the same rules as the screens, with staff bearer tokens. Refused calls
answer 404 (no access) or 422 (no consent, bad input) and leave nothing behind."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lifeline.cases import selectors as case_selectors
from lifeline.cases import services as case_services
from lifeline.cases.models import Purpose
from lifeline.core import clock
from lifeline.core.errors import NotFound
from lifeline.referrals.models import Referral

from .conftest import Snapshot, as_principal


def post(client, path, body=None):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


def body_for(case, agency, **overrides):
    body = {
        "case_reference": case.reference,
        "to_agency_id": agency.pk,
        "kind": "share",
        "purpose": Purpose.REPATRIATION,
        "sections": ["persons"],
        "note": "Mother is the contact (synthetic).",
    }
    body.update(overrides)
    return body


def test_api_send_without_consent_is_422_and_nothing_is_written(case, supervisor, agency_b, api):
    client = api(supervisor)
    before = Snapshot()

    response = post(client, "/api/v1/referrals", body_for(case, agency_b))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "consent"]
    assert before.unchanged()


def test_api_full_share_round_trip(
    case, supervisor, b_case_worker, agency_a, agency_b, make_consent, api
):
    make_consent(agency_b)
    sender, receiver = api(supervisor), api(b_case_worker)

    sent = post(sender, "/api/v1/referrals", body_for(case, agency_b))
    assert sent.status_code == 201
    referral_id = sent.json()["id"]
    assert sent.json()["note"] == "Mother is the contact (synthetic)."

    listing = receiver.get("/api/v1/referrals").json()
    assert listing["outgoing"] == []
    assert [r["id"] for r in listing["incoming"]] == [referral_id]
    incoming = listing["incoming"][0]
    assert incoming["case_reference"] == case.reference
    assert incoming["from_agency"] == agency_a.name
    assert incoming["sections"] == ["persons", "summary"]
    assert "note" not in incoming
    before_accept = receiver.get(f"/api/v1/referrals/{referral_id}").json()
    assert (before_accept["status"], before_accept["note"]) == ("pending", "")

    accepted = post(receiver, f"/api/v1/referrals/{referral_id}/accept")

    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["note"] == "Mother is the contact (synthetic)."
    access = case_selectors.case_access(as_principal(b_case_worker), case)
    assert access.sections == frozenset({"summary", "persons"})

    revoked = post(sender, f"/api/v1/referrals/{referral_id}/revoke")
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    assert case_selectors.case_access(as_principal(b_case_worker), case).sections == frozenset()


def test_api_transfer_changes_owner(case, liaison_officer, b_liaison, agency_b, make_consent, api):
    make_consent(agency_b, purpose=Purpose.SERVICES)
    sent = post(
        api(liaison_officer),
        "/api/v1/referrals",
        body_for(case, agency_b, kind="transfer", purpose=Purpose.SERVICES),
    )

    accepted = post(api(b_liaison), f"/api/v1/referrals/{sent.json()['id']}/accept")

    assert accepted.status_code == 200
    case.refresh_from_db()
    assert case.owner_agency == agency_b
    assert case_selectors.case_access(as_principal(liaison_officer), case).is_owner is False


def test_api_decline_needs_a_reason(
    case, supervisor, b_case_worker, agency_b, make_consent, send, api
):
    make_consent(agency_b)
    referral = send(supervisor)
    client = api(b_case_worker)
    before = Snapshot()

    missing = post(client, f"/api/v1/referrals/{referral.pk}/decline", {"reason": " "})
    assert missing.status_code == 422
    assert before.unchanged()

    declined = post(client, f"/api/v1/referrals/{referral.pk}/decline", {"reason": "Full."})
    assert (declined.status_code, declined.json()["status"]) == (200, "declined")
    assert declined.json()["decline_reason"] == "Full."


def test_api_accept_after_consent_withdrawn_is_409_and_case_get_is_not_found(
    case, supervisor, b_case_worker, agency_b, make_consent, send, api
):
    consent = make_consent(agency_b)
    first = send(supervisor)
    client = api(b_case_worker)
    assert post(client, f"/api/v1/referrals/{first.pk}/accept").status_code == 200
    case_services.consent_withdraw(
        principal=as_principal(supervisor), reference=case.reference, consent_id=consent.pk
    )

    with pytest.raises(NotFound):
        case_selectors.case_get(principal=as_principal(b_case_worker), reference=case.reference)
    assert client.get(f"/api/v1/referrals/{first.pk}").json()["status"] == "ended"

    second_consent = make_consent(agency_b, purpose=Purpose.LEGAL)
    second = send(supervisor, purpose=Purpose.LEGAL)
    case_services.consent_withdraw(
        principal=as_principal(supervisor), reference=case.reference, consent_id=second_consent.pk
    )
    before = Snapshot()

    refused = post(client, f"/api/v1/referrals/{second.pk}/accept")

    assert refused.status_code == 409
    assert before.unchanged()


def test_api_override_share_ends_when_override_expires(
    case, supervisor, b_case_worker, agency_b, make_override, api
):
    make_override(hours=2)
    sent = post(api(supervisor), "/api/v1/referrals", body_for(case, agency_b))
    assert sent.status_code == 201
    client = api(b_case_worker)
    assert post(client, f"/api/v1/referrals/{sent.json()['id']}/accept").status_code == 200
    assert client.get(f"/api/v1/referrals/{sent.json()['id']}").json()["status"] == "accepted"

    clock.advance(timedelta(hours=2, seconds=1))

    assert client.get(f"/api/v1/referrals/{sent.json()['id']}").json()["status"] == "ended"
    assert case_selectors.case_access(as_principal(b_case_worker), case).sections == frozenset()


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("case_worker", "post", "/api/v1/referrals"),
        ("analyst", "get", "/api/v1/referrals"),
        ("analyst", "get", "/api/v1/referrals/{id}"),
        ("c_supervisor", "get", "/api/v1/referrals/{id}"),
        ("c_supervisor", "post", "/api/v1/referrals/{id}/accept"),
        ("c_supervisor", "post", "/api/v1/referrals/{id}/decline"),
        ("b_analyst", "post", "/api/v1/referrals/{id}/accept"),
        ("case_worker", "post", "/api/v1/referrals/{id}/revoke"),
        ("other_agency_user", "post", "/api/v1/referrals/{id}/revoke"),
        ("other_agency_user", "post", "/api/v1/referrals"),
    ],
)
def test_api_refusals_are_404_and_change_nothing(
    who, method, path, request, case, supervisor, agency_b, make_consent, send, api
):
    make_consent(agency_b)
    referral = send(supervisor)
    client = api(request.getfixturevalue(who))
    before = Snapshot()

    url = path.format(id=referral.pk)
    if method == "post":
        response = post(client, url, {**body_for(case, agency_b), "reason": "synthetic"})
    else:
        response = client.get(url)

    assert response.status_code == 404
    assert before.unchanged()
    assert Referral.objects.count() == 1


def test_api_without_token_is_401(db):
    from django.test import Client

    assert Client().get("/api/v1/referrals").status_code == 401
