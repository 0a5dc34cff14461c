"""Screens: case list, open a case (search first), the case page with its timeline, tasks,
linked records and consent panel. Thin callers of selectors and services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lifeline.accounts.access import requires
from lifeline.accounts.models import Agency, Membership
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal, request_principal
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import forms, selectors, services, workflow
from .models import STATE_LABELS, Case, Section
from .selectors import Access


def _state_label(state: str) -> str:
    try:
        return str(STATE_LABELS[workflow.State(state)])
    except ValueError:
        return state


@requires(Capability.CASE_VIEW)
def case_list(request: HttpRequest) -> HttpResponse:
    principal = request_principal(request)
    state = request.GET.get("state", "")
    if state not in workflow.State.__members__.values():
        state = ""
    cases = selectors.case_list(principal=principal, state=state)
    return render(
        request,
        "cases/list.html",
        {
            "cases": cases,
            "tasks": selectors.my_open_tasks(principal=principal),
            "notices": selectors.notices_for(principal=principal, limit=10),
            "states": [(s.value, STATE_LABELS[s]) for s in workflow.State],
            "state": state,
            "now": clock.now(),
            "labels": {s.value: STATE_LABELS[s] for s in workflow.State},
            "can_open": bool(principal.roles & workflow.OPENING_ROLES),
        },
    )


def _candidates(principal: Principal, name: str, phone: str, dob: str) -> list[dict[str, Any]]:
    """Search before create: possible matches among the agency's persons, with their cases."""
    from lifeline.people import selectors as people_selectors

    if not (name or phone or dob) or principal.agency_id is None:
        return []
    found = people_selectors.person_candidates(
        principal=principal, name=name, phone=phone, dob=dob, agency_ids=[principal.agency_id]
    )
    visible = selectors.visible_to(principal)
    records = people_selectors.candidate_records(principal=principal, candidates=found[:20])
    out = []
    for candidate in found[:20]:
        record = records.get(candidate.record_id)
        if record is None:
            continue
        cases = list(visible.filter(persons__person_id=record.pk).order_by("-opened_at")[:5])
        out.append({"candidate": candidate, "record": record, "cases": cases})
    return out


