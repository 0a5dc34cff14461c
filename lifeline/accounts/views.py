"""Log-in, second factor, and the start page."""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_record

from . import selectors
from .access import public, requires
from .otp import totp_key_b32
from .policies import Capability
from .principal import request_principal


@public
class LifelineLoginView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("6-digit code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits shown in your authenticator app.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("accounts:home")


@public
@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    """Second factor: enrol a TOTP device on first log-in, then verify on every log-in."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:login")
    if getattr(user, "is_verified", bool)():
        return HttpResponseRedirect(_safe_next(request))
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = confirmed is None
    device = (
        confirmed
        or TOTPDevice.objects.get_or_create(
            user=user, confirmed=False, defaults={"name": "authenticator"}
        )[0]
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        allowed, _info = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            with transaction.atomic():
                if enrolling:
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                otp_login(request, device)
                audit_record(
                    actor=request_principal(request),
                    action=(
                        AuditAction.OTP_DEVICE_CONFIRMED if enrolling else AuditAction.OTP_VERIFIED
                    ),
                )
            return HttpResponseRedirect(_safe_next(request))
        audit_record(actor=request_principal(request), action=AuditAction.OTP_FAILED)
        form.add_error("token", _("That code is not valid. Wait for a new code and try again."))
    context: dict[str, Any] = {"form": form, "enrolling": enrolling, "next": _safe_next(request)}
    if enrolling:
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4)
        context["secret"] = device.bin_key.hex()
        context["secret_b32"] = totp_key_b32(device)
    return render(request, "accounts/otp.html", context)


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


@requires(Capability.HOME_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    principal = request_principal(request)
    return render(
        request,
        "accounts/home.html",
        {"principal": principal, "capabilities": sorted(principal.capabilities)},
    )


@requires(Capability.AGENCY_MEMBERS_VIEW)
def members(request: HttpRequest) -> HttpResponse:
    principal = request_principal(request)
    return render(
        request,
        "accounts/members.html",
        {"principal": principal, "memberships": selectors.membership_list(actor=principal)},
    )


@requires(Capability.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    principal = request_principal(request)
    return render(
        request,
        "accounts/audit.html",
        {"principal": principal, "events": selectors.audit_event_list(actor=principal)},
    )
