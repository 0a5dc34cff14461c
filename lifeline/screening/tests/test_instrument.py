"""The instrument is data, and every registered version passes its checks."""

from __future__ import annotations

import copy

import pytest

from lifeline.screening.instrument import (
    SECTIONS,
    Dimension,
    InstrumentError,
    Kind,
    Role,
    build,
)
from lifeline.screening.instruments import (
    CURRENT_VERSION,
    INSTRUMENTS,
    current,
    get,
    kh_screen_1,
    versions_with,
)

INSTRUMENT = current()


def test_current_instrument_is_registered_under_its_version():
    assert CURRENT_VERSION == INSTRUMENT.version == "kh-screen-2"
    assert INSTRUMENTS["kh-screen-2"] is INSTRUMENT


def test_earlier_versions_stay_registered_for_their_interviews():
    assert list(INSTRUMENTS) == ["kh-screen-1", "kh-screen-2"]
    assert get("kh-screen-1").version == "kh-screen-1"
    assert not get("kh-screen-1").has("c_platform")
    assert versions_with("c_platform") == ("kh-screen-2",)
    assert versions_with("c_recruiter") == ("kh-screen-1", "kh-screen-2")


def test_kh_screen_2_is_kh_screen_1_plus_the_platform_question():
    first, second = get("kh-screen-1"), get("kh-screen-2")
    ids = [i.id for i in first.items]
    after = ids.index("c_recruiter") + 1
    assert [i.id for i in second.items] == [*ids[:after], "c_platform", *ids[after:]]
    # Every other item is the same question, word for word, with the same meaning to the rule.
    assert all(second.item(i.id) == i for i in first.items)
    assert second.required_fraction == first.required_fraction
    assert second.required_items == first.required_items


def test_platform_question_is_descriptive_with_stable_codes():
    item = INSTRUMENT.item("c_platform")
    assert (item.section, item.kind) == ("C", Kind.CHOICE)
    # Not an indicator and no role: it can never change a suggestion.
    assert (item.is_indicator, item.weight, item.ilo, item.roles, item.required) == (
        False, None, (), frozenset(), False,
    )  # fmt: skip
    codes = [o.code for o in item.options]
    assert codes == [
        "facebook", "messenger", "instagram", "whatsapp", "telegram", "viber", "line", "wechat",
        "qq", "tiktok", "snapchat", "twitter", "job_website", "other_online", "not_online",
        "not_known",
    ]  # fmt: skip
    assert all(c.isascii() and c == c.lower() and c.replace("_", "").isalnum() for c in codes)
    # Stored in IndicatorResponse.value (16 characters).
    assert max(len(c) for c in codes) <= 16
    assert [item.accepts(v) for v in ("telegram", "not_online", "refused", "Telegram", "yes")] == [
        True, True, True, False, False,
    ]  # fmt: skip


def test_sections_are_a_to_i_and_k_without_perpetrator_section():
    assert tuple(s.code for s in INSTRUMENT.sections) == SECTIONS
    assert "J" not in SECTIONS


def test_item_ids_are_unique():
    ids = [i.id for i in INSTRUMENT.items]

    assert len(ids) == len(set(ids))


def test_every_indicator_has_ilo_number_dimension_and_weight():
    for item in INSTRUMENT.indicators:
        assert item.ilo and all(1 <= n <= 11 for n in item.ilo), item.id
        assert item.dimension in Dimension, item.id
        assert item.weight is not None, item.id
        assert item.kind is Kind.YESNO, item.id


def test_every_question_is_in_english_and_khmer():
    for item in INSTRUMENT.items:
        assert item.text_en.strip(), item.id
        assert any("\u1780" <= ch <= "\u17ff" for ch in item.text_km), item.id
        for option in item.options:
            assert option.text_en and option.text_km, (item.id, option.code)
    for section in INSTRUMENT.sections:
        assert section.title_en and section.title_km


def test_every_dimension_has_indicators():
    assert {i.dimension for i in INSTRUMENT.indicators} == set(Dimension)


def test_instrument_carries_the_roles_the_rule_needs():
    assert [i.id for i in INSTRUMENT.with_role(Role.AGE)] == ["b_age"]
    assert [i.id for i in INSTRUMENT.with_role(Role.CONFINED_NOW)] == ["i_confined_now"]
    assert {i.id for i in INSTRUMENT.with_role(Role.ACT)} >= {"c_recruited", "d_transported"}
    assert {i.section for i in INSTRUMENT.with_role(Role.NON_PUNISHMENT)} == {"F", "H"}
    assert INSTRUMENT.item("f_forced_illegal").child_weight == "strong"


def test_questions_do_not_lead():
    # Non-leading: no question tells the person what happened to them.
    leading = ("you were trafficked", "victim", "were you forced", "didn't", "isn't it")
    for item in INSTRUMENT.items:
        assert not any(word in item.text_en.lower() for word in leading), item.id


def _data():
    return copy.deepcopy(kh_screen_1.DATA)


def _item(data, item_id):
    return next(i for s in data["sections"] for i in s["items"] if i["id"] == item_id)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: _item(d, "c_threats").pop("weight"), "indicator without weight"),
        (lambda d: _item(d, "c_threats").update(ilo=[]), "ILO-11 numbers"),
        (lambda d: _item(d, "c_threats").update(ilo=[12]), "ILO-11 numbers"),
        (lambda d: _item(d, "c_threats").update(km=""), "English and Khmer"),
        (lambda d: _item(d, "c_threats").update(km="threats"), "no Khmer script"),
        (lambda d: _item(d, "c_threats").update(id="c_debt"), "not unique"),
        (lambda d: _item(d, "c_threats").update(id="f_threats2"), "section letter"),
        (lambda d: _item(d, "h_targets").update(roles=[]), "non-punishment"),
        (lambda d: _item(d, "b_dependants").update(weight="strong"), "without a dimension"),
        (lambda d: d["sections"].pop(), "sections must be"),
        (lambda d: _item(d, "a_safe_now").update(roles=[]), "gate_safe"),
        (lambda d: d.update(required_fraction=0), "required_fraction"),
    ],
)
def test_broken_instrument_is_refused(change, problem):
    data = _data()
    change(data)

    with pytest.raises(InstrumentError) as refused:
        build(data)

    assert any(problem in p for p in refused.value.problems), refused.value.problems


def test_answer_validation_by_kind():
    age, sex, question = (INSTRUMENT.item(i) for i in ("b_age", "b_sex", "c_threats"))

    assert [question.accepts(v) for v in ("yes", "no", "unknown", "refused", "maybe")] == [
        True, True, True, True, False,
    ]  # fmt: skip
    assert [age.accepts(v) for v in ("0", "17", "120", "121", "-1", "x", "refused")] == [
        True, True, True, False, False, False, True,
    ]  # fmt: skip
    assert [sex.accepts(v) for v in ("female", "unknown", "yes")] == [True, True, False]
