"""Case services against the database: the full lifecycle walked with the right roles and
records, and every refusal shown to leave nothing behind (state, version, timeline, audit).

Synthetic data only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from lifeline.accounts.models import Agency, Role, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SystemActor
from lifeline.cases import selectors, services
from lifeline.cases.models import (
    AuthorityRequest,
    Case,
    CaseEvent,
    CaseNotice,
    CasePerson,
    CaseShare,
    Consent,
    CustodyStay,
    FamilyAssessment,
    FollowUp,
    LifeThreatOverride,
    Purpose,
    RemovalEvent,
    Repatriation,
    Section,
    ServiceDelivery,
    ServicePlan,
    Task,
)
from lifeline.cases.workflow import State
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.intake import services as intake_services
from lifeline.intake.models import HelpRequest
from lifeline.people.models import PersonRecord

from .factories import PersonRecordFactory

pytestmark = pytest.mark.django_db

WRITE_ACTIONS = (
    AuditAction.RECORD_CREATED,
    AuditAction.RECORD_UPDATED,
    AuditAction.RECORD_TRANSITIONED,
    AuditAction.REQUEST_ESCALATED,
)
TRACKED = (
    Case,
    CaseEvent,
    CasePerson,
    CaseShare,
    CaseNotice,
    Consent,
    LifeThreatOverride,
    AuthorityRequest,
    RemovalEvent,
    CustodyStay,
    Repatriation,
    FamilyAssessment,
    ServicePlan,
    ServiceDelivery,
    FollowUp,
    Task,
    PersonRecord,
    HelpRequest,
)


def _snapshot(case: Case | None) -> dict[str, Any]:
    snap: dict[str, Any] = {m.__name__: m.objects.count() for m in TRACKED}
    snap["write_audit"] = AuditEvent.objects.filter(action__in=WRITE_ACTIONS).count()
    if case is not None:
        row = Case.objects.get(pk=case.pk)
        snap["case"] = (
            row.state,
            row.version,
            row.paused_from,
            row.closure_reason,
            row.owner_agency_id,
            row.updated_at,
        )
        snap["authority"] = list(
            AuthorityRequest.objects.filter(case=row)
            .order_by("pk")
            .values_list("acknowledged_at", "escalation_level", "next_escalation_at")
        )
        snap["consents"] = list(Consent.objects.order_by("pk").values_list("pk", "withdrawn_at"))
        snap["shares"] = list(CaseShare.objects.order_by("pk").values_list("pk", "revoked_at"))
        snap["plans"] = list(ServicePlan.objects.order_by("pk").values_list("pk", "approved_at"))
    return snap


@contextmanager
def refused(
    exc: type[Exception], case: Case | None = None, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[Any]]:
    """The block must raise `exc` and leave every tracked table, the case and the audit trail
    exactly as they were."""
    before = _snapshot(case)
    with pytest.raises(exc, match=match) as info:
        yield info
    assert _snapshot(case) == before


def _writes(case: Case, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action=action, target_type="case", target_id=str(case.pk)
        ).order_by("pk")
    )


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _midday_in_phnom_penh() -> Iterator[None]:
    """A fixed instant (12:00 in Cambodia, 05:00 UTC), so "today" is the same date everywhere
    and date checks do not depend on the hour the tests run."""
    with clock.freeze(datetime(2025, 3, 10, 5, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def p() -> Callable[[User], Principal]:
    def make(user: User) -> Principal:
        return principal_for(user, verified=True)

    return make


@pytest.fixture
def embassy() -> Agency:
    """The authority the cases are referred to (an agency in Lifeline)."""
    return AgencyFactory(name="Embassy (synthetic)", code="embassy-syn")


@pytest.fixture
def b_case_worker(make_staff: Callable[..., User], agency_b: Agency) -> User:
    return make_staff("b.caseworker", Role.CASE_WORKER, agency_b)


@pytest.fixture
def victim(agency_a: Agency) -> PersonRecord:
    return PersonRecordFactory(agency=agency_a, name_latin="Chan Sopheap (synthetic)")


@pytest.fixture
def new_case(
    p: Callable[[User], Principal], case_worker: User, victim: PersonRecord
) -> Callable[..., Case]:
    def make(**kwargs: Any) -> Case:
        data = services.case_open_input_clean(
            {"summary": "Synthetic: held in a compound.", "destination_country": "TH"}
        )
        return services.case_open(
            principal=p(case_worker), data=data, victim_person_id=victim.pk, **kwargs
        )

    return make


def move(principal: Principal, case: Case, target: State, **kwargs: Any) -> Case:
    case.refresh_from_db()
    moved = services.case_transition(
        principal=principal,
        reference=case.reference,
        target=target.value,
        expected_version=case.version,
        **kwargs,
    )
    case.refresh_from_db()
    assert case.state == target
    return moved


def attempt(principal: Principal, case: Case, target: str, **kwargs: Any) -> Case:
    """A transition with the case's current version (refusals are then about something else)."""
    case.refresh_from_db()
    return services.case_transition(
        principal=principal,
        reference=case.reference,
        target=target,
        expected_version=case.version,
        **kwargs,
    )


def force_state(case: Case, state: State) -> None:
    """Set up a case in `state` without walking there (the walk itself is tested once)."""
    Case.objects.filter(pk=case.pk).update(state=state.value)
    case.refresh_from_db()


