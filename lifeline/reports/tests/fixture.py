"""A small, hand-built world for the statistics tests (synthetic; names are invented).

Agency A's 2022, with the figures worked out by hand in EXPECTED below; agency B's case and A's
2021 case must never be counted. One victim carries a canary name and a canary reference that no
statistics output may ever show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from lifeline.accounts.models import Agency
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.cases.models import (
    AuthorityRequest,
    Case,
    CaseEvent,
    FollowUp,
    Purpose,
    ServiceDelivery,
)
from lifeline.cases.tests.factories import CaseFactory, PersonRecordFactory
from lifeline.cases.workflow import ClosureReason, State
from lifeline.intake.models import HelpRequest
from lifeline.people.models import ClusterMembership, LinkEdge, PersonCluster, PersonRecord
from lifeline.screening.models import OfficialDetermination, ScreeningInterview

CANARY_NAME = "Zebulonika Canarysong"
CANARY_REFERENCE = "CS-CANARY-7731"
NOW = datetime(2023, 1, 10, tzinfo=UTC)


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@dataclass
class World:
    embassy: Agency
    cases: list[Case]
    persons: list[PersonRecord]


def _request(agency: Agency, n: int, received: datetime, first: datetime | None) -> HelpRequest:
    return HelpRequest.objects.create(
        reference=f"HR-FIX-{n:04d}",
        status_code="synthetic",
        channel="hotline_call",
        reporter_type="family",
        country="TH",
        received_at=received,
        first_response_at=first,
        deadline_at=received,
        assigned_agency=agency,
    )


def _event(case: Case, when: datetime, to_state: State) -> None:
    CaseEvent.objects.create(case=case, at=when, kind="transition", to_state=to_state)


def _screening(agency: Agency, person: PersonRecord, when: datetime, outcome: str) -> None:
    ScreeningInterview.objects.create(
        agency=agency,
        person=person,
        instrument_version="test",
        status="complete",
        started_at=when,
        updated_at=when,
        completed_at=when,
        safe_to_talk=True,
        private=True,
        consent_interview=True,
        suggested_outcome=outcome,
        suggested_at=when,
    )


def build(agency_a: Agency, agency_b: Agency) -> World:
    embassy = AgencyFactory(name="Royal Embassy (synthetic)", code="embassy-x")
    # Help requests: A's 2022 has four; B's and A's 2021 request are out of scope.
    _request(agency_a, 1, at(2022, 1, 10), at(2022, 1, 11))
    _request(agency_a, 2, at(2022, 2, 1), at(2022, 2, 4))
    _request(agency_a, 3, at(2022, 3, 1), None)
    _request(agency_a, 4, at(2022, 12, 30), None)
    _request(agency_b, 5, at(2022, 5, 1), None)
    _request(agency_a, 6, at(2021, 6, 1), None)

    persons = [PersonRecordFactory(agency=agency_a) for _ in range(4)]
    persons[2].name_latin = CANARY_NAME
    persons[2].save()

    def case(n: int, opened: datetime, country: str, person: PersonRecord, **kw: object) -> Case:
        return CaseFactory(
            reference=f"CS-FIX-{n:04d}" if n != 3 else CANARY_REFERENCE,
            owner_agency=agency_a,
            opened_at=opened,
            destination_country=country,
            victim=person,
            **kw,
        )

    c1 = case(
        1,
        at(2022, 1, 10),
        "TH",
        persons[0],
        state=State.CLOSED,
        closed_at=at(2022, 4, 21),
        closure_reason=ClosureReason.REINTEGRATED,
    )
    _event(c1, at(2022, 1, 12), State.LOCATING)
    _event(c1, at(2022, 1, 15), State.REFERRED)
    AuthorityRequest.objects.create(
        case=c1,
        recipient_agency=embassy,
        recipient_name="Officer Canarysong",
        channel="letter",
        purpose=Purpose.RESCUE,
        sent_at=at(2022, 1, 16),
        acknowledged_at=at(2022, 1, 20),
        content_hash="0" * 64,
        ack_deadline_at=at(2022, 1, 18),
        response_deadline_at=at(2022, 2, 16),
    )
    _event(c1, at(2022, 1, 26), State.REMOVED)
    _event(c1, at(2022, 2, 5), State.RETURNED)
    _screening(agency_a, persons[0], at(2022, 2, 7), "POSSIBLE_VOT")
    OfficialDetermination.objects.create(
        person=persons[0],
        recording_agency=agency_a,
        authority_name="Ministry (synthetic)",
        country="KH",
        decision_date=date(2022, 2, 16),
        person_informed=True,
        value="VICTIM_OF_TRAFFICKING",
        recorded_at=at(2022, 2, 17),
    )
    ServiceDelivery.objects.create(
        case=c1,
        service_type="medical",
        provider="Clinic (synthetic)",
        start_date=date(2022, 2, 20),
        status="done",
    )
    FollowUp.objects.create(
        case=c1,
        date=date(2022, 3, 22),
        mode="visit",
        risk_individual="low",
        risk_household="low",
        risk_community="low",
    )

    c2 = case(
        2,
        at(2022, 1, 20),
        "TH",
        persons[1],
        state=State.CLOSED,
        closed_at=at(2022, 3, 1),
        closure_reason=ClosureReason.LOST_CONTACT,
    )
    _event(c2, at(2022, 1, 24), State.LOCATING)
    _event(c2, at(2022, 1, 30), State.REFERRED)
    AuthorityRequest.objects.create(
        case=c2,
        recipient_agency=embassy,
        channel="letter",
        purpose=Purpose.RESCUE,
        sent_at=at(2022, 2, 1),
        content_hash="0" * 64,
        ack_deadline_at=at(2022, 2, 3),
        response_deadline_at=at(2022, 3, 3),
    )
    _event(c2, at(2022, 2, 21), State.REMOVED)

    c3 = case(3, at(2022, 3, 5), "MY", persons[2], state=State.VERIFYING)
    c4 = case(4, at(2022, 3, 10), "", persons[3])
    _screening(agency_a, persons[3], at(2022, 3, 11), "NO_INDICATORS")

    # Out of scope: another agency's case, and A's case of 2021 (UTC).
    CaseFactory(owner_agency=agency_b, opened_at=at(2022, 6, 1), destination_country="TH")
    CaseFactory(owner_agency=agency_a, opened_at=at(2021, 12, 31), destination_country="CN")

    # Dedup: persons 0 and 1 are one cluster, linked at 0.995; persons 2 and 3 are linked at 0.7
    # only. Point 3, loose (>= 0.5) 2, strict (>= 0.99) 3.
    cluster = PersonCluster.objects.create(created_at=NOW)
    for person in persons[:2]:
        ClusterMembership.objects.create(
            record=person, cluster=cluster, source="run", started_at=NOW
        )
    LinkEdge.objects.create(record_a=persons[0], record_b=persons[1], match_probability=0.995)
    LinkEdge.objects.create(record_a=persons[2], record_b=persons[3], match_probability=0.7)
    return World(embassy=embassy, cases=[c1, c2, c3, c4], persons=persons)


# Worked out by hand from the rows above.
EXPECTED_FUNNEL = [
    ("Help requests received", 4, None),
    ("Cases opened", 4, 3.0),  # C1 2 days, C2 4 days
    ("Verified (confirmed abroad and needing help)", 2, 4.5),  # 3, 6
    ("Located and referred onward", 2, 1.5),  # 1, 2
    ("Request sent to an authority", 2, 15.0),  # 10, 20
    ("Removed from exploitation", 2, 10.0),  # C1 only
    ("Returned home", 1, 2.0),
    ("Screened", 2, 0.0),  # C1 and C4 (already home when screened)
    ("Suggested outcome recorded", 2, 10.0),
    ("Official determination by an authority", 1, 3.0),
    ("Receiving services", 1, 30.0),
    ("In follow-up", 1, 30.0),
    ("Closed", 2, None),
]
