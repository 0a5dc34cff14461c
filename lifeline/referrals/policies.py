"""Who may do what with referrals. Agency scoping (sender or receiver) is in the selectors and
services; these rules say which roles may act at all, and on which referral."""

from __future__ import annotations

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal

from .models import Referral, ReferralKind, ReferralStatus


def can_view_referrals(principal: Principal) -> bool:
    """Case workers, supervisors and liaison officers see their agency's referrals."""
    return principal.agency_id is not None and principal.has(Capability.REFERRAL_VIEW)


def can_send_referral(principal: Principal) -> bool:
    """Supervisors and liaison officers of the owner agency send referrals and revoke them."""
    return (
        principal.agency_id is not None
        and principal.has(Capability.REFERRAL_SEND)
        and principal.has(Capability.CASE_VIEW)
    )


def can_respond_to_referral(principal: Principal) -> bool:
    """Case workers, supervisors and liaison officers of the receiving agency accept or decline."""
    return principal.agency_id is not None and principal.has(Capability.REFERRAL_RESPOND)


def can_answer(principal: Principal, referral: Referral) -> bool:
    return (
        can_respond_to_referral(principal)
        and referral.to_agency_id == principal.agency_id
        and referral.status == ReferralStatus.PENDING
    )


def can_revoke(principal: Principal, referral: Referral) -> bool:
    if not can_send_referral(principal) or referral.from_agency_id != principal.agency_id:
        return False
    if referral.status == ReferralStatus.PENDING:
        return True
    return referral.status == ReferralStatus.ACCEPTED and referral.kind == ReferralKind.SHARE