def share_consent(
    principal: Principal, case: Case, recipient: Agency, purpose: str = Purpose.RESCUE, **extra: Any
) -> Consent:
    today = clock.now().date()
    raw = {
        "scope": "share",
        "recipient_agency": recipient.pk,
        "purpose": purpose,
        "given_by": "self",
        "method": "written",
        "given_on": today.isoformat(),
        **extra,
    }
    person_id = selectors.victim_person_ids(case)[0]
    return services.consent_record(
        principal=principal, reference=case.reference, person_id=person_id, raw=raw
    )


def authority_raw(recipient: Agency | None, purpose: str = Purpose.RESCUE, **extra: Any) -> dict:
    return {
        "recipient_agency": recipient.pk if recipient else "",
        "channel": "letter",
        "purpose": purpose,
        "reference_number": "SYN-001",
        "content": "Synthetic request to locate and assist.",
        **extra,
    }


def grant(case: Case, agency: Agency, sections: list[str], consent: Consent) -> CaseShare:
    """What an accepted referral does (the referrals app calls this under the case lock)."""
    owner = case.owner_agency.memberships.first()
    actor = principal_for(owner.user if owner else None, agency_id=case.owner_agency_id)
    with transaction.atomic():
        return services.case_share_grant(
            actor=actor,
            case=case,
            agency=agency,
            sections=sections,
            consent=consent,
            override=None,
        )


DAY = timedelta(days=1)


def days_ago(n: int) -> str:
    return (clock.now().date() - n * DAY).isoformat()


# --- the whole walk ---------------------------------------------------------------------------


def test_a_case_walks_from_request_received_to_closed(
    p: Callable[[User], Principal],
    intake_officer: User,
    case_worker: User,
    liaison_officer: User,
    supervisor: User,
    embassy: Agency,
    victim: PersonRecord,
) -> None:
    intake, cw, lia, sup = p(intake_officer), p(case_worker), p(liaison_officer), p(supervisor)
    data = services.case_open_input_clean(
        {"summary": "Synthetic: family reports a sister held abroad.", "destination_country": "th"}
    )
    case = services.case_open(principal=intake, data=data, victim_person_id=victim.pk)
    assert case.state == State.REQUEST_RECEIVED
    assert case.version == 1
    assert case.destination_country == "TH"
    assert list(case.persons.values_list("person_id", "role")) == [(victim.pk, "victim")]
    created = _writes(case, AuditAction.RECORD_CREATED)
    assert len(created) == 1
    assert created[0].actor_id == intake_officer.pk
    assert created[0].metadata["person"] == victim.pk

    move(cw, case, State.TRIAGED, note="urgent: child")
    move(cw, case, State.VERIFYING)
    move(cw, case, State.LOCATING)

    consent = share_consent(cw, case, embassy, Purpose.RESCUE)
    move(lia, case, State.REFERRED)

    request = services.authority_request_create(
        principal=lia, reference=case.reference, raw=authority_raw(embassy)
    )
    assert request.consent == consent
    assert request.override is None
    assert request.ack_deadline_at == request.sent_at + timedelta(hours=48)
    assert request.response_deadline_at == request.sent_at + timedelta(days=14)
    assert request.next_escalation_at == request.ack_deadline_at
    move(lia, case, State.AWAITING_ACTION)
    services.authority_request_update(
        principal=lia, reference=case.reference, request_id=request.pk, acknowledged=True
    )
    request.refresh_from_db()
    assert request.acknowledged_at is not None
    assert request.next_escalation_at is None

    services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="removal",
        raw={"mode": "rescue", "date": days_ago(3), "country": "th", "group_size": 4},
    )
    move(cw, case, State.REMOVED)
    services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="custody",
        raw={
            "facility_type": "gov_shelter",
            "facility_name": "Shelter (synthetic)",
            "start_date": days_ago(2),
            "contact_allowed": "on",
        },
    )
    move(cw, case, State.HELD_ABROAD)
    move(cw, case, State.IDENTIFICATION)
    services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="family",
        raw={"assessor": "DoSVY (synthetic)", "date": days_ago(2), "safe_to_return": "yes"},
    )
    repatriation = services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="repatriation",
        raw={"travel_document_type": "travel_document", "route": "Bangkok - Aranyaprathet"},
    )
    move(cw, case, State.REPATRIATION_PREP)
    with refused(Conflict, case, match="Record the crossing point and handover date first."):
        attempt(cw, case, State.RETURNED)
    updated = services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="repatriation",
        raw={
            "travel_document_type": "travel_document",
            "route": "Bangkok - Aranyaprathet",
            "crossing_point": "Poipet",
            "handover_date": days_ago(0),
            "escort": "IOM (synthetic)",
        },
    )
    assert updated.pk == repatriation.pk  # one repatriation per case, updated in place
    assert Repatriation.objects.filter(case=case).count() == 1
    move(cw, case, State.RETURNED)
    move(cw, case, State.RECEPTION_SCREENING)
    move(cw, case, State.REINTEGRATION_PLANNING)

    plan = services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="service_plan",
        raw={"needs": "Synthetic needs", "goals": "Synthetic goals"},
    )
    with refused(Conflict, case, match="A supervisor must approve the service plan first."):
        attempt(cw, case, State.REINTEGRATION)
    with refused(NotFound, case):
        services.service_plan_approve(principal=cw, reference=case.reference, plan_id=plan.pk)
    services.service_plan_approve(principal=sup, reference=case.reference, plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.approved_by == supervisor
    move(cw, case, State.REINTEGRATION)
    services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="service",
        raw={
            "service_type": "vocational",
            "provider": "NGO (synthetic)",
            "start_date": days_ago(1),
            "status": "ongoing",
        },
    )
    move(cw, case, State.FOLLOW_UP)
    services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="follow_up",
        raw={
            "date": days_ago(0),
            "mode": "visit",
            "risk_individual": "low",
            "risk_household": "low",
            "risk_community": "medium",
        },
    )
    with refused(Conflict, case, match="Your role may not make this change."):
        attempt(cw, case, State.CLOSED, closure_reason="reintegrated")
    with refused(Conflict, case, match="Choose a closure reason."):
        attempt(sup, case, State.CLOSED)
    move(sup, case, State.CLOSED, closure_reason="reintegrated")
    assert case.closure_reason == "reintegrated"
    assert case.closed_at == case.updated_at

    path = [
        State.REQUEST_RECEIVED,
        State.TRIAGED,
        State.VERIFYING,
        State.LOCATING,
        State.REFERRED,
        State.AWAITING_ACTION,
        State.REMOVED,
        State.HELD_ABROAD,
        State.IDENTIFICATION,
        State.REPATRIATION_PREP,
        State.RETURNED,
        State.RECEPTION_SCREENING,
        State.REINTEGRATION_PLANNING,
        State.REINTEGRATION,
        State.FOLLOW_UP,
        State.CLOSED,
    ]
    transitions = list(case.events.filter(kind="transition").order_by("at", "pk"))
    assert [(e.from_state, e.to_state) for e in transitions] == list(itertools.pairwise(path))
    assert all(e.section == Section.WORKFLOW for e in transitions)
    assert transitions[0].note == "urgent: child"
    assert transitions[0].actor_id == case_worker.pk
    assert transitions[-1].actor_id == supervisor.pk
    audited = _writes(case, AuditAction.RECORD_TRANSITIONED)
    assert [(a.metadata["from_state"], a.metadata["to_state"]) for a in audited] == [
        (e.from_state, e.to_state) for e in transitions
    ]
    assert [a.metadata["transition"] for a in audited] == [
        "2", "3", "4", "5", "6", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17"
    ]  # fmt: skip
    kinds = [e.kind for e in selectors.case_timeline(case, selectors.Access(True, frozenset()))]
    assert kinds[0] == "opened"
    for kind in (
        "consent_recorded",
        "authority_request_sent",
        "authority_request_updated",
        "removal_recorded",
        "custody_recorded",
        "family_recorded",
        "repatriation_recorded",
        "service_plan_recorded",
        "service_plan_approved",
        "service_recorded",
        "follow_up_recorded",
    ):
        assert kind in kinds, kind
    assert kinds.index("consent_recorded") < kinds.index("authority_request_sent")
    timeline_at = [e.at for e in case.events.order_by("pk")]
    assert timeline_at == sorted(timeline_at)
    # Every change bumped the version exactly once: 15 moves, 2 authority-request writes, 8
    # linked-record writes and the plan approval (recording consent is not a change of the case).
    assert case.version == 1 + 15 + 2 + 8 + 1


