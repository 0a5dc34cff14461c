"""Screens: start a screening (safety gate first), answer and resume it, read the summary with
its reasons, override with a reason; record and list official determinations. No JavaScript.

Views only translate between HTTP and the services/selectors, which hold every rule.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lifeline.accounts.access import requires
from lifeline.accounts.models import Agency
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal, request_principal
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.intake.validation import DESTINATIONS

from . import instruments, labels, policies, selectors, services
from .instrument import Answer, Instrument, Item
from .models import (
    DeterminationValue,
    InterviewStatus,
    NotVictimReason,
    ScreeningInterview,
    SuggestedOutcome,
)


def _lang() -> str:
    return translation.get_language() or "en"


def _answer_labels() -> list[tuple[str, str]]:
    return [
        (Answer.YES, _("Yes")),
        (Answer.NO, _("No")),
        (Answer.UNKNOWN, _("Does not know")),
        (Answer.REFUSED, _("Prefers not to say")),
    ]


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _item_row(item: Item, value: str, note: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    lang = _lang()
    return {
        "item": item,
        "text": item.text(lang),
        "value": value,
        "note": note,
        "errors": errors.get(item.id, []) + errors.get(f"note_{item.id}", []),
        "options": [(o.code, o.text_km if lang.startswith("km") else o.text_en)
                    for o in item.options],
        "weight": labels.WEIGHTS.get(item.weight or "", ""),
        "dimension": labels.DIMENSIONS.get(item.dimension or "", ""),
    }  # fmt: skip


# --- start: the gate --------------------------------------------------------------------------


@requires(Capability.SCREENING_CONDUCT)
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, person_id: int) -> HttpResponse:
    """The safety and consent gate. Nothing else is asked before it is passed."""
    actor = request_principal(request)
    try:
        person = selectors.person_for_screening(principal=actor, person_id=person_id)
        if not policies.can_screen_person(actor, person):
            raise NotFound
        previous = selectors.interview_list_for_person(principal=actor, person_id=person_id)
    except NotFound:
        raise Http404 from None
    instrument = instruments.current()
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.POST.dict()
        try:
            interview = services.interview_start(
                actor=actor, person_id=person.pk,
                gate={i.id: values.get(i.id, "") for i in instrument.section("A").items},
                callback_plan=values.get("callback_plan", ""),
                help_request_id=_int(values.get("help_request")),
                reuse_previous=values.get("reuse_previous") == "1",
            )  # fmt: skip
        except ValidationFailed as exc:
            errors = exc.errors
        except NotFound:
            raise Http404 from None
        else:
            if interview.status == InterviewStatus.STOPPED_UNSAFE:
                messages.warning(
                    request,
                    _("Interview stopped: not safe to talk. Only the callback plan was saved."),
                )
                return redirect("screening:summary", interview_id=interview.pk)
            return redirect("screening:interview", interview_id=interview.pk)
    gate = [
        _item_row(item, values.get(item.id, ""), "", errors)
        for item in instrument.section("A").items
    ]
    finished = [i for i in previous if i.is_finished]
    return render(
        request, "screening/start.html",
        {"person": person, "gate": gate, "answers": _answer_labels()[:2], "values": values,
         "errors": errors, "previous": previous, "can_reuse": bool(finished),
         "help_request": values.get("help_request") or request.GET.get("request", ""),
         "title": instrument.title_km if _lang().startswith("km") else instrument.title_en},
        status=422 if errors else 200,
    )  # fmt: skip


# --- answering --------------------------------------------------------------------------------


def _sections(
    instrument: Instrument,
    values: dict[str, str],
    notes: dict[str, str],
    errors: dict[str, list[str]],
) -> list[dict[str, Any]]:
    return [
        {
            "code": section.code,
            "title": section.title(_lang()),
            "rows": [
                _item_row(item, values.get(item.id, ""), notes.get(item.id, ""), errors)
                for item in section.items
            ],
        }
        for section in instrument.sections
        if section.code != "A"
    ]


def _posted(instrument: Instrument, post: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Answers and notes present in the form; a field the form did not send stays as stored."""
    answers: dict[str, str] = {}
    notes: dict[str, str] = {}
    for item in instrument.items:
        if item.section == "A":
            continue
        if f"item_{item.id}" in post:
            answers[item.id] = str(post.get(f"item_{item.id}", "")).strip()
        if f"note_{item.id}" in post:
            notes[item.id] = str(post.get(f"note_{item.id}", ""))
    return answers, notes


