"""Reads of referrals, scoped to the sending or receiving agency and audited.

Before it accepts, the receiving agency learns only what it needs to decide: the case
reference, who sends it, the kind, the purpose, the sections offered and the dates. No person
data, and not the sender's note, which may name people; both come with acceptance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet

from lifeline.accounts.models import Agency
from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_denied, audit_record
from lifeline.cases import selectors as case_selectors
from lifeline.cases.models import Case, Consent, ConsentScope, LifeThreatOverride, Purpose
from lifeline.core import clock
from lifeline.core.errors import NotFound

from . import policies
from .models import Referral, ReferralKind, ReferralNotice, ReferralStatus

MAX_LISTED_IDS = 200
INBOX_FIELDS = (
    "kind",
    "sections",
    "purpose",
    "status",
    "sent_at",
    "case",
    "case__reference",
    "case__owner_agency",
    "from_agency",
    "from_agency__name",
    "to_agency",
    "consent",
    "override",
    "share",
)


def basis_live_q(now: datetime) -> Q:
    """Referrals whose consent is unwithdrawn and unexpired, or whose override is unexpired."""
    by_consent = Q(consent__isnull=False) & case_selectors.consent_live_q("consent", now)
    return by_consent | Q(override__expires_at__gt=now)


def basis_is_live(referral: Referral, now: datetime) -> bool:
    return Referral.objects.filter(basis_live_q(now), pk=referral.pk).exists()


def _annotated(rows: QuerySet[Referral], now: datetime) -> QuerySet[Referral]:
    share_live = Q(share__isnull=False) & case_selectors.share_live_q(now, prefix="share")
    return rows.annotate(
        basis_live=ExpressionWrapper(basis_live_q(now), output_field=BooleanField()),
        sender_owns=ExpressionWrapper(
            Q(case__owner_agency_id=F("from_agency_id")), output_field=BooleanField()
        ),
        share_live=ExpressionWrapper(share_live, output_field=BooleanField()),
    )


def visible_to(principal: Principal) -> QuerySet[Referral]:
    """Referrals the principal's agency sent or received; none without REFERRAL_VIEW."""
    if not policies.can_view_referrals(principal):
        return Referral.objects.none()
    agency_id = principal.agency_id
    return Referral.objects.filter(Q(from_agency_id=agency_id) | Q(to_agency_id=agency_id))


def display_status(referral: Referral) -> str:
    """The status as people need it: a pending referral has lapsed when its consent or override
    ended or the sender no longer owns the case (it cannot be accepted any more); an accepted
    share whose consent, override or share ended no longer gives access."""
    basis_live = getattr(referral, "basis_live", True)
    sender_owns = getattr(referral, "sender_owns", True)
    share_live = getattr(referral, "share_live", True)
    if referral.status == ReferralStatus.PENDING and not (basis_live and sender_owns):
        return "lapsed"
    if (
        referral.status == ReferralStatus.ACCEPTED
        and referral.kind == ReferralKind.SHARE
        and not share_live
    ):
        return "ended"
    return str(referral.status)


def _audit_list(principal: Principal, rows: list[Referral], box: str) -> None:
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_LISTED,
        target_type="referral",
        metadata={"box": box, "count": len(rows), "ids": [r.pk for r in rows[:MAX_LISTED_IDS]]},
    )


@transaction.atomic
def referral_inbox(*, principal: Principal, limit: int = 100) -> list[Referral]:
    """Pending referrals addressed to the principal's agency, oldest first (they are waiting).
    Rows carry the case reference and the sending agency only."""
    now = clock.now()
    rows = list(
        _annotated(
            visible_to(principal).filter(
                to_agency_id=principal.agency_id, status=ReferralStatus.PENDING
            ),
            now,
        )
        .select_related("case", "from_agency")
        # The row needs the case reference only; the case's encrypted fields stay unread.
        .only(*INBOX_FIELDS)
        .order_by("sent_at", "pk")[:limit]
    )
    _audit_list(principal, rows, "inbox")
    return rows


@transaction.atomic
def referral_answered(*, principal: Principal, limit: int = 50) -> list[Referral]:
    """Referrals the principal's agency received and answered (or that were revoked)."""
    now = clock.now()
    rows = list(
        _annotated(
            visible_to(principal)
            .filter(to_agency_id=principal.agency_id)
            .exclude(status=ReferralStatus.PENDING),
            now,
        )
        .select_related("case", "from_agency")
        .order_by("-sent_at", "-pk")[:limit]
    )
    _audit_list(principal, rows, "answered")
    return rows


@transaction.atomic
def referral_outgoing(*, principal: Principal, limit: int = 100) -> list[Referral]:
    """Referrals the principal's agency sent, newest first."""
    now = clock.now()
    rows = list(
        _annotated(visible_to(principal).filter(from_agency_id=principal.agency_id), now)
        .select_related("case", "to_agency")
        .order_by("-sent_at", "-pk")[:limit]
    )
    _audit_list(principal, rows, "outgoing")
    return rows