def test_case_open_with_a_new_victim_creates_the_person_record(
    p: Callable[[User], Principal], case_worker: User, agency_a: Agency
) -> None:
    data = services.case_open_input_clean({"summary": "Synthetic walk-in"})
    case = services.case_open(
        principal=p(case_worker),
        data=data,
        victim={"name_latin": "Sok Dara (synthetic)", "sex": "female"},
    )
    person = CasePerson.objects.get(case=case).person
    assert person.agency == agency_a
    assert person.name_latin == "Sok Dara (synthetic)"
    assert case.primary_worker == case_worker


def test_case_open_without_a_person_is_refused(
    p: Callable[[User], Principal], case_worker: User
) -> None:
    data = services.case_open_input_clean({})
    with refused(ValidationFailed) as info:
        services.case_open(principal=p(case_worker), data=data)
    assert set(info.value.errors) == {"person"}


@pytest.mark.parametrize(
    "fixture", ["liaison_officer", "analyst", "agency_admin", "data_protection_officer"]
)
def test_case_open_by_a_role_that_may_not_open_is_refused(
    request: pytest.FixtureRequest,
    p: Callable[[User], Principal],
    fixture: str,
    victim: PersonRecord,
) -> None:
    user = request.getfixturevalue(fixture)
    with refused(NotFound):
        services.case_open(
            principal=p(user), data=services.case_open_input_clean({}), victim_person_id=victim.pk
        )


def test_case_open_with_a_person_of_another_agency_is_not_found(
    p: Callable[[User], Principal], case_worker: User, agency_b: Agency
) -> None:
    theirs = PersonRecordFactory(agency=agency_b)
    with refused(NotFound):
        services.case_open(
            principal=p(case_worker),
            data=services.case_open_input_clean({}),
            victim_person_id=theirs.pk,
        )


SYNTHETIC_REQUEST = {
    "reporter_type": "family",
    "reporter_name": "Sok Dara",
    "reporter_phone": "012 345 678",
    "person_name": "Chan Sopheap",
    "country": "TH",
    "place_abroad": "a compound (synthetic)",
    "narrative": "My sister cannot leave her workplace. (synthetic test text)",
}


def _help_request(agency: Agency) -> HelpRequest:
    data = intake_services.request_input_clean(SYNTHETIC_REQUEST, channel="hotline_call")
    return intake_services.help_request_create(
        actor=SystemActor("test"), data=data, assigned_agency=agency
    ).request


