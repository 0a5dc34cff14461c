"""Screens: the public help form and status check; the operator console and work queue."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lifeline.accounts.access import public, requires
from lifeline.accounts.models import Membership, Role
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import request_principal
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import policies, selectors, services
from .models import Channel, ReporterType

COUNTRY_NAMES = {
    "TH": "Thailand / ថៃ",
    "LA": "Laos / ឡាវ",
    "VN": "Vietnam / វៀតណាម",
    "MY": "Malaysia / ម៉ាឡេស៊ី",
    "CN": "China / ចិន",
    "ID": "Indonesia / ឥណ្ឌូណេស៊ី",
    "MM": "Myanmar / មីយ៉ាន់ម៉ា",
    "SG": "Singapore / សិង្ហបុរី",
}


def _client_key(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _public_language(request: HttpRequest) -> str:
    """Khmer unless the person chose English (a plain link, no JavaScript needed)."""
    chosen = request.GET.get("lang") or request.POST.get("lang") or ""
    return "en" if chosen == "en" else "km"


def _render_public(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    lang = _public_language(request)
    with translation.override(lang):
        context = {"lang": lang, "countries": COUNTRY_NAMES, **context}
        response = render(request, template, context, status=status)
    response["Content-Language"] = lang
    response["Cache-Control"] = "no-store"
    return response


@public
@require_http_methods(["GET", "POST"])
def help_form(request: HttpRequest) -> HttpResponse:
    """The public help form: no login, no JavaScript, no third-party assets."""
    if request.method == "GET":
        return _render_public(
            request, "intake/help_form.html",
            {"values": {}, "errors": {}, "submission_id": uuid.uuid4().hex},
        )  # fmt: skip
    limit, window = settings.LIFELINE_HELP_THROTTLE
    # Throttle first: a refused submission is refused before anything is stored or promised.
    if not services.throttle_allow(key=f"help:{_client_key(request)}", limit=limit,
                                   window_seconds=window):  # fmt: skip
        return _render_public(request, "intake/throttled.html", {}, status=429)
    values = request.POST.dict()
    if values.get("website"):  # honeypot: hidden from people, filled by bots
        return _render_public(request, "intake/throttled.html", {}, status=400)
    submission_id = str(values.get("submission_id") or "")[:64]
    with translation.override(_public_language(request)):
        try:
            data = services.request_input_clean(
                {**values, "language": _public_language(request)}, channel=Channel.WEB_FORM
            )
            result = services.help_request_create(
                actor=services.SystemActor("public-form"),
                data=data,
                assigned_agency=services.default_intake_agency(),
                idempotency_key=submission_id or None,
                source="web",
            )
        except ValidationFailed as exc:
            return _render_public(
                request, "intake/help_form.html",
                {"values": values, "errors": exc.errors, "submission_id": submission_id},
                status=422,
            )  # fmt: skip
        except (Conflict, NotFound, DatabaseError):
            return _render_public(request, "intake/unavailable.html", {}, status=503)
    return _render_public(
        request, "intake/help_thanks.html",
        {"reference": result.request.reference, "code": result.status_code,
         "urgent": result.request.is_urgent},
        status=201 if result.created else 200,
    )  # fmt: skip


@public
@require_http_methods(["GET", "POST"])
def help_status(request: HttpRequest) -> HttpResponse:
    """Reference plus short code shows where a request stands; nothing else about it."""
    context: dict[str, Any] = {"checked": False}
    if request.method == "POST":
        limit, window = settings.LIFELINE_STATUS_THROTTLE
        if not services.throttle_allow(key=f"status:{_client_key(request)}", limit=limit,
                                       window_seconds=window):  # fmt: skip
            return _render_public(request, "intake/throttled.html", {}, status=429)
        found = services.status_check(
            reference_text=request.POST.get("reference", ""), code=request.POST.get("code", "")
        )
        context = {"checked": True, "found": found, "reference": request.POST.get("reference", "")}
    return _render_public(request, "intake/help_status.html", context)


# --- staff console --------------------------------------------------------------------------


@requires(Capability.REQUEST_VIEW)
def queue(request: HttpRequest) -> HttpResponse:
    actor = request_principal(request)
    urgent_only = request.GET.get("urgent") == "1"
    country = request.GET.get("country", "")[:2]
    rows = selectors.request_queue(actor=actor, urgent_only=urgent_only, country=country)
    now = clock.now()
    items = []
    for row in rows:
        remaining = (row.deadline_at - now).total_seconds()
        items.append({"request": row, "overdue": remaining < 0,
                      "minutes": int(abs(remaining) // 60)})  # fmt: skip
    return render(
        request, "intake/queue.html",
        {"items": items, "urgent_only": urgent_only, "country": country,
         "countries": COUNTRY_NAMES, "can_act": actor.has(Capability.REQUEST_ACT),
         "notifications": selectors.notification_list(actor=actor, limit=10)},
    )  # fmt: skip


@requires(Capability.REQUEST_CREATE)
@require_http_methods(["GET", "POST"])
def log_call(request: HttpRequest) -> HttpResponse:
    """Operator console: search first, then log the call in one short form."""
    actor = request_principal(request)
    query = request.GET.get("q", "").strip()
    matches = selectors.request_search(actor=actor, query=query) if query else []
    values: dict[str, Any] = {"channel": Channel.HOTLINE_CALL}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.POST.dict()
        channel = values.get("channel", Channel.HOTLINE_CALL)
        if channel not in (Channel.HOTLINE_CALL, Channel.WALK_IN, Channel.PARTNER_REFERRAL):
            channel = Channel.HOTLINE_CALL
        try:
            data = services.request_input_clean(values, channel=channel)
            assert actor.agency is not None  # noqa: S101 — REQUEST_CREATE implies an agency
            result = services.help_request_create(
                actor=actor, data=data, assigned_agency=actor.agency,
                idempotency_key=str(values.get("submission_id") or "")[:64] or None,
                source=f"staff{actor.user_id}", created_by=actor.user,
            )  # fmt: skip
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return redirect("intake:detail", reference=result.request.reference)
    return render(
        request, "intake/log_call.html",
        {"values": values, "errors": errors, "query": query, "matches": matches,
         "countries": COUNTRY_NAMES, "reporter_types": ReporterType.choices,
         "submission_id": values.get("submission_id") or uuid.uuid4().hex},
        status=422 if errors else 200,
    )  # fmt: skip


@requires(Capability.REQUEST_VIEW)
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    actor = request_principal(request)
    try:
        found = selectors.request_get(actor=actor, reference=reference)
    except NotFound:
        raise Http404 from None
    members = []
    can_assign = policies.can_assign_request(actor, found)
    if can_assign:
        members = list(
            Membership.objects.filter(
                agency=found.assigned_agency, is_active=True,
                role__in=[Role.INTAKE_OFFICER, Role.CASE_WORKER, Role.SUPERVISOR],
            ).select_related("user").order_by("user__username").distinct()
        )  # fmt: skip
    return render(
        request, "intake/detail.html",
        {"r": found, "escalations": selectors.request_escalations(request=found),
         "can_act": policies.can_act_on_request(actor, found), "members": members,
         "can_assign": can_assign, "partner_view": bool(selectors.access_via(actor, found)),
         "now": clock.now(), "country_name": COUNTRY_NAMES.get(found.country, found.country)},
    )  # fmt: skip


@requires(Capability.REQUEST_ACT)
@require_POST
def act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """One click each: acknowledge, assign, respond. Audited by the services."""
    actor = request_principal(request)
    found = selectors.visible_to(actor).filter(reference=reference).values_list("pk", flat=True)
    request_id = found.first()
    if request_id is None:
        raise Http404
    try:
        if action == "acknowledge":
            services.help_request_acknowledge(actor=actor, request_id=request_id)
        elif action == "respond":
            services.help_request_respond(actor=actor, request_id=request_id)
        elif action == "assign":
            user_id = int(request.POST.get("user_id") or actor.user_id or 0)
            services.help_request_assign(actor=actor, request_id=request_id, user_id=user_id)
        else:
            raise Http404
    except NotFound:
        raise Http404 from None
    except (ValidationFailed, ValueError):
        from django.contrib import messages

        messages.error(request, _("That person cannot take requests in your agency."))
    next_url = request.POST.get("next") or reverse("intake:detail", args=[reference])
    if not next_url.startswith("/"):
        next_url = reverse("intake:detail", args=[reference])
    return redirect(next_url)