def _render_interview(
    request: HttpRequest,
    interview: ScreeningInterview,
    *,
    values: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    assessment_note: str | None = None,
    errors: dict[str, list[str]] | None = None,
    conflict: str = "",
    status: int = 200,
) -> HttpResponse:
    instrument = selectors.interview_instrument(interview)
    if values is None or notes is None:
        stored = selectors.interview_answers(interview)
        values = {k: v.value for k, v in stored.items()}
        notes = {k: v.note for k, v in stored.items()}
    gate = [
        (item.text(_lang()), getattr(interview, field))
        for item, field in zip(
            instrument.section("A").items[:6],
            ["safe_to_talk", "private", "consent_interview", "consent_recording",
             "right_to_stop_explained", "interpreter_used"],
            strict=True,
        )
    ]  # fmt: skip
    return render(
        request, "screening/interview.html",
        {"interview": interview, "gate": gate, "answers": _answer_labels(),
         "sections": _sections(instrument, values, notes, errors or {}),
         "assessment_note": interview.assessment_note if assessment_note is None
         else assessment_note,
         "errors": errors or {}, "conflict": conflict},
        status=status,
    )  # fmt: skip


@requires(Capability.SCREENING_CONDUCT)
@require_http_methods(["GET", "POST"])
def interview(request: HttpRequest, interview_id: int) -> HttpResponse:
    """Sections B to K. "Save and continue later" keeps what was answered; "Finish" computes
    the suggestion. A stale page is refused and shows the current answers instead."""
    actor = request_principal(request)
    try:
        found = selectors.interview_get(principal=actor, interview_id=interview_id)
    except NotFound:
        raise Http404 from None
    if not policies.can_edit_interview(actor, found):
        raise Http404
    if not found.is_open:
        return redirect("screening:summary", interview_id=found.pk)
    if request.method == "GET":
        return _render_interview(request, found)
    instrument = selectors.interview_instrument(found)
    answers, notes = _posted(instrument, request.POST)
    assessment_note = request.POST.get("assessment_note")
    version = _int(request.POST.get("version")) or 0
    finish = request.POST.get("action") == "finish"
    try:
        if finish:
            services.interview_complete(
                actor=actor, interview_id=found.pk, expected_version=version,
                partial=request.POST.get("partial") == "1", answers=answers, notes=notes,
                assessment_note=assessment_note,
            )  # fmt: skip
        else:
            services.interview_save(
                actor=actor, interview_id=found.pk, expected_version=version, answers=answers,
                notes=notes, assessment_note=assessment_note,
            )  # fmt: skip
    except NotFound:
        raise Http404 from None
    except Conflict as exc:
        found.refresh_from_db()
        if not found.is_open:
            messages.error(request, str(exc))
            return redirect("screening:summary", interview_id=found.pk)
        return _render_interview(request, found, conflict=str(exc), status=409)
    except ValidationFailed as exc:
        stored = selectors.interview_answers(found)
        return _render_interview(
            request, found,
            values={**{k: v.value for k, v in stored.items()}, **answers},
            notes={**{k: v.note for k, v in stored.items()}, **notes},
            assessment_note=assessment_note, errors=exc.errors, status=422,
        )  # fmt: skip
    if finish:
        return redirect("screening:summary", interview_id=found.pk)
    messages.success(request, _("Saved. You can continue this interview later."))
    return redirect("screening:interview", interview_id=found.pk)


# --- summary and override ---------------------------------------------------------------------


