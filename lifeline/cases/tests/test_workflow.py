"""The case lifecycle table (workflow.py), tested without the database.

Cases are generated from `workflow.TRANSITIONS`, so a row added to the table is covered by these
tests without editing them: every row is tried from each of its source states, for each role
that may and may not make it, and with each of its guards failing in turn.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import pytest

from lifeline.accounts.models import Role
from lifeline.cases import workflow
from lifeline.cases.workflow import (
    ACTIVE,
    EARLY_CLOSURE_REASONS,
    PAUSED,
    PRE_RETURN,
    TRANSITIONS,
    CaseFacts,
    ClosureReason,
    Guard,
    State,
    Transition,
)

ALL_ROLES = tuple(Role.values)

# Facts under which every guard of the table passes.
GOOD = CaseFacts(
    has_share_consent=True,
    has_life_threat_override=False,
    authority_requests_sent=1,
    removal_recorded=True,
    removal_mode="self_return",
    custody_recorded=True,
    repatriation_started=True,
    handover_recorded=True,
    service_plan_approved=True,
    closure_reason=ClosureReason.DUPLICATE.value,  # valid both as a closure and an early closure
)

# For each guard of the table: facts (starting from GOOD) under which exactly that guard fails.
FAILING: dict[str, CaseFacts] = {
    "consent_or_override": replace(GOOD, has_share_consent=False, has_life_threat_override=False),
    "request_sent": replace(GOOD, authority_requests_sent=0),
    "removal_recorded": replace(GOOD, removal_recorded=False),
    "self_return": replace(GOOD, removal_mode="rescue"),
    "custody_recorded": replace(GOOD, custody_recorded=False),
    "repatriation_started": replace(GOOD, repatriation_started=False),
    "handover_recorded": replace(GOOD, handover_recorded=False),
    "plan_approved": replace(GOOD, service_plan_approved=False),
    "closure_reason": replace(GOOD, closure_reason=""),
    "early_closure_reason": replace(GOOD, closure_reason=ClosureReason.REINTEGRATED.value),
    "post_return_closure_reason": replace(GOOD, closure_reason=ClosureReason.REINTEGRATED.value),
}


def _rows() -> list[tuple[Transition, State]]:
    """(row, one of its source states); the resume row is covered separately below."""
    return [
        (t, source)
        for t in TRANSITIONS
        if not t.resumes
        for source in sorted(t.source, key=lambda s: s.value)
    ]


def _id(param: object) -> str:
    if isinstance(param, Transition):
        return f"row{param.number}"
    if isinstance(param, Guard):
        return param.name
    return str(param)


ROWS = _rows()
ROW_ROLES = [(t, s, role) for t, s in ROWS for role in ALL_ROLES]
ROW_GUARDS = [(t, s, g) for t, s in ROWS for g in t.guards]
RESUME_ROWS = [t for t in TRANSITIONS if t.resumes]


def test_every_guard_of_the_table_has_a_failing_fixture() -> None:
    # A new guard needs an entry in FAILING; without it the guard tests below would skip it.
    names = {g.name for t in TRANSITIONS for g in t.guards}
    assert names <= set(FAILING), sorted(names - set(FAILING))


def test_the_good_facts_pass_every_guard() -> None:
    for t in TRANSITIONS:
        for guard in t.guards:
            assert guard.check(GOOD), guard.name


@pytest.mark.parametrize(("transition", "source", "role"), ROW_ROLES, ids=_id)
def test_each_row_is_allowed_for_its_roles_only(
    transition: Transition, source: State, role: str
) -> None:
    decision = workflow.decide(source, transition.target, frozenset({role}), GOOD)
    if role in transition.roles:
        assert decision.allowed
        assert decision.transition == transition
        assert decision.target == transition.target
        assert decision.reasons == ()
    else:
        assert not decision.allowed
        assert decision.reasons == ("Your role may not make this change.",)


@pytest.mark.parametrize(("transition", "source", "guard"), ROW_GUARDS, ids=_id)
def test_each_row_is_refused_when_a_guard_fails_with_its_message(
    transition: Transition, source: State, guard: Guard
) -> None:
    facts = FAILING[guard.name]
    assert not guard.check(facts)
    decision = workflow.decide(source, transition.target, transition.roles, facts)
    assert not decision.allowed
    assert decision.reasons == (guard.message,)
    # The same row offered in `available`, but marked as not passable yet.
    offered = dict(workflow.available(source, transition.roles, facts))
    assert offered[transition.target] is False


@pytest.mark.parametrize(("transition", "source"), ROWS, ids=_id)
def test_each_row_is_offered_to_its_roles(transition: Transition, source: State) -> None:
    assert transition.target in workflow.next_states(source, GOOD)
    offered = dict(workflow.available(source, transition.roles, GOOD))
    assert offered[transition.target] is True
    others = frozenset(ALL_ROLES) - transition.roles
    assert transition.target not in dict(workflow.available(source, others, GOOD))


@pytest.mark.parametrize("transition", RESUME_ROWS, ids=_id)
@pytest.mark.parametrize("paused", sorted(PAUSED, key=lambda s: s.value), ids=str)
@pytest.mark.parametrize("paused_from", sorted(ACTIVE, key=lambda s: s.value), ids=str)
def test_resume_returns_to_the_state_the_case_was_paused_in(
    transition: Transition, paused: State, paused_from: State
) -> None:
    if paused not in transition.source:
        pytest.skip("row does not start here")
    facts = replace(GOOD, paused_from=paused_from.value)
    for role in ALL_ROLES:
        decision = workflow.decide(paused, paused_from, frozenset({role}), facts)
        assert decision.allowed is (role in transition.roles), role
        if decision.allowed:
            assert decision.transition == transition
            assert decision.target == paused_from
    # Resuming elsewhere than where the case was paused is an illegal move naming the way back.
    elsewhere = State.TRIAGED if paused_from != State.TRIAGED else State.VERIFYING
    decision = workflow.decide(paused, elsewhere, transition.roles, facts)
    assert not decision.allowed
    assert decision.transition is None
    (reason,) = decision.reasons
    allowed_part = reason.split("allowed: ", 1)[1]
    assert paused_from.value in allowed_part.split(", ")
    assert elsewhere.value not in allowed_part.split(", ")


def test_resume_without_a_recorded_pause_state_goes_to_triaged() -> None:
    facts = replace(GOOD, paused_from="")
    decision = workflow.decide(State.ON_HOLD, State.TRIAGED, frozenset({Role.CASE_WORKER}), facts)
    assert decision.allowed


@pytest.mark.parametrize("state", list(State), ids=str)
def test_illegal_moves_name_the_allowed_next_states(state: State) -> None:
    roles = frozenset(ALL_ROLES)
    allowed_next = workflow.next_states(state, GOOD)
    for target in State:
        if target in allowed_next:
            continue
        decision = workflow.decide(state, target, roles, GOOD)
        assert not decision.allowed
        assert decision.transition is None
        expected = ", ".join(s.value for s in allowed_next)
        assert decision.reasons == (
            f"{state.value} cannot move to {target.value}; allowed: {expected}",
        )


def test_next_states_are_exactly_the_targets_of_the_rows_leaving_a_state() -> None:
    for state in State:
        expected = {workflow.resolve_target(t, GOOD) for t in TRANSITIONS if state in t.source}
        assert set(workflow.next_states(state, GOOD)) == expected


# --- closure reasons --------------------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(PRE_RETURN, key=lambda s: s.value), ids=str)
@pytest.mark.parametrize("reason", list(ClosureReason), ids=str)
def test_early_closure_only_with_early_closure_reasons(state: State, reason: ClosureReason) -> None:
    facts = replace(GOOD, closure_reason=reason.value)
    decision = workflow.decide(state, State.CLOSED, frozenset({Role.SUPERVISOR}), facts)
    assert decision.allowed is (reason in EARLY_CLOSURE_REASONS)
    if not decision.allowed:
        assert decision.reasons == (workflow.EARLY_CLOSURE_REASON.message,)


def test_early_closure_reasons_exclude_reintegrated_and_moved_abroad() -> None:
    assert ClosureReason.REINTEGRATED not in EARLY_CLOSURE_REASONS
    assert ClosureReason.MOVED_ABROAD_AGAIN not in EARLY_CLOSURE_REASONS


@pytest.mark.parametrize("reason", list(ClosureReason), ids=str)
def test_closing_after_follow_up_takes_any_closure_reason(reason: ClosureReason) -> None:
    facts = replace(GOOD, closure_reason=reason.value)
    decision = workflow.decide(State.FOLLOW_UP, State.CLOSED, frozenset({Role.SUPERVISOR}), facts)
    assert decision.allowed


@pytest.mark.parametrize("bad_reason", ["", "gone", "CLOSED"])
@pytest.mark.parametrize("state", [State.FOLLOW_UP, State.UNREACHABLE, State.LOCATING], ids=str)
def test_closing_without_a_known_reason_is_refused(state: State, bad_reason: str) -> None:
    facts = replace(GOOD, closure_reason=bad_reason)
    decision = workflow.decide(state, State.CLOSED, frozenset({Role.SUPERVISOR}), facts)
    assert not decision.allowed
    assert len(decision.reasons) == 1
    assert decision.reasons[0] in {
        workflow.CLOSURE_REASON.message,
        workflow.EARLY_CLOSURE_REASON.message,
    }


def test_only_a_supervisor_closes_a_case() -> None:
    closing = [t for t in TRANSITIONS if t.target == State.CLOSED]
    assert closing
    assert all(t.roles == frozenset({Role.SUPERVISOR}) for t in closing)


# --- the consent guard --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "override", "allowed"),
    [(True, False, True), (False, True, True), (True, True, True), (False, False, False)],
)
def test_referring_needs_consent_or_a_life_threat_override(
    consent: bool, override: bool, allowed: bool
) -> None:
    facts = replace(GOOD, has_share_consent=consent, has_life_threat_override=override)
    decision = workflow.decide(
        State.LOCATING, State.REFERRED, frozenset({Role.LIAISON_OFFICER}), facts
    )
    assert decision.allowed is allowed


def test_only_self_return_or_deportation_skips_to_returned() -> None:
    for mode in ("rescue", "escape", "release", "self_return", "deportation"):
        facts = replace(GOOD, removal_mode=mode)
        decision = workflow.decide(
            State.AWAITING_ACTION, State.RETURNED, frozenset({Role.CASE_WORKER}), facts
        )
        assert decision.allowed is (mode in {"self_return", "deportation"}), mode


# --- the graph ----------------------------------------------------------------------------------


def _step(state: State, paused_from: str) -> set[tuple[State, str]]:
    """Every (state, paused_from) one move away, as case_transition records the pause."""
    out: set[tuple[State, str]] = set()
    facts = replace(GOOD, paused_from=paused_from)
    for t in TRANSITIONS:
        if state not in t.source:
            continue
        target = workflow.resolve_target(t, facts)
        if target in PAUSED:
            out.add((target, state.value if state not in PAUSED else paused_from))
        else:
            out.add((target, ""))
    return out


def _reachable(start: State, paused_from: str = "") -> set[State]:
    seen = {(start, paused_from)}
    queue = deque(seen)
    while queue:
        for nxt in _step(*queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return {s for s, _ in seen}


def test_every_state_is_reachable_from_request_received() -> None:
    assert workflow.INITIAL == State.REQUEST_RECEIVED
    assert _reachable(State.REQUEST_RECEIVED) == set(State)


@pytest.mark.parametrize("state", list(State), ids=str)
def test_closed_is_reachable_from_every_state(state: State) -> None:
    starts = [(state, "")]
    if state in PAUSED:
        starts += [(state, s.value) for s in ACTIVE]
    for start, paused_from in starts:
        assert State.CLOSED in _reachable(start, paused_from), (start, paused_from)


def test_every_row_names_a_role_and_a_source() -> None:
    for t in TRANSITIONS:
        assert t.roles, t.number
        assert t.roles <= set(ALL_ROLES), t.number
        assert t.source, t.number
    numbers = [t.number for t in TRANSITIONS]
    assert len(numbers) == len(set(numbers))


def test_opening_roles_can_make_the_first_move() -> None:
    first = [t for t in TRANSITIONS if State.REQUEST_RECEIVED in t.source and not t.guards]
    assert any(workflow.OPENING_ROLES & t.roles for t in first)
