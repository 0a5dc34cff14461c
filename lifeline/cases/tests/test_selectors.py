"""Scoped, audited reads of cases: own agency, live shares only, and an audit row for every
listing, view and refused view. Synthetic data only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from lifeline.accounts.models import Agency, Role, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.cases import selectors
from lifeline.cases.models import Case, Section
from lifeline.cases.workflow import State
from lifeline.core import clock

from .factories import (
    CaseFactory,
    CaseShareFactory,
    ConsentFactory,
    LifeThreatOverrideFactory,
    victim_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def p() -> Callable[[User], Principal]:
    def make(user: User) -> Principal:
        return principal_for(user, verified=True)

    return make


def shared(case: Case, agency: Agency, sections: list[str], **consent: object) -> None:
    """A share of `case` with `agency` resting on a live consent of the victim (unless told)."""
    basis = ConsentFactory(
        person=victim_of(case), agency=case.owner_agency, recipient_agency=agency, **consent
    )
    CaseShareFactory(case=case, agency=agency, sections=sections, consent=basis)


def _audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target_type="case").order_by("pk"))


# --- visible_to -------------------------------------------------------------------------------


def test_visible_to_is_the_own_agency_and_live_shares(
    p: Callable[[User], Principal],
    case_worker: User,
    other_agency_user: User,
    agency_a: Agency,
    agency_b: Agency,
) -> None:
    third = AgencyFactory()
    own = CaseFactory(owner_agency=agency_a)
    theirs = CaseFactory(owner_agency=agency_b)
    shared_live = CaseFactory(owner_agency=agency_b)
    shared(shared_live, agency_a, [Section.PERSONS])
    shared_withdrawn = CaseFactory(owner_agency=agency_b)
    shared(shared_withdrawn, agency_a, [Section.PERSONS], withdrawn_at=clock.now())
    shared_expired = CaseFactory(owner_agency=agency_b)
    shared(
        shared_expired,
        agency_a,
        [Section.PERSONS],
        given_on=clock.now().date() - timedelta(days=10),
        expires_on=clock.now().date() - timedelta(days=1),
    )
    shared_revoked = CaseFactory(owner_agency=agency_b)
    shared(shared_revoked, agency_a, [Section.PERSONS])
    shared_revoked.shares.update(revoked_at=clock.now())
    shared_elsewhere = CaseFactory(owner_agency=agency_b)
    shared(shared_elsewhere, third, [Section.PERSONS])

    assert set(selectors.visible_to(p(case_worker))) == {own, shared_live}
    assert set(selectors.visible_to(p(other_agency_user))) == {
        theirs,
        shared_live,
        shared_withdrawn,
        shared_expired,
        shared_revoked,
        shared_elsewhere,
    }


@pytest.mark.parametrize("fixture", ["analyst", "agency_admin", "data_protection_officer"])
def test_roles_without_case_view_see_no_case(
    request: pytest.FixtureRequest, p: Callable[[User], Principal], agency_a: Agency, fixture: str
) -> None:
    CaseFactory(owner_agency=agency_a)
    assert not selectors.visible_to(p(request.getfixturevalue(fixture))).exists()


def test_an_unverified_session_or_no_membership_sees_no_case(
    case_worker: User, user_without_membership: User, platform_admin: User, agency_a: Agency
) -> None:
    CaseFactory(owner_agency=agency_a)
    assert not selectors.visible_to(principal_for(case_worker, verified=False)).exists()
    assert not selectors.visible_to(principal_for(user_without_membership)).exists()
    assert not selectors.visible_to(principal_for(platform_admin)).exists()


def test_a_member_of_two_agencies_sees_only_the_agency_they_act_in(
    make_staff: Callable[..., User], agency_a: Agency, agency_b: Agency
) -> None:
    from lifeline.accounts.tests.factories import MembershipFactory

    user = make_staff("two.hats", Role.CASE_WORKER, agency_a)
    MembershipFactory(user=user, agency=agency_b, role=Role.CASE_WORKER)
    in_a = CaseFactory(owner_agency=agency_a)
    in_b = CaseFactory(owner_agency=agency_b)
    assert list(selectors.visible_to(principal_for(user, agency_id=agency_a.pk))) == [in_a]
    assert list(selectors.visible_to(principal_for(user, agency_id=agency_b.pk))) == [in_b]


def test_a_share_on_a_life_threat_override_ends_when_the_override_expires(
    p: Callable[[User], Principal], other_agency_user: User, supervisor: User, agency_a: Agency
) -> None:
    case = CaseFactory(owner_agency=agency_a)
    override = LifeThreatOverrideFactory(case=case, approved_by=supervisor)
    CaseShareFactory(
        case=case, agency=other_agency_user.memberships.get().agency, override=override,
        sections=[Section.AUTHORITY],
    )  # fmt: skip
    theirs = p(other_agency_user)
    assert selectors.case_access(theirs, case).sections == {Section.SUMMARY, Section.AUTHORITY}
    clock.advance(timedelta(hours=24))
    assert selectors.case_access(theirs, case) is selectors.NO_ACCESS
    assert not selectors.visible_to(theirs).exists()


# --- case_access ------------------------------------------------------------------------------


def test_case_access_is_everything_for_the_owner_and_the_shared_sections_otherwise(
    p: Callable[[User], Principal],
    case_worker: User,
    other_agency_user: User,
    agency_a: Agency,
    agency_b: Agency,
) -> None:
    case = CaseFactory(owner_agency=agency_a)
    owner = selectors.case_access(p(case_worker), case)
    assert owner.is_owner
    assert owner.sections == frozenset(Section.values)
    assert owner.can_move(p(case_worker))
    assert selectors.case_access(p(other_agency_user), case) is selectors.NO_ACCESS

    shared(case, agency_b, [Section.REMOVAL])
    shared(case, agency_b, [Section.REPATRIATION])  # two live shares add up
    access = selectors.case_access(p(other_agency_user), case)
    assert not access.is_owner
    assert access.sections == {Section.SUMMARY, Section.REMOVAL, Section.REPATRIATION}
    assert access.can_edit(p(other_agency_user), Section.REMOVAL)
    assert not access.can_edit(p(other_agency_user), Section.PERSONS)
    assert not access.can_move(p(other_agency_user))


# --- case_get ---------------------------------------------------------------------------------


def test_case_get_audits_the_view_with_what_was_seen(
    p: Callable[[User], Principal],
    case_worker: User,
    other_agency_user: User,
    agency_a: Agency,
    agency_b: Agency,
) -> None:
    case = CaseFactory(owner_agency=agency_a)
    shared(case, agency_b, [Section.REMOVAL])
    got, access = selectors.case_get(principal=p(case_worker), reference=case.reference)
    assert (got, access.is_owner) == (case, True)
    got, access = selectors.case_get(principal=p(other_agency_user), reference=case.reference)
    assert (got, access.sections) == (case, {Section.SUMMARY, Section.REMOVAL})
    viewed = _audits(AuditAction.RECORD_VIEWED)
    assert [(a.actor_id, a.agency_id, a.target_id, a.metadata) for a in viewed] == [
        (case_worker.pk, agency_a.pk, str(case.pk), {"sections": ["all"]}),
        (other_agency_user.pk, agency_b.pk, str(case.pk), {"sections": ["removal", "summary"]}),
    ]


def test_a_refused_case_get_is_not_found_and_audited_as_denied(
    p: Callable[[User], Principal], other_agency_user: User, agency_a: Agency
) -> None:
    case = CaseFactory(owner_agency=agency_a)
    for reference in (case.reference, "CS-NONE-XXXX"):
        with pytest.raises(selectors.NotFound):
            selectors.case_get(principal=p(other_agency_user), reference=reference)
    denied = _audits(AuditAction.ACCESS_DENIED)
    assert [(a.actor_id, a.target_id, a.metadata) for a in denied] == [
        (other_agency_user.pk, "", {"lookup": "reference"}),
        (other_agency_user.pk, "", {"lookup": "reference"}),
    ]  # the same answer for "exists elsewhere" and "does not exist"
    assert _audits(AuditAction.RECORD_VIEWED) == []


# --- case_list --------------------------------------------------------------------------------


def test_case_list_is_scoped_ordered_and_audited(
    p: Callable[[User], Principal],
    case_worker: User,
    agency_a: Agency,
    agency_b: Agency,
) -> None:
    old = CaseFactory(owner_agency=agency_a, updated_at=clock.now() - timedelta(days=2))
    new = CaseFactory(owner_agency=agency_a, state=State.TRIAGED)
    incoming = CaseFactory(owner_agency=agency_b, updated_at=clock.now() - timedelta(days=1))
    shared(incoming, agency_a, [Section.PERSONS])
    CaseFactory(owner_agency=agency_b)

    cw = p(case_worker)
    assert selectors.case_list(principal=cw) == [new, incoming, old]
    assert selectors.case_list(principal=cw, state=State.TRIAGED) == [new]
    assert selectors.case_list(principal=cw, shared_only=True) == [incoming]
    listed = _audits(AuditAction.RECORD_LISTED)
    assert [a.metadata for a in listed] == [
        {"count": 3, "ids": [new.pk, incoming.pk, old.pk]},
        {"count": 1, "ids": [new.pk]},
        {"count": 1, "ids": [incoming.pk]},
    ]
    assert all(a.actor_id == case_worker.pk for a in listed)


def test_case_list_for_someone_without_case_view_is_empty_and_still_audited(
    p: Callable[[User], Principal], analyst: User, agency_a: Agency
) -> None:
    CaseFactory(owner_agency=agency_a)
    assert selectors.case_list(principal=p(analyst)) == []
    (listed,) = _audits(AuditAction.RECORD_LISTED)
    assert listed.metadata == {"count": 0, "ids": []}


def test_case_list_query_count_does_not_grow_with_the_cases(
    p: Callable[[User], Principal],
    case_worker: User,
    supervisor: User,
    agency_a: Agency,
    agency_b: Agency,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def make(n: int) -> None:
        for _ in range(n):
            CaseFactory(owner_agency=agency_a, primary_worker=case_worker)
            incoming = CaseFactory(owner_agency=agency_b)
            shared(incoming, agency_a, [Section.PERSONS])

    def listed() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            rows = selectors.case_list(principal=cw)
            # Related rows used by the list page come with the list, not one query per case.
            assert all(c.owner_agency.code for c in rows)
            assert [c.primary_worker for c in rows]
        reads = [q for q in queries.captured_queries if "case" in q["sql"].lower()]
        return len(rows), len(reads)

    make(2)
    cw = p(case_worker)
    few = listed()
    make(15)
    many = listed()
    assert (few[0], many[0]) == (4, 34)
    assert many[1] == few[1] <= 2  # the list itself, whatever the number of cases


def test_case_list_respects_the_limit(
    p: Callable[[User], Principal], case_worker: User, agency_a: Agency
) -> None:
    for _ in range(5):
        CaseFactory(owner_agency=agency_a)
    assert len(selectors.case_list(principal=p(case_worker), limit=3)) == 3
    (listed,) = _audits(AuditAction.RECORD_LISTED)
    assert listed.metadata["count"] == 3


# --- scoped helpers ---------------------------------------------------------------------------


def test_share_consent_for_matches_recipient_purpose_and_liveness(agency_a: Agency) -> None:
    case = CaseFactory(owner_agency=agency_a)
    person_ids = selectors.victim_person_ids(case)
    recipient = AgencyFactory()
    now = clock.now()
    assert (
        selectors.share_consent_for(
            person_ids=person_ids, recipient_agency_id=recipient.pk, purpose="rescue", now=now
        )
        is None
    )
    consent = ConsentFactory(person=victim_of(case), recipient_agency=recipient, purpose="rescue")
    assert (
        selectors.share_consent_for(
            person_ids=person_ids, recipient_agency_id=recipient.pk, purpose="rescue", now=now
        )
        == consent
    )
    assert (
        selectors.share_consent_for(
            person_ids=person_ids, recipient_agency_id=recipient.pk, purpose="legal", now=now
        )
        is None
    )
    consent.withdrawn_at = now
    consent.save(update_fields=["withdrawn_at"])
    assert (
        selectors.share_consent_for(
            person_ids=person_ids, recipient_agency_id=recipient.pk, purpose="rescue", now=now
        )
        is None
    )
    assert (
        selectors.share_consent_for(
            person_ids=person_ids, recipient_agency_id=None, purpose="rescue", now=now
        )
        is None
    )