def test_case_open_from_a_help_request_of_the_own_agency_links_it(
    p: Callable[[User], Principal], case_worker: User, agency_a: Agency, victim: PersonRecord
) -> None:
    hr = _help_request(agency_a)
    case = services.case_open(
        principal=p(case_worker),
        data=services.case_open_input_clean({}),
        victim_person_id=victim.pk,
        help_request_reference=hr.reference,
    )
    assert case.help_request == hr
    assert _writes(case, AuditAction.RECORD_CREATED)[0].metadata["help_request"] == hr.pk


def test_case_open_from_a_help_request_of_another_agency_is_not_found(
    p: Callable[[User], Principal], case_worker: User, agency_b: Agency, victim: PersonRecord
) -> None:
    hr = _help_request(agency_b)
    with refused(NotFound):
        services.case_open(
            principal=p(case_worker),
            data=services.case_open_input_clean({}),
            victim_person_id=victim.pk,
            help_request_reference=hr.reference,
        )


# --- refused transitions leave nothing behind -------------------------------------------------


def test_a_transition_by_a_role_the_row_does_not_name_is_refused(
    p: Callable[[User], Principal], new_case: Callable[..., Case], liaison_officer: User
) -> None:
    case = new_case()
    force_state(case, State.TRIAGED)
    with refused(Conflict, case, match="Your role may not make this change."):
        attempt(p(liaison_officer), case, State.VERIFYING)


@pytest.mark.parametrize("fixture", ["analyst", "agency_admin", "data_protection_officer"])
def test_a_transition_by_a_role_without_case_rights_is_not_found(
    request: pytest.FixtureRequest,
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    fixture: str,
) -> None:
    case = new_case()
    with refused(NotFound, case):
        attempt(p(request.getfixturevalue(fixture)), case, State.TRIAGED)


def test_the_intake_officer_may_triage_as_the_table_allows(
    p: Callable[[User], Principal], new_case: Callable[..., Case], intake_officer: User
) -> None:
    # Rows 2, 20a, 20b and s2 name the intake officer; the service must let them make it.
    case = new_case()
    move(p(intake_officer), case, State.TRIAGED)


def test_a_transition_by_another_agency_is_not_found(
    p: Callable[[User], Principal], new_case: Callable[..., Case], other_agency_user: User
) -> None:
    case = new_case()
    with refused(NotFound, case):
        attempt(p(other_agency_user), case, State.TRIAGED)


def test_a_stale_version_is_a_conflict(
    p: Callable[[User], Principal], new_case: Callable[..., Case], case_worker: User
) -> None:
    case = new_case()
    stale = case.version
    move(p(case_worker), case, State.TRIAGED)
    with refused(Conflict, case, match="changed by someone else"):
        services.case_transition(
            principal=p(case_worker),
            reference=case.reference,
            target=State.VERIFYING,
            expected_version=stale,
        )


def test_an_illegal_move_is_a_conflict_naming_the_allowed_states(
    p: Callable[[User], Principal], new_case: Callable[..., Case], supervisor: User
) -> None:
    case = new_case()
    with refused(Conflict, case) as info:
        attempt(p(supervisor), case, State.RETURNED)
    assert str(info.value) == (
        "request_received cannot move to returned; allowed: triaged, on_hold, unreachable, "
        "closed, reception_screening"
    )


def test_an_unknown_target_is_a_validation_error(
    p: Callable[[User], Principal], new_case: Callable[..., Case], supervisor: User
) -> None:
    case = new_case()
    with refused(ValidationFailed, case) as info:
        attempt(p(supervisor), case, "rescued")
    assert set(info.value.errors) == {"target"}


def test_referring_without_consent_or_override_is_refused(
    p: Callable[[User], Principal], new_case: Callable[..., Case], liaison_officer: User
) -> None:
    case = new_case()
    force_state(case, State.LOCATING)
    with refused(Conflict, case, match="consent to share"):
        attempt(p(liaison_officer), case, State.REFERRED)


def test_referring_with_a_withdrawn_consent_is_refused(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    liaison_officer: User,
    embassy: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, embassy)
    services.consent_withdraw(
        principal=p(case_worker), reference=case.reference, consent_id=consent.pk
    )
    force_state(case, State.LOCATING)
    with refused(Conflict, case, match="consent to share"):
        attempt(p(liaison_officer), case, State.REFERRED)


def test_pause_and_resume_return_to_the_paused_state(
    p: Callable[[User], Principal], new_case: Callable[..., Case], case_worker: User
) -> None:
    cw = p(case_worker)
    case = new_case()
    move(cw, case, State.TRIAGED)
    move(cw, case, State.VERIFYING)
    move(cw, case, State.ON_HOLD)
    assert case.paused_from == State.VERIFYING
    with refused(Conflict, case, match="allowed: verifying"):
        attempt(cw, case, State.TRIAGED)
    move(cw, case, State.VERIFYING)
    assert case.paused_from == ""


def test_early_closure_needs_an_early_reason_and_reopening_clears_it(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    supervisor: User,
    intake_officer: User,
) -> None:
    sup = p(supervisor)
    case = new_case()
    with refused(Conflict, case, match="Before return a case closes only"):
        attempt(sup, case, State.CLOSED, closure_reason="reintegrated")
    move(sup, case, State.CLOSED, closure_reason="duplicate")
    assert case.closed_at is not None
    move(sup, case, State.REOPENED)
    assert (case.closed_at, case.closure_reason) == (None, "")
    move(sup, case, State.TRIAGED)


# --- overrides --------------------------------------------------------------------------------


