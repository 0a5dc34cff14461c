"""The suggested determination: domain-model §3.3, as one pure function.

`suggest` reads only the instrument and the answers. It never looks at the database, the clock
or the user, so the same answers always give the same suggestion, and every branch is tested
without a database. It returns its reasons (which indicators, which dimensions and why, which
step of the ladder fired) so the screen can show them.

A suggestion is the platform's aid to an NGO interviewer. It is never an official determination:
those are separate records made by an authority (see `models.OfficialDetermination`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .instrument import (
    DESTINATION_MEANS,
    RECRUITMENT_MEANS,
    Answer,
    Dimension,
    Instrument,
    Item,
    Role,
    Weight,
)

CHILD_AGE = 18


class Outcome(StrEnum):
    POSSIBLE_VOT = "POSSIBLE_VOT"
    POSSIBLE_FORCED_LABOUR = "POSSIBLE_FORCED_LABOUR"
    DECEIVED_AND_EXPLOITED = "DECEIVED_AND_EXPLOITED"
    EXPLOITED_MIGRANT = "EXPLOITED_MIGRANT"
    NO_INDICATORS = "NO_INDICATORS"
    UNDETERMINED = "UNDETERMINED"


class Flag(StrEnum):
    URGENT_SAFETY = "URGENT_SAFETY"
    CHILD = "CHILD"
    NON_PUNISHMENT = "NON_PUNISHMENT"
    # A note for the people helping, never a classification of the person (victim-offender
    # separation is for the authorities, domain-model §3.3).
    REPORTED_CRIMINAL_INVOLVEMENT = "REPORTED_CRIMINAL_INVOLVEMENT"
    REVIEW_FOR_TRAFFICKING = "REVIEW_FOR_TRAFFICKING"


class Step(StrEnum):
    """Which rung of the ladder produced the outcome."""

    INCOMPLETE = "incomplete"  # unfinished and below the required-items threshold
    CHILD_ACT_EXPLOITATION = "child_act_exploitation"
    RECRUITMENT_EXPLOITATION_DESTINATION = "recruitment_exploitation_destination"
    EXPLOITATION_DESTINATION = "exploitation_destination"
    EXPLOITATION_RECRUITMENT = "exploitation_recruitment"
    EXPLOITATION_ONLY = "exploitation_only"
    NOTHING = "nothing"


class Completeness(StrEnum):
    COMPLETE = "complete"  # every section was put to the person
    PARTIAL = "partial"  # the interview ended early, or is still going on


class Threshold(StrEnum):
    """Why a dimension is positive (ILO/EC 2009 combination rule)."""

    TWO_STRONG = "2_strong"
    STRONG_AND_OTHER = "1_strong_1_other"
    THREE_MEDIUM = "3_medium"
    TWO_MEDIUM_ONE_WEAK = "2_medium_1_weak"


@dataclass(frozen=True)
class DimensionScore:
    dimension: Dimension
    strong: tuple[str, ...] = ()
    medium: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    threshold: Threshold | None = None

    @property
    def positive(self) -> bool:
        return self.threshold is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "positive": self.positive,
            "threshold": str(self.threshold) if self.threshold else None,
            "strong": list(self.strong),
            "medium": list(self.medium),
            "weak": list(self.weak),
        }


@dataclass(frozen=True)
class Suggestion:
    outcome: Outcome
    step: Step
    flags: tuple[Flag, ...]
    dimensions: dict[Dimension, DimensionScore]
    yes_items: tuple[str, ...]  # every yes/no item answered yes, in instrument order
    act_items: tuple[str, ...]  # the act items answered yes
    exploitation: bool
    # What made `exploitation` true: "exploitative_conditions" and/or item ids with that role.
    exploitation_because: tuple[str, ...]
    recruitment_means: tuple[Dimension, ...]  # positive recruitment dimensions
    destination_means: tuple[Dimension, ...]  # positive destination dimensions
    flag_items: dict[Flag, tuple[str, ...]] = field(default_factory=dict)
    age: int | None = None
    completeness: Completeness = Completeness.COMPLETE
    required_answered: int = 0
    required_total: int = 0
    required_threshold: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready reasons, stored with the interview and returned by the API."""
        return {
            "outcome": str(self.outcome),
            "step": str(self.step),
            "flags": [str(f) for f in self.flags],
            "yes_items": list(self.yes_items),
            "act_items": list(self.act_items),
            "exploitation": self.exploitation,
            "exploitation_because": list(self.exploitation_because),
            "recruitment_means": [str(d) for d in self.recruitment_means],
            "destination_means": [str(d) for d in self.destination_means],
            "flag_items": {str(k): list(v) for k, v in self.flag_items.items()},
            "age": self.age,
            "completeness": str(self.completeness),
            "required_answered": self.required_answered,
            "required_total": self.required_total,
            "required_threshold": self.required_threshold,
        }

    def dimensions_dict(self) -> dict[str, Any]:
        return {str(d): score.as_dict() for d, score in self.dimensions.items()}


def score_dimension(dimension: Dimension, yes_items: list[Item], *, child: bool) -> DimensionScore:
    """A dimension is positive with at least 2 strong; 1 strong + 1 medium or weak; 3 medium;
    or 2 medium + 1 weak indicators answered yes (domain-model §3.3, step 1)."""
    by_weight: dict[Weight, list[str]] = {Weight.STRONG: [], Weight.MEDIUM: [], Weight.WEAK: []}
    for item in yes_items:
        weight = item.weight_for(child=child)
        if item.dimension == dimension and weight is not None:
            by_weight[weight].append(item.id)
    strong, medium, weak = (len(by_weight[w]) for w in (Weight.STRONG, Weight.MEDIUM, Weight.WEAK))
    threshold: Threshold | None = None
    if strong >= 2:
        threshold = Threshold.TWO_STRONG
    elif strong >= 1 and medium + weak >= 1:
        threshold = Threshold.STRONG_AND_OTHER
    elif medium >= 3:
        threshold = Threshold.THREE_MEDIUM
    elif medium >= 2 and weak >= 1:
        threshold = Threshold.TWO_MEDIUM_ONE_WEAK
    return DimensionScore(
        dimension=dimension,
        strong=tuple(by_weight[Weight.STRONG]),
        medium=tuple(by_weight[Weight.MEDIUM]),
        weak=tuple(by_weight[Weight.WEAK]),
        threshold=threshold,
    )


