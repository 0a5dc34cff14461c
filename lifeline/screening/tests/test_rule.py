"""The combination rule (domain-model §3.3) on the real instrument, without a database.

Every dimension threshold (with its boundaries), every rung of the ladder and every flag.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifeline.screening.instrument import Answer, Dimension, Item, Kind, Weight
from lifeline.screening.instruments import current, get
from lifeline.screening.rule import (
    Completeness,
    Flag,
    Outcome,
    Step,
    Threshold,
    score_dimension,
    suggest,
)

INSTRUMENT = current()
COMPLETE = Completeness.COMPLETE

# Indicator ids of the real instrument, grouped for readable scenarios.
CAD_S = ["f_documents", "f_debt_bondage", "f_confinement", "f_violence"]
CAD_M = ["f_threats", "f_threat_sale", "f_wages_withheld", "f_phone"]
CAD_W = ["h_fake_police"]
EXP_S = ["e_excessive_hours"]
EXP_M = ["e_low_pay", "e_deductions", "e_living", "e_hazardous"]
DEC_S = ["c_deceived_job"]
DEC_M = ["c_deceived_wages", "c_deceived_conditions", "c_deceived_contract"]
AVR_M = ["b_prior_difficulty", "c_vuln_economic"]
AVR_W = ["c_vuln_information", "c_vuln_family"]
AVD_M = ["g_dependency", "g_status_fear"]
AVD_W = ["g_language", "g_isolated"]
COE_S = ["c_violence"]
COE_M = ["c_threats", "c_abducted", "c_debt"]

# Positive dimensions ready to combine.
EXPLOITATION = EXP_S + EXP_M[:1]  # exploitative conditions: 1 strong + 1 medium
RECRUITMENT = DEC_S + DEC_M[:1]  # deceptive recruitment: 1 strong + 1 medium
DESTINATION = CAD_S[:2]  # coercion at destination: 2 strong
ACT = ["c_recruited"]


def yes(*ids: str) -> dict[str, str]:
    return {item_id: "yes" for item_id in ids}


def items(*ids: str):
    return [INSTRUMENT.item(i) for i in ids]


def run(answers: dict[str, str], *, age: int | None = 30, completeness=COMPLETE):
    return suggest(INSTRUMENT, answers, age=age, completeness=completeness)


# --- step 1: dimension thresholds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("dimension", "ids", "threshold"),
    [
        (Dimension.COERCION_AT_DESTINATION, CAD_S[:2], Threshold.TWO_STRONG),
        (Dimension.COERCION_AT_DESTINATION, CAD_S[:1] + CAD_M[:1], Threshold.STRONG_AND_OTHER),
        (Dimension.COERCION_AT_DESTINATION, CAD_S[:1] + CAD_W, Threshold.STRONG_AND_OTHER),
        (Dimension.COERCION_AT_DESTINATION, CAD_M[:3], Threshold.THREE_MEDIUM),
        (Dimension.COERCION_AT_DESTINATION, CAD_M[:2] + CAD_W, Threshold.TWO_MEDIUM_ONE_WEAK),
        (Dimension.EXPLOITATIVE_CONDITIONS, EXP_M[:3], Threshold.THREE_MEDIUM),
        (Dimension.ABUSE_VULN_RECRUITMENT, AVR_M + AVR_W[:1], Threshold.TWO_MEDIUM_ONE_WEAK),
        (Dimension.ABUSE_VULN_AT_DESTINATION, AVD_M + AVD_W[:1], Threshold.TWO_MEDIUM_ONE_WEAK),
        (Dimension.COERCIVE_RECRUITMENT, COE_S + COE_M[:1], Threshold.STRONG_AND_OTHER),
        (Dimension.DECEPTIVE_RECRUITMENT, DEC_M, Threshold.THREE_MEDIUM),
    ],
)
def test_dimension_is_positive_at_each_threshold(dimension, ids, threshold):
    score = score_dimension(dimension, items(*ids), child=False)

    assert score.positive is True
    assert score.threshold == threshold


@pytest.mark.parametrize(
    ("dimension", "ids"),
    [
        (Dimension.COERCION_AT_DESTINATION, CAD_S[:1]),  # one strong alone
        (Dimension.COERCION_AT_DESTINATION, CAD_M[:2]),  # two medium only
        (Dimension.COERCION_AT_DESTINATION, CAD_M[:1] + CAD_W),  # one medium + one weak
        (Dimension.COERCION_AT_DESTINATION, CAD_W),  # one weak
        (Dimension.ABUSE_VULN_RECRUITMENT, AVR_M[:1] + AVR_W),  # one medium + two weak
        (Dimension.ABUSE_VULN_AT_DESTINATION, AVD_W),  # weak only
        (Dimension.COERCION_AT_DESTINATION, []),
    ],
)
def test_dimension_below_every_threshold_is_negative(dimension, ids):
    score = score_dimension(dimension, items(*ids), child=False)

    assert score.positive is False
    assert score.threshold is None


def test_indicators_of_other_dimensions_do_not_count():
    # Two strong indicators, but of exploitative conditions and deceptive recruitment.
    score = score_dimension(
        Dimension.COERCION_AT_DESTINATION,
        items("e_excessive_hours", "c_deceived_job"),
        child=False,
    )

    assert (score.positive, score.strong, score.medium, score.weak) == (False, (), (), ())


def test_score_lists_the_indicators_by_weight():
    score = score_dimension(
        Dimension.COERCION_AT_DESTINATION,
        items("f_documents", "f_threats", "h_fake_police"),
        child=False,
    )

    assert score.as_dict() == {
        "positive": True,
        "threshold": "1_strong_1_other",
        "strong": ["f_documents"],
        "medium": ["f_threats"],
        "weak": ["h_fake_police"],
    }


def test_forced_illegal_activity_is_strong_for_a_child_and_medium_for_an_adult():
    item = INSTRUMENT.item("f_forced_illegal")
    assert (item.weight_for(child=False), item.weight_for(child=True)) == (
        Weight.MEDIUM,
        Weight.STRONG,
    )
    ids = ["f_forced_illegal", "f_documents"]  # with one strong: positive either way

    adult = score_dimension(Dimension.COERCION_AT_DESTINATION, items(*ids), child=False)
    minor = score_dimension(Dimension.COERCION_AT_DESTINATION, items(*ids), child=True)

    assert adult.threshold == Threshold.STRONG_AND_OTHER
    assert minor.threshold == Threshold.TWO_STRONG


@pytest.mark.parametrize("value", ["no", "unknown", "refused", ""])
def test_answers_other_than_yes_never_count(value):
    answers = dict.fromkeys(EXPLOITATION + RECRUITMENT + DESTINATION + ACT, value)

    result = run(answers)

    assert result.outcome == Outcome.NO_INDICATORS
    assert result.yes_items == ()
    assert not any(score.positive for score in result.dimensions.values())


# --- step 2: the ladder -----------------------------------------------------------------------


def test_recruitment_means_exploitation_and_destination_means_is_possible_victim():
    result = run(yes(*RECRUITMENT, *EXPLOITATION, *DESTINATION, *ACT))

    assert (result.outcome, result.step) == (
        Outcome.POSSIBLE_VOT,
        Step.RECRUITMENT_EXPLOITATION_DESTINATION,
    )
    assert result.recruitment_means == (Dimension.DECEPTIVE_RECRUITMENT,)
    assert result.destination_means == (Dimension.COERCION_AT_DESTINATION,)
    assert result.exploitation_because == ("exploitative_conditions",)
    assert Flag.REVIEW_FOR_TRAFFICKING not in result.flags


@pytest.mark.parametrize(
    "recruitment",
    [DEC_S + DEC_M[:1], COE_S + COE_M[:1], AVR_M + AVR_W[:1]],
    ids=["deceptive", "coercive", "abuse-of-vulnerability"],
)
def test_each_recruitment_dimension_is_recruitment_means(recruitment):
    result = run(yes(*recruitment, *EXPLOITATION, *DESTINATION))

    assert result.outcome == Outcome.POSSIBLE_VOT


def test_abuse_of_vulnerability_at_destination_is_destination_means():
    result = run(yes(*RECRUITMENT, *EXPLOITATION, *AVD_M, AVD_W[0]))

    assert result.outcome == Outcome.POSSIBLE_VOT
    assert result.destination_means == (Dimension.ABUSE_VULN_AT_DESTINATION,)


def test_exploitation_with_destination_means_only_is_possible_forced_labour_for_review():
    result = run(yes(*EXPLOITATION, *DESTINATION))

    assert (result.outcome, result.step) == (
        Outcome.POSSIBLE_FORCED_LABOUR,
        Step.EXPLOITATION_DESTINATION,
    )
    assert Flag.REVIEW_FOR_TRAFFICKING in result.flags


def test_exploitation_with_recruitment_means_only_is_deceived_and_exploited_for_review():
    result = run(yes(*EXPLOITATION, *RECRUITMENT))

    assert (result.outcome, result.step) == (
        Outcome.DECEIVED_AND_EXPLOITED,
        Step.EXPLOITATION_RECRUITMENT,
    )
    assert Flag.REVIEW_FOR_TRAFFICKING in result.flags


def test_exploitation_without_means_is_exploited_migrant():
    result = run(yes(*EXPLOITATION, *ACT))

    assert (result.outcome, result.step) == (Outcome.EXPLOITED_MIGRANT, Step.EXPLOITATION_ONLY)
    assert result.flags == ()


def test_means_without_exploitation_is_no_indicators():
    result = run(yes(*RECRUITMENT, *DESTINATION, *ACT))

    assert (result.outcome, result.step) == (Outcome.NO_INDICATORS, Step.NOTHING)
    assert result.exploitation is False
    assert result.recruitment_means and result.destination_means


def test_one_weak_sign_of_exploitation_is_not_exploitation():
    result = run(yes(EXP_M[0], *RECRUITMENT, *DESTINATION))

    assert result.outcome == Outcome.NO_INDICATORS


@pytest.mark.parametrize(
    "item_id", ["e_sexual", "e_forced_marriage", "h_scam_work", "f_forced_illegal"]
)
def test_an_exploitation_item_alone_is_exploitation(item_id):
    result = run(yes(item_id))

    assert result.exploitation is True
    assert result.exploitation_because == (item_id,)
    assert result.outcome == Outcome.EXPLOITED_MIGRANT


def test_scam_work_with_deception_and_confinement_is_possible_victim():
    result = run(yes("h_scam_work", *DEC_S, "c_deceived_wages", "f_confinement", "f_phone"))

    assert result.outcome == Outcome.POSSIBLE_VOT
    assert result.exploitation_because == ("h_scam_work",)


# --- the child rule ---------------------------------------------------------------------------


def test_child_with_act_and_exploitation_and_no_means_is_possible_victim():
    result = run(yes(*ACT, *EXPLOITATION), age=16)

    assert (result.outcome, result.step) == (Outcome.POSSIBLE_VOT, Step.CHILD_ACT_EXPLOITATION)
    assert result.recruitment_means == () and result.destination_means == ()
    assert Flag.CHILD in result.flags


def test_child_rule_needs_an_act():
    result = run(yes(*EXPLOITATION), age=16)

    assert (result.outcome, result.step) == (Outcome.EXPLOITED_MIGRANT, Step.EXPLOITATION_ONLY)
    assert Flag.CHILD in result.flags


def test_child_rule_needs_exploitation():
    result = run(yes(*ACT), age=15)

    assert result.outcome == Outcome.NO_INDICATORS


def test_eighteen_is_an_adult():
    result = run(yes(*ACT, *EXPLOITATION), age=18)

    assert result.outcome == Outcome.EXPLOITED_MIGRANT
    assert Flag.CHILD not in result.flags


def test_unknown_age_is_not_treated_as_a_child():
    result = run(yes(*ACT, *EXPLOITATION), age=None)

    assert result.outcome == Outcome.EXPLOITED_MIGRANT
    assert Flag.CHILD not in result.flags


# --- completeness -----------------------------------------------------------------------------


def test_unfinished_interview_below_threshold_is_undetermined_whatever_the_answers():
    answers = yes(*RECRUITMENT, *EXPLOITATION, *DESTINATION)  # 6 required items answered
    assert INSTRUMENT.required_threshold > 6

    result = run(answers, completeness=Completeness.PARTIAL)

    assert (result.outcome, result.step) == (Outcome.UNDETERMINED, Step.INCOMPLETE)
    assert (result.required_answered, result.required_threshold) == (
        6,
        INSTRUMENT.required_threshold,
    )


def test_unfinished_interview_at_threshold_gets_a_suggestion():
    answers = yes(*RECRUITMENT, *EXPLOITATION, *DESTINATION)
    for item in INSTRUMENT.required_items:
        if sum(1 for v in answers.values() if v in ("yes", "no")) >= INSTRUMENT.required_threshold:
            break
        answers.setdefault(item.id, "no")

    result = run(answers, completeness=Completeness.PARTIAL)

    assert result.required_answered == INSTRUMENT.required_threshold
    assert result.outcome == Outcome.POSSIBLE_VOT


def test_unknown_and_refused_do_not_count_as_answered():
    answers = {item.id: "refused" for item in INSTRUMENT.required_items}
    answers.update({item.id: "unknown" for item in INSTRUMENT.required_items[::2]})

    result = run(answers, completeness=Completeness.PARTIAL)

    assert result.required_answered == 0
    assert result.outcome == Outcome.UNDETERMINED


def test_a_complete_interview_is_never_undetermined():
    result = run({}, completeness=Completeness.COMPLETE)

    assert result.outcome == Outcome.NO_INDICATORS


def test_flags_apply_even_when_undetermined():
    result = run(yes("h_targets"), age=14, completeness=Completeness.PARTIAL)

    assert result.outcome == Outcome.UNDETERMINED
    assert result.flags == (Flag.CHILD, Flag.NON_PUNISHMENT)


# --- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "danger", ["f_violence", "i_hurt_recently", "i_child_present", "i_medical"]
)
def test_confined_now_with_violence_child_or_medical_need_is_urgent(danger):
    result = run(yes("i_confined_now", danger))

    assert Flag.URGENT_SAFETY in result.flags
    assert result.flag_items[Flag.URGENT_SAFETY] == ("i_confined_now", danger)


def test_confined_child_is_urgent():
    result = run(yes("i_confined_now"), age=17)

    assert Flag.URGENT_SAFETY in result.flags


def test_confined_adult_without_danger_is_not_urgent():
    result = run(yes("i_confined_now", "i_transfer_soon"))

    assert Flag.URGENT_SAFETY not in result.flags


@pytest.mark.parametrize("danger", ["f_violence", "i_medical", "i_child_present"])
def test_danger_without_confinement_is_not_urgent(danger):
    result = run({"i_confined_now": "no", danger: "yes"})

    assert Flag.URGENT_SAFETY not in result.flags


@pytest.mark.parametrize(
    "item_id", [i.id for i in INSTRUMENT.section("H").items] + ["f_forced_illegal"]
)
def test_any_yes_in_forced_criminality_sets_non_punishment(item_id):
    result = run(yes(item_id))

    assert Flag.NON_PUNISHMENT in result.flags
    assert result.flag_items[Flag.NON_PUNISHMENT] == (item_id,)


def test_no_in_forced_criminality_sets_nothing():
    result = run({i.id: "no" for i in INSTRUMENT.section("H").items})

    assert result.flags == ()


def test_reported_criminal_involvement_is_a_note_not_an_offender_label():
    result = run(yes("h_scam_work", "h_recruit_others", *DESTINATION))

    assert Flag.REPORTED_CRIMINAL_INVOLVEMENT in result.flags
    assert result.flag_items[Flag.REPORTED_CRIMINAL_INVOLVEMENT] == (
        "h_scam_work",
        "h_recruit_others",
    )
    stored = json.dumps([result.as_dict(), result.dimensions_dict()])
    assert "offender" not in stored.lower()


def test_no_outcome_flag_or_step_name_says_offender():
    names = [*Outcome, *Flag, *Step, *Threshold]

    assert not [n for n in names if "offender" in n.value.lower() or "offender" in n.name.lower()]


# --- the reasons ------------------------------------------------------------------------------


def test_suggestion_returns_its_reasons():
    answers = {
        **yes(
            "c_recruited",
            "c_deceived_job",
            "c_deceived_wages",
            "e_excessive_hours",
            "e_low_pay",
            "f_documents",
            "f_confinement",
        ),
        "f_violence": "refused",
    }

    result = run(answers)

    assert result.as_dict() == {
        "outcome": "POSSIBLE_VOT",
        "step": "recruitment_exploitation_destination",
        "flags": [],
        "yes_items": [
            "c_recruited",
            "c_deceived_job",
            "c_deceived_wages",
            "e_excessive_hours",
            "e_low_pay",
            "f_documents",
            "f_confinement",
        ],
        "act_items": ["c_recruited"],
        "exploitation": True,
        "exploitation_because": ["exploitative_conditions"],
        "recruitment_means": ["deceptive_recruitment"],
        "destination_means": ["coercion_at_destination"],
        "flag_items": {},
        "age": 30,
        "completeness": "complete",
        "required_answered": 7,
        "required_total": len(INSTRUMENT.required_items),
        "required_threshold": INSTRUMENT.required_threshold,
    }
    dims = result.dimensions_dict()
    assert dims["coercion_at_destination"]["threshold"] == "2_strong"
    assert dims["deceptive_recruitment"]["strong"] == ["c_deceived_job"]
    assert dims["coercive_recruitment"]["positive"] is False


def test_answers_to_items_outside_the_instrument_are_refused():
    with pytest.raises(ValueError, match="not_an_item"):
        run({"not_an_item": "yes"})


def test_the_rule_is_pure_same_answers_same_suggestion():
    answers = yes(*RECRUITMENT, *EXPLOITATION, "i_confined_now", "i_medical")

    first, second = run(answers), run(dict(reversed(list(answers.items()))))

    assert dataclasses.asdict(first) == dataclasses.asdict(second)


# --- kh-screen-2 only adds a descriptive question -----------------------------------------------

V1, V2 = get("kh-screen-1"), get("kh-screen-2")
PLATFORMS = [o.code for o in V2.item("c_platform").options] + [Answer.UNKNOWN, Answer.REFUSED]


def _any_answer(item: Item) -> st.SearchStrategy[str]:
    if item.kind is Kind.YESNO:
        return st.sampled_from(list(Answer))
    if item.kind is Kind.CHOICE:
        return st.sampled_from([o.code for o in item.options] + [Answer.UNKNOWN, Answer.REFUSED])
    return st.integers(item.minimum or 0, item.maximum or 0).map(str)


# Any subset of kh-screen-1's items with any valid answer to each.
V1_ANSWERS = st.fixed_dictionaries({}, optional={item.id: _any_answer(item) for item in V1.items})


def _same_under_both(answers: dict[str, str], platform: str | None, age, completeness) -> None:
    with_platform = answers if platform is None else {**answers, "c_platform": platform}
    first = suggest(V1, answers, age=age, completeness=completeness)
    second = suggest(V2, with_platform, age=age, completeness=completeness)
    assert first.as_dict() == second.as_dict()
    assert first.dimensions_dict() == second.dimensions_dict()


@settings(max_examples=300, deadline=None)
@given(
    answers=V1_ANSWERS,
    platform=st.none() | st.sampled_from(PLATFORMS),
    age=st.none() | st.integers(0, 120),
    completeness=st.sampled_from(list(Completeness)),
)
def test_the_platform_question_never_changes_a_suggestion(answers, platform, age, completeness):
    _same_under_both(answers, platform, age, completeness)


@pytest.mark.parametrize("platform", [None, "telegram", "not_online", "refused"])
@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        (yes(*ACT, *RECRUITMENT, *EXPLOITATION, *DESTINATION), Outcome.POSSIBLE_VOT),
        (yes(*EXPLOITATION, *DESTINATION), Outcome.POSSIBLE_FORCED_LABOUR),
        (yes(*EXPLOITATION, *RECRUITMENT), Outcome.DECEIVED_AND_EXPLOITED),
        (yes(*EXPLOITATION), Outcome.EXPLOITED_MIGRANT),
        ({"c_recruited": "no"}, Outcome.NO_INDICATORS),
        ({"c_recruited": "yes"}, Outcome.UNDETERMINED),  # partial, too few answers
    ],
)
def test_every_outcome_is_the_same_under_kh_screen_1_and_2(answers, outcome, platform):
    completeness = Completeness.PARTIAL if outcome is Outcome.UNDETERMINED else COMPLETE
    first = suggest(V1, answers, age=30, completeness=completeness)
    second = suggest(
        V2, {**answers, "c_platform": platform} if platform else answers, age=30,
        completeness=completeness,
    )  # fmt: skip
    assert first.outcome is outcome
    assert dataclasses.asdict(first) == dataclasses.asdict(second)