def test_a_supervisor_override_lets_the_case_be_referred_for_24_hours(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    supervisor: User,
    liaison_officer: User,
    data_protection_officer: User,
    embassy: Agency,
) -> None:
    case = new_case()
    override = services.override_approve(
        principal=p(supervisor),
        reference=case.reference,
        reason="Synthetic: threatened with violence tonight.",
        recipient_agency_id=embassy.pk,
    )
    assert override.expires_at - override.approved_at == timedelta(hours=24)
    notified = set(
        CaseNotice.objects.filter(kind="life_threat_override").values_list("user_id", flat=True)
    )
    assert notified == {supervisor.pk, data_protection_officer.pk}
    audit = AuditEvent.objects.get(
        action=AuditAction.RECORD_CREATED, target_type="life_threat_override"
    )
    assert audit.metadata == {"case": case.pk, "hours": 24}
    force_state(case, State.LOCATING)
    with (
        clock.freeze(override.expires_at),
        refused(Conflict, case, match="consent to share"),
    ):
        attempt(p(liaison_officer), case, State.REFERRED)
    move(p(liaison_officer), case, State.REFERRED)
    request = services.authority_request_create(
        principal=p(liaison_officer), reference=case.reference, raw=authority_raw(embassy)
    )
    assert (request.consent, request.override) == (None, override)


@pytest.mark.parametrize("hours", [0, 25, 48])
def test_an_override_longer_than_24_hours_is_refused(
    p: Callable[[User], Principal], new_case: Callable[..., Case], supervisor: User, hours: int
) -> None:
    case = new_case()
    with refused(ValidationFailed, case) as info:
        services.override_approve(
            principal=p(supervisor),
            reference=case.reference,
            reason="Synthetic: threatened with violence tonight.",
            hours=hours,
        )
    assert set(info.value.errors) == {"hours"}


def test_an_override_without_a_reason_is_refused(
    p: Callable[[User], Principal], new_case: Callable[..., Case], supervisor: User
) -> None:
    case = new_case()
    with refused(ValidationFailed, case) as info:
        services.override_approve(principal=p(supervisor), reference=case.reference, reason=" ")
    assert set(info.value.errors) == {"reason"}


@pytest.mark.parametrize("fixture", ["case_worker", "liaison_officer", "other_agency_user"])
def test_an_override_by_anyone_but_an_own_supervisor_is_not_found(
    request: pytest.FixtureRequest,
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    fixture: str,
) -> None:
    case = new_case()
    with refused(NotFound, case):
        services.override_approve(
            principal=p(request.getfixturevalue(fixture)),
            reference=case.reference,
            reason="Synthetic: threatened with violence tonight.",
        )


# --- authority requests -----------------------------------------------------------------------


def test_an_authority_request_needs_consent_for_that_recipient_and_purpose(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    liaison_officer: User,
    embassy: Agency,
    agency_b: Agency,
) -> None:
    case = new_case()
    share_consent(p(case_worker), case, embassy, Purpose.RESCUE)
    lia = p(liaison_officer)
    with refused(ValidationFailed, case) as info:
        services.authority_request_create(
            principal=lia, reference=case.reference, raw=authority_raw(agency_b, Purpose.RESCUE)
        )
    assert set(info.value.errors) == {"recipient_agency"}
    with refused(ValidationFailed, case) as info:
        services.authority_request_create(
            principal=lia, reference=case.reference, raw=authority_raw(embassy, Purpose.LEGAL)
        )
    assert set(info.value.errors) == {"recipient_agency"}
    services.authority_request_create(
        principal=lia, reference=case.reference, raw=authority_raw(embassy, Purpose.RESCUE)
    )


def test_an_authority_request_to_a_named_authority_is_not_covered_by_consent_for_another(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    liaison_officer: User,
    embassy: Agency,
) -> None:
    # Consent names the embassy; a request to some other (named, not registered) authority
    # for the same purpose is not covered by it.
    case = new_case()
    share_consent(p(case_worker), case, embassy, Purpose.RESCUE)
    with refused(ValidationFailed, case):
        services.authority_request_create(
            principal=p(liaison_officer),
            reference=case.reference,
            raw=authority_raw(None, Purpose.RESCUE, recipient_name="Foreign police (synthetic)"),
        )


def test_an_authority_request_with_an_expired_consent_is_refused(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    liaison_officer: User,
    embassy: Agency,
) -> None:
    case = new_case()
    share_consent(p(case_worker), case, embassy, given_on=days_ago(30), expires_on=days_ago(1))
    with refused(ValidationFailed, case):
        services.authority_request_create(
            principal=p(liaison_officer), reference=case.reference, raw=authority_raw(embassy)
        )


def test_an_authority_request_by_another_agency_is_not_found(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    embassy: Agency,
) -> None:
    case = new_case()
    share_consent(p(case_worker), case, embassy)
    with refused(NotFound, case):
        services.authority_request_create(
            principal=p(other_agency_user), reference=case.reference, raw=authority_raw(embassy)
        )


@pytest.fixture
def sent_request(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    liaison_officer: User,
    supervisor: User,
    agency_admin: User,
    embassy: Agency,
) -> AuthorityRequest:
    case = new_case()
    share_consent(p(case_worker), case, embassy)
    return services.authority_request_create(
        principal=p(liaison_officer), reference=case.reference, raw=authority_raw(embassy)
    )


def _escalations(request: AuthorityRequest) -> list[int]:
    return [
        e.metadata["level"]
        for e in AuditEvent.objects.filter(
            action=AuditAction.REQUEST_ESCALATED,
            target_type="authority_request",
            target_id=str(request.pk),
        ).order_by("pk")
    ]