def _is_substantive(value: str | None) -> bool:
    # "unknown" and "refused" are answers, but they tell the rule nothing either way.
    return value is not None and value not in ("", Answer.UNKNOWN, Answer.REFUSED)


def suggest(
    instrument: Instrument,
    answers: Mapping[str, str],
    *,
    age: int | None,
    completeness: Completeness | str,
) -> Suggestion:
    """The suggested determination for `answers` (item id -> stored answer).

    Only an answer of exactly "yes" counts as an indicator present; "no", "unknown", "refused"
    and unanswered items never do. `age` is the person's age in years if known; under 18 the
    child weights and the child rule (act + exploitation, means not required) apply.
    """
    unknown = sorted(set(answers) - {i.id for i in instrument.items})
    if unknown:
        raise ValueError(f"answers to items not in {instrument.version}: {unknown}")
    completeness = Completeness(completeness)
    child = age is not None and age < CHILD_AGE
    yes = [i for i in instrument.items if answers.get(i.id) == Answer.YES]
    yes_ids = {i.id for i in yes}

    dimensions = {d: score_dimension(d, yes, child=child) for d in Dimension}
    recruitment = tuple(d for d in RECRUITMENT_MEANS if dimensions[d].positive)
    destination = tuple(d for d in DESTINATION_MEANS if dimensions[d].positive)
    act = tuple(i.id for i in yes if Role.ACT in i.roles)

    because: list[str] = []
    if dimensions[Dimension.EXPLOITATIVE_CONDITIONS].positive:
        because.append(str(Dimension.EXPLOITATIVE_CONDITIONS))
    because.extend(i.id for i in yes if Role.EXPLOITATION in i.roles)
    exploitation = bool(because)

    required = instrument.required_items
    answered = sum(1 for i in required if _is_substantive(answers.get(i.id)))
    threshold = instrument.required_threshold

    if completeness is not Completeness.COMPLETE and answered < threshold:
        outcome, step = Outcome.UNDETERMINED, Step.INCOMPLETE
    elif child and act and exploitation:
        outcome, step = Outcome.POSSIBLE_VOT, Step.CHILD_ACT_EXPLOITATION
    elif recruitment and exploitation and destination:
        outcome, step = Outcome.POSSIBLE_VOT, Step.RECRUITMENT_EXPLOITATION_DESTINATION
    elif exploitation and destination:
        outcome, step = Outcome.POSSIBLE_FORCED_LABOUR, Step.EXPLOITATION_DESTINATION
    elif exploitation and recruitment:
        outcome, step = Outcome.DECEIVED_AND_EXPLOITED, Step.EXPLOITATION_RECRUITMENT
    elif exploitation:
        outcome, step = Outcome.EXPLOITED_MIGRANT, Step.EXPLOITATION_ONLY
    else:
        outcome, step = Outcome.NO_INDICATORS, Step.NOTHING

    flag_items = _flags(instrument, yes_ids, child=child)
    if outcome in (Outcome.POSSIBLE_FORCED_LABOUR, Outcome.DECEIVED_AND_EXPLOITED):
        # Harbouring or receipt by coercion, or deception followed by exploitation, may still be
        # trafficking: a person should look again before anyone treats it as labour only.
        flag_items[Flag.REVIEW_FOR_TRAFFICKING] = ()
    flags = tuple(f for f in Flag if f in flag_items)

    return Suggestion(
        outcome=outcome,
        step=step,
        flags=flags,
        dimensions=dimensions,
        yes_items=tuple(i.id for i in yes),
        act_items=act,
        exploitation=exploitation,
        exploitation_because=tuple(because),
        recruitment_means=recruitment,
        destination_means=destination,
        flag_items=flag_items,
        age=age,
        completeness=completeness,
        required_answered=answered,
        required_total=len(required),
        required_threshold=threshold,
    )


def _flags(
    instrument: Instrument, yes_ids: set[str], *, child: bool
) -> dict[Flag, tuple[str, ...]]:
    """Flags apply whatever the outcome. Each maps to the items that raised it."""

    def said_yes(role: Role) -> tuple[str, ...]:
        return tuple(i.id for i in instrument.with_role(role) if i.id in yes_ids)

    flags: dict[Flag, tuple[str, ...]] = {}
    if child:
        flags[Flag.CHILD] = ()
    confined = said_yes(Role.CONFINED_NOW)
    danger = said_yes(Role.VIOLENCE) + said_yes(Role.CHILD_PRESENT) + said_yes(Role.MEDICAL)
    if confined and (danger or child):
        flags[Flag.URGENT_SAFETY] = confined + danger
    non_punishment = tuple(
        i.id for i in instrument.items
        if i.id in yes_ids and (i.section == "H" or Role.NON_PUNISHMENT in i.roles)
    )  # fmt: skip
    if non_punishment:
        flags[Flag.NON_PUNISHMENT] = non_punishment
    involvement = said_yes(Role.CRIMINAL_INVOLVEMENT)
    if involvement:
        flags[Flag.REPORTED_CRIMINAL_INVOLVEMENT] = involvement
    return flags
