"""The case lifecycle as data (domain-model §4): states, transitions, who may make them, guards.

Pure: no database. `case_transition` in services.py is the only caller that changes a state, and
it evaluates the guards named here against facts it gathers (`CaseFacts`). Tests walk every
transition in this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from lifeline.accounts.models import Role


class State(StrEnum):
    REQUEST_RECEIVED = "request_received"
    TRIAGED = "triaged"
    VERIFYING = "verifying"
    LOCATING = "locating"
    REFERRED = "referred"
    AWAITING_ACTION = "awaiting_action"
    REMOVED = "removed"
    HELD_ABROAD = "held_abroad"
    IDENTIFICATION = "identification"
    REPATRIATION_PREP = "repatriation_prep"
    RETURNED = "returned"
    RECEPTION_SCREENING = "reception_screening"
    REINTEGRATION_PLANNING = "reintegration_planning"
    REINTEGRATION = "reintegration"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    ON_HOLD = "on_hold"
    UNREACHABLE = "unreachable"
    REOPENED = "reopened"


class ClosureReason(StrEnum):
    REINTEGRATED = "reintegrated"
    LOST_CONTACT = "lost_contact"
    DECLINED_SERVICES = "declined_services"
    REFERRED_OUT = "referred_out"
    NOT_VICTIM_NO_NEED = "not_victim_no_need"
    DECEASED = "deceased"
    DUPLICATE = "duplicate"
    MOVED_ABROAD_AGAIN = "moved_abroad_again"


S = State

# States before the person is back home: a case may close early from any of them (§4 row 19),
# but only for the reasons that make sense before return.
PRE_RETURN = frozenset(
    {
        S.REQUEST_RECEIVED,
        S.TRIAGED,
        S.VERIFYING,
        S.LOCATING,
        S.REFERRED,
        S.AWAITING_ACTION,
        S.REMOVED,
        S.HELD_ABROAD,
        S.IDENTIFICATION,
        S.REPATRIATION_PREP,
    }
)
EARLY_CLOSURE_REASONS = frozenset(
    {
        ClosureReason.DECLINED_SERVICES,
        ClosureReason.NOT_VICTIM_NO_NEED,
        ClosureReason.DUPLICATE,
        ClosureReason.DECEASED,
        ClosureReason.REFERRED_OUT,
        ClosureReason.LOST_CONTACT,
    }
)
# After return a case closes early only for reasons that end the work without its goals.
HOME = frozenset({S.RETURNED, S.RECEPTION_SCREENING, S.REINTEGRATION_PLANNING, S.REINTEGRATION})
POST_RETURN_CLOSURE_REASONS = frozenset(
    {
        ClosureReason.DECLINED_SERVICES,
        ClosureReason.LOST_CONTACT,
        ClosureReason.REFERRED_OUT,
        ClosureReason.DECEASED,
        ClosureReason.DUPLICATE,
        ClosureReason.MOVED_ABROAD_AGAIN,
    }
)
PAUSED = frozenset({S.ON_HOLD, S.UNREACHABLE})
ACTIVE = frozenset(State) - {S.CLOSED} - PAUSED


@dataclass(frozen=True)
class CaseFacts:
    """What the guards need to know about a case, gathered by the service in one place."""

    has_share_consent: bool = False  # a live consent to share the victim's data
    has_life_threat_override: bool = False  # approved by a supervisor, not expired
    authority_requests_sent: int = 0
    removal_recorded: bool = False
    removal_mode: str = ""
    custody_recorded: bool = False
    repatriation_started: bool = False
    handover_recorded: bool = False
    service_plan_approved: bool = False
    closure_reason: str = ""
    paused_from: str = ""  # the state an on-hold/unreachable case resumes to


@dataclass(frozen=True)
class Guard:
    name: str
    check: Callable[[CaseFacts], bool]
    message: str  # shown when the guard refuses, in domain words


def _g(name: str, message: str) -> Callable[[Callable[[CaseFacts], bool]], Guard]:
    def wrap(check: Callable[[CaseFacts], bool]) -> Guard:
        return Guard(name, check, message)

    return wrap


@_g(
    "consent_or_override",
    "Referring needs the person's consent to share, or a supervisor's "
    "documented life-threat exception.",
)
def CONSENT_OR_OVERRIDE(f: CaseFacts) -> bool:
    return f.has_share_consent or f.has_life_threat_override


@_g("request_sent", "Record the request sent to an authority first.")
def REQUEST_SENT(f: CaseFacts) -> bool:
    return f.authority_requests_sent > 0


@_g("removal_recorded", "Record how the person left (rescue, escape, release, deportation).")
def REMOVAL_RECORDED(f: CaseFacts) -> bool:
    return f.removal_recorded


@_g("self_return", "Only a self-return or a deportation skips straight to returned.")
def SELF_RETURN(f: CaseFacts) -> bool:
    return f.removal_recorded and f.removal_mode in {"self_return", "deportation"}


@_g("custody_recorded", "Record where the person is held (shelter, detention, embassy).")
def CUSTODY_RECORDED(f: CaseFacts) -> bool:
    return f.custody_recorded


@_g("repatriation_started", "Record the repatriation (travel document, route) first.")
def REPATRIATION_STARTED(f: CaseFacts) -> bool:
    return f.repatriation_started


@_g("handover_recorded", "Record the crossing point and handover date first.")
def HANDOVER_RECORDED(f: CaseFacts) -> bool:
    return f.handover_recorded


@_g("plan_approved", "A supervisor must approve the service plan first.")
def PLAN_APPROVED(f: CaseFacts) -> bool:
    return f.service_plan_approved


@_g("closure_reason", "Choose a closure reason.")
def CLOSURE_REASON(f: CaseFacts) -> bool:
    return f.closure_reason in set(ClosureReason)


@_g(
    "early_closure_reason",
    "Before return a case closes only as declined, not a victim with no "
    "other need, duplicate, deceased, referred out or lost contact.",
)
def EARLY_CLOSURE_REASON(f: CaseFacts) -> bool:
    return f.closure_reason in EARLY_CLOSURE_REASONS


@_g("post_return_closure_reason", "After return a case closes early only as declined, lost "
    "contact, referred out, deceased, duplicate or moved abroad again.")  # fmt: skip
def POST_RETURN_CLOSURE_REASON(f: CaseFacts) -> bool:
    return f.closure_reason in POST_RETURN_CLOSURE_REASONS


INTAKE, CW, SUP, LIA = (
    Role.INTAKE_OFFICER,
    Role.CASE_WORKER,
    Role.SUPERVISOR,
    Role.LIAISON_OFFICER,
)
FIELD = frozenset({CW, SUP, LIA})  # records what partners abroad did (removal, custody, return)


@dataclass(frozen=True)
class Transition:
    number: str  # the row of domain-model §4
    source: frozenset[State]
    target: State
    roles: frozenset[str]
    guards: tuple[Guard, ...] = ()
    note: str = ""
    resumes: bool = field(default=False)  # target is the state the case was paused in


def _t(
    number: str,
    source: State | frozenset[State],
    target: State,
    roles: set[str] | frozenset[str],
    *guards: Guard,
    note: str = "",
    resumes: bool = False,
) -> Transition:
    src = frozenset({source}) if isinstance(source, State) else source
    return Transition(number, src, target, frozenset(roles), tuple(guards), note, resumes)


TRANSITIONS: tuple[Transition, ...] = (
    _t("2", S.REQUEST_RECEIVED, S.TRIAGED, {INTAKE, CW, SUP}, note="urgency assessed"),
    _t("3", S.TRIAGED, S.VERIFYING, {CW, SUP}, note="contact with the person attempted"),
    _t("4", S.VERIFYING, S.LOCATING, {CW, SUP}, note="confirmed abroad and needing help"),
    _t("5", S.LOCATING, S.REFERRED, {LIA, SUP}, CONSENT_OR_OVERRIDE, note="shared with authority"),
    _t("6", S.REFERRED, S.AWAITING_ACTION, {LIA, SUP}, REQUEST_SENT, note="request sent"),
    _t("7", S.AWAITING_ACTION, S.REFERRED, {LIA, SUP}, note="no answer in time: escalate"),
    _t("8", S.AWAITING_ACTION, S.REMOVED, FIELD, REMOVAL_RECORDED),
    _t("9", S.REMOVED, S.HELD_ABROAD, FIELD, CUSTODY_RECORDED),
    _t("10", S.HELD_ABROAD, S.IDENTIFICATION, FIELD, note="formal identification interview"),
    _t(
        "11",
        frozenset({S.HELD_ABROAD, S.IDENTIFICATION, S.REMOVED}),
        S.REPATRIATION_PREP,
        FIELD,
        REPATRIATION_STARTED,
        note="the person agrees to return",
    ),
    _t("12", S.REPATRIATION_PREP, S.RETURNED, FIELD, HANDOVER_RECORDED, note="border handover"),
    _t("13", S.RETURNED, S.RECEPTION_SCREENING, {CW, SUP}),
    _t("14", S.RECEPTION_SCREENING, S.REINTEGRATION_PLANNING, {CW, SUP}),
    _t("15", S.REINTEGRATION_PLANNING, S.REINTEGRATION, {CW, SUP}, PLAN_APPROVED),
    _t("16", S.REINTEGRATION, S.FOLLOW_UP, {CW, SUP}),
    _t("17", S.FOLLOW_UP, S.CLOSED, {SUP}, CLOSURE_REASON),
    _t("18a", ACTIVE, S.ON_HOLD, {CW, SUP}, note="the person asks for a pause"),
    _t("18b", ACTIVE, S.UNREACHABLE, {CW, SUP}, note="contact lost"),
    _t("18c", PAUSED, S.REQUEST_RECEIVED, {CW, SUP}, resumes=True, note="resume"),
    _t("18d", S.UNREACHABLE, S.CLOSED, {SUP}, EARLY_CLOSURE_REASON, note="lost contact for good"),
    _t("19", PRE_RETURN, S.CLOSED, {SUP}, EARLY_CLOSURE_REASON),
    _t("19b", HOME, S.CLOSED, {SUP}, POST_RETURN_CLOSURE_REASON, note="ended after return"),
    _t("20a", S.CLOSED, S.REOPENED, {INTAKE, CW, SUP}, note="new contact or re-trafficking"),
    _t("20b", S.REOPENED, S.TRIAGED, {INTAKE, CW, SUP}),
    # Shortcuts (§4): self-return or deportation without us; family reports after return.
    _t(
        "s1",
        frozenset({S.TRIAGED, S.VERIFYING, S.LOCATING, S.REFERRED, S.AWAITING_ACTION}),
        S.RETURNED,
        FIELD,
        SELF_RETURN,
        note="self-return or deportation",
    ),
    _t(
        "s2",
        frozenset({S.REQUEST_RECEIVED, S.TRIAGED, S.REOPENED}),
        S.RECEPTION_SCREENING,
        {INTAKE, CW, SUP},
        note="already home when reported",
    ),
)

INITIAL = S.REQUEST_RECEIVED
OPENING_ROLES = frozenset({INTAKE, CW, SUP})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    transition: Transition | None
    target: State | None
    reasons: tuple[str, ...]


def resolve_target(t: Transition, facts: CaseFacts) -> State:
    if t.resumes:
        return State(facts.paused_from) if facts.paused_from else S.TRIAGED
    return t.target


def decide(state: State, target: State, roles: frozenset[str], facts: CaseFacts) -> Decision:
    """May someone with `roles` move a case in `state` to `target`, given `facts`?

    Illegal moves name the allowed next states; a wrong role or a failing guard says why.
    """
    candidates = [
        t for t in TRANSITIONS if state in t.source and resolve_target(t, facts) == target
    ]
    if not candidates:
        allowed = ", ".join(s.value for s in next_states(state, facts))
        return Decision(
            False, None, None, (f"{state.value} cannot move to {target.value}; allowed: {allowed}",)
        )
    reasons: list[str] = []
    for t in candidates:
        if not roles & t.roles:
            reasons.append("Your role may not make this change.")
            continue
        failing = [g.message for g in t.guards if not g.check(facts)]
        if failing:
            reasons.extend(failing)
            continue
        return Decision(True, t, target, ())
    return Decision(False, candidates[0], target, tuple(dict.fromkeys(reasons)))


def next_states(state: State, facts: CaseFacts) -> list[State]:
    out: list[State] = []
    for t in TRANSITIONS:
        if state in t.source:
            target = resolve_target(t, facts)
            if target not in out:
                out.append(target)
    return out


def available(state: State, roles: frozenset[str], facts: CaseFacts) -> list[tuple[State, bool]]:
    """Next states this role could choose, each with whether its guards pass now."""
    out: dict[State, bool] = {}
    for t in TRANSITIONS:
        if state in t.source and roles & t.roles:
            target = resolve_target(t, facts)
            ok = all(g.check(facts) for g in t.guards)
            out[target] = out.get(target, False) or ok
    return list(out.items())
