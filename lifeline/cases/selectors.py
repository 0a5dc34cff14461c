"""Reads of cases, scoped to the owner agency and to live shares, and audited.

A share is live while it is not revoked and its basis is live: an unwithdrawn, unexpired consent,
or a life-threat override before its expiry. The check runs inside every query, so withdrawing
consent cuts access at the receiving agency's next request, with no job in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_denied, audit_record
from lifeline.core import clock
from lifeline.core.errors import NotFound

from .models import (
    Case,
    CaseEvent,
    CaseNotice,
    CasePerson,
    CaseShare,
    Consent,
    ConsentScope,
    Section,
    Task,
)

ALL_SECTIONS = frozenset(Section.values)
# Dates people enter are dates in Cambodia, where the agencies work; UTC's date lags by 7 hours.
LOCAL_ZONE = ZoneInfo("Asia/Phnom_Penh")
MAX_LISTED_IDS = 200


def consent_live_q(prefix: str, now: datetime) -> Q:
    """Consent rows (reached through `prefix`) not withdrawn and not expired at `now`."""
    p = f"{prefix}__" if prefix else ""
    # Expiry dates are dates in Cambodia, where consent is given.
    today = now.astimezone(LOCAL_ZONE).date()
    return Q(**{f"{p}withdrawn_at__isnull": True}) & (
        Q(**{f"{p}expires_on__isnull": True}) | Q(**{f"{p}expires_on__gte": today})
    )


def share_live_q(now: datetime, prefix: str = "") -> Q:
    p = f"{prefix}__" if prefix else ""
    by_consent = Q(**{f"{p}consent__isnull": False}) & consent_live_q(f"{p}consent", now)
    by_override = Q(**{f"{p}override__expires_at__gt": now})
    return Q(**{f"{p}revoked_at__isnull": True}) & (by_consent | by_override)


def live_shares(agency_id: int, now: datetime | None = None) -> QuerySet[CaseShare]:
    now = now or clock.now()
    return CaseShare.objects.filter(share_live_q(now), agency_id=agency_id)


def visible_to(principal: Principal) -> QuerySet[Case]:
    """Cases the principal may see: their agency's own, and those shared with it right now."""
    if not principal.has(Capability.CASE_VIEW) or principal.agency_id is None:
        return Case.objects.none()
    shared_ids = live_shares(principal.agency_id).values("case_id")
    return Case.objects.filter(Q(owner_agency_id=principal.agency_id) | Q(pk__in=shared_ids))


@dataclass(frozen=True)
class Access:
    """What the principal's agency holds on one case: everything as owner, or shared sections."""

    is_owner: bool
    sections: frozenset[str]

    def can_see(self, section: str) -> bool:
        return self.is_owner or section in self.sections

    def can_edit(self, principal: Principal, section: str) -> bool:
        return principal.has(Capability.CASE_EDIT) and self.can_see(section)

    def can_move(self, principal: Principal) -> bool:
        # Which moves a role may make is the workflow table's business (rows 2, 20, s2 name
        # the intake officer, who holds no case.edit).
        return principal.has(Capability.CASE_VIEW) and self.can_see(Section.WORKFLOW)


NO_ACCESS = Access(False, frozenset())


def case_access(principal: Principal, case: Case) -> Access:
    if principal.agency_id is None or not principal.has(Capability.CASE_VIEW):
        return NO_ACCESS
    if case.owner_agency_id == principal.agency_id:
        return Access(True, ALL_SECTIONS)
    sections: set[str] = set()
    # One filter() and bare values: this runs for every case on every shared page.
    rows = CaseShare.objects.filter(
        share_live_q(clock.now()), agency_id=principal.agency_id, case_id=case.pk
    ).values_list("sections", flat=True)
    for held in rows:
        sections.update(held)
    if not sections:
        return NO_ACCESS
    return Access(False, frozenset(sections | {Section.SUMMARY}))


def _denied(principal: Principal) -> NotFound:
    # Kept even when the caller's transaction rolls back (audit_denied): a refusal is recorded
    # although the read or write it refused leaves nothing else behind.
    audit_denied(actor=principal, target_type="case", metadata={"lookup": "reference"})
    return NotFound()


