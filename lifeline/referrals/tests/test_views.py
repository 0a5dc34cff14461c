"""Referral screens: the inbox, one referral with its answers, and the send form. A role
without the capability, or another agency, gets 404; a refusal shows why and saves nothing."""

from __future__ import annotations

import pytest

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.cases import selectors as case_selectors
from lifeline.cases.models import Purpose
from lifeline.referrals.models import Referral

from .conftest import Snapshot, as_principal


def send_form(agency, **overrides):
    form = {
        "to_agency": str(agency.pk),
        "kind": "share",
        "purpose": Purpose.REPATRIATION,
        "sections": ["persons", "repatriation"],
        "note": "Prefers calls after 6 pm (synthetic).",
    }
    form.update(overrides)
    return form


def test_send_form_without_consent_shows_the_refusal_and_saves_nothing(
    case, supervisor, agency_b, staff_client
):
    client = staff_client(supervisor)
    page = client.get(f"/referrals/send/{case.reference}/")
    assert page.status_code == 200
    assert 'id="no-bases"' in page.content.decode()
    before = Snapshot()

    response = client.post(f"/referrals/send/{case.reference}/", send_form(agency_b))

    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="refusal"' in html
    assert "No consent of the person covers sharing with this agency" in html
    assert before.unchanged()


def test_send_form_with_consent_sends_and_lands_on_the_referral(
    case, supervisor, agency_b, make_consent, staff_client
):
    make_consent(agency_b)
    client = staff_client(supervisor)
    page = client.get(f"/referrals/send/{case.reference}/")
    assert "Agency B (synthetic) · Repatriation" in page.content.decode()

    response = client.post(f"/referrals/send/{case.reference}/", send_form(agency_b))

    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/referrals/{referral.pk}/"
    assert referral.sections == ["persons", "repatriation", "summary"]
    assert referral.to_agency == agency_b


@pytest.mark.parametrize("who", ["case_worker", "analyst", "other_agency_user"])
def test_send_form_is_not_found_for_other_roles_and_agencies(
    who, request, case, staff_client, agency_b, make_consent
):
    make_consent(agency_b)
    client = staff_client(request.getfixturevalue(who))
    before = Snapshot()

    get = client.get(f"/referrals/send/{case.reference}/")
    post = client.post(f"/referrals/send/{case.reference}/", send_form(agency_b))

    assert (get.status_code, post.status_code) == (404, 404)
    assert before.unchanged()


def test_inbox_shows_the_offer_but_no_person_data_before_acceptance(
    case, supervisor, b_case_worker, agency_b, make_consent, send, staff_client
):
    make_consent(agency_b)
    referral = send(supervisor)
    client = staff_client(b_case_worker)

    inbox = client.get("/referrals/").content.decode()
    detail = client.get(f"/referrals/{referral.pk}/").content.decode()

    assert f'data-referral="{referral.pk}"' in inbox
    assert case.reference in inbox and "Agency A (synthetic)" in inbox
    assert "Persons and identity, Repatriation, Summary and status" in inbox
    assert "New referral:" in inbox
    for page in (inbox, detail):
        assert "Sok Synthetic" not in page
        assert "Prefers calls" not in page and "Sister of the caller" not in page
        assert "Held at a compound" not in page
    assert 'id="note"' not in detail
    assert f"referrals/{referral.pk}/accept/" in detail


def test_accept_from_the_screen_shares_the_sections(
    case, supervisor, b_case_worker, agency_b, make_consent, send, staff_client
):
    make_consent(agency_b)
    referral = send(supervisor)
    client = staff_client(b_case_worker)

    response = client.post(f"/referrals/{referral.pk}/accept/")

    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"
    access = case_selectors.case_access(as_principal(b_case_worker), case)
    assert access.sections == frozenset({"summary", "persons", "repatriation"})
    detail = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Sister of the caller" in detail


def test_decline_without_reason_shows_an_error_then_declines_with_one(
    case, supervisor, b_case_worker, agency_b, make_consent, send, staff_client
):
    make_consent(agency_b)
    referral = send(supervisor)
    client = staff_client(b_case_worker)
    before = Snapshot()

    refused = client.post(f"/referrals/{referral.pk}/decline/", {"reason": ""})

    assert refused.status_code == 422
    assert "Write why you decline this referral." in refused.content.decode()
    assert before.unchanged()

    client.post(f"/referrals/{referral.pk}/decline/", {"reason": "No place (synthetic)."})
    referral.refresh_from_db()
    assert (referral.status, referral.decline_reason) == ("declined", "No place (synthetic).")


def test_revoke_from_the_screen_ends_access(
    case, supervisor, b_case_worker, agency_b, make_consent, send, staff_client
):
    make_consent(agency_b)
    referral = send(supervisor)
    from lifeline.referrals import services

    services.referral_accept(principal=as_principal(b_case_worker), referral_id=referral.pk)

    response = staff_client(supervisor).post(f"/referrals/{referral.pk}/revoke/")

    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "revoked"
    assert case_selectors.case_access(as_principal(b_case_worker), case).sections == frozenset()


@pytest.mark.parametrize(
    ("who", "path", "method"),
    [
        ("analyst", "/referrals/", "get"),
        ("analyst", "/referrals/{id}/", "get"),
        ("c_supervisor", "/referrals/{id}/", "get"),
        ("c_supervisor", "/referrals/{id}/accept/", "post"),
        ("c_supervisor", "/referrals/{id}/revoke/", "post"),
        ("case_worker", "/referrals/{id}/revoke/", "post"),
        ("b_analyst", "/referrals/{id}/accept/", "post"),
        ("supervisor", "/referrals/{id}/accept/", "post"),
        ("other_agency_user", "/referrals/{id}/revoke/", "post"),
    ],
)
def test_refused_screens_answer_404_and_change_nothing(
    who, path, method, request, case, supervisor, agency_b, make_consent, send, staff_client
):
    make_consent(agency_b)
    referral = send(supervisor)
    client = staff_client(request.getfixturevalue(who))
    before = Snapshot()

    response = getattr(client, method)(path.format(id=referral.pk))

    assert response.status_code == 404
    assert before.unchanged()


def test_answering_twice_shows_the_conflict_instead_of_failing(
    case, supervisor, b_case_worker, agency_b, make_consent, send, staff_client
):
    make_consent(agency_b)
    referral = send(supervisor)
    client = staff_client(b_case_worker)
    client.post(f"/referrals/{referral.pk}/accept/")

    again = client.post(f"/referrals/{referral.pk}/accept/", follow=True)

    assert again.status_code == 200
    assert "This referral has already been answered or revoked." in again.content.decode()
    assert (
        AuditEvent.objects.filter(action=AuditAction.RECORD_UPDATED, target_type="referral").count()
        == 1
    )
