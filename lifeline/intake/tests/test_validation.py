"""Input checks for help requests and the reference format, without the database."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.utils import translation

from lifeline.intake import reference, validation
from lifeline.intake.validation import InvalidInput

NAME_REFUSED = "A name can contain only letters, spaces, dots and hyphens."
CONTROL_REFUSED = "Remove the invisible control characters from this text."
PHONE_REFUSED = "This phone number is not valid. Include the country code, e.g. +855 12 345 678."


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are compared in English; the Khmer catalogue is tested with the public form."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("សុខ ដារា", "សុខ ដារា"),  # Khmer
        ("Sok Dara", "Sok Dara"),  # Latin
        ("Chan  Sopheap", "Chan Sopheap"),  # runs of spaces collapse
        ("សុខ Dara", "សុខ Dara"),  # mixed
        ("Nguyễn Thị Lan", "Nguyễn Thị Lan"),  # Vietnamese diacritics
        ("O'Neil-Smith Jr.", "O'Neil-Smith Jr."),
        ("  ", ""),
    ],
)
def test_clean_name_accepts_khmer_latin_and_mixed_names(raw, cleaned):
    assert validation.clean_name(raw) == cleaned


@pytest.mark.parametrize("raw", ["Sok 2", "សុខ ១២", "Dara 🙂", "Sok <b>", "a@b"])
def test_clean_name_refuses_digits_emoji_and_symbols_with_a_message(raw):
    with pytest.raises(InvalidInput) as refused:
        validation.clean_name(raw)

    assert str(refused.value.message) == NAME_REFUSED


@pytest.mark.parametrize("raw", ["Sok\x00Dara", "Sok\x1bDara", "Sok\u202eDara", "Sok\nDara"])
def test_clean_name_refuses_control_characters(raw):
    with pytest.raises(InvalidInput) as refused:
        validation.clean_name(raw)

    assert str(refused.value.message) == CONTROL_REFUSED


def test_narrative_keeps_line_breaks_but_refuses_other_control_characters():
    assert validation.clean_text("line one\nline two", max_length=4000, multiline=True) == (
        "line one\nline two"
    )
    with pytest.raises(InvalidInput) as refused:
        validation.clean_text("bell\x07", max_length=4000, multiline=True)
    assert str(refused.value.message) == CONTROL_REFUSED


def test_zero_width_joiners_used_in_khmer_text_are_not_control_characters():
    text = "ខ្ញុំ\u200bត្រូវការ\u200cជំនួយ"

    assert validation.clean_text(text, max_length=100, multiline=True) == text


def test_narrative_of_4000_characters_is_accepted_and_4001_refused():
    assert len(validation.clean_text("x" * 4000, max_length=4000, multiline=True)) == 4000
    with pytest.raises(InvalidInput) as refused:
        validation.clean_text("x" * 4001, max_length=validation.NARRATIVE_MAX, multiline=True)
    assert str(refused.value.message) == ("This text is too long: keep it under 4000 characters.")


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("012 345 678", "KH", "+85512345678"),
        ("+855 12 345 678", "KH", "+85512345678"),
        ("(012) 345-678", "KH", "+85512345678"),
        ("081 234 5678", "TH", "+66812345678"),  # read in the country abroad
        ("+66 81 234 5678", "KH", "+66812345678"),
        ("012 345 678", "TH", "+85512345678"),  # not Thai: falls back to Cambodia
        ("", "KH", ""),
    ],
)
def test_clean_phone_answers_e164(raw, region, e164):
    assert validation.clean_phone(raw, region=region) == e164


@pytest.mark.parametrize("raw", ["12", "hello", "+855 0", "0855 12345678"])
def test_clean_phone_refuses_invalid_numbers(raw):
    with pytest.raises(InvalidInput) as refused:
        validation.clean_phone(raw)

    assert str(refused.value.message) == PHONE_REFUSED


def test_clean_country_accepts_iso_codes_in_any_case_and_refuses_unknown_ones():
    assert validation.clean_country("th") == "TH"
    assert validation.clean_country(" MY ") == "MY"
    assert validation.clean_country("") == ""
    for unknown in ("XX", "THA", "Thailand"):
        with pytest.raises(InvalidInput) as refused:
            validation.clean_country(unknown)
        assert str(refused.value.message) == "Unknown country. Choose one from the list."


def test_name_tokens_are_case_folded_sorted_and_unique():
    assert validation.name_tokens("Sok  DARA sok") == ["dara", "sok"]
    assert validation.name_tokens("សុខ ដារា") == sorted(["សុខ", "ដារា"])


# --- references ------------------------------------------------------------------------------

SYMBOL = "[23456789ABCDEFGHJKMNPQRSTVWXYZ]"
REFERENCE_SHAPE = re.compile(rf"^LL-{SYMBOL}{{4}}-{SYMBOL}{{4}}$")


def test_reference_alphabet_has_no_symbols_confused_over_the_phone():
    assert set(reference.ALPHABET).isdisjoint(set("01OILU"))
    assert len(reference.ALPHABET) == 30


def test_new_references_have_the_ll_xxxx_xxxx_shape_and_do_not_repeat():
    made = {reference.new_reference() for _ in range(500)}

    assert len(made) == 500
    assert all(REFERENCE_SHAPE.match(ref) for ref in made)


def test_new_status_code_is_six_symbols_of_the_alphabet():
    code = reference.new_status_code()

    assert len(code) == 6
    assert set(code) <= set(reference.ALPHABET)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("LL-7K3Q-9XD2", "LL-7K3Q-9XD2"),
        ("ll 7k3q 9xd2", "LL-7K3Q-9XD2"),
        ("7K3Q9XD2", "LL-7K3Q-9XD2"),
        ("  LL7K3Q-9XD2 ", "LL-7K3Q-9XD2"),
        ("LL-7K3Q-9XD", ""),
        ("", ""),
    ],
)
def test_normalise_reference_accepts_what_people_type(typed, normalised):
    assert reference.normalise_reference(typed) == normalised


def test_clean_name_keeps_the_zero_width_space_khmer_writers_put_between_words():
    assert validation.clean_name("សុខ\u200bដារា") == "សុខ\u200bដារា"