def test_authority_sweep_escalates_each_level_exactly_once(
    sent_request: AuthorityRequest,
    liaison_officer: User,
    supervisor: User,
    agency_admin: User,
) -> None:
    request = sent_request
    case = request.case
    assert services.authority_sweep() == {"due": 0, "escalated": 0}
    clock.advance(timedelta(hours=47, minutes=59))
    assert services.authority_sweep()["escalated"] == 0
    assert not services.is_overdue(request, clock.now())
    clock.advance(timedelta(minutes=1))
    assert services.is_overdue(request, clock.now())
    assert services.authority_sweep()["escalated"] == 1
    for _ in range(3):
        assert services.authority_sweep()["escalated"] == 0
    assert _escalations(request) == [1]
    notices = CaseNotice.objects.filter(kind="authority_overdue", case=case)
    assert set(notices.values_list("user_id", flat=True)) == {liaison_officer.pk}

    clock.advance(timedelta(hours=24))
    services.authority_sweep()
    services.authority_sweep()
    assert _escalations(request) == [1, 2]
    clock.advance(timedelta(hours=24))
    services.authority_sweep()
    clock.advance(timedelta(days=30))
    services.authority_sweep()
    services.authority_sweep()
    assert _escalations(request) == [1, 2, 3]
    assert set(notices.values_list("user_id", flat=True)) == {
        liaison_officer.pk,
        supervisor.pk,
        agency_admin.pk,
    }
    assert notices.count() == 3
    overdue = case.events.filter(kind="authority_request_overdue").order_by("pk")
    assert [e.note for e in overdue] == ["level 1", "level 2", "level 3"]
    request.refresh_from_db()
    assert (request.escalation_level, request.next_escalation_at) == (3, None)


def test_authority_sweep_catches_up_missed_levels_once(sent_request: AuthorityRequest) -> None:
    clock.advance(timedelta(days=10))
    assert services.authority_sweep()["escalated"] == 3
    assert services.authority_sweep()["escalated"] == 0
    assert _escalations(sent_request) == [1, 2, 3]


def test_authority_sweep_does_not_escalate_an_acknowledged_request(
    p: Callable[[User], Principal], sent_request: AuthorityRequest, liaison_officer: User
) -> None:
    request = sent_request
    clock.advance(timedelta(hours=48))
    services.authority_sweep()
    assert _escalations(request) == [1]
    services.authority_request_update(
        principal=p(liaison_officer),
        reference=request.case.reference,
        request_id=request.pk,
        acknowledged=True,
    )
    clock.advance(timedelta(days=10))
    assert services.authority_sweep() == {"due": 0, "escalated": 0}
    assert _escalations(request) == [1]


def test_an_acknowledged_request_is_never_escalated(
    p: Callable[[User], Principal], sent_request: AuthorityRequest, liaison_officer: User
) -> None:
    services.authority_request_update(
        principal=p(liaison_officer),
        reference=sent_request.case.reference,
        request_id=sent_request.pk,
        responded=True,
        outcome="Located (synthetic)",
    )
    clock.advance(timedelta(days=10))
    services.authority_sweep()
    assert _escalations(sent_request) == []
    sent_request.refresh_from_db()
    assert sent_request.acknowledged_at == sent_request.responded_at


# --- consent and shares -----------------------------------------------------------------------


def _b(user: User, agency_b: Agency) -> Principal:
    return principal_for(user, agency_id=agency_b.pk, verified=True)


def test_withdrawing_consent_ends_the_share_at_once(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b)
    share = grant(case, agency_b, [Section.PERSONS], consent)
    theirs = p(other_agency_user)
    got, access = selectors.case_get(principal=theirs, reference=case.reference)
    assert got == case
    assert access.sections == frozenset({Section.SUMMARY, Section.PERSONS})

    recipients = services.consent_withdraw(
        principal=p(case_worker), reference=case.reference, consent_id=consent.pk
    )
    assert recipients == [agency_b]
    share.refresh_from_db()
    assert share.revoked_at is not None
    assert selectors.case_access(theirs, case) is selectors.NO_ACCESS
    assert not selectors.visible_to(theirs).filter(pk=case.pk).exists()
    denied_before = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).count()
    with pytest.raises(NotFound):
        selectors.case_get(principal=theirs, reference=case.reference)
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).count() == denied_before + 1


def test_withdrawing_consent_cuts_access_even_before_the_share_is_revoked(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    # Visibility is computed from the consent row itself, not from the share's revocation.
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b)
    grant(case, agency_b, [Section.PERSONS], consent)
    Consent.objects.filter(pk=consent.pk).update(withdrawn_at=clock.now())
    assert selectors.case_access(p(other_agency_user), case) is selectors.NO_ACCESS


