"""Who may see and act on which help request."""

from __future__ import annotations

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal

from . import selectors
from .models import HelpRequest


def can_view_request(actor: Principal, request: HelpRequest) -> bool:
    """Staff holding request.view of the agency the request is assigned to, or of the partner
    agency it was escalated to (the ladder's last rung). Nobody else."""
    if not actor.has(Capability.REQUEST_VIEW) or actor.agency is None:
        return False
    if request.assigned_agency_id == actor.agency.pk:
        return True
    return selectors.escalated_to(actor.agency.pk).filter(request=request).exists()


def can_act_on_request(actor: Principal, request: HelpRequest) -> bool:
    """Acknowledge and respond: anyone who may view the request and holds request.act. A partner
    agency that was alerted must be able to answer, or the alert would lead nowhere."""
    return can_view_request(actor, request) and actor.has(Capability.REQUEST_ACT)


def can_assign_request(actor: Principal, request: HelpRequest) -> bool:
    """Assign: only the agency holding the request, among its own staff."""
    return (
        can_act_on_request(actor, request)
        and actor.agency is not None
        and request.assigned_agency_id == actor.agency.pk
    )