@requires(Capability.CASE_VIEW)
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    """Open a case: search persons and cases first, then pick a match or enter a new person."""
    principal = request_principal(request)
    if not principal.roles & workflow.OPENING_ROLES:
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    query = {k: source.get(k, "").strip()[:200] for k in ("q_name", "q_phone", "q_dob")}
    help_reference = source.get("request", "").strip()[:16]
    searched = any(query.values())
    matches = (
        _candidates(principal, query["q_name"], query["q_phone"], query["q_dob"])
        if searched
        else []
    )
    errors: dict[str, list[str]] = {}
    person_form = forms.PersonForm(
        data=request.POST if request.method == "POST" else None,
        initial={
            "name_latin": query["q_name"],
            "phone": query["q_phone"],
            "date_of_birth": query["q_dob"],
        },
    )
    case_form = forms.CaseOpenForm(data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        chosen = request.POST.get("person_id", "new")
        try:
            data = services.case_open_input_clean(request.POST)
            if chosen == "new":
                if not person_form.is_valid():
                    raise ValidationFailed(services._errors(person_form))
                case = services.case_open(
                    principal=principal,
                    data=data,
                    victim=person_form.cleaned_data,
                    help_request_reference=help_reference,
                )
            else:
                case = services.case_open(
                    principal=principal,
                    data=data,
                    victim_person_id=int(chosen),
                    help_request_reference=help_reference,
                )
        except (NotFound, ValueError):
            raise Http404 from None
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
            return redirect("cases:detail", reference=case.reference)
    return render(
        request,
        "cases/new.html",
        {
            "query": query,
            "searched": searched,
            "matches": matches,
            "person_form": person_form,
            "case_form": case_form,
            "errors": errors,
            "help_reference": help_reference,
        },
        status=422 if errors else 200,
    )


def _screening_for(principal: Principal, case: Case, access: Access) -> list[Any]:
    """Screening interviews of the case's persons, when the screening section is visible."""
    if not access.can_see(Section.SCREENING) or not principal.has(Capability.SCREENING_VIEW):
        return []
    try:
        from lifeline.screening import selectors as screening_selectors
    except ImportError:  # pragma: no cover - the screening app is always installed
        return []
    found: list[Any] = []
    owner = None if access.is_owner else case.owner_agency_id
    for link in case.persons.all():
        try:
            found.extend(
                screening_selectors.interview_list_for_person(
                    principal=principal, person_id=link.person_id, owner_agency_id=owner
                )
            )
        except NotFound:
            continue
    return found


def _editing(case: Case, kind: str) -> dict[str, Any]:
    """Repatriation is one record per case, updated in place: its form starts filled in."""
    if kind == "repatriation":
        current = case.repatriations.order_by("-pk").first()
        if current is not None:
            return {"instance": current}
    return {}


def _page(
    request: HttpRequest,
    reference: str,
    *,
    errors: dict[str, dict[str, list[str]]] | None = None,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    principal = request_principal(request)
    try:
        case, access = selectors.case_get(principal=principal, reference=reference)
    except NotFound:
        raise Http404 from None
    now = clock.now()
    facts = services.case_facts(case, now)
    moves = []
    if access.can_move(principal):
        for target, ready in workflow.available(workflow.State(case.state), principal.roles, facts):
            moves.append({"target": target.value, "label": _state_label(target), "ready": ready})
    bound = bound or {}
    record_forms = {
        kind: bound.get(kind) or form_class(auto_id=f"{kind}_%s", **_editing(case, kind))
        for kind, (form_class, section) in forms.RECORD_FORMS.items()
        if access.can_edit(principal, section)
    }
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "access": access,
            "sections": {s: access.can_see(s) for s in Section.values},
            "state_label": _state_label(case.state),
            "labels": {s.value: STATE_LABELS[s] for s in workflow.State},
            "moves": moves,
            "closure_choices": forms.CLOSURE_CHOICES,
            "persons": selectors.case_persons(case, access),
            "timeline": selectors.case_timeline(case, access),
            "tasks": selectors.case_tasks(case, access),
            "shares": selectors.case_shares(case, access),
            "consents": selectors.consents_for_case(case, access),
            "authority_requests": list(case.authority_requests.select_related("recipient_agency"))
            if access.can_see(Section.AUTHORITY) else [],
            "removals": list(case.removals.all()) if access.can_see(Section.REMOVAL) else [],
            "custody": list(case.custody_stays.all()) if access.can_see(Section.REMOVAL) else [],
            "repatriations": list(case.repatriations.all())
            if access.can_see(Section.REPATRIATION) else [],
            "families": list(case.family_assessments.all())
            if access.can_see(Section.FAMILY) else [],
            "plans": list(case.service_plans.all()) if access.can_see(Section.SERVICES) else [],
            "services_done": list(case.service_deliveries.all())
            if access.can_see(Section.SERVICES) else [],
            "follow_ups": list(case.follow_ups.all()) if access.can_see(Section.SERVICES) else [],
            "screenings": _screening_for(principal, case, access),
            "record_forms": record_forms,
            "consent_form": bound.get("consent") or forms.ConsentForm(auto_id="consent_%s"),
            "authority_form": bound.get("authority")
            or forms.AuthorityRequestForm(auto_id="authority_%s"),
            "task_form": bound.get("task") or forms.TaskForm(),
            "person_form": forms.PersonForm(auto_id="person_%s"),
            "override_form": bound.get("override") or forms.OverrideForm(auto_id="override_%s"),
            "errors": errors or {},
            "members": Membership.objects.filter(agency_id=case.owner_agency_id if access.is_owner
                                                 else principal.agency_id or 0, is_active=True)
            .select_related("user").order_by("user__username").distinct(),
            "agencies": Agency.objects.filter(is_active=True).exclude(pk=case.owner_agency_id),
            "can_edit": principal.has(Capability.CASE_EDIT),
            "can_approve": principal.has(Capability.CASE_APPROVE) and access.is_owner,
            "can_consent": principal.has(Capability.CONSENT_MANAGE) and access.is_owner,
            "can_refer": principal.has(Capability.REFERRAL_SEND) and access.is_owner,
            "can_screen": principal.has(Capability.SCREENING_CONDUCT) and access.is_owner,
            "now": now,
        },
        status=status,
    )  # fmt: skip


