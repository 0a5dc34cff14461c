"""Writes to referrals. Each service runs in one transaction: it locks the case, checks who may
act, validates, saves, writes the audit event and the notices, or raises before anything is
written. Refusals: NotFound (no access looks like not-found), ValidationFailed (bad input, or no
consent), Conflict (the referral or the case moved on).

Lock order is always the case first, then the referral, as in `cases.services.consent_withdraw`:
an accept racing a withdrawal waits for it and then sees the consent withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from lifeline.accounts.models import Agency, Role
from lifeline.accounts.principal import Principal
from lifeline.accounts.selectors import active_member_ids
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_record
from lifeline.cases import selectors as case_selectors
from lifeline.cases import services as case_services
from lifeline.cases.models import Case, CaseEvent, CaseShare, Purpose, Section
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import policies, selectors
from .models import Referral, ReferralKind, ReferralNotice, ReferralStatus

NOTE_MAX = 2000
REASON_MAX = 2000
# Who at the receiving agency hears of a new referral: the roles that can answer it.
RECEIVING_ROLES = (Role.CASE_WORKER, Role.SUPERVISOR, Role.LIAISON_OFFICER)


def no_basis_message() -> str:
    return _(
        "No consent of the person covers sharing with this agency for this purpose, and no "
        "life-threat override is in force. Record the person's consent first; if a life is at "
        "risk, a supervisor can approve a time-limited override."
    )


def basis_ended_message() -> str:
    return _(
        "The consent or override this referral rested on has been withdrawn or has expired, so "
        "it can no longer be accepted. Ask the sending agency to send it again."
    )


@dataclass(frozen=True)
class ReferralInput:
    case_reference: str
    to_agency_id: int | None
    kind: str
    purpose: str
    sections: tuple[str, ...] = ()
    note: str = ""


def _event(case: Case, principal: Principal, kind: str, now: datetime) -> None:
    # The case timeline shows referral steps; the summary section goes with every share, so
    # the event carries no agency names or notes, only the kind.
    CaseEvent.objects.create(
        case=case,
        at=now,
        actor_id=principal.user_id,
        agency_id=principal.agency_id,
        kind=kind,
        section=Section.SUMMARY,
    )


def _audit(principal: Principal, action: str, referral: Referral, **metadata: Any) -> None:
    audit_record(
        actor=principal,
        action=action,
        target_type="referral",
        target_id=referral.pk,
        metadata={"case": referral.case_id, **metadata},
    )


def _notify(referral: Referral, user_ids: Iterable[int | None], kind: str, now: datetime) -> None:
    for user_id in sorted({u for u in user_ids if u is not None}):
        ReferralNotice.objects.get_or_create(
            user_id=user_id, referral=referral, kind=kind, defaults={"created_at": now}
        )


def _clean(data: ReferralInput, own_agency_id: int) -> tuple[Agency, list[str], str]:
    errors: dict[str, list[str]] = {}
    recipient = None
    if data.to_agency_id is not None:
        recipient = Agency.objects.filter(pk=data.to_agency_id, is_active=True).first()
    if recipient is None:
        errors["to_agency"] = [_("Choose an active agency.")]
    elif recipient.pk == own_agency_id:
        errors["to_agency"] = [_("Choose another agency than your own.")]
    if data.kind not in ReferralKind.values:
        errors["kind"] = [_("Choose share or transfer.")]
    if data.purpose not in Purpose.values:
        errors["purpose"] = [_("Choose the purpose of the referral.")]
    unknown = [s for s in data.sections if s not in Section.values]
    if unknown:
        errors["sections"] = [_("Choose sections from the list.")]
    note = (data.note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [_("At most 2000 characters.")]
    if errors:
        raise ValidationFailed(errors)
    assert recipient is not None  # noqa: S101 — checked above
    if data.kind == ReferralKind.TRANSFER:
        # The new owner holds the whole case; listing the sections keeps the record explicit.
        sections = sorted(Section.values)
    else:
        sections = sorted(set(data.sections) | {Section.SUMMARY.value})
    return recipient, sections, note


def _locked_case(case_id: int) -> Case:
    return Case.objects.select_for_update().get(pk=case_id)


def _locked_referral(principal: Principal, referral_id: int, *, incoming: bool) -> Referral:
    """The referral addressed to (incoming) or sent by the principal's agency, with its case
    locked first and then the referral itself. Anyone else gets NotFound."""
    if principal.agency_id is None:
        raise NotFound
    side = {"to_agency_id" if incoming else "from_agency_id": principal.agency_id}
    case_id = Referral.objects.filter(pk=referral_id, **side).values_list("case_id", flat=True)
    found_case_id = case_id.first()
    if found_case_id is None:
        raise NotFound
    _locked_case(found_case_id)
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("case", "to_agency", "consent", "override")
        .filter(pk=referral_id, **side)
        .first()
    )
    if referral is None:
        raise NotFound
    return referral


@transaction.atomic
def referral_send(*, principal: Principal, data: ReferralInput) -> Referral:
    """Offer a case to another agency, as a share of chosen sections or as a transfer.

    Only the owner agency's supervisors and liaison officers may send. The person's consent must
    cover that recipient and purpose, or a supervisor's life-threat override must be in force;
    otherwise nothing is written. The receiving agency's case workers, supervisors and liaison
    officers are notified.
    """
    if not policies.can_send_referral(principal) or principal.agency_id is None:
        raise NotFound
    case = (
        case_selectors.visible_to(principal)
        .select_for_update()
        .filter(reference=(data.case_reference or "")[:16], owner_agency_id=principal.agency_id)
        .first()
    )
    if case is None:
        raise NotFound
    recipient, sections, note = _clean(data, principal.agency_id)
    now = clock.now()
    consent, override = case_services.sharing_basis(
        case, recipient_agency_id=recipient.pk, purpose=data.purpose, now=now
    )
    if consent is None and override is None:
        raise ValidationFailed({"consent": [no_basis_message()]})
    pending = Referral.objects.filter(case=case, status=ReferralStatus.PENDING)
    if pending.filter(to_agency=recipient).exists():
        raise Conflict(
            _("A referral of this case to that agency is already waiting for an answer.")
        )
    if data.kind == ReferralKind.TRANSFER and pending.filter(kind=ReferralKind.TRANSFER).exists():
        raise Conflict(_("A transfer of this case is already waiting for an answer."))
    referral = Referral.objects.create(
        case=case,
        from_agency_id=principal.agency_id,
        to_agency=recipient,
        kind=data.kind,
        sections=sections,
        purpose=data.purpose,
        note=note,
        consent=consent,
        override=override,
        sent_by=principal.user,
        sent_at=now,
    )
    _event(case, principal, "referral_sent", now)
    _audit(
        principal,
        AuditAction.RECORD_CREATED,
        referral,
        to_agency=recipient.pk,
        kind=data.kind,
        purpose=data.purpose,
        sections=sections,
        consent=referral.consent_id,
        override=referral.override_id,
    )
    _notify(referral, active_member_ids(recipient.pk, RECEIVING_ROLES), "received", now)
    return referral


@transaction.atomic
def referral_accept(*, principal: Principal, referral_id: int) -> Referral:
    """The receiving agency accepts a pending referral.

    The basis is checked again now: a consent withdrawn or expired, or an override expired,
    since sending means the referral can no longer be accepted. A share gives the receiver the
    offered sections while that basis lasts; a transfer makes the receiver the owner.
    """
    if not policies.can_respond_to_referral(principal):
        raise NotFound
    referral = _locked_referral(principal, referral_id, incoming=True)
    if referral.status != ReferralStatus.PENDING:
        raise Conflict(_("This referral has already been answered or revoked."))
    case = referral.case
    if case.owner_agency_id != referral.from_agency_id:
        raise Conflict(_("The sending agency no longer owns this case, so it cannot be accepted."))
    now = clock.now()
    if not selectors.basis_is_live(referral, now):
        raise Conflict(basis_ended_message())
    if referral.kind == ReferralKind.SHARE:
        referral.share = case_services.case_share_grant(
            actor=principal,
            case=case,
            agency=referral.to_agency,
            sections=referral.sections,
            consent=referral.consent,
            override=referral.override,
        )
    else:
        # The new owner holds the whole case; shares it held before would only outlive
        # their purpose, and the sender keeps nothing.
        for share in CaseShare.objects.filter(
            case=case, agency_id=referral.to_agency_id, revoked_at__isnull=True
        ):
            case_services.case_share_revoke(actor=principal, share=share)
        case_services.case_transfer_owner(actor=principal, case=case, agency=referral.to_agency)
    referral.status = ReferralStatus.ACCEPTED
    referral.responded_by = principal.user
    referral.responded_at = now
    referral.save(update_fields=["status", "responded_by", "responded_at", "share"])
    _event(case, principal, "referral_accepted", now)
    _audit(
        principal,
        AuditAction.RECORD_UPDATED,
        referral,
        change="accepted",
        kind=referral.kind,
        share=referral.share_id,
    )
    _notify(referral, [referral.sent_by_id], "accepted", now)
    return referral


@transaction.atomic
def referral_decline(*, principal: Principal, referral_id: int, reason: str) -> Referral:
    """The receiving agency declines a pending referral; it must say why."""
    if not policies.can_respond_to_referral(principal):
        raise NotFound
    referral = _locked_referral(principal, referral_id, incoming=True)
    if referral.status != ReferralStatus.PENDING:
        raise Conflict(_("This referral has already been answered or revoked."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Write why you decline this referral.")]})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": [_("At most 2000 characters.")]})
    now = clock.now()
    referral.status = ReferralStatus.DECLINED
    referral.responded_by = principal.user
    referral.responded_at = now
    referral.decline_reason = reason
    referral.save(update_fields=["status", "responded_by", "responded_at", "decline_reason"])
    _event(referral.case, principal, "referral_declined", now)
    _audit(principal, AuditAction.RECORD_UPDATED, referral, change="declined")
    _notify(referral, [referral.sent_by_id], "declined", now)
    return referral


@transaction.atomic
def referral_revoke(*, principal: Principal, referral_id: int) -> Referral:
    """The sending agency withdraws a referral that is pending, or ends an accepted share at
    once: the receiver loses access at its next request. An accepted transfer cannot be
    revoked, the receiver owns the case now. A sender that has since transferred the case away
    may still revoke what it sent: ending access is always safe, and no one else could."""
    if not policies.can_send_referral(principal):
        raise NotFound
    referral = _locked_referral(principal, referral_id, incoming=False)
    if referral.status not in (ReferralStatus.PENDING, ReferralStatus.ACCEPTED):
        raise Conflict(_("Only a pending or accepted referral can be revoked."))
    if referral.status == ReferralStatus.ACCEPTED and referral.kind == ReferralKind.TRANSFER:
        raise Conflict(_("An accepted transfer cannot be revoked; the case belongs to them now."))
    case = referral.case
    now = clock.now()
    if referral.share is not None:
        case_services.case_share_revoke(actor=principal, share=referral.share)
    previous = referral.status
    referral.status = ReferralStatus.REVOKED
    referral.revoked_by = principal.user
    referral.revoked_at = now
    referral.save(update_fields=["status", "revoked_by", "revoked_at"])
    _event(case, principal, "referral_revoked", now)
    _audit(principal, AuditAction.RECORD_UPDATED, referral, change="revoked", was=previous)
    _notify(referral, active_member_ids(referral.to_agency_id, RECEIVING_ROLES), "revoked", now)
    return referral


@transaction.atomic
def referral_notices_read(*, principal: Principal, referral_id: int) -> int:
    """Mark the principal's notices about one referral as read (ids only; nothing sensitive)."""
    if principal.user_id is None:
        return 0
    return ReferralNotice.objects.filter(
        user_id=principal.user_id, referral_id=referral_id, read_at__isnull=True
    ).update(read_at=clock.now())
