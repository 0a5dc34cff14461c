"""Reads for agency administration, scoped to the actor's own agency."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F, QuerySet

from lifeline.audit.models import AuditEvent

from .models import Membership
from .policies import Capability
from .principal import Principal


def active_member_ids(agency_id: int, roles: Sequence[str]) -> list[int]:
    """Ids of the active users holding any of `roles` in the agency (for notices), sorted."""
    return sorted(
        set(
            Membership.objects.filter(
                agency_id=agency_id, role__in=roles, is_active=True, user__is_active=True
            ).values_list("user_id", flat=True)
        )
    )


def membership_list(*, actor: Principal) -> QuerySet[Membership]:
    """Members of the actor's own agency; nothing for anyone else."""
    if not actor.has(Capability.AGENCY_MEMBERS_VIEW) or actor.agency is None:
        return Membership.objects.none()
    return (
        Membership.objects.filter(agency=actor.agency)
        .select_related("user")
        .order_by("user__username", "role")
    )


def audit_event_list(*, actor: Principal, limit: int = 200) -> list[AuditEvent]:
    """The latest audit events recorded in the actor's own agency."""
    if not actor.has(Capability.AUDIT_VIEW) or actor.agency is None:
        return []
    # Events not yet linked into the chain have no seq: newest, so first.
    return list(
        AuditEvent.objects.filter(agency_id=actor.agency.pk).order_by(
            F("seq").desc(nulls_first=True), "-id"
        )[:limit]
    )
