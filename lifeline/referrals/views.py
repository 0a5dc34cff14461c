"""Screens: the referral inbox (incoming and outgoing), one referral with its answers, and the
send form. Thin callers of the selectors and services; refusals look like not-found."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from lifeline.accounts.access import requires
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import request_principal
from lifeline.cases.models import Purpose, Section
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import selectors, services
from .models import Referral, ReferralKind

STATUS_LABELS = {
    "pending": gettext_lazy("Waiting for an answer"),
    "lapsed": gettext_lazy("Can no longer be accepted"),
    "accepted": gettext_lazy("Accepted"),
    "ended": gettext_lazy("Accepted, access has ended"),
    "declined": gettext_lazy("Declined"),
    "revoked": gettext_lazy("Revoked"),
}


def _row(referral: Referral) -> dict[str, Any]:
    """A referral with its labels in the active language, for the templates."""
    sections = dict(Section.choices)
    status = selectors.display_status(referral)
    return {
        "r": referral,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "sections": [sections.get(s, s) for s in referral.sections],
    }


@requires(Capability.REFERRAL_VIEW)
def inbox(request: HttpRequest) -> HttpResponse:
    principal = request_principal(request)
    context = {
        "incoming": [_row(r) for r in selectors.referral_inbox(principal=principal)],
        "answered": [_row(r) for r in selectors.referral_answered(principal=principal)],
        "outgoing": [_row(r) for r in selectors.referral_outgoing(principal=principal)],
        "notices": selectors.notices_for(principal=principal),
        "can_send": principal.has(Capability.REFERRAL_SEND),
    }
    return render(request, "referrals/inbox.html", context)


def _render_detail(
    request: HttpRequest, referral_id: int, errors: dict[str, list[str]] | None = None
) -> HttpResponse:
    principal = request_principal(request)
    try:
        view = selectors.referral_get(principal=principal, referral_id=referral_id)
    except NotFound:
        raise Http404 from None
    services.referral_notices_read(principal=principal, referral_id=referral_id)
    return render(
        request,
        "referrals/detail.html",
        {"v": view, "row": _row(view.referral), "r": view.referral, "errors": errors or {}},
        status=422 if errors else 200,
    )


@requires(Capability.REFERRAL_VIEW)
def detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _render_detail(request, referral_id)


def _answer(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    principal = request_principal(request)
    try:
        if action == "accept":
            services.referral_accept(principal=principal, referral_id=referral_id)
            messages.success(request, _("Referral accepted."))
        elif action == "decline":
            services.referral_decline(
                principal=principal,
                referral_id=referral_id,
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, _("Referral declined."))
        else:
            services.referral_revoke(principal=principal, referral_id=referral_id)
            messages.success(request, _("Referral revoked. The other agency has lost access."))
    except NotFound:
        raise Http404 from None
    except ValidationFailed as exc:
        return _render_detail(request, referral_id, exc.errors)
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("referrals:detail", referral_id=referral_id)


@requires(Capability.REFERRAL_RESPOND)
@require_POST
def accept(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _answer(request, referral_id, "accept")


@requires(Capability.REFERRAL_RESPOND)
@require_POST
def decline(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _answer(request, referral_id, "decline")


@requires(Capability.REFERRAL_SEND)
@require_POST
def revoke(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _answer(request, referral_id, "revoke")


@requires(Capability.REFERRAL_SEND)
@require_http_methods(["GET", "POST"])
def send(request: HttpRequest, reference: str) -> HttpResponse:
    """The send form. Without consent covering the recipient and purpose (or a live override)
    it is refused with the reason, and nothing is saved."""
    principal = request_principal(request)
    try:
        context = selectors.send_context(principal=principal, reference=reference)
    except NotFound:
        raise Http404 from None
    values: dict[str, Any] = {"kind": ReferralKind.SHARE, "sections": [Section.SUMMARY]}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {
            "to_agency": request.POST.get("to_agency", ""),
            "kind": request.POST.get("kind", ""),
            "purpose": request.POST.get("purpose", ""),
            "sections": request.POST.getlist("sections"),
            "note": request.POST.get("note", ""),
        }
        to_agency = values["to_agency"]
        try:
            referral = services.referral_send(
                principal=principal,
                data=services.ReferralInput(
                    case_reference=reference,
                    to_agency_id=int(to_agency) if to_agency.isdigit() else None,
                    kind=values["kind"],
                    purpose=values["purpose"],
                    sections=tuple(values["sections"]),
                    note=values["note"],
                ),
            )
        except NotFound:
            raise Http404 from None
        except ValidationFailed as exc:
            errors = exc.errors
        except Conflict as exc:
            errors = {"form": [str(exc)]}
        else:
            messages.success(request, _("Referral sent. The other agency has been notified."))
            return redirect("referrals:detail", referral_id=referral.pk)
    return render(
        request,
        "referrals/send.html",
        {
            "ctx": context,
            "case": context.case,
            "values": values,
            "errors": errors,
            "sections": Section.choices,
            "purposes": Purpose.choices,
            "kinds": ReferralKind.choices,
        },
        status=422 if errors else 200,
    )