def case_get(
    *, principal: Principal, reference: str, for_update: bool = False
) -> tuple[Case, Access]:
    """One case and what the principal may see of it; the read is audited in the same
    transaction (no audit row, no data). Unknown and not-shared both raise NotFound, and the
    refusal is audited."""
    with transaction.atomic():
        rows = visible_to(principal).filter(reference=reference[:16])
        if for_update:
            rows = rows.select_for_update()
        case = rows.first()
        access = case_access(principal, case) if case is not None else NO_ACCESS
        if case is not None and access is not NO_ACCESS:
            audit_record(
                actor=principal,
                action=AuditAction.RECORD_VIEWED,
                target_type="case",
                target_id=case.pk,
                metadata={"sections": ["all"] if access.is_owner else sorted(access.sections)},
            )
            return case, access
    raise _denied(principal)


@transaction.atomic
def case_list(
    *, principal: Principal, state: str = "", shared_only: bool = False, limit: int = 200
) -> list[Case]:
    """Cases the principal may see, most recently changed first. The listing is audited."""
    rows = visible_to(principal).select_related("owner_agency", "primary_worker")
    if state:
        rows = rows.filter(state=state)
    if shared_only:
        rows = rows.exclude(owner_agency_id=principal.agency_id)
    result = list(rows.order_by("-updated_at")[:limit])
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_LISTED,
        target_type="case",
        metadata={"count": len(result), "ids": [c.pk for c in result[:MAX_LISTED_IDS]]},
    )
    return result


def case_persons(case: Case, access: Access) -> list[CasePerson]:
    if not access.can_see(Section.PERSONS):
        return []
    return list(case.persons.select_related("person").order_by("role", "pk"))


def case_timeline(case: Case, access: Access) -> list[CaseEvent]:
    rows = case.events.select_related("actor", "agency").order_by("at", "pk")
    if not access.is_owner:
        rows = rows.filter(section__in=sorted(access.sections))
    return list(rows)


def case_tasks(case: Case, access: Access) -> list[Task]:
    if not access.can_see(Section.TASKS):
        return []
    return list(case.tasks.select_related("assigned_to").order_by("done_at", "due_at"))


def case_shares(case: Case, access: Access) -> list[CaseShare]:
    """Who else holds this case: shown to the owner only."""
    if not access.is_owner:
        return []
    return list(case.shares.select_related("agency", "consent", "override").order_by("-granted_at"))


def victim_person_ids(case: Case) -> list[int]:
    return list(case.persons.filter(role="victim").values_list("person_id", flat=True))


def consents_for_case(case: Case, access: Access) -> list[Consent]:
    """Consent records of the case's persons, for the owner's consent panel only: a receiving
    agency learns what it was given, not what the person agreed with others."""
    if not access.is_owner:
        return []
    person_ids = case.persons.values_list("person_id", flat=True)
    return list(
        Consent.objects.filter(person_id__in=person_ids)
        .select_related("recipient_agency", "person")
        .order_by("-recorded_at")
    )


def share_consent_for(
    *, person_ids: list[int], recipient_agency_id: int | None, purpose: str, now: datetime
) -> Consent | None:
    """A live consent of the victim covering this recipient and purpose, if there is one."""
    if not person_ids or recipient_agency_id is None:
        return None
    return (
        Consent.objects.filter(
            consent_live_q("", now),
            person_id__in=person_ids,
            scope=ConsentScope.SHARE,
            recipient_agency_id=recipient_agency_id,
            purpose=purpose,
        )
        .order_by("-recorded_at")
        .first()
    )


def my_open_tasks(*, principal: Principal, limit: int = 100) -> list[Task]:
    """The principal's own open tasks on cases they can still see, soonest due first."""
    if principal.user_id is None:
        return []
    visible = visible_to(principal).values("pk")
    return list(
        Task.objects.filter(
            assigned_to_id=principal.user_id, done_at__isnull=True, case__in=visible
        )
        .select_related("case")
        .order_by("due_at")[:limit]
    )


def notices_for(*, principal: Principal, limit: int = 50) -> list[CaseNotice]:
    if principal.user_id is None:
        return []
    visible = visible_to(principal).values("pk")
    return list(
        CaseNotice.objects.filter(user_id=principal.user_id, case__in=visible)
        .select_related("case")
        .order_by("-created_at")[:limit]
    )