@dataclass(frozen=True)
class ReferralView:
    """One referral as the principal may see it, with what they may do to it."""

    referral: Referral
    is_sender: bool
    is_receiver: bool
    status: str
    can_accept: bool
    can_decline: bool
    can_revoke: bool

    @property
    def shows_note(self) -> bool:
        # The note may name people: the receiver reads it only once it has accepted.
        return self.is_sender or self.referral.status == ReferralStatus.ACCEPTED

    @property
    def note(self) -> str:
        return self.referral.note if self.shows_note else ""


def referral_get(*, principal: Principal, referral_id: int) -> ReferralView:
    """One referral of the principal's agency (sent or received); the read is audited in the
    same transaction. Anyone else gets NotFound, and the refusal is audited."""
    with transaction.atomic():
        referral = (
            _annotated(visible_to(principal), clock.now())
            .select_related("case", "from_agency", "to_agency", "sent_by", "responded_by")
            .filter(pk=referral_id)
            .first()
        )
        if referral is not None:
            audit_record(
                actor=principal,
                action=AuditAction.RECORD_VIEWED,
                target_type="referral",
                target_id=referral.pk,
                metadata={"case": referral.case_id},
            )
            return referral_view(principal, referral)
    # Outside the block above: raising inside it would roll the refusal's audit row back.
    audit_denied(
        actor=principal,
        target_type="referral",
        metadata={"lookup": "id"},
    )
    raise NotFound


def referral_view(principal: Principal, referral: Referral) -> ReferralView:
    """The principal's view of a referral it already holds (just read, or just written)."""
    status = display_status(referral)
    can_answer = policies.can_answer(principal, referral)
    return ReferralView(
        referral=referral,
        is_sender=referral.from_agency_id == principal.agency_id,
        is_receiver=referral.to_agency_id == principal.agency_id,
        status=status,
        can_accept=can_answer and status == ReferralStatus.PENDING,
        can_decline=can_answer,
        can_revoke=policies.can_revoke(principal, referral),
    )


# --- the send form ------------------------------------------------------------------------


@dataclass(frozen=True)
class BasisOption:
    """A live basis on file for sharing this case: what it allows, never whose it is."""

    recipient: Agency | None  # None: an override for any recipient
    purpose: str  # "" for an override (any purpose)
    until: date | datetime | None
    is_override: bool

    @property
    def purpose_label(self) -> str:
        return str(dict(Purpose.choices).get(self.purpose, self.purpose))


@dataclass(frozen=True)
class SendContext:
    case: Case
    recipients: list[Agency]
    bases: list[BasisOption]


def send_context(*, principal: Principal, reference: str) -> SendContext:
    """What the send form needs: the case (owned by the principal's agency, else NotFound), the
    agencies it could go to, and the consents and overrides in force for sharing it. Audited."""
    if not policies.can_send_referral(principal):
        raise NotFound
    with transaction.atomic():
        case = (
            case_selectors.visible_to(principal)
            .filter(reference=(reference or "")[:16], owner_agency_id=principal.agency_id)
            .first()
        )
        if case is not None:
            return _send_context(principal, case)
    audit_denied(
        actor=principal,
        target_type="case",
        metadata={"lookup": "reference", "for": "referral"},
    )
    raise NotFound


def _send_context(principal: Principal, case: Case) -> SendContext:
    now = clock.now()
    consents = (
        Consent.objects.filter(
            case_selectors.consent_live_q("", now),
            person_id__in=case_selectors.victim_person_ids(case),
            scope=ConsentScope.SHARE,
        )
        .select_related("recipient_agency")
        .order_by("recipient_agency__name", "purpose")
    )
    overrides = LifeThreatOverride.objects.filter(case=case, expires_at__gt=now).select_related(
        "recipient_agency"
    )
    bases = [
        BasisOption(c.recipient_agency, c.purpose, c.expires_on, is_override=False)
        for c in consents
    ] + [BasisOption(o.recipient_agency, "", o.expires_at, is_override=True) for o in overrides]
    recipients = list(
        Agency.objects.filter(is_active=True).exclude(pk=case.owner_agency_id).order_by("name")
    )
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_VIEWED,
        target_type="case",
        target_id=case.pk,
        metadata={"for": "referral", "bases": len(bases)},
    )
    return SendContext(case=case, recipients=recipients, bases=bases)


def notices_for(*, principal: Principal, limit: int = 20) -> list[ReferralNotice]:
    """The principal's unread referral notices, on referrals their agency still takes part in."""
    if principal.user_id is None or not policies.can_view_referrals(principal):
        return []
    return list(
        ReferralNotice.objects.filter(
            user_id=principal.user_id,
            read_at__isnull=True,
            referral__in=visible_to(principal).values("pk"),
        )
        .select_related("referral__case")
        .only("pk", "kind", "created_at", "referral_id", "referral__case__reference")
        .order_by("-created_at")[:limit]
    )
