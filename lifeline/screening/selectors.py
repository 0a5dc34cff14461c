"""Reads of screening interviews and official determinations: scoped, and audited in the same
transaction (no audit row, no data). Anything the actor may not see is simply not found.

The cases layer calls these with `owner_agency_id` when the actor's agency holds a case shared
by that agency; it has checked the share and its consent. Views of this app never pass it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_denied, audit_record
from lifeline.core.errors import NotFound
from lifeline.people.models import PersonRecord

from . import instruments, policies
from .instrument import Instrument
from .models import IndicatorResponse, OfficialDetermination, ScreeningInterview

MAX_LISTED_IDS = 200


def _denied(actor: Principal, target_type: str) -> NotFound:
    # Outside any transaction of ours: the refusal is recorded even though nothing is returned.
    audit_denied(
        actor=actor, target_type=target_type,
        metadata={"lookup": "id"},
    )  # fmt: skip
    return NotFound()


def interview_get(
    *, principal: Principal, interview_id: int, owner_agency_id: int | None = None
) -> ScreeningInterview:
    """One interview of the actor's agency (or of the vouched-for owner agency); read audited."""
    interview = (
        ScreeningInterview.objects.select_related("interviewer", "overridden_by")
        .filter(pk=interview_id)
        .first()
    )
    if interview is None or not policies.can_view_interview(principal, interview, owner_agency_id):
        raise _denied(principal, "screening_interview")
    with transaction.atomic():
        audit_record(
            actor=principal, action=AuditAction.RECORD_VIEWED, target_type="screening_interview",
            target_id=interview.pk, metadata={"person": interview.person_id},
        )  # fmt: skip
    return interview


def _person(
    principal: Principal, person_id: int, owner_agency_id: int | None, target_type: str
) -> PersonRecord:
    person = PersonRecord.objects.filter(pk=person_id).first()
    if person is None or not policies.can_view_person_screenings(
        principal, person, owner_agency_id
    ):
        raise _denied(principal, target_type)
    return person


def interview_list_for_person(
    *, principal: Principal, person_id: int, owner_agency_id: int | None = None
) -> list[ScreeningInterview]:
    """The person's interviews by the actor's agency (and the vouched-for owner's), newest
    first. Also tells the interviewer how often the person has been asked already (E7)."""
    person = _person(principal, person_id, owner_agency_id, "screening_interview")
    return _listed(
        principal, person, "screening_interview", _interviews(principal, person, owner_agency_id)
    )


def _interviews(
    principal: Principal, person: PersonRecord, owner_agency_id: int | None
) -> list[ScreeningInterview]:
    agencies = {principal.agency_id} | ({owner_agency_id} if owner_agency_id else set())
    rows = list(
        ScreeningInterview.objects.filter(person=person, agency_id__in=agencies)
        .select_related("interviewer")
        .order_by("-started_at", "-pk")
    )
    return rows


def _listed(principal: Principal, person: PersonRecord, target_type: str, rows: list[Any]) -> Any:
    with transaction.atomic():
        audit_record(
            actor=principal, action=AuditAction.RECORD_LISTED, target_type=target_type,
            metadata={"person": person.pk, "count": len(rows),
                      "ids": [r.pk for r in rows[:MAX_LISTED_IDS]]},
        )  # fmt: skip
    return rows


def determination_list_for_person(
    *, principal: Principal, person_id: int, owner_agency_id: int | None = None
) -> list[OfficialDetermination]:
    """Every official determination recorded about the person, newest decision first. They are
    part of the person's record, whichever agency transcribed them."""
    person = _person(principal, person_id, owner_agency_id, "official_determination")
    rows = list(
        OfficialDetermination.objects.filter(person=person)
        .select_related("recording_agency", "authority", "recorded_by")
        .order_by("-recorded_at", "-pk")
    )
    return _listed(principal, person, "official_determination", rows)


def person_for_screening(
    *, principal: Principal, person_id: int, owner_agency_id: int | None = None
) -> PersonRecord:
    """The person record, if the actor may see screenings of it; nothing of it is displayed."""
    person = PersonRecord.objects.filter(pk=person_id).first()
    if person is None or not policies.can_view_person_screenings(
        principal, person, owner_agency_id
    ):
        raise NotFound
    return person


@dataclass(frozen=True)
class AnswerView:
    value: str
    note: str


def interview_answers(interview: ScreeningInterview) -> dict[str, AnswerView]:
    """The stored answers of an interview the caller already obtained through `interview_get`
    (whose read was audited)."""
    return {
        r.item_id: AnswerView(r.value, r.note)
        for r in IndicatorResponse.objects.filter(interview=interview)
    }


def interview_instrument(interview: ScreeningInterview) -> Instrument:
    return instruments.get(interview.instrument_version)