def test_an_expired_consent_gives_no_access(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    expired = share_consent(
        p(case_worker), case, agency_b, given_on=days_ago(30), expires_on=days_ago(1)
    )
    now = clock.now()
    assert services.sharing_basis(
        case, recipient_agency_id=agency_b.pk, purpose=Purpose.RESCUE, now=now
    ) == (None, None)
    grant(case, agency_b, [Section.PERSONS], expired)
    theirs = p(other_agency_user)
    assert selectors.case_access(theirs, case) is selectors.NO_ACCESS
    with pytest.raises(NotFound):
        selectors.case_get(principal=theirs, reference=case.reference)


def test_a_consent_stops_giving_access_the_day_after_it_expires(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b, expires_on=days_ago(-2))
    grant(case, agency_b, [Section.PERSONS], consent)
    theirs = p(other_agency_user)
    clock.advance(2 * DAY)
    assert selectors.case_access(theirs, case).sections == {Section.SUMMARY, Section.PERSONS}
    clock.advance(DAY)
    assert selectors.case_access(theirs, case) is selectors.NO_ACCESS


def test_a_shared_agency_without_the_workflow_section_cannot_move_the_case(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    b_case_worker: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b)
    grant(case, agency_b, [Section.PERSONS, Section.REMOVAL], consent)
    with refused(NotFound, case):
        attempt(p(b_case_worker), case, State.TRIAGED)


def test_a_shared_agency_with_the_workflow_section_moves_the_case(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    b_case_worker: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b)
    grant(case, agency_b, [Section.WORKFLOW], consent)
    move(p(b_case_worker), case, State.TRIAGED)
    event = case.events.get(kind="transition")
    assert (event.actor_id, event.agency_id) == (b_case_worker.pk, agency_b.pk)


def test_a_shared_agency_adds_records_only_in_its_sections(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    b_case_worker: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b)
    grant(case, agency_b, [Section.REMOVAL], consent)
    theirs = p(b_case_worker)
    services.case_record_add(
        principal=theirs,
        reference=case.reference,
        kind="removal",
        raw={"mode": "release", "date": days_ago(1), "country": "MM"},
    )
    with refused(NotFound, case):
        services.case_record_add(
            principal=theirs,
            reference=case.reference,
            kind="repatriation",
            raw={"travel_document_type": "passport"},
        )
    with refused(NotFound, case):
        services.task_create(
            principal=theirs, reference=case.reference, title="Call", due_at=clock.now()
        )


def test_a_shared_agency_sees_only_its_sections_in_the_timeline(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    cw = p(case_worker)
    case = new_case()
    consent = share_consent(cw, case, agency_b)
    services.task_create(principal=cw, reference=case.reference, title="Call", due_at=clock.now())
    move(cw, case, State.TRIAGED)
    services.case_record_add(
        principal=cw,
        reference=case.reference,
        kind="removal",
        raw={"mode": "rescue", "date": days_ago(1), "country": "TH"},
    )
    grant(case, agency_b, [Section.REMOVAL], consent)
    _, access = selectors.case_get(principal=p(other_agency_user), reference=case.reference)
    sections = {e.section for e in selectors.case_timeline(case, access)}
    assert sections == {Section.SUMMARY, Section.REMOVAL}
    kinds = [e.kind for e in selectors.case_timeline(case, access)]
    assert kinds == ["opened", "removal_recorded", "shared"]
    owner_kinds = [e.kind for e in selectors.case_timeline(case, selectors.case_access(cw, case))]
    assert owner_kinds == [
        "opened",
        "consent_recorded",
        "task_created",
        "transition",
        "removal_recorded",
        "shared",
    ]
    assert selectors.case_tasks(case, access) == []
    assert selectors.case_persons(case, access) == []
    assert selectors.consents_for_case(case, access) == []
    assert selectors.case_shares(case, access) == []


def test_consent_recorded_by_a_liaison_officer_is_not_found(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    liaison_officer: User,
    embassy: Agency,
) -> None:
    case = new_case()
    with refused(NotFound, case):
        share_consent(p(liaison_officer), case, embassy)


def test_transfer_moves_ownership(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    version = case.version
    with transaction.atomic():
        services.case_transfer_owner(actor=p(case_worker), case=case, agency=agency_b)
    case.refresh_from_db()
    assert (case.owner_agency, case.primary_worker, case.version) == (agency_b, None, version + 1)
    assert selectors.case_access(p(other_agency_user), case).is_owner
    assert selectors.case_access(p(case_worker), case) is selectors.NO_ACCESS


# --- tasks ------------------------------------------------------------------------------------


def test_tasks_are_created_and_completed_once(
    p: Callable[[User], Principal], new_case: Callable[..., Case], case_worker: User
) -> None:
    cw = p(case_worker)
    case = new_case()
    task = services.task_create(
        principal=cw, reference=case.reference, title=" Call the family ", due_at=clock.now() + DAY
    )
    assert (task.title, task.assigned_to) == ("Call the family", case_worker)
    assert selectors.my_open_tasks(principal=cw) == [task]
    services.task_complete(principal=cw, reference=case.reference, task_id=task.pk)
    before = _snapshot(case)
    services.task_complete(principal=cw, reference=case.reference, task_id=task.pk)
    assert _snapshot(case) == before  # completing twice changes nothing
    assert selectors.my_open_tasks(principal=cw) == []


def test_a_task_for_someone_outside_the_agency_is_refused(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
) -> None:
    case = new_case()
    with refused(ValidationFailed, case) as info:
        services.task_create(
            principal=p(case_worker),
            reference=case.reference,
            title="Call",
            due_at=clock.now(),
            assigned_to_id=other_agency_user.pk,
        )
    assert set(info.value.errors) == {"assigned_to"}


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "field"),
    [
        ("removal", {"mode": "rescue", "date": "+1", "country": "TH"}, "date"),
        ("removal", {"mode": "rescue", "date": "-1", "country": "ZZ"}, "country"),
        ("removal", {"mode": "rescue", "date": "-1", "country": "Thailand"}, "country"),
        ("removal", {"mode": "rescue", "date": "-1", "country": ""}, "country"),
        ("removal", {"mode": "kidnap", "date": "-1", "country": "TH"}, "mode"),
        ("custody", {"facility_type": "police", "start_date": "+1"}, "start_date"),
        (
            "repatriation",
            {"travel_document_type": "passport", "handover_date": "-1"},
            "crossing_point",
        ),
        (
            "repatriation",
            {"travel_document_type": "passport", "crossing_point": "Poipet", "handover_date": "+1"},
            "handover_date",
        ),
        ("family", {"assessor": "DoSVY", "date": "+1", "safe_to_return": "yes"}, "date"),
        (
            "follow_up",
            {
                "date": "+2",
                "mode": "call",
                "risk_individual": "low",
                "risk_household": "low",
                "risk_community": "low",
            },
            "date",
        ),
        ("service_plan", {"needs": "", "goals": "Synthetic"}, "needs"),
    ],
)
def test_bad_record_input_is_refused_naming_the_field(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    kind: str,
    raw: dict[str, str],
    field: str,
) -> None:
    def resolve(value: str) -> str:
        if value[:1] in "+-" and value[1:].isdigit():
            return (clock.now().date() + int(value) * DAY).isoformat()
        return value

    case = new_case()
    clean = {k: resolve(v) for k, v in raw.items()}
    with refused(ValidationFailed, case) as info:
        services.case_record_add(
            principal=p(case_worker), reference=case.reference, kind=kind, raw=clean
        )
    assert field in info.value.errors


def test_an_unknown_record_kind_is_not_found(
    p: Callable[[User], Principal], new_case: Callable[..., Case], case_worker: User
) -> None:
    case = new_case()
    with refused(NotFound, case):
        services.case_record_add(
            principal=p(case_worker), reference=case.reference, kind="photo", raw={}
        )


@pytest.mark.parametrize("country", ["ZZ", "Thai", "T1"])
def test_case_open_with_an_unknown_country_is_refused(country: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        services.case_open_input_clean({"destination_country": country})
    assert set(info.value.errors) == {"destination_country"}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"given_on": "+1"}, "given_on"),
        ({"given_on": "-5", "expires_on": "-6"}, "expires_on"),
        ({"recipient_agency": ""}, "recipient_agency"),
        ({"purpose": ""}, "purpose"),
        ({"given_by": "guardian"}, "guardian_name"),
    ],
)
def test_bad_consent_input_is_refused_naming_the_field(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    embassy: Agency,
    extra: dict[str, str],
    field: str,
) -> None:
    case = new_case()
    clean = {
        k: (clock.now().date() + int(v) * DAY).isoformat() if v and v[0] in "+-" else v
        for k, v in extra.items()
    }
    with refused(ValidationFailed, case) as info:
        share_consent(p(case_worker), case, embassy, **clean)
    assert field in info.value.errors