@requires(Capability.CASE_VIEW)
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return _page(request, reference)


def _after(request: HttpRequest, reference: str, action: Any, *, form_key: str = "",
           bound: Any = None) -> HttpResponse:  # fmt: skip
    """Run a service call; on refusal show the page again with the reason, nothing saved."""
    try:
        action()
    except NotFound:
        raise Http404 from None
    except ValidationFailed as exc:
        key = form_key or "general"
        return _page(request, reference, errors={key: exc.errors},
                     bound={form_key: bound} if form_key and bound is not None else None,
                     status=422)  # fmt: skip
    except Conflict as exc:
        return _page(request, reference, errors={"general": {"": [str(exc)]}}, status=409)
    return redirect("cases:detail", reference=reference)


@requires(Capability.CASE_VIEW)  # which moves a role may make is workflow.py's business
@require_POST
def case_move(request: HttpRequest, reference: str) -> HttpResponse:
    principal = request_principal(request)
    form = forms.TransitionForm(data=request.POST)
    if not form.is_valid():
        if not services.case_write_allowed(
            principal, reference, section=Section.WORKFLOW, capability=Capability.CASE_VIEW
        ):
            raise Http404
        return _page(request, reference, errors={"general": services._errors(form)}, status=422)
    data = form.cleaned_data
    return _after(request, reference, lambda: services.case_transition(
        principal=principal, reference=reference, target=data["target"],
        expected_version=data["version"], note=data["note"],
        closure_reason=data["closure_reason"],
    ))  # fmt: skip


