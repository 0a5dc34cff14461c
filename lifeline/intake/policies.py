"""Who may see and act on which help request."""

from __future__ import annotations

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal

from .models import HelpRequest


def can_view_request(actor: Principal, request: HelpRequest) -> bool:
    """Staff of the agency the request is assigned to, holding request.view. Nobody else."""
    return (
        actor.has(Capability.REQUEST_VIEW)
        and actor.agency is not None
        and request.assigned_agency_id == actor.agency.pk
    )


def can_act_on_request(actor: Principal, request: HelpRequest) -> bool:
    """Acknowledge, assign, respond: the assigned agency's staff holding request.act."""
    return can_view_request(actor, request) and actor.has(Capability.REQUEST_ACT)
