"""Request guards: session limits, and capability enforcement (deny by default)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from lifeline.audit.services import audit_denied
from lifeline.core import clock, context

from .access import declared_access
from .policies import Capability
from .principal import ANONYMOUS, Principal, principal_for, request_principal

logger = logging.getLogger(__name__)

SESSION_AGENCY = "lifeline_agency_id"
SESSION_LOGIN_AT = "lifeline_login_at"
SESSION_SEEN_AT = "lifeline_seen_at"


def _principal(request: HttpRequest) -> Principal:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    verified = bool(getattr(user, "is_verified", lambda: False)())
    return principal_for(user, agency_id=request.session.get(SESSION_AGENCY), verified=verified)


class SessionLimitsMiddleware:
    """Idle (30 min) and absolute (12 h) session limits on the one clock; no-store caching;
    staff pages in the user's preferred language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = context.set_request_id(request.headers.get("X-Request-ID", "")[:64] or None)
        try:
            self._enforce_limits(request)
            request.principal = SimpleLazyObject(lambda: _principal(request))  # type: ignore[attr-defined]
            language = _preferred_language(request)
            if language is None:
                response = self.get_response(request)
            else:
                # override, not activate: the thread's language is put back afterwards.
                with translation.override(language):
                    request.LANGUAGE_CODE = language
                    response = self.get_response(request)
                response.headers.setdefault("Content-Language", language)
        finally:
            context.reset_request_id(token)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            # Survivor data must never sit in a shared or browser cache.
            response["Cache-Control"] = "no-store"
        return response

    def _enforce_limits(self, request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        now = clock.now()
        session = request.session
        login_at = session.get(SESSION_LOGIN_AT)
        seen_at = session.get(SESSION_SEEN_AT)
        idle_limit = settings.SESSION_COOKIE_AGE
        absolute_limit = settings.LIFELINE_SESSION_ABSOLUTE_SECONDS
        expired = login_at is None or (
            (now - datetime.fromisoformat(login_at)).total_seconds() > absolute_limit
        )
        if seen_at is not None and (now - datetime.fromisoformat(seen_at)).total_seconds() > (
            idle_limit
        ):
            expired = True
        if expired:
            logout(request)
            return
        session[SESSION_SEEN_AT] = now.isoformat()


def _preferred_language(request: HttpRequest) -> str | None:
    """A logged-in user reads pages in their preferred language, unless they picked one with
    the language switch (its cookie is an explicit choice and wins). The browser's
    Accept-Language says less: a shared office computer may be set to either language."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    languages = dict(settings.LANGUAGES)
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) in languages:
        return None
    preferred = getattr(user, "preferred_language", "")
    return preferred if preferred in languages else None


class CapabilityMiddleware:
    """Every resolved view must be public or declare a capability; others answer 404.

    Anonymous users are sent to log in and password-only sessions to the second factor, for
    every protected route alike, so the redirect reveals nothing about any record.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        is_public, capability = declared_access(view_func)
        if is_public:
            return None
        if capability is None:
            logger.error("route %s declares no capability; refused", request.resolver_match)
            raise Http404
        user = request.user
        if not user.is_authenticated:
            return HttpResponseRedirect(f"{reverse('accounts:login')}?next={request.path}")
        principal = request_principal(request)
        if not principal.verified:
            return HttpResponseRedirect(f"{reverse('accounts:otp')}?next={request.path}")
        allowed = (
            user.is_superuser and principal.verified
            if capability is Capability.PLATFORM_ADMIN
            else principal.has(capability)
        )
        if not allowed:
            audit_denied(
                actor=principal,
                metadata={"capability": str(capability), "route": _route_name(request)},
            )
            raise Http404
        return None


def _route_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return (match.view_name if match else "")[:64]
