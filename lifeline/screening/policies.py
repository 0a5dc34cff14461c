"""Who may screen whom, and who may see screenings and official determinations.

Everything is scoped to one agency: the agency that conducted the interview, or that holds the
person's record. The cases layer may vouch for a second agency (`owner_agency_id`) when a case
is shared with the actor's agency under consent; this module never decides that itself.
"""

from __future__ import annotations

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal
from lifeline.people.models import PersonRecord

from .models import ScreeningInterview


def _agencies(actor: Principal, owner_agency_id: int | None) -> set[int]:
    if actor.agency is None:
        return set()
    return {actor.agency.pk} | ({owner_agency_id} if owner_agency_id is not None else set())


def can_screen_person(
    actor: Principal, person: PersonRecord, owner_agency_id: int | None = None
) -> bool:
    """Staff holding screening.conduct, for a person their agency holds (or a vouched-for
    owner's person). The interview itself always belongs to the actor's agency."""
    return actor.has(Capability.SCREENING_CONDUCT) and person.agency_id in _agencies(
        actor, owner_agency_id
    )


def can_view_person_screenings(
    actor: Principal, person: PersonRecord, owner_agency_id: int | None = None
) -> bool:
    """Staff holding screening.view, for a person of their agency or a vouched-for owner's."""
    return actor.has(Capability.SCREENING_VIEW) and person.agency_id in _agencies(
        actor, owner_agency_id
    )


def can_view_interview(
    actor: Principal, interview: ScreeningInterview, owner_agency_id: int | None = None
) -> bool:
    """Staff holding screening.view in the agency that conducted the interview, or in an agency
    the cases layer vouches for as sharing that agency's case."""
    return actor.has(Capability.SCREENING_VIEW) and interview.agency_id in _agencies(
        actor, owner_agency_id
    )


def can_edit_interview(actor: Principal, interview: ScreeningInterview) -> bool:
    """Answer, finish or override: only the conducting agency's staff holding
    screening.conduct. A shared case never lets another agency change the answers."""
    return (
        actor.has(Capability.SCREENING_CONDUCT)
        and actor.agency is not None
        and interview.agency_id == actor.agency.pk
    )


def can_record_determination(
    actor: Principal, person: PersonRecord, owner_agency_id: int | None = None
) -> bool:
    """Staff holding determination.record, for a person of their agency (or a vouched-for
    owner's). They transcribe an authority's decision; they do not make it."""
    return actor.has(Capability.DETERMINATION_RECORD) and person.agency_id in _agencies(
        actor, owner_agency_id
    )
