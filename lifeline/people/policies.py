"""Who may see and change person records and the clusters that link them."""

from __future__ import annotations

from collections.abc import Iterable

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal

from .models import PersonRecord


def can_create_person_record(actor: Principal) -> bool:
    """Staff who may see identities create records, always in their own agency."""
    return actor.has(Capability.PERSON_IDENTITY_VIEW) and actor.agency is not None


def can_view_person_record(
    actor: Principal, record: PersonRecord, extra_agency_ids: Iterable[int] = ()
) -> bool:
    """Identity staff of the record's agency, or of an agency the caller vouches for (e.g. the
    cases layer for a case shared under consent). Nobody else learns the record exists."""
    if not actor.has(Capability.PERSON_IDENTITY_VIEW) or actor.agency is None:
        return False
    return record.agency_id == actor.agency.pk or record.agency_id in set(extra_agency_ids)


def can_update_person_record(actor: Principal, record: PersonRecord) -> bool:
    """Only the agency that entered a record changes it: source records stay as each agency
    recorded them."""
    return can_create_person_record(actor) and record.agency_id == actor.agency_id


def can_review_records(actor: Principal, agency_ids: Iterable[int]) -> bool:
    """Dedup reviewers act on pairs and clusters that include a record of their own agency.

    They see the other agency's record side by side, because a pair cannot be judged from one
    side; that disclosure is audited per view and rests on the agencies' data-sharing agreement.
    """
    if not actor.has(Capability.DEDUP_REVIEW) or actor.agency is None:
        return False
    return actor.agency.pk in set(agency_ids)
