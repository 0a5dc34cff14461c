"""Audit of authentication events. Django sends these signals from every login path (our
views and the admin), so receivers are the one place that sees them all."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from lifeline.audit.models import AuditAction
from lifeline.audit.services import SystemActor, audit_record
from lifeline.core import clock

from .principal import principal_for


@receiver(user_logged_in)
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = clock.now().isoformat()
        request.session["lifeline_login_at"] = now
        request.session["lifeline_seen_at"] = now
    audit_record(actor=principal_for(user, verified=False), action=AuditAction.LOGIN)


@receiver(user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=principal_for(user, verified=False), action=AuditAction.LOGOUT)


@receiver(user_login_failed)
def on_login_failed(sender: Any, credentials: Any, request: Any = None, **kwargs: Any) -> None:
    # The username typed may be a person's name or a mistyped password: never record it.
    audit_record(actor=SystemActor("anonymous"), action=AuditAction.LOGIN_FAILED)
