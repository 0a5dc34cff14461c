"""Roles to capabilities, and who the acting principal is. Policy tables need no database."""

from __future__ import annotations

import pytest

from lifeline.accounts.models import Role
from lifeline.accounts.policies import (
    IDENTITY_CAPABILITIES,
    ROLE_CAPABILITIES,
    Capability,
    capabilities_for_roles,
    platform_capabilities,
)
from lifeline.accounts.principal import ANONYMOUS, principal_for
from lifeline.accounts.tests.factories import MembershipFactory

C = Capability


def test_every_role_has_a_capability_entry():
    assert set(ROLE_CAPABILITIES) == set(Role.values)


def test_every_role_reaches_home():
    assert all(C.HOME_VIEW in caps for caps in ROLE_CAPABILITIES.values())


def test_no_agency_role_grants_platform_admin():
    assert all(C.PLATFORM_ADMIN not in caps for caps in ROLE_CAPABILITIES.values())


def test_only_agency_admin_manages_members():
    holders = sorted(r for r, caps in ROLE_CAPABILITIES.items() if C.AGENCY_MEMBERS_MANAGE in caps)

    assert holders == [Role.AGENCY_ADMIN]


def test_analyst_sees_no_identities():
    assert ROLE_CAPABILITIES[Role.ANALYST] & IDENTITY_CAPABILITIES == frozenset()


def test_data_protection_officer_sees_identities_only_in_the_duplicate_review():
    """The DPO decides whether two records are one person, so sees both; no case or request."""
    caps = ROLE_CAPABILITIES[Role.DATA_PROTECTION_OFFICER]
    assert caps & IDENTITY_CAPABILITIES == {C.DEDUP_REVIEW}


def test_analyst_has_exactly_home_statistics_and_aggregate_exports():
    assert ROLE_CAPABILITIES[Role.ANALYST] == {C.HOME_VIEW, C.STATISTICS_VIEW, C.REPORT_EXPORT}


def test_audit_trail_is_for_data_protection_officer_and_agency_admin_only():
    holders = sorted(r for r, caps in ROLE_CAPABILITIES.items() if C.AUDIT_VIEW in caps)

    assert holders == [Role.AGENCY_ADMIN, Role.DATA_PROTECTION_OFFICER]


def test_capabilities_for_roles_is_the_union_and_ignores_unknown_roles():
    caps = capabilities_for_roles(frozenset({Role.ANALYST, Role.INTAKE_OFFICER, "pirate"}))

    assert caps == ROLE_CAPABILITIES[Role.ANALYST] | ROLE_CAPABILITIES[Role.INTAKE_OFFICER]
    assert capabilities_for_roles(frozenset({"pirate"})) == frozenset()


def test_platform_capabilities_only_for_superusers():
    assert platform_capabilities(is_superuser=True) == {C.PLATFORM_ADMIN}
    assert platform_capabilities(is_superuser=False) == frozenset()


# --- principal ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_principal_carries_the_membership_roles_and_capabilities(supervisor, agency_a):
    principal = principal_for(supervisor)

    assert (principal.agency, principal.roles, principal.role_label) == (
        agency_a,
        {Role.SUPERVISOR},
        "supervisor",
    )
    assert principal.capabilities == ROLE_CAPABILITIES[Role.SUPERVISOR]
    assert principal.has(C.CASE_VIEW) is True
    assert principal.has(C.AUDIT_VIEW) is False


@pytest.mark.django_db
def test_unverified_principal_has_no_capability(supervisor):
    principal = principal_for(supervisor, verified=False)

    assert [c for c in Capability if principal.has(c)] == []


@pytest.mark.django_db
def test_principal_without_membership_may_only_reach_home(user_without_membership):
    principal = principal_for(user_without_membership)

    assert (principal.agency, principal.roles, principal.role_label) == (None, frozenset(), "")
    assert principal.capabilities == {C.HOME_VIEW}


@pytest.mark.django_db
def test_platform_operator_gets_admin_and_home_only(platform_admin):
    assert principal_for(platform_admin).capabilities == {C.PLATFORM_ADMIN, C.HOME_VIEW}


@pytest.mark.django_db
def test_inactive_membership_gives_no_role(supervisor):
    supervisor.memberships.update(is_active=False)

    assert principal_for(supervisor).roles == frozenset()


@pytest.mark.django_db
def test_inactive_agency_gives_no_role(supervisor, agency_a):
    agency_a.is_active = False
    agency_a.save()

    assert principal_for(supervisor).roles == frozenset()


@pytest.mark.django_db
def test_deactivated_user_is_anonymous(supervisor):
    supervisor.is_active = False
    supervisor.save()

    assert principal_for(supervisor) is ANONYMOUS


@pytest.mark.django_db
def test_roles_from_another_agency_do_not_mix_in(supervisor, agency_a, agency_b):
    MembershipFactory(user=supervisor, agency=agency_b, role=Role.AGENCY_ADMIN)

    in_a = principal_for(supervisor, agency_id=agency_a.pk)
    in_b = principal_for(supervisor, agency_id=agency_b.pk)

    assert (in_a.agency, in_a.roles) == (agency_a, {Role.SUPERVISOR})
    assert (in_b.agency, in_b.roles) == (agency_b, {Role.AGENCY_ADMIN})
    assert in_a.has(C.AUDIT_VIEW) is False
