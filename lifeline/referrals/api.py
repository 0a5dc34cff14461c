"""JSON API for referrals between agencies, for staff with a personal bearer token.

Every operation names its capability; no access, another agency's referral and an unknown id
all answer 404. Before acceptance the receiver gets no person data and not the sender's note.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from lifeline.accounts.api_auth import STAFF_ERRORS, need, staff_auth
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal
from lifeline.core.api import ApiIn

from . import selectors, services
from .models import Referral

router = Router(tags=["referrals"], auth=staff_auth)


class ReferralIn(ApiIn):
    case_reference: str = Field(..., max_length=16)
    to_agency_id: int
    kind: str = Field(..., description="share or transfer")
    purpose: str = Field(..., description="rescue, repatriation, identification, services or legal")
    sections: list[str] = Field(
        default_factory=list,
        description="for a share: summary, persons, screening, authority, removal, "
        "repatriation, family, services, tasks, workflow (summary always goes)",
    )
    note: str = Field("", max_length=services.NOTE_MAX)


class DeclineIn(ApiIn):
    reason: str = Field(..., max_length=services.REASON_MAX)


class ReferralOut(Schema):
    id: int
    case_reference: str
    from_agency_id: int
    from_agency: str
    to_agency_id: int
    kind: str
    purpose: str
    sections: list[str]
    status: str = Field(
        ...,
        description="pending, lapsed (can no longer be accepted: consent ended or the case changed "
        "owner), accepted, ended (access ended), declined, revoked",
    )
    sent_at: datetime
    responded_at: datetime | None
    revoked_at: datetime | None


class ReferralDetailOut(ReferralOut):
    note: str = Field("", description="the sender's note; the receiver reads it once accepted")
    decline_reason: str = ""


class ReferralListOut(Schema):
    incoming: list[ReferralOut]
    outgoing: list[ReferralOut]


def _out(referral: Referral) -> ReferralOut:
    return ReferralOut(
        id=referral.pk,
        case_reference=referral.case.reference,
        from_agency_id=referral.from_agency_id,
        from_agency=referral.from_agency.name,
        to_agency_id=referral.to_agency_id,
        kind=referral.kind,
        purpose=referral.purpose,
        sections=list(referral.sections),
        status=selectors.display_status(referral),
        sent_at=referral.sent_at,
        responded_at=referral.responded_at,
        revoked_at=referral.revoked_at,
    )


def _detail(view: selectors.ReferralView) -> ReferralDetailOut:
    r = view.referral
    return ReferralDetailOut(
        **_out(r).model_dump(),
        note=view.note,
        decline_reason=r.decline_reason,
    )


def _written(principal: Principal, referral: Referral) -> ReferralDetailOut:
    # The write was audited by its service; answering with its result is no second read.
    return _detail(selectors.referral_view(principal, referral))


@router.post("/referrals", response={201: ReferralDetailOut, **STAFF_ERRORS})
def referral_send(request: HttpRequest, payload: ReferralIn) -> Status:
    principal = need(request, Capability.REFERRAL_SEND)
    referral = services.referral_send(
        principal=principal,
        data=services.ReferralInput(
            case_reference=payload.case_reference,
            to_agency_id=payload.to_agency_id,
            kind=payload.kind,
            purpose=payload.purpose,
            sections=tuple(payload.sections),
            note=payload.note,
        ),
    )
    return Status(201, _written(principal, referral))


@router.get("/referrals", response={200: ReferralListOut, **STAFF_ERRORS})
def referral_list(request: HttpRequest) -> ReferralListOut:
    """Pending referrals to your agency (incoming) and those it sent (outgoing)."""
    principal = need(request, Capability.REFERRAL_VIEW)
    incoming = selectors.referral_inbox(principal=principal)
    outgoing = selectors.referral_outgoing(principal=principal)
    return ReferralListOut(
        incoming=[_out(r) for r in incoming], outgoing=[_out(r) for r in outgoing]
    )


@router.get("/referrals/{referral_id}", response={200: ReferralDetailOut, **STAFF_ERRORS})
def referral_get(request: HttpRequest, referral_id: int) -> ReferralDetailOut:
    principal = need(request, Capability.REFERRAL_VIEW)
    return _detail(selectors.referral_get(principal=principal, referral_id=referral_id))


@router.post("/referrals/{referral_id}/accept", response={200: ReferralDetailOut, **STAFF_ERRORS})
def referral_accept(request: HttpRequest, referral_id: int) -> ReferralDetailOut:
    principal = need(request, Capability.REFERRAL_RESPOND)
    referral = services.referral_accept(principal=principal, referral_id=referral_id)
    return _written(principal, referral)


@router.post("/referrals/{referral_id}/decline", response={200: ReferralDetailOut, **STAFF_ERRORS})
def referral_decline(
    request: HttpRequest, referral_id: int, payload: DeclineIn
) -> ReferralDetailOut:
    principal = need(request, Capability.REFERRAL_RESPOND)
    referral = services.referral_decline(
        principal=principal, referral_id=referral_id, reason=payload.reason
    )
    return _written(principal, referral)


@router.post("/referrals/{referral_id}/revoke", response={200: ReferralDetailOut, **STAFF_ERRORS})
def referral_revoke(request: HttpRequest, referral_id: int) -> ReferralDetailOut:
    principal = need(request, Capability.REFERRAL_SEND)
    referral = services.referral_revoke(principal=principal, referral_id=referral_id)
    return _written(principal, referral)
