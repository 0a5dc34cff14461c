"""Field encryption and blind indexes: plain tests, no database."""

from __future__ import annotations

import base64
import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from lifeline.core import crypto

KEY_A = "A:" + base64.b64encode(bytes(range(32))).decode()
KEY_B = "B:" + base64.b64encode(bytes(range(100, 132))).decode()
BLIND_KEY_1 = base64.b64encode(b"\x01" * 32).decode()
BLIND_KEY_2 = base64.b64encode(b"\x02" * 32).decode()
LABEL = "people.Person.full_name"
PLAIN = "Sokha Synthetic-Canary ស៊ីនថេទិក"


@pytest.fixture
def keys_a(settings):
    settings.LIFELINE_FIELD_KEYS = KEY_A
    settings.LIFELINE_BLIND_INDEX_KEY = BLIND_KEY_1
    return settings


def _flip(token: str, index: int) -> str:
    prefix, kid, body = token.split("$")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[index] ^= 0x01
    return f"{prefix}${kid}${base64.urlsafe_b64encode(bytes(raw)).decode()}"


def test_encrypt_decrypt_round_trips_unicode(keys_a):
    token = crypto.encrypt(PLAIN, label=LABEL)

    assert crypto.decrypt(token, label=LABEL) == PLAIN


def test_encrypt_output_has_prefix_key_id_and_hides_plaintext(keys_a):
    token = crypto.encrypt(PLAIN, label=LABEL)

    assert re.fullmatch(r"enc1\$A\$[A-Za-z0-9_\-]+=*", token)
    assert "Sokha" not in token
    assert crypto.key_id_of(token) == "A"


def test_encrypt_same_plaintext_twice_gives_different_ciphertexts(keys_a):
    first = crypto.encrypt(PLAIN, label=LABEL)
    second = crypto.encrypt(PLAIN, label=LABEL)

    assert first != second
    assert crypto.decrypt(first, label=LABEL) == crypto.decrypt(second, label=LABEL) == PLAIN


@pytest.mark.parametrize(
    "index", [0, 11, 12, 20, -1], ids=["nonce", "nonce-end", "body", "mid", "tag"]
)
def test_decrypt_flipped_byte_raises_clear_error(keys_a, index):
    tampered = _flip(crypto.encrypt(PLAIN, label=LABEL), index)

    with pytest.raises(crypto.DecryptionError) as excinfo:
        crypto.decrypt(tampered, label=LABEL)

    assert str(excinfo.value) == (
        f"{LABEL}: ciphertext failed authentication; it was altered or the key is wrong"
    )


def test_decrypt_ciphertext_moved_to_another_field_fails(keys_a):
    token = crypto.encrypt(PLAIN, label=LABEL)

    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(token, label="people.Person.phone")


def test_decrypt_under_unknown_key_id_fails_loudly(keys_a, settings):
    token = crypto.encrypt(PLAIN, label=LABEL)
    settings.LIFELINE_FIELD_KEYS = KEY_B

    with pytest.raises(crypto.DecryptionError) as excinfo:
        crypto.decrypt(token, label=LABEL)

    assert str(excinfo.value) == (
        f"{LABEL}: encrypted under key 'A', which is not in LIFELINE_FIELD_KEYS"
    )


def test_decrypt_with_right_id_but_wrong_key_material_fails(keys_a, settings):
    token = crypto.encrypt(PLAIN, label=LABEL)
    settings.LIFELINE_FIELD_KEYS = "A:" + KEY_B.split(":", 1)[1]

    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(token, label=LABEL)


def test_decrypt_under_secondary_key_still_works(keys_a, settings):
    token = crypto.encrypt(PLAIN, label=LABEL)
    settings.LIFELINE_FIELD_KEYS = f"{KEY_B},{KEY_A}"

    assert crypto.decrypt(token, label=LABEL) == PLAIN
    assert crypto.key_id_of(crypto.encrypt(PLAIN, label=LABEL)) == "B"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("Sokha in plain text", "value is not a Lifeline ciphertext"),
        ("enc2$A$AAAA", "value is not a Lifeline ciphertext"),
        (
            "enc1$A$" + base64.urlsafe_b64encode(b"short").decode(),
            f"{LABEL}: ciphertext is corrupted (too short)",
        ),
        ("enc1$A$abc", f"{LABEL}: ciphertext is corrupted (bad encoding)"),
    ],
    ids=["plaintext", "other-prefix", "truncated", "bad-base64"],
)
def test_decrypt_malformed_value_raises(keys_a, token, message):
    with pytest.raises(crypto.DecryptionError) as excinfo:
        crypto.decrypt(token, label=LABEL)

    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "LIFELINE_FIELD_KEYS is empty"),
        ("nokeyid", "each LIFELINE_FIELD_KEYS entry is 'keyid:base64key'"),
        ("A:" + base64.b64encode(b"x" * 16).decode(), "must be 32 bytes"),
        ("A:not base64!", "is not valid base64"),
        (f"{KEY_A},{KEY_A}", "duplicate key id 'A'"),
    ],
    ids=["empty", "no-id", "short-key", "bad-base64", "duplicate"],
)
def test_keyring_misconfiguration_is_refused(settings, spec, message):
    settings.LIFELINE_FIELD_KEYS = spec

    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        crypto.encrypt(PLAIN, label=LABEL)


def test_blind_index_is_deterministic_hex_and_not_the_plaintext(keys_a):
    first = crypto.blind_index("+85512345678", purpose="person.phone")
    second = crypto.blind_index("+85512345678", purpose="person.phone")

    assert first == second
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert "85512345678" not in first


def test_blind_index_separates_purposes(keys_a):
    phone = crypto.blind_index("85512345678", purpose="person.phone")
    passport = crypto.blind_index("85512345678", purpose="person.passport")

    assert phone != passport


def test_blind_index_separates_values(keys_a):
    assert crypto.blind_index("Sokha", purpose="p") != crypto.blind_index("sokha", purpose="p")


def test_blind_index_depends_on_its_key(keys_a, settings):
    before = crypto.blind_index("Sokha", purpose="person.name")
    settings.LIFELINE_BLIND_INDEX_KEY = BLIND_KEY_2

    assert crypto.blind_index("Sokha", purpose="person.name") != before


def test_blind_index_does_not_use_the_encryption_key_as_hmac_key(keys_a, settings):
    """The index must stay stable when field keys rotate."""
    before = crypto.blind_index("Sokha", purpose="person.name")
    settings.LIFELINE_FIELD_KEYS = KEY_B

    assert crypto.blind_index("Sokha", purpose="person.name") == before


def test_blind_index_without_key_is_refused(settings):
    settings.LIFELINE_BLIND_INDEX_KEY = ""

    with pytest.raises(ImproperlyConfigured, match="LIFELINE_BLIND_INDEX_KEY is empty"):
        crypto.blind_index("Sokha", purpose="person.name")
