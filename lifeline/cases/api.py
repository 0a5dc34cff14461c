"""JSON API for cases, acting as a staff member (personal bearer token).

Same services and the same rules as the screens: no access answers 404, bad input 422 naming the
field, a stale version or an illegal move 409 with the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Body, Router, Schema, Status
from pydantic import Field, field_validator

from lifeline.accounts.api_auth import STAFF_ERRORS, need, staff_auth
from lifeline.accounts.policies import Capability
from lifeline.core import clock
from lifeline.core.api import ApiIn
from lifeline.core.errors import NotFound

from . import selectors, services, workflow
from .models import Case, Section
from .selectors import Access

router = Router(tags=["cases"], auth=staff_auth)


class PersonIn(ApiIn):
    name_khmer: str = Field("", max_length=200)
    name_latin: str = Field("", max_length=200)
    date_of_birth: str = Field("", max_length=10)
    sex: str = "unknown"
    phone: str = Field("", max_length=40)
    province: str = Field("", max_length=64)


class CaseIn(ApiIn):
    victim_person_id: int | None = None
    victim: PersonIn | None = None
    help_request_reference: str = Field("", max_length=16)
    summary: str = Field("", max_length=4000)
    destination_country: str = Field("", max_length=2)
    is_urgent: bool = False


class TransitionIn(ApiIn):
    target: str = Field(..., max_length=24)
    version: int
    note: str = Field("", max_length=2000)
    closure_reason: str = Field("", max_length=24)


class TaskIn(ApiIn):
    title: str = Field(..., max_length=300)
    due_at: datetime = Field(..., strict=False)
    assigned_to: int | None = None

    @field_validator("due_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        # ISO 8601 allows offsets PostgreSQL refuses (beyond +-15:59): store the instant in UTC.
        if value.tzinfo is None:
            raise ValueError("give a time zone offset")
        return value.astimezone(UTC)


class OverrideIn(ApiIn):
    reason: str = Field(..., max_length=2000)
    hours: int = 24
    recipient_agency_id: int | None = None


class AuthorityUpdateIn(ApiIn):
    acknowledged: bool = False
    responded: bool = False
    outcome: str = Field("", max_length=200)


class ConsentIn(ApiIn):
    person_id: int
    scope: str
    recipient_agency: int | None = None
    purpose: str = ""
    given_by: str
    guardian_name: str = Field("", max_length=200)
    method: str
    witness: str = Field("", max_length=200)
    given_on: date = Field(..., strict=False)
    expires_on: date | None = Field(None, strict=False)


class CaseOut(Schema):
    reference: str
    state: str
    version: int
    owner_agency_id: int
    is_owner: bool
    sections: list[str]
    next_states: list[dict[str, Any]]
    opened_at: datetime
    closed_at: datetime | None
    closure_reason: str
    persons: list[dict[str, Any]] | None = None
    authority_requests: list[dict[str, Any]] | None = None
    timeline: list[dict[str, Any]]


def _case_out(principal: Any, case: Case, access: Access) -> dict[str, Any]:
    facts = services.case_facts(case, clock.now())
    moves = (
        [
            {"state": s.value, "ready": ready}
            for s, ready in workflow.available(workflow.State(case.state), principal.roles, facts)
        ]
        if access.can_move(principal)
        else []
    )
    out: dict[str, Any] = {
        "reference": case.reference,
        "state": case.state,
        "version": case.version,
        "owner_agency_id": case.owner_agency_id,
        "is_owner": access.is_owner,
        "sections": sorted(access.sections),
        "next_states": moves,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "closure_reason": case.closure_reason,
        "timeline": [
            {"at": e.at, "kind": e.kind, "from": e.from_state, "to": e.to_state}
            for e in selectors.case_timeline(case, access)
        ],
    }
    if access.can_see(Section.PERSONS):
        out["persons"] = [
            {
                "person_id": link.person_id,
                "role": link.role,
                "name_khmer": link.person.name_khmer,
                "name_latin": link.person.name_latin,
                "date_of_birth": link.person.date_of_birth,
            }
            for link in selectors.case_persons(case, access)
        ]
    if access.can_see(Section.AUTHORITY):
        out["authority_requests"] = [
            {
                "id": r.pk,
                "recipient_agency_id": r.recipient_agency_id,
                "purpose": r.purpose,
                "sent_at": r.sent_at,
                "ack_deadline_at": r.ack_deadline_at,
                "acknowledged_at": r.acknowledged_at,
                "responded_at": r.responded_at,
                "escalation_level": r.escalation_level,
            }
            for r in case.authority_requests.order_by("pk")
        ]
    return out


def _reload(request: HttpRequest, reference: str) -> dict[str, Any]:
    principal = need(request, Capability.CASE_VIEW)
    case, access = selectors.case_get(principal=principal, reference=reference)
    return _case_out(principal, case, access)


@router.post(
    "/cases", response={201: CaseOut, **STAFF_ERRORS}, url_name="cases", summary="Open a case"
)
def case_open(request: HttpRequest, payload: CaseIn) -> Status:
    principal = need(request, Capability.CASE_VIEW)
    data = services.case_open_input_clean(
        {
            "summary": payload.summary,
            "destination_country": payload.destination_country,
            "is_urgent": payload.is_urgent,
        }
    )
    case = services.case_open(
        principal=principal,
        data=data,
        victim_person_id=payload.victim_person_id,
        victim=payload.victim.dict() if payload.victim else None,
        help_request_reference=payload.help_request_reference,
    )
    return Status(201, _reload(request, case.reference))


@router.get(
    "/cases",
    response={200: list[dict[str, Any]], **STAFF_ERRORS},
    url_name="cases",
    summary="Cases you may see",
)
def case_list(request: HttpRequest, state: str = "") -> list[dict[str, Any]]:
    principal = need(request, Capability.CASE_VIEW)
    return [
        {
            "reference": c.reference,
            "state": c.state,
            "owner_agency_id": c.owner_agency_id,
            "updated_at": c.updated_at,
        }
        for c in selectors.case_list(principal=principal, state=state[:24])
    ]


@router.get(
    "/cases/search",
    response={200: list[dict[str, Any]], **STAFF_ERRORS},
    summary="Search before create",
)
def case_search(
    request: HttpRequest, name: str = "", phone: str = "", dob: str = ""
) -> list[dict[str, Any]]:
    from lifeline.people import selectors as people_selectors

    principal = need(request, Capability.CASE_VIEW)
    if principal.agency_id is None or not (name or phone or dob):
        return []
    found = people_selectors.person_candidates(
        principal=principal,
        name=name[:200],
        phone=phone[:40],
        dob=dob[:10],
        agency_ids=[principal.agency_id],
    )
    visible = selectors.visible_to(principal)
    records = people_selectors.candidate_records(principal=principal, candidates=found[:20])
    return [
        {
            "person_id": c.record_id,
            "score": round(c.score, 3),
            "evidence": {k: v.get("status") for k, v in c.evidence.items()},
            "name_latin": records[c.record_id].name_latin if c.record_id in records else "",
            "cases": list(
                visible.filter(persons__person_id=c.record_id).values_list("reference", flat=True)
            ),
        }
        for c in found[:20]
    ]


@router.get("/cases/{reference}", response={200: CaseOut, **STAFF_ERRORS})
def case_get(request: HttpRequest, reference: str) -> dict[str, Any]:
    return _reload(request, reference)


class CasePersonIn(ApiIn):
    role: str = Field(..., max_length=10)
    person_id: int | None = None
    person: PersonIn | None = None


@router.post("/cases/{reference}/persons", response={201: dict[str, Any], **STAFF_ERRORS})
def person_add(request: HttpRequest, reference: str, payload: CasePersonIn) -> Status:
    principal = need(request, Capability.CASE_EDIT)
    link = services.case_person_add(
        principal=principal,
        reference=reference,
        role=payload.role,
        person_id=payload.person_id,
        person=payload.person.dict() if payload.person else None,
    )
    return Status(201, {"person_id": link.person_id, "role": link.role})


@router.post("/cases/{reference}/transition", response={200: CaseOut, **STAFF_ERRORS})
def case_transition(request: HttpRequest, reference: str, payload: TransitionIn) -> dict[str, Any]:
    principal = need(request, Capability.CASE_VIEW)  # workflow.py decides which role moves
    services.case_transition(
        principal=principal,
        reference=reference,
        target=payload.target,
        expected_version=payload.version,
        note=payload.note,
        closure_reason=payload.closure_reason,
    )
    return _reload(request, reference)


@router.post("/cases/{reference}/records/{kind}", response={201: dict[str, Any], **STAFF_ERRORS})
def case_record(
    request: HttpRequest,
    reference: str,
    kind: str,
    payload: dict[str, Any] = Body(...),  # noqa: B008 (ninja idiom)
) -> Status:
    principal = need(request, Capability.CASE_EDIT)
    raw = {k: v for k, v in payload.items() if isinstance(v, str | int | float | bool)}
    record = services.case_record_add(principal=principal, reference=reference, kind=kind, raw=raw)
    return Status(201, {"id": record.pk, "kind": kind})


@router.post(
    "/cases/{reference}/authority-requests", response={201: dict[str, Any], **STAFF_ERRORS}
)
def authority_send(
    request: HttpRequest,
    reference: str,
    payload: dict[str, Any] = Body(...),  # noqa: B008 (ninja idiom)
) -> Status:
    principal = need(request, Capability.CASE_EDIT)
    raw = {k: v for k, v in payload.items() if isinstance(v, str | int | float | bool)}
    sent = services.authority_request_create(principal=principal, reference=reference, raw=raw)
    return Status(201, {"id": sent.pk, "ack_deadline_at": sent.ack_deadline_at.isoformat()})


@router.post(
    "/cases/{reference}/authority-requests/{request_id}",
    response={200: dict[str, Any], **STAFF_ERRORS},
)
def authority_update(
    request: HttpRequest, reference: str, request_id: int, payload: AuthorityUpdateIn
) -> dict[str, Any]:
    principal = need(request, Capability.CASE_EDIT)
    updated = services.authority_request_update(
        principal=principal,
        reference=reference,
        request_id=request_id,
        acknowledged=payload.acknowledged,
        responded=payload.responded,
        outcome=payload.outcome,
    )
    return {
        "id": updated.pk,
        "acknowledged_at": updated.acknowledged_at,
        "responded_at": updated.responded_at,
    }


@router.post("/cases/{reference}/consents", response={201: dict[str, Any], **STAFF_ERRORS})
def consent_add(request: HttpRequest, reference: str, payload: ConsentIn) -> Status:
    principal = need(request, Capability.CONSENT_MANAGE)
    raw = {k: ("" if v is None else v) for k, v in payload.dict().items() if k != "person_id"}
    consent = services.consent_record(
        principal=principal, reference=reference, person_id=payload.person_id, raw=raw
    )
    return Status(201, {"id": consent.pk, "scope": consent.scope})


@router.post(
    "/cases/{reference}/consents/{consent_id}/withdraw",
    response={200: dict[str, Any], **STAFF_ERRORS},
)
def consent_withdraw(request: HttpRequest, reference: str, consent_id: int) -> dict[str, Any]:
    principal = need(request, Capability.CONSENT_MANAGE)
    recipients = services.consent_withdraw(
        principal=principal, reference=reference, consent_id=consent_id
    )
    return {"withdrawn": consent_id, "already_received_by": [a.pk for a in recipients]}


@router.post("/cases/{reference}/override", response={201: dict[str, Any], **STAFF_ERRORS})
def override_add(request: HttpRequest, reference: str, payload: OverrideIn) -> Status:
    principal = need(request, Capability.CASE_APPROVE)
    override = services.override_approve(
        principal=principal,
        reference=reference,
        reason=payload.reason,
        hours=payload.hours,
        recipient_agency_id=payload.recipient_agency_id,
    )
    return Status(201, {"id": override.pk, "expires_at": override.expires_at.isoformat()})


@router.post("/cases/{reference}/tasks", response={201: dict[str, Any], **STAFF_ERRORS})
def task_add(request: HttpRequest, reference: str, payload: TaskIn) -> Status:
    principal = need(request, Capability.CASE_EDIT)
    task = services.task_create(
        principal=principal,
        reference=reference,
        title=payload.title,
        due_at=payload.due_at,
        assigned_to_id=payload.assigned_to,
    )
    return Status(201, {"id": task.pk, "due_at": task.due_at.isoformat()})


@router.post(
    "/cases/{reference}/tasks/{task_id}/done", response={200: dict[str, Any], **STAFF_ERRORS}
)
def task_done(request: HttpRequest, reference: str, task_id: int) -> dict[str, Any]:
    principal = need(request, Capability.CASE_EDIT)
    task = services.task_complete(principal=principal, reference=reference, task_id=task_id)
    return {"id": task.pk, "done_at": task.done_at}


@router.post(
    "/cases/{reference}/plans/{plan_id}/approve", response={200: dict[str, Any], **STAFF_ERRORS}
)
def plan_approve(request: HttpRequest, reference: str, plan_id: int) -> dict[str, Any]:
    principal = need(request, Capability.CASE_APPROVE)
    plan = services.service_plan_approve(principal=principal, reference=reference, plan_id=plan_id)
    if plan.approved_at is None:
        raise NotFound
    return {"id": plan.pk, "approved_at": plan.approved_at}
