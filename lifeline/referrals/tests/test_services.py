"""Referral services and selectors: consent gates every share, the receiver sees exactly what was
shared and only while the basis lasts, and every refusal leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.cases import selectors as case_selectors
from lifeline.cases import services as case_services
from lifeline.cases.models import CaseShare, Purpose
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.referrals import selectors, services
from lifeline.referrals.models import Referral, ReferralNotice, ReferralStatus

from .conftest import Snapshot, as_principal, write_events

# --- sending: the consent gate ----------------------------------------------------------------


def test_referral_send_without_consent_is_refused_and_nothing_is_written(
    case, supervisor, b_case_worker, send
):
    before = Snapshot()

    with pytest.raises(ValidationFailed) as refused:
        send(supervisor)

    assert list(refused.value.errors) == ["consent"]
    assert "No consent of the person covers sharing" in refused.value.errors["consent"][0]
    assert before.unchanged()
    assert Referral.objects.count() == 0
    assert ReferralNotice.objects.count() == 0


def test_referral_send_with_consent_for_another_recipient_is_refused(
    case, supervisor, agency_c, make_consent, send
):
    make_consent(agency_c)
    before = Snapshot()

    with pytest.raises(ValidationFailed) as refused:
        send(supervisor)

    assert list(refused.value.errors) == ["consent"]
    assert before.unchanged()


def test_referral_send_with_consent_for_another_purpose_is_refused(
    case, supervisor, agency_b, make_consent, send
):
    make_consent(agency_b, purpose=Purpose.LEGAL)
    before = Snapshot()

    with pytest.raises(ValidationFailed):
        send(supervisor, purpose=Purpose.REPATRIATION)

    assert before.unchanged()


def test_referral_send_with_withdrawn_or_expired_consent_is_refused(
    case, supervisor, agency_b, make_consent, send
):
    expired = make_consent(agency_b, expires_on=clock.now().date() - timedelta(days=1))
    withdrawn = make_consent(agency_b)
    case_services.consent_withdraw(
        principal=as_principal(supervisor), reference=case.reference, consent_id=withdrawn.pk
    )
    before = Snapshot()

    with pytest.raises(ValidationFailed):
        send(supervisor)

    assert before.unchanged()
    assert expired.pk != withdrawn.pk


def test_referral_send_with_consent_records_basis_audits_and_notifies_receivers(
    case,
    supervisor,
    agency_a,
    agency_b,
    b_case_worker,
    b_liaison,
    b_analyst,
    other_agency_user,
    make_consent,
    send,
):
    consent = make_consent(agency_b)

    referral = send(supervisor, sections=("repatriation", "persons"))

    referral.refresh_from_db()
    assert (referral.status, referral.kind, referral.purpose) == (
        "pending",
        "share",
        "repatriation",
    )
    assert (referral.from_agency_id, referral.to_agency_id) == (agency_a.pk, agency_b.pk)
    assert referral.sections == ["persons", "repatriation", "summary"]
    assert (referral.consent_id, referral.override_id, referral.share_id) == (
        consent.pk,
        None,
        None,
    )
    assert referral.note.startswith("Sister of the caller")
    assert referral.sent_by == supervisor
    # Case workers, supervisors and liaison officers of B; not B's analyst, nobody at A.
    notified = set(ReferralNotice.objects.values_list("user_id", "kind"))
    assert notified == {
        (b_case_worker.pk, "received"),
        (b_liaison.pk, "received"),
        (other_agency_user.pk, "received"),
    }
    event = AuditEvent.objects.get(action=AuditAction.RECORD_CREATED, target_type="referral")
    assert event.target_id == str(referral.pk)
    assert event.metadata["consent"] == consent.pk
    assert event.metadata["to_agency"] == agency_b.pk
    # Sending shares nothing yet.
    assert CaseShare.objects.count() == 0


def test_liaison_officer_may_send_but_case_worker_and_analyst_may_not(
    case, liaison_officer, case_worker, analyst, agency_b, make_consent, send
):
    make_consent(agency_b)
    before = Snapshot()

    for user in (case_worker, analyst):
        with pytest.raises(NotFound):
            send(user)

    assert before.unchanged()
    assert send(liaison_officer).status == ReferralStatus.PENDING


def test_only_the_owner_agency_may_send(
    case, supervisor, other_agency_user, agency_b, agency_c, make_consent, send
):
    make_consent(agency_b)
    make_consent(agency_c)
    referral = send(supervisor)
    services.referral_accept(principal=as_principal(other_agency_user), referral_id=referral.pk)
    before = Snapshot()

    # B holds a share of the case but does not own it: it cannot pass it on.
    with pytest.raises(NotFound):
        send(other_agency_user, to_agency_id=agency_c.pk)

    assert before.unchanged()


def test_referral_send_refuses_own_agency_inactive_agency_and_bad_fields(
    case, supervisor, agency_a, agency_c, make_consent, send
):
    make_consent(agency_c)
    agency_c.is_active = False
    agency_c.save()
    before = Snapshot()

    with pytest.raises(ValidationFailed) as own:
        send(supervisor, to_agency_id=agency_a.pk)
    with pytest.raises(ValidationFailed) as inactive:
        send(supervisor, to_agency_id=agency_c.pk)
    with pytest.raises(ValidationFailed) as bad:
        send(supervisor, kind="gift", purpose="fun", sections=("everything",))

    assert own.value.errors["to_agency"] == ["Choose another agency than your own."]
    assert inactive.value.errors["to_agency"] == ["Choose an active agency."]
    assert set(bad.value.errors) == {"kind", "purpose", "sections"}
    assert before.unchanged()


def test_a_second_pending_referral_to_the_same_agency_is_a_conflict(
    case, supervisor, agency_b, make_consent, send
):
    make_consent(agency_b)
    send(supervisor)
    before = Snapshot()

    with pytest.raises(Conflict):
        send(supervisor)

    assert before.unchanged()


# --- accepting a share ------------------------------------------------------------------------


def test_accepted_share_gives_the_receiver_exactly_the_shared_sections(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor, sections=("persons", "repatriation"))
    receiver = as_principal(b_case_worker)
    assert case_selectors.case_access(receiver, case) is case_selectors.NO_ACCESS

    services.referral_accept(principal=receiver, referral_id=referral.pk)

    referral.refresh_from_db()
    access = case_selectors.case_access(receiver, case)
    assert not access.is_owner
    assert access.sections == frozenset({"summary", "persons", "repatriation"})
    assert not access.can_see("screening")
    assert (referral.status, referral.responded_by) == ("accepted", b_case_worker)
    assert referral.share.sections == ["persons", "repatriation", "summary"]
    assert referral.share.consent_id == referral.consent_id
    got, _ = case_selectors.case_get(principal=receiver, reference=case.reference)
    assert got.pk == case.pk
    assert ReferralNotice.objects.filter(user=supervisor, kind="accepted").count() == 1


def test_other_agency_cannot_see_or_answer_a_referral(
    case, supervisor, agency_b, c_supervisor, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor)
    outsider = as_principal(c_supervisor)
    before = Snapshot()

    with pytest.raises(NotFound):
        selectors.referral_get(principal=outsider, referral_id=referral.pk)
    with pytest.raises(NotFound):
        services.referral_accept(principal=outsider, referral_id=referral.pk)
    with pytest.raises(NotFound):
        services.referral_decline(principal=outsider, referral_id=referral.pk, reason="no")
    with pytest.raises(NotFound):
        services.referral_revoke(principal=outsider, referral_id=referral.pk)

    assert before.unchanged()
    assert selectors.referral_inbox(principal=outsider) == []
    denied = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, target_type="referral")
    assert denied.count() == 1


def test_sender_cannot_accept_its_own_referral_and_analyst_cannot_answer(
    case, supervisor, agency_b, b_analyst, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor)
    before = Snapshot()

    with pytest.raises(NotFound):
        services.referral_accept(principal=as_principal(supervisor), referral_id=referral.pk)
    with pytest.raises(NotFound):
        services.referral_accept(principal=as_principal(b_analyst), referral_id=referral.pk)
    with pytest.raises(NotFound):
        selectors.referral_get(principal=as_principal(b_analyst), referral_id=referral.pk)

    assert before.unchanged()


def test_a_referral_is_answered_once(case, supervisor, b_case_worker, agency_b, make_consent, send):
    make_consent(agency_b)
    referral = send(supervisor)
    receiver = as_principal(b_case_worker)
    services.referral_accept(principal=receiver, referral_id=referral.pk)
    before = Snapshot()

    with pytest.raises(Conflict):
        services.referral_accept(principal=receiver, referral_id=referral.pk)
    with pytest.raises(Conflict):
        services.referral_decline(principal=receiver, referral_id=referral.pk, reason="late")

    assert before.unchanged()


# --- consent withdrawn ------------------------------------------------------------------------


def test_consent_withdrawn_after_acceptance_cuts_access_at_the_next_request(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    consent = make_consent(agency_b)
    referral = send(supervisor)
    receiver = as_principal(b_case_worker)
    services.referral_accept(principal=receiver, referral_id=referral.pk)
    case_selectors.case_get(principal=receiver, reference=case.reference)

    case_services.consent_withdraw(
        principal=as_principal(supervisor), reference=case.reference, consent_id=consent.pk
    )

    with pytest.raises(NotFound):
        case_selectors.case_get(principal=receiver, reference=case.reference)
    outgoing = selectors.referral_outgoing(principal=as_principal(supervisor))
    assert [selectors.display_status(r) for r in outgoing] == ["ended"]


def test_pending_referral_whose_consent_was_withdrawn_cannot_be_accepted(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    consent = make_consent(agency_b)
    referral = send(supervisor)
    case_services.consent_withdraw(
        principal=as_principal(supervisor), reference=case.reference, consent_id=consent.pk
    )
    # Even a fresh consent does not revive it: the referral rests on the one withdrawn.
    make_consent(agency_b)
    receiver = as_principal(b_case_worker)
    before = Snapshot()

    with pytest.raises(Conflict) as refused:
        services.referral_accept(principal=receiver, referral_id=referral.pk)

    assert "can no longer be accepted" in str(refused.value)
    assert before.unchanged()
    assert case_selectors.case_access(receiver, case) is case_selectors.NO_ACCESS
    view = selectors.referral_get(principal=receiver, referral_id=referral.pk)
    assert (view.status, view.can_accept, view.can_decline) == ("lapsed", False, True)


def test_pending_referral_whose_consent_expired_cannot_be_accepted(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    # Noon in Phnom Penh on the last day of the consent; expiry dates are Cambodian dates.
    with clock.freeze(datetime(2026, 3, 10, 5, 0, tzinfo=UTC)):
        make_consent(agency_b, expires_on=date(2026, 3, 10))
        referral = send(supervisor)
        clock.advance(timedelta(hours=18))  # 00:00 on 11 March in Phnom Penh

        with pytest.raises(Conflict):
            services.referral_accept(principal=as_principal(b_case_worker), referral_id=referral.pk)

    assert Referral.objects.get().status == "pending"


# --- life-threat override ---------------------------------------------------------------------


def test_live_override_allows_a_share_and_its_expiry_ends_access(
    case, supervisor, b_case_worker, make_override, send
):
    with clock.freeze(clock.now().replace(microsecond=0)):
        override = make_override(hours=6)
        referral = send(supervisor, purpose=Purpose.RESCUE, sections=("persons", "removal"))
        receiver = as_principal(b_case_worker)
        services.referral_accept(principal=receiver, referral_id=referral.pk)
        referral.refresh_from_db()
        assert (referral.consent_id, referral.override_id) == (None, override.pk)
        assert case_selectors.case_access(receiver, case).sections == frozenset(
            {"summary", "persons", "removal"}
        )

        clock.advance(timedelta(hours=5, minutes=59))
        case_selectors.case_get(principal=receiver, reference=case.reference)
        clock.advance(timedelta(minutes=1))

        with pytest.raises(NotFound):
            case_selectors.case_get(principal=receiver, reference=case.reference)
        assert case_selectors.case_access(receiver, case) is case_selectors.NO_ACCESS


def test_override_for_another_recipient_does_not_allow_sending(
    case, supervisor, agency_c, make_override, send
):
    make_override(recipient=agency_c)
    before = Snapshot()

    with pytest.raises(ValidationFailed):
        send(supervisor)

    assert before.unchanged()


def test_pending_referral_under_an_expired_override_cannot_be_accepted(
    case, supervisor, b_case_worker, make_override, send
):
    make_override(hours=1)
    referral = send(supervisor)
    clock.advance(timedelta(hours=1, seconds=1))
    before = Snapshot()

    with pytest.raises(Conflict):
        services.referral_accept(principal=as_principal(b_case_worker), referral_id=referral.pk)

    assert before.unchanged()


# --- transfer ---------------------------------------------------------------------------------


def test_accepted_transfer_makes_the_receiver_owner_and_the_sender_loses_access(
    case, supervisor, liaison_officer, other_agency_user, agency_a, agency_b, make_consent, send
):
    make_consent(agency_b, purpose=Purpose.SERVICES)
    referral = send(liaison_officer, kind="transfer", purpose=Purpose.SERVICES, sections=())
    assert referral.sections == sorted(referral.sections) and "workflow" in referral.sections
    receiver = as_principal(other_agency_user)

    services.referral_accept(principal=receiver, referral_id=referral.pk)

    case.refresh_from_db()
    assert case.owner_agency_id == agency_b.pk
    assert case_selectors.case_access(receiver, case).is_owner
    with pytest.raises(NotFound):
        case_selectors.case_get(principal=as_principal(supervisor), reference=case.reference)
    assert CaseShare.objects.count() == 0
    # The sender still sees its own outgoing record of the transfer, but cannot undo it.
    view = selectors.referral_get(principal=as_principal(supervisor), referral_id=referral.pk)
    assert (view.status, view.can_revoke) == ("accepted", False)
    with pytest.raises(Conflict):
        services.referral_revoke(principal=as_principal(supervisor), referral_id=referral.pk)
    assert ("record.updated", "case") in write_events()


def test_pending_referral_of_a_case_transferred_meanwhile_cannot_be_accepted(
    case, supervisor, other_agency_user, c_supervisor, agency_b, agency_c, make_consent, send
):
    make_consent(agency_b)
    make_consent(agency_c)
    to_c = send(supervisor, to_agency_id=agency_c.pk)
    transfer = send(supervisor, kind="transfer")
    services.referral_accept(principal=as_principal(other_agency_user), referral_id=transfer.pk)
    before = Snapshot()

    with pytest.raises(Conflict):
        services.referral_accept(principal=as_principal(c_supervisor), referral_id=to_c.pk)

    assert before.unchanged()
    view = selectors.referral_get(principal=as_principal(c_supervisor), referral_id=to_c.pk)
    assert (view.status, view.can_accept) == ("lapsed", False)
    inbox = selectors.referral_inbox(principal=as_principal(c_supervisor))
    assert [selectors.display_status(r) for r in inbox] == ["lapsed"]


# --- decline and revoke -----------------------------------------------------------------------


def test_decline_needs_a_reason_and_records_it(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor)
    receiver = as_principal(b_case_worker)
    before = Snapshot()

    with pytest.raises(ValidationFailed) as refused:
        services.referral_decline(principal=receiver, referral_id=referral.pk, reason="   ")
    assert list(refused.value.errors) == ["reason"]
    assert before.unchanged()

    services.referral_decline(
        principal=receiver, referral_id=referral.pk, reason="No shelter place this month."
    )

    referral.refresh_from_db()
    assert (referral.status, referral.decline_reason) == (
        "declined",
        "No shelter place this month.",
    )
    assert referral.responded_by == b_case_worker and referral.share is None
    assert CaseShare.objects.count() == 0
    assert ReferralNotice.objects.filter(user=supervisor, kind="declined").exists()


def test_revoking_an_accepted_share_ends_access_at_once(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor)
    receiver = as_principal(b_case_worker)
    services.referral_accept(principal=receiver, referral_id=referral.pk)

    services.referral_revoke(principal=as_principal(supervisor), referral_id=referral.pk)

    referral.refresh_from_db()
    assert referral.status == "revoked" and referral.revoked_by == supervisor
    assert referral.share.revoked_at is not None
    with pytest.raises(NotFound):
        case_selectors.case_get(principal=receiver, reference=case.reference)
    assert ReferralNotice.objects.filter(user=b_case_worker, kind="revoked").exists()


def test_revoking_a_pending_referral_stops_its_acceptance(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor)
    services.referral_revoke(principal=as_principal(supervisor), referral_id=referral.pk)

    with pytest.raises(Conflict):
        services.referral_accept(principal=as_principal(b_case_worker), referral_id=referral.pk)

    assert CaseShare.objects.count() == 0


def test_case_worker_of_the_sender_cannot_revoke_and_receiver_cannot_revoke(
    case, supervisor, case_worker, other_agency_user, agency_b, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor)
    before = Snapshot()

    with pytest.raises(NotFound):
        services.referral_revoke(principal=as_principal(case_worker), referral_id=referral.pk)
    with pytest.raises(NotFound):
        services.referral_revoke(principal=as_principal(other_agency_user), referral_id=referral.pk)

    assert before.unchanged()


# --- what the receiver sees before accepting --------------------------------------------------


def test_inbox_lists_pending_incoming_without_note_and_audits_the_listing(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    make_consent(agency_b)
    referral = send(supervisor)
    receiver = as_principal(b_case_worker)

    rows = selectors.referral_inbox(principal=receiver)
    view = selectors.referral_get(principal=receiver, referral_id=referral.pk)

    assert [r.pk for r in rows] == [referral.pk]
    assert rows[0].case.reference == case.reference
    assert "summary" in rows[0].case.get_deferred_fields()
    assert (view.shows_note, view.note, view.can_accept) == (False, "", True)
    assert selectors.referral_outgoing(principal=receiver) == []
    assert selectors.referral_inbox(principal=as_principal(supervisor)) == []
    listed = AuditEvent.objects.filter(action=AuditAction.RECORD_LISTED, target_type="referral")
    assert listed.first().metadata == {"box": "inbox", "count": 1, "ids": [referral.pk]}

    services.referral_accept(principal=receiver, referral_id=referral.pk)
    after = selectors.referral_get(principal=receiver, referral_id=referral.pk)
    assert after.note.startswith("Sister of the caller")
