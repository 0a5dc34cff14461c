"""Refused attempts are audited even when the refusal rolls back the transaction it was in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .services import audit_denied, denials_deferred


def _actor(request: HttpRequest) -> Any:
    """The signed-in principal of the request (HTML: set by the capability check; API: the
    staff token's), or None for anonymous callers and API clients that are not staff."""
    for candidate in (getattr(request, "auth", None), getattr(request, "principal", None)):
        if getattr(candidate, "user_id", None) is not None and hasattr(candidate, "role_label"):
            return candidate
    return None


class DenialAuditMiddleware:
    """Writes the `audit_denied` rows of a request after its view has returned (battery B3).

    A 404 from a resolved route to a signed-in principal that left no refusal row of its own
    (a record that does not exist, or a service that refuses without saying why) gets one here,
    naming the route: no-access and not-found look the same to the caller, and both are
    recorded."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with denials_deferred() as pending:
            response = self.get_response(request)
            if response.status_code == 404 and not pending and request.resolver_match:
                actor = _actor(request)
                if actor is not None:
                    audit_denied(
                        actor=actor,
                        target_type="route",
                        metadata={"route": (request.resolver_match.view_name or "")[:64],
                                  "method": (request.method or "")[:8]},
                    )  # fmt: skip
        return response