def _reasons(interview: ScreeningInterview) -> dict[str, Any]:
    """The stored reasons, in words: indicators with ILO numbers, dimensions and why."""
    instrument = selectors.interview_instrument(interview)
    reasons = interview.suggestion_reasons or {}
    lang = _lang()

    def describe(item_id: str) -> dict[str, Any]:
        item = instrument.item(item_id)
        return {"id": item_id, "text": item.text(lang), "ilo": item.ilo,
                "dimension": labels.DIMENSIONS.get(item.dimension or "", ""),
                "weight": labels.WEIGHTS.get(item.weight or "", "")}  # fmt: skip

    dimensions = []
    for code, score in (interview.dimension_scores or {}).items():
        dimensions.append({
            "name": labels.DIMENSIONS.get(code, code),
            "positive": score["positive"],
            "why": labels.THRESHOLDS.get(score.get("threshold") or "", ""),
            "strong": len(score["strong"]), "medium": len(score["medium"]),
            "weak": len(score["weak"]),
        })  # fmt: skip
    because = [
        labels.EXPLOITATION_BECAUSE.get(code) or instrument.item(code).text(lang)
        for code in reasons.get("exploitation_because", [])
    ]
    return {
        "step": labels.STEPS.get(reasons.get("step", ""), ""),
        "indicators": [describe(i) for i in reasons.get("yes_items", [])
                       if instrument.item(i).is_indicator],
        "other_yes": [describe(i) for i in reasons.get("yes_items", [])
                      if not instrument.item(i).is_indicator],
        "dimensions": dimensions,
        "exploitation_because": because,
        "flags": [labels.FLAGS.get(f, f) for f in interview.suggested_flags],
        "required": (reasons.get("required_answered"), reasons.get("required_total"),
                     reasons.get("required_threshold")),
        "age": reasons.get("age"),
    }  # fmt: skip


def _render_summary(
    request: HttpRequest,
    actor: Principal,
    interview: ScreeningInterview,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request, "screening/summary.html",
        {"interview": interview, "reasons": _reasons(interview) if interview.is_finished else None,
         "outcomes": SuggestedOutcome.choices,
         "can_override": interview.is_finished and policies.can_edit_interview(actor, interview),
         "can_continue": interview.is_open and policies.can_edit_interview(actor, interview),
         "errors": errors or {}, "values": values or {}},
        status=status,
    )  # fmt: skip


@requires(Capability.SCREENING_VIEW)
def summary(request: HttpRequest, interview_id: int) -> HttpResponse:
    actor = request_principal(request)
    try:
        found = selectors.interview_get(principal=actor, interview_id=interview_id)
    except NotFound:
        raise Http404 from None
    return _render_summary(request, actor, found)


@requires(Capability.SCREENING_CONDUCT)
@require_POST
def override(request: HttpRequest, interview_id: int) -> HttpResponse:
    actor = request_principal(request)
    try:
        found = selectors.interview_get(principal=actor, interview_id=interview_id)
        if not policies.can_edit_interview(actor, found):
            raise NotFound
        services.interview_override(
            actor=actor, interview_id=found.pk,
            expected_version=_int(request.POST.get("version")) or 0,
            outcome=request.POST.get("outcome", ""), reason=request.POST.get("reason", ""),
        )  # fmt: skip
    except NotFound:
        raise Http404 from None
    except Conflict as exc:
        found.refresh_from_db()
        messages.error(request, str(exc))
        return _render_summary(request, actor, found, status=409)
    except ValidationFailed as exc:
        return _render_summary(
            request, actor, found, errors=exc.errors, values=request.POST.dict(), status=422
        )
    messages.success(request, _("Your override and its reason were saved."))
    return redirect("screening:summary", interview_id=found.pk)


# --- official determinations ------------------------------------------------------------------


@requires(Capability.SCREENING_VIEW)
def determinations(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = request_principal(request)
    try:
        rows = selectors.determination_list_for_person(principal=actor, person_id=person_id)
    except NotFound:
        raise Http404 from None
    return render(
        request, "screening/determinations.html",
        {"person_id": person_id, "rows": rows,
         "can_record": actor.has(Capability.DETERMINATION_RECORD)},
    )  # fmt: skip


@requires(Capability.DETERMINATION_RECORD)
@require_http_methods(["GET", "POST"])
def determination_new(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = request_principal(request)
    try:
        person = selectors.person_for_screening(principal=actor, person_id=person_id)
        if not policies.can_record_determination(actor, person):
            raise NotFound
    except NotFound:
        raise Http404 from None
    values: dict[str, Any] = {"country": "KH"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.POST.dict()
        try:
            services.determination_record(actor=actor, person_id=person.pk, data=values)
        except ValidationFailed as exc:
            errors = exc.errors
        except NotFound:
            raise Http404 from None
        else:
            messages.success(request, _("The official determination was recorded."))
            return redirect("screening:determinations", person_id=person.pk)
    return render(
        request, "screening/determination_form.html",
        {"person_id": person.pk, "values": values, "errors": errors,
         "decisions": DeterminationValue.choices, "reasons": NotVictimReason.choices,
         "agencies": Agency.objects.filter(is_active=True).order_by("name"),
         "countries": ["KH", *DESTINATIONS]},
        status=422 if errors else 200,
    )  # fmt: skip
