"""JSON API for partners and channel gateways: create help requests idempotently, read status.

POST answers 201 only after the transaction has committed; a retry with the same
Idempotency-Key answers 200 with the same request; the same key with another body answers 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from ninja import Header, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer
from pydantic import Field

from lifeline.accounts.api_auth import ErrorOut
from lifeline.accounts.models import ApiClient
from lifeline.accounts.services import api_client_authenticate
from lifeline.core.api import ApiIn
from lifeline.core.errors import Conflict, ValidationFailed

from . import selectors, services
from .models import Channel, HelpRequest


@dataclass(frozen=True)
class ApiActor:
    """An API client, as it appears in the audit trail."""

    client: ApiClient

    @property
    def user_id(self) -> int | None:
        return None

    @property
    def agency_id(self) -> int | None:
        return self.client.agency_id

    @property
    def role_label(self) -> str:
        return f"api-client:{self.client.pk}"


class ClientToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        return api_client_authenticate(token)


class RequestIn(ApiIn):
    channel: str = Field(
        "api", description="api, web_form, hotline_call, walk_in, partner_referral"
    )
    reporter_type: str = Field(..., description="self, family, friend or other")
    reporter_name: str = Field("", max_length=200)
    reporter_phone: str = Field("", max_length=40)
    person_name: str = Field("", max_length=200)
    person_phone: str = Field("", max_length=40)
    country: str = Field("", max_length=2, description="ISO 3166-1 alpha-2, e.g. TH")
    place_abroad: str = Field("", max_length=200)
    narrative: str = Field(..., max_length=4000)
    safe_contact: str = Field("", max_length=200)
    do_not_call_back: bool = False
    is_child: bool = False
    is_medical: bool = False
    is_confined: bool = False
    is_transfer_imminent: bool = False
    language: str = Field("km", pattern="^(km|en)$")


class RequestOut(Schema):
    reference: str
    status: str
    urgent: bool
    received_at: datetime
    deadline_at: datetime
    acknowledged_at: datetime | None
    first_response_at: datetime | None


# Besides its success, a partner's request may answer 400 (a body that is not JSON), 401 (no
# valid client token), 404 (not this agency's) or 422 (bad input); each is `{"detail": ...}`.
CLIENT_ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    422: ErrorOut,
}


def _out(request: HelpRequest) -> dict[str, Any]:
    return {
        "reference": request.reference,
        "status": request.status,
        "urgent": request.is_urgent,
        "received_at": request.received_at,
        "deadline_at": request.deadline_at,
        "acknowledged_at": request.acknowledged_at,
        "first_response_at": request.first_response_at,
    }


router = Router(tags=["help requests"], auth=ClientToken())


@router.post(
    "/requests",
    response={200: RequestOut, 201: RequestOut, **CLIENT_ERRORS, 503: ErrorOut},
    summary="Create a help request (idempotent)",
)
def create_request(
    request: HttpRequest,
    payload: RequestIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=8, max_length=128),
) -> Status[dict[str, Any]]:
    client: ApiClient = request.auth  # type: ignore[attr-defined]
    raw = payload.dict()
    channel = raw.pop("channel")
    if channel not in Channel.values:
        raise HttpError(422, "unknown channel")
    try:
        data = services.request_input_clean(raw, channel=channel)
    except ValidationFailed as exc:
        return Status(422, {"detail": [{"loc": ["body", k], "msg": m}
                                       for k, v in exc.errors.items() for m in v]})  # fmt: skip
    try:
        result = services.help_request_create(
            actor=ApiActor(client),
            data=data,
            assigned_agency=client.agency,
            idempotency_key=idempotency_key,
            source=str(client.agency_id),
        )
    except Conflict as exc:
        return Status(422, {"detail": [{"loc": ["header", "Idempotency-Key"], "msg": str(exc)}]})
    except DatabaseError:
        # Nothing was committed: say so, so the client retries with the same key.
        return Status(
            503, {"detail": "temporarily unavailable; retry with the same Idempotency-Key"}
        )
    return Status(201 if result.created else 200, _out(result.request))


@router.get(
    "/requests/{reference}",
    response={200: RequestOut, **CLIENT_ERRORS},
    summary="Status of a request this client's agency sent or holds",
)
def get_request(request: HttpRequest, reference: str) -> Status[dict[str, Any]]:
    client: ApiClient = request.auth  # type: ignore[attr-defined]
    found = selectors.request_for_client(agency_id=client.agency_id, reference=reference)
    if found is None:
        return Status(404, {"detail": "Not Found"})
    return Status(200, _out(found))
