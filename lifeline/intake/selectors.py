"""Reads of help requests, always scoped to what the actor may see, and audited."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_denied, audit_record
from lifeline.core.crypto import blind_index
from lifeline.core.errors import NotFound

from . import validation
from .models import (
    OPEN_STATUSES,
    Escalation,
    EscalationLevel,
    HelpRequest,
    Notification,
    SearchToken,
)

MAX_LISTED_IDS = 200


def escalated_to(agency_id: int) -> QuerySet[Escalation]:
    """Escalations that reached `agency_id` as the partner agency (the ladder's last rung)."""
    return Escalation.objects.filter(
        target_agency_id=agency_id, target=EscalationLevel.PARTNER_AGENCY
    )


def request_for_client(*, agency_id: int, reference: str) -> HelpRequest | None:
    """A request an API client's agency sent or holds, by reference; None for any other."""
    return (
        HelpRequest.objects.filter(reference=reference[:16])
        .filter(Q(source_agency_id=agency_id) | Q(assigned_agency_id=agency_id))
        .first()
    )


def visible_to(actor: Principal) -> QuerySet[HelpRequest]:
    """Every help request the actor may see, if they hold request.view: their own agency's, and
    those escalated to their agency as the partner agency (and no other of that agency's)."""
    if not actor.has(Capability.REQUEST_VIEW) or actor.agency is None:
        return HelpRequest.objects.none()
    own = Q(assigned_agency=actor.agency)
    partner = escalated_to(actor.agency.pk)
    # Most agencies are nobody's partner: keep their queries on the plain agency index.
    if not partner.exists():
        return HelpRequest.objects.filter(own)
    return HelpRequest.objects.filter(own | Q(pk__in=partner.values("request_id")))


def access_via(actor: Principal, request: HelpRequest) -> dict[str, str]:
    """Audit metadata saying a request was reached through a partner escalation, not as the
    agency holding it, so reviewers can tell the two apart."""
    if actor.agency is not None and request.assigned_agency_id != actor.agency.pk:
        return {"via": "partner_escalation"}
    return {}


def _audit_listing(actor: Principal, action: str, rows: list[HelpRequest]) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="help_request",
        metadata={"count": len(rows), "ids": [r.pk for r in rows[:MAX_LISTED_IDS]]},
    )


@transaction.atomic
def request_queue(
    *, actor: Principal, urgent_only: bool = False, country: str = "", limit: int = 200
) -> list[HelpRequest]:
    """Open requests by deadline, soonest (or most overdue) first. The listing is audited."""
    rows = visible_to(actor).filter(status__in=OPEN_STATUSES).select_related("assigned_user")
    if urgent_only:
        rows = rows.filter(is_urgent=True)
    if country:
        rows = rows.filter(country=country.upper())
    result = list(rows.order_by("deadline_at")[:limit])
    _audit_listing(actor, AuditAction.RECORD_LISTED, result)
    return result


@transaction.atomic
def request_get(*, actor: Principal, reference: str) -> HelpRequest:
    """One request, with its read audited in the same transaction (no audit row, no data)."""
    found = visible_to(actor).filter(reference=reference).select_related("assigned_user").first()
    if found is None:
        audit_denied(
            actor=actor,
            target_type="help_request",
            metadata={"lookup": "reference"},
        )
        raise NotFound
    audit_record(
        actor=actor, action=AuditAction.RECORD_VIEWED, target_type="help_request",
        target_id=found.pk, metadata=access_via(actor, found),
    )  # fmt: skip
    return found


@transaction.atomic
def request_search(*, actor: Principal, query: str, limit: int = 50) -> list[HelpRequest]:
    """Search before create: a phone number matches exactly (E.164), names match whole tokens.

    Runs over blind indexes, so the database never holds plaintext names or numbers to search.
    """
    query = (query or "").strip()
    if not query:
        return []
    digests: list[str] = []
    kind = "name"
    try:
        phone = validation.clean_phone(query)
    except validation.InvalidInput:
        phone = ""
    if phone:
        kind = "phone"
        digests = [blind_index(phone, purpose="phone")]
    else:
        try:
            name = validation.clean_name(query)
        except validation.InvalidInput:
            return []
        digests = [blind_index(t, purpose="name-token") for t in validation.name_tokens(name)]
    if not digests:
        return []
    ids = SearchToken.objects.filter(kind=kind, digest__in=digests).values("request_id")
    rows = list(visible_to(actor).filter(pk__in=ids).order_by("-received_at")[:limit])
    if kind == "name" and len(digests) > 1:
        # Every token typed must match (order-free), so "Sok Heang" does not list every Sok.
        wanted = set(digests)
        tokens: dict[int, set[str]] = {}
        for request_id, digest in SearchToken.objects.filter(
            request_id__in=[r.pk for r in rows], kind="name"
        ).values_list("request_id", "digest"):
            tokens.setdefault(request_id, set()).add(digest)
        rows = [r for r in rows if wanted <= tokens.get(r.pk, set())]
    _audit_listing(actor, AuditAction.RECORD_SEARCHED, rows)
    return rows


def request_escalations(*, request: HelpRequest) -> list[Escalation]:
    return list(request.escalations.order_by("level").select_related("target_agency"))


def notification_list(*, actor: Principal, limit: int = 50) -> list[Notification]:
    if actor.user is None:
        return []
    return list(
        Notification.objects.filter(user=actor.user)
        .select_related("request")
        .order_by("-created_at")[:limit]
    )
