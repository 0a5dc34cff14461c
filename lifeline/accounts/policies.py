"""Who may do what: the one place that maps roles to capabilities.

Deny by default: a capability not listed for a role is refused; a user with no active role has
no capability beyond reaching their own start page. Every view and API operation names the
capability it needs (see `lifeline.accounts.access`), and a test walks the URL conf to prove none
is left undeclared.
"""

from __future__ import annotations

from enum import StrEnum

from .models import Role


class Capability(StrEnum):
    # A signed-in, second-factor-verified member reaches their start page.
    HOME_VIEW = "home.view"
    # Agency administration (own agency only).
    AGENCY_MEMBERS_VIEW = "agency.members.view"
    AGENCY_MEMBERS_MANAGE = "agency.members.manage"
    AUDIT_VIEW = "audit.view"
    # Help requests (intake).
    REQUEST_CREATE = "request.create"
    REQUEST_VIEW = "request.view"
    REQUEST_ACT = "request.act"  # acknowledge, assign, record first response
    REQUEST_ESCALATIONS_VIEW = "request.escalations.view"
    # Persons and cases: identity-bearing data.
    PERSON_IDENTITY_VIEW = "person.identity.view"
    CASE_VIEW = "case.view"
    CASE_EDIT = "case.edit"  # open cases, linked records, tasks, workflow transitions
    CASE_APPROVE = "case.approve"  # supervisor sign-off: closures, life-threat overrides
    # Screening interviews (suggested determination) and official determinations.
    SCREENING_CONDUCT = "screening.conduct"
    SCREENING_VIEW = "screening.view"
    DETERMINATION_RECORD = "determination.record"
    # Consent records of a person.
    CONSENT_VIEW = "consent.view"
    CONSENT_MANAGE = "consent.manage"
    # Referrals and transfers between agencies.
    REFERRAL_VIEW = "referral.view"
    REFERRAL_SEND = "referral.send"
    REFERRAL_RESPOND = "referral.respond"  # accept or decline what another agency sent
    # Record linkage: review queue, merge and split of person clusters.
    DEDUP_REVIEW = "dedup.review"
    # Aggregates only.
    STATISTICS_VIEW = "statistics.view"
    REPORT_EXPORT = "report.export"
    # Person-level (pseudonymised) record exports, HTCDS- or CTDC-shaped: one person asks, and
    # above the two-person threshold a second person of the same agency approves (ASVS 2.3.5).
    RECORD_EXPORT = "record.export"
    RECORD_EXPORT_APPROVE = "record.export.approve"
    # Platform operators (Django admin); not an agency role, see `platform_capabilities`.
    PLATFORM_ADMIN = "platform.admin"


C = Capability

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.INTAKE_OFFICER: frozenset(
        {
            C.HOME_VIEW,
            C.REQUEST_CREATE,
            C.REQUEST_VIEW,
            C.REQUEST_ACT,
            C.PERSON_IDENTITY_VIEW,
            C.CASE_VIEW,
            C.SCREENING_CONDUCT,
            C.SCREENING_VIEW,
            C.CONSENT_VIEW,
            C.CONSENT_MANAGE,
        }
    ),
    Role.CASE_WORKER: frozenset(
        {
            C.HOME_VIEW,
            C.REQUEST_VIEW,
            C.REQUEST_ACT,
            C.PERSON_IDENTITY_VIEW,
            C.CASE_VIEW,
            C.CASE_EDIT,
            C.SCREENING_CONDUCT,
            C.SCREENING_VIEW,
            C.DETERMINATION_RECORD,
            C.CONSENT_VIEW,
            C.CONSENT_MANAGE,
            C.REFERRAL_VIEW,
            C.REFERRAL_RESPOND,
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            C.HOME_VIEW,
            C.AGENCY_MEMBERS_VIEW,
            C.REQUEST_CREATE,
            C.REQUEST_VIEW,
            C.REQUEST_ACT,
            C.REQUEST_ESCALATIONS_VIEW,
            C.PERSON_IDENTITY_VIEW,
            C.CASE_VIEW,
            C.CASE_EDIT,
            C.CASE_APPROVE,
            C.SCREENING_CONDUCT,
            C.SCREENING_VIEW,
            C.DETERMINATION_RECORD,
            C.CONSENT_VIEW,
            C.CONSENT_MANAGE,
            C.REFERRAL_VIEW,
            C.REFERRAL_SEND,
            C.REFERRAL_RESPOND,
            C.DEDUP_REVIEW,
            C.STATISTICS_VIEW,
            C.REPORT_EXPORT,
            C.RECORD_EXPORT,
            C.RECORD_EXPORT_APPROVE,
        }
    ),
    Role.LIAISON_OFFICER: frozenset(
        {
            C.HOME_VIEW,
            C.REQUEST_VIEW,
            C.PERSON_IDENTITY_VIEW,
            C.CASE_VIEW,
            C.CASE_EDIT,
            C.SCREENING_VIEW,
            C.DETERMINATION_RECORD,
            C.CONSENT_VIEW,
            C.REFERRAL_VIEW,
            C.REFERRAL_SEND,
            C.REFERRAL_RESPOND,
        }
    ),
    Role.DATA_PROTECTION_OFFICER: frozenset(
        {
            C.HOME_VIEW,
            C.AUDIT_VIEW,
            C.AGENCY_MEMBERS_VIEW,
            C.CONSENT_VIEW,
            C.DEDUP_REVIEW,
            C.STATISTICS_VIEW,
            C.RECORD_EXPORT_APPROVE,
        }
    ),
    Role.ANALYST: frozenset({C.HOME_VIEW, C.STATISTICS_VIEW, C.REPORT_EXPORT}),
    Role.AGENCY_ADMIN: frozenset(
        {
            C.HOME_VIEW,
            C.AGENCY_MEMBERS_VIEW,
            C.AGENCY_MEMBERS_MANAGE,
            C.AUDIT_VIEW,
            C.REQUEST_ESCALATIONS_VIEW,
            C.STATISTICS_VIEW,
        }
    ),
}

# Capabilities that expose a person's identity; holding any of them demands a second factor.
IDENTITY_CAPABILITIES = frozenset(
    {C.PERSON_IDENTITY_VIEW, C.REQUEST_VIEW, C.CASE_VIEW, C.SCREENING_VIEW, C.DEDUP_REVIEW}
)


def capabilities_for_roles(roles: frozenset[str]) -> frozenset[Capability]:
    """Union of the capabilities of the given roles; unknown roles grant nothing."""
    granted: set[Capability] = set()
    for role in roles:
        granted |= ROLE_CAPABILITIES.get(role, frozenset())
    return frozenset(granted)


def signed_in_capabilities() -> frozenset[Capability]:
    """Every active, verified account may reach its start page, which shows only who they are.

    Without this a platform operator, or someone whose last role was withdrawn, would land on
    "not found" right after logging in instead of being told to ask for access.
    """
    return frozenset({C.HOME_VIEW})


def platform_capabilities(*, is_superuser: bool) -> frozenset[Capability]:
    """Platform operators run the Django admin for agencies and users; nothing else follows."""
    return frozenset({C.PLATFORM_ADMIN}) if is_superuser else frozenset()


def requires_second_factor(roles: frozenset[str]) -> bool:
    """Every staff session needs TOTP before it reaches data (OWASP ASVS 6.3.3 asks MFA at L2).

    We demand it of all roles, not only those reading identities, because a session without it
    reaches nothing anyway and one rule is easier to test than two.
    """
    return True
