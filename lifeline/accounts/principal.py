"""The acting principal: a user, in one agency, with that membership's roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import Agency, Membership, User
from .policies import (
    Capability,
    capabilities_for_roles,
    platform_capabilities,
    signed_in_capabilities,
)


@dataclass(frozen=True)
class Principal:
    user: User | None
    agency: Agency | None
    roles: frozenset[str] = frozenset()
    verified: bool = False
    capabilities: frozenset[Capability] = field(default=frozenset())

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def agency_id(self) -> int | None:
        return self.agency.pk if self.agency is not None else None

    @property
    def role_label(self) -> str:
        return (
            "+".join(sorted(self.roles)) if self.roles else ("anonymous" if not self.user else "")
        )

    def has(self, capability: Capability) -> bool:
        return self.verified and capability in self.capabilities


ANONYMOUS = Principal(user=None, agency=None)


def principal_for(user: Any, *, agency_id: int | None = None, verified: bool = True) -> Principal:
    """Build the principal for `user` acting in `agency_id` (default: their first agency).

    Inactive users, inactive memberships and inactive agencies give no roles.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    memberships = (
        Membership.objects.filter(user=user, is_active=True, agency__is_active=True)
        .select_related("agency")
        .order_by("agency_id", "role")
    )
    if agency_id is not None:
        memberships = memberships.filter(agency_id=agency_id)
    rows = list(memberships)
    agency = rows[0].agency if rows else None
    roles = frozenset(m.role for m in rows if agency is not None and m.agency_id == agency.pk)
    caps = (
        capabilities_for_roles(roles)
        | platform_capabilities(is_superuser=user.is_superuser)
        | signed_in_capabilities()
    )
    return Principal(user=user, agency=agency, roles=roles, verified=verified, capabilities=caps)


def request_principal(request: Any) -> Principal:
    """The principal CapabilityMiddleware attached to this request (anonymous if none)."""
    return getattr(request, "principal", ANONYMOUS)
