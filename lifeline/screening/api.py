"""JSON API for staff (personal bearer tokens): screenings and official determinations.

Every operation names its capability; a missing one, another agency's record, or an id that
does not exist all answer 404. Services raise ValidationFailed (422) and Conflict (409, e.g. a
stale `version`), mapped in config/api.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from lifeline.accounts.api_auth import STAFF_ERRORS, need, staff_auth
from lifeline.accounts.policies import Capability
from lifeline.core.api import ApiIn

from . import selectors, services
from .models import OfficialDetermination, ScreeningInterview

router = Router(tags=["screening"], auth=staff_auth)


class StartIn(ApiIn):
    person_id: int
    gate: dict[str, str] = Field(
        ..., description="Section A answers by item id, e.g. {'a_safe_now': 'yes', ...}"
    )
    callback_plan: str = Field("", max_length=500)
    help_request_id: int | None = None
    reuse_previous: bool = False


class AnswersIn(ApiIn):
    version: int
    answers: dict[str, str | None] = Field(
        default_factory=dict, description="item id -> answer; null or '' clears it"
    )
    notes: dict[str, str] = Field(default_factory=dict)
    assessment_note: str | None = None


class CompleteIn(AnswersIn):
    partial: bool = False


class ScreeningOverrideIn(ApiIn):
    version: int
    outcome: str
    reason: str = Field(..., max_length=2000)


class InterviewOut(Schema):
    id: int
    person_id: int
    agency_id: int
    instrument_version: str
    status: str
    version: int
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    gate: dict[str, Any]
    age_years: int | None
    answers: dict[str, str]
    suggested_outcome: str
    suggested_flags: list[str]
    reasons: dict[str, Any]
    dimensions: dict[str, Any]
    override_outcome: str
    override_reason: str
    outcome: str


class DeterminationIn(ApiIn):
    person_id: int
    value: str
    authority_id: int | None = None
    authority_name: str = Field("", max_length=200)
    country: str = Field(..., max_length=2)
    decision_date: date | None = Field(None, strict=False)
    reference_number: str = Field("", max_length=100)
    person_informed: bool
    reason: str = ""
    reason_note: str = Field("", max_length=2000)


class DeterminationOut(Schema):
    id: int
    person_id: int
    recording_agency_id: int
    authority_id: int | None
    authority_name: str
    country: str
    decision_date: date | None
    reference_number: str
    person_informed: bool
    value: str
    reason: str
    reason_note: str
    recorded_at: datetime


def _interview_out(interview: ScreeningInterview) -> dict[str, Any]:
    stopped = interview.status == "stopped_unsafe"
    return {
        "id": interview.pk,
        "person_id": interview.person_id,
        "agency_id": interview.agency_id,
        "instrument_version": interview.instrument_version,
        "status": interview.status,
        "version": interview.version,
        "started_at": interview.started_at,
        "updated_at": interview.updated_at,
        "completed_at": interview.completed_at,
        "gate": {
            "safe_to_talk": interview.safe_to_talk,
            "private": interview.private,
            "consent_interview": interview.consent_interview,
            "consent_recording": interview.consent_recording,
            "right_to_stop_explained": interview.right_to_stop_explained,
            "interpreter_used": interview.interpreter_used,
            "language": interview.language,
            "callback_plan": interview.callback_plan,
        },
        "age_years": interview.age_years,
        "answers": {} if stopped else {
            k: v.value for k, v in selectors.interview_answers(interview).items()
        },
        "suggested_outcome": interview.suggested_outcome,
        "suggested_flags": list(interview.suggested_flags),
        "reasons": interview.suggestion_reasons,
        "dimensions": interview.dimension_scores,
        "override_outcome": interview.override_outcome,
        "override_reason": interview.override_reason,
        "outcome": interview.outcome,
    }  # fmt: skip


def _determination_out(row: OfficialDetermination) -> dict[str, Any]:
    return {
        "id": row.pk,
        "person_id": row.person_id,
        "recording_agency_id": row.recording_agency_id,
        "authority_id": row.authority_id,
        "authority_name": row.authority_name,
        "country": row.country,
        "decision_date": row.decision_date,
        "reference_number": row.reference_number,
        "person_informed": row.person_informed,
        "value": row.value,
        "reason": row.reason,
        "reason_note": row.reason_note,
        "recorded_at": row.recorded_at,
    }


ERRORS = STAFF_ERRORS


@router.post("/screenings", response={201: InterviewOut, **ERRORS}, summary="Start a screening")
def start_screening(request: HttpRequest, payload: StartIn) -> Status:
    """The gate comes first: if it is not safe to talk or the person does not agree, the
    interview is stored as `stopped_unsafe` with only the callback plan."""
    principal = need(request, Capability.SCREENING_CONDUCT)
    interview = services.interview_start(
        actor=principal, person_id=payload.person_id, gate=payload.gate,
        callback_plan=payload.callback_plan, help_request_id=payload.help_request_id,
        reuse_previous=payload.reuse_previous,
    )  # fmt: skip
    return Status(201, _interview_out(interview))


@router.put(
    "/screenings/{interview_id}/answers",
    response={200: InterviewOut, **ERRORS},
    summary="Save some answers (partial; needs the current version)",
)
def save_answers(request: HttpRequest, interview_id: int, payload: AnswersIn) -> Status:
    principal = need(request, Capability.SCREENING_CONDUCT)
    interview = services.interview_save(
        actor=principal, interview_id=interview_id, expected_version=payload.version,
        answers=payload.answers, notes=payload.notes, assessment_note=payload.assessment_note,
    )  # fmt: skip
    return Status(200, _interview_out(interview))


@router.post(
    "/screenings/{interview_id}/complete",
    response={200: InterviewOut, **ERRORS},
    summary="Finish a screening and compute its suggestion",
)
def complete_screening(request: HttpRequest, interview_id: int, payload: CompleteIn) -> Status:
    principal = need(request, Capability.SCREENING_CONDUCT)
    interview = services.interview_complete(
        actor=principal, interview_id=interview_id, expected_version=payload.version,
        partial=payload.partial, answers=payload.answers, notes=payload.notes,
        assessment_note=payload.assessment_note,
    )  # fmt: skip
    return Status(200, _interview_out(interview))


@router.post(
    "/screenings/{interview_id}/override",
    response={200: InterviewOut, **ERRORS},
    summary="Override the suggested outcome, with a written reason",
)
def override_screening(
    request: HttpRequest, interview_id: int, payload: ScreeningOverrideIn
) -> Status:
    principal = need(request, Capability.SCREENING_CONDUCT)
    interview = services.interview_override(
        actor=principal, interview_id=interview_id, expected_version=payload.version,
        outcome=payload.outcome, reason=payload.reason,
    )  # fmt: skip
    return Status(200, _interview_out(interview))


@router.get(
    "/screenings/{interview_id}",
    response={200: InterviewOut, **STAFF_ERRORS},
    summary="A screening with its suggestion and reasons",
)
def get_screening(request: HttpRequest, interview_id: int) -> Status:
    principal = need(request, Capability.SCREENING_VIEW)
    interview = selectors.interview_get(principal=principal, interview_id=interview_id)
    return Status(200, _interview_out(interview))


@router.post(
    "/determinations",
    response={201: DeterminationOut, **ERRORS},
    summary="Record an official determination made by an authority",
)
def record_determination(request: HttpRequest, payload: DeterminationIn) -> Status:
    principal = need(request, Capability.DETERMINATION_RECORD)
    data = payload.dict()
    person_id = data.pop("person_id")
    row = services.determination_record(actor=principal, person_id=person_id, data=data)
    return Status(201, _determination_out(row))


@router.get(
    "/persons/{person_id}/determinations",
    response={200: list[DeterminationOut], **STAFF_ERRORS},
    summary="Official determinations recorded about a person",
)
def list_determinations(request: HttpRequest, person_id: int) -> Status:
    principal = need(request, Capability.SCREENING_VIEW)
    rows = selectors.determination_list_for_person(principal=principal, person_id=person_id)
    return Status(200, [_determination_out(r) for r in rows])
