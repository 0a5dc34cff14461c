"""Pure input checks for help requests: names, phones, countries, free text."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.utils.translation import gettext_lazy as _

NARRATIVE_MAX = 4000
SHORT_MAX = 200
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
DESTINATIONS = ["TH", "LA", "VN", "MY", "CN", "ID", "MM", "SG"]

# Letters (any script), spaces, the zero-width marks Khmer writers use, dots, apostrophes, hyphens.
_NAME_ALLOWED = re.compile(
    r"^[\w\s\u200b-\u200d.'\u2019\-\u1780-\u17FF\u19E0-\u19FF]+$", re.UNICODE
)


class InvalidInput(ValueError):
    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


def _has_control(text: str, *, allow_newlines: bool) -> bool:
    for ch in text:
        if allow_newlines and ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in ("\u200b", "\u200c", "\u200d"):
            # Zero-width (non-)joiners and spaces occur legitimately in Khmer text.
            return True
    return False


def clean_text(value: str, *, max_length: int, multiline: bool) -> str:
    text = unicodedata.normalize("NFC", value or "").strip()
    if _has_control(text, allow_newlines=multiline):
        raise InvalidInput(_("Remove the invisible control characters from this text."))
    if len(text) > max_length:
        raise InvalidInput(
            _("This text is too long: keep it under %(max)d characters.") % {"max": max_length}
        )
    return text


def clean_name(value: str) -> str:
    """Khmer, Latin or mixed; letters, spaces, dots, apostrophes and hyphens only."""
    text = clean_text(value, max_length=SHORT_MAX, multiline=False)
    if not text:
        return ""
    if not _NAME_ALLOWED.match(text) or any(ch.isdigit() for ch in text):
        raise InvalidInput(_("A name can contain only letters, spaces, dots and hyphens."))
    return re.sub(r"\s+", " ", text)


def clean_phone(value: str, *, region: str = "KH") -> str:
    """E.164, or an error. Foreign numbers are read in the country abroad when one is given."""
    text = clean_text(value, max_length=40, multiline=False)
    if not text:
        return ""
    for hint in dict.fromkeys([region or "KH", "KH"]):
        try:
            parsed = phonenumbers.parse(text, hint)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidInput(
        _("This phone number is not valid. Include the country code, e.g. +855 12 345 678.")
    )


def clean_country(value: str) -> str:
    code = (value or "").strip().upper()
    if not code:
        return ""
    if code not in COUNTRIES:
        raise InvalidInput(_("Unknown country. Choose one from the list."))
    return code


def name_tokens(name: str) -> list[str]:
    """Case-folded tokens for blind-index search; Khmer stays Khmer (exact token match)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return sorted({t for t in re.split(r"[\s.'\u2019\-]+", folded) if t})