@requires(Capability.CASE_EDIT)
@require_POST
def case_record(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    principal = request_principal(request)
    if kind not in forms.RECORD_FORMS:
        raise Http404
    form_class, _section = forms.RECORD_FORMS[kind]
    return _after(
        request, reference,
        lambda: services.case_record_add(principal=principal, reference=reference, kind=kind,
                                         raw=request.POST),
        form_key=kind, bound=form_class(data=request.POST, auto_id=f"{kind}_%s"),
    )  # fmt: skip


@requires(Capability.CASE_EDIT)
@require_POST
def authority_send(request: HttpRequest, reference: str) -> HttpResponse:
    principal = request_principal(request)
    return _after(
        request, reference,
        lambda: services.authority_request_create(principal=principal, reference=reference,
                                                  raw=request.POST),
        form_key="authority",
        bound=forms.AuthorityRequestForm(data=request.POST, auto_id="authority_%s"),
    )  # fmt: skip


@requires(Capability.CASE_EDIT)
@require_POST
def authority_update(request: HttpRequest, reference: str, request_id: int) -> HttpResponse:
    principal = request_principal(request)
    what = request.POST.get("what", "")
    return _after(request, reference, lambda: services.authority_request_update(
        principal=principal, reference=reference, request_id=request_id,
        acknowledged=what == "ack", responded=what == "respond",
        outcome=request.POST.get("outcome", ""),
    ))  # fmt: skip


@requires(Capability.CASE_EDIT)
@require_POST
def task_add(request: HttpRequest, reference: str) -> HttpResponse:
    principal = request_principal(request)
    form = forms.TaskForm(data=request.POST)
    if not form.is_valid():
        if not services.case_write_allowed(principal, reference, section=Section.TASKS):
            raise Http404
        return _page(request, reference, errors={"task": services._errors(form)},
                     bound={"task": form}, status=422)  # fmt: skip
    data = form.cleaned_data
    due: datetime = data["due_at"]
    return _after(request, reference, lambda: services.task_create(
        principal=principal, reference=reference, title=data["title"], due_at=due,
        assigned_to_id=data.get("assigned_to"),
    ))  # fmt: skip


@requires(Capability.CASE_EDIT)
@require_POST
def task_done(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    principal = request_principal(request)
    return _after(request, reference, lambda: services.task_complete(
        principal=principal, reference=reference, task_id=task_id))  # fmt: skip


@requires(Capability.CONSENT_MANAGE)
@require_POST
def consent_add(request: HttpRequest, reference: str) -> HttpResponse:
    principal = request_principal(request)
    try:
        person_id = int(request.POST.get("person_id", ""))
    except ValueError:
        raise Http404 from None
    return _after(
        request, reference,
        lambda: services.consent_record(principal=principal, reference=reference,
                                        person_id=person_id, raw=request.POST),
        form_key="consent", bound=forms.ConsentForm(data=request.POST, auto_id="consent_%s"),
    )  # fmt: skip


@requires(Capability.CONSENT_MANAGE)
@require_POST
def consent_withdraw(request: HttpRequest, reference: str, consent_id: int) -> HttpResponse:
    principal = request_principal(request)
    try:
        recipients = services.consent_withdraw(
            principal=principal, reference=reference, consent_id=consent_id
        )
    except NotFound:
        raise Http404 from None
    names = ", ".join(a.name for a in recipients) or _("none")
    messages.warning(
        request,
        _("Consent withdrawn. Sharing under it has stopped. Agencies that had received the case: "
          "%(names)s.") % {"names": names},
    )  # fmt: skip
    return redirect("cases:detail", reference=reference)


@requires(Capability.CASE_APPROVE)
@require_POST
def override_add(request: HttpRequest, reference: str) -> HttpResponse:
    principal = request_principal(request)
    form = forms.OverrideForm(data=request.POST, auto_id="override_%s")
    if not form.is_valid():
        if not services.case_write_allowed(
            principal,
            reference,
            section=Section.WORKFLOW,
            capability=Capability.CASE_APPROVE,
            owner_only=True,
        ):
            raise Http404
        return _page(request, reference, errors={"override": services._errors(form)},
                     bound={"override": form}, status=422)  # fmt: skip
    recipient = request.POST.get("recipient_agency") or None
    return _after(request, reference, lambda: services.override_approve(
        principal=principal, reference=reference, reason=form.cleaned_data["reason"],
        hours=form.cleaned_data["hours"],
        recipient_agency_id=int(recipient) if recipient and recipient.isdigit() else None,
    ))  # fmt: skip


@requires(Capability.CASE_APPROVE)
@require_POST
def plan_approve(request: HttpRequest, reference: str, plan_id: int) -> HttpResponse:
    principal = request_principal(request)
    return _after(request, reference, lambda: services.service_plan_approve(
        principal=principal, reference=reference, plan_id=plan_id))  # fmt: skip


@requires(Capability.CASE_EDIT)
@require_POST
def person_add(request: HttpRequest, reference: str) -> HttpResponse:
    """Add a co-victim or the reporter as a new person record of the agency."""
    principal = request_principal(request)
    form = forms.PersonForm(data=request.POST, auto_id="person_%s")
    if not form.is_valid():
        if not services.case_write_allowed(principal, reference, section=Section.PERSONS):
            raise Http404
        return _page(request, reference, errors={"person": services._errors(form)}, status=422)
    return _after(
        request,
        reference,
        lambda: services.case_person_add(
            principal=principal,
            reference=reference,
            role=request.POST.get("role", ""),
            person=form.cleaned_data,
        ),
        form_key="person",
    )