def test_case_open_with_bad_victim_input_saves_nothing(
    p: Callable[[User], Principal], case_worker: User
) -> None:
    with refused(ValidationFailed) as info:
        services.case_open(
            principal=p(case_worker),
            data=services.case_open_input_clean({"summary": "Synthetic"}),
            victim={"name_latin": "Sok Dara", "destination_country": "ZZ"},
        )
    assert "destination_country" in info.value.errors


def test_a_date_that_is_today_in_phnom_penh_is_not_in_the_future(
    p: Callable[[User], Principal], new_case: Callable[..., Case], case_worker: User
) -> None:
    # 18:00 UTC on 10 March is 01:00 on 11 March in Cambodia: a rescue recorded at that hour
    # happened "today" for the person entering it.
    with clock.freeze(datetime(2025, 3, 10, 18, 0, tzinfo=UTC)):
        case = new_case()
        record = services.case_record_add(
            principal=p(case_worker),
            reference=case.reference,
            kind="removal",
            raw={"mode": "rescue", "date": date(2025, 3, 11).isoformat(), "country": "TH"},
        )
    assert record.date == date(2025, 3, 11)


def test_an_urgent_authority_request_has_a_short_deadline_and_escalates_sooner(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    liaison_officer: User,
    supervisor: User,
    embassy: Agency,
) -> None:
    case = new_case()
    share_consent(p(case_worker), case, embassy)
    request = services.authority_request_create(
        principal=p(liaison_officer),
        reference=case.reference,
        raw=authority_raw(embassy, urgent="on"),
    )
    assert request.ack_deadline_at == request.sent_at + timedelta(hours=4)
    clock.advance(timedelta(hours=8))
    assert services.authority_sweep()["escalated"] == 2
    assert _escalations(request) == [1, 2]


def test_a_share_carries_the_summary_and_only_known_sections(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b)
    share = grant(case, agency_b, ["removal", "everything", "removal"], consent)
    assert share.sections == ["removal", "summary"]
    audit = AuditEvent.objects.get(target_type="case_share", target_id=str(share.pk))
    assert audit.metadata == {"case": case.pk, "agency": agency_b.pk, "sections": share.sections}


def test_revoking_a_share_ends_access_and_is_recorded_once(
    p: Callable[[User], Principal],
    new_case: Callable[..., Case],
    case_worker: User,
    other_agency_user: User,
    agency_b: Agency,
) -> None:
    case = new_case()
    consent = share_consent(p(case_worker), case, agency_b)
    share = grant(case, agency_b, [Section.PERSONS], consent)
    services.case_share_revoke(actor=p(case_worker), share=share)
    assert selectors.case_access(p(other_agency_user), case) is selectors.NO_ACCESS
    before = _snapshot(case)
    services.case_share_revoke(actor=p(case_worker), share=share)
    assert _snapshot(case) == before
    assert case.events.filter(kind="share_revoked").count() == 1
