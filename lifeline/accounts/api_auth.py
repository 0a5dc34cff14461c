"""Staff access to the JSON API: a personal bearer token acts as its user, in its agency.

Every operation still names its capability (`need`), and a missing capability answers 404,
exactly as in the browser. A deactivated user or membership authenticates as nobody (401).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Schema
from ninja.security import HttpBearer

from lifeline.audit.services import audit_denied
from lifeline.core.errors import NotFound

from .policies import Capability
from .principal import Principal, principal_for
from .services import staff_token_authenticate


class StaffBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        found = staff_token_authenticate(token)
        if found is None:
            return None
        principal = principal_for(found.user, agency_id=found.agency_id, verified=True)
        if principal.agency is None or not principal.roles:
            return None
        request.principal = principal  # type: ignore[attr-defined]
        return principal


staff_auth = StaffBearer()


class ErrorOut(Schema):
    detail: Any


# What any staff operation may answer besides its success, declared so that clients (and the
# schemathesis battery) can rely on the OpenAPI document: 400 a body that is not JSON, 401 no
# valid token, 404 no access or nothing there, 409 a stale version or an illegal move, 422 bad
# input. Each is `{"detail": ...}`.
STAFF_ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


def api_principal(request: HttpRequest) -> Principal:
    principal: Any = getattr(request, "auth", None)
    if not isinstance(principal, Principal):
        raise NotFound
    return principal


def need(request: HttpRequest, capability: Capability) -> Principal:
    """The caller's principal if it holds `capability`; otherwise an audited refusal as 404."""
    principal = api_principal(request)
    if not principal.has(capability):
        audit_denied(
            actor=principal,
            target_type="api",
            target_id=None,
            metadata={"capability": str(capability)},
            agency_id=principal.agency_id,
        )
        raise NotFound
    return principal
