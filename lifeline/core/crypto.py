"""Authenticated field encryption (AES-256-GCM) and HMAC blind indexes.

Ciphertext format, stored as text: ``enc1$<key id>$<urlsafe base64 of nonce ‖ ciphertext+tag>``.
The field's label (``app.Model.field``) is bound in as associated data, so a ciphertext copied
from one column into another fails authentication instead of decrypting as the wrong thing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored ciphertext could not be authenticated: it was altered, or its key is missing."""


@dataclass(frozen=True)
class KeyRing:
    primary_id: str
    keys: dict[str, bytes]

    def cipher(self, key_id: str) -> AESGCM:
        return AESGCM(self.keys[key_id])


def _decode_key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{what} is not valid base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"{what} must be 32 bytes (base64 of 32 random bytes)")
    return key


@lru_cache(maxsize=8)
def _parse_keyring(spec: str) -> KeyRing:
    if not spec:
        raise ImproperlyConfigured(
            "LIFELINE_FIELD_KEYS is empty: set it to 'keyid:base64key[,keyid:base64key...]'"
        )
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for part in spec.split(","):
        key_id, sep, material = part.strip().partition(":")
        if not sep or not key_id.isalnum():
            raise ImproperlyConfigured("each LIFELINE_FIELD_KEYS entry is 'keyid:base64key'")
        if key_id in keys:
            raise ImproperlyConfigured(f"duplicate key id {key_id!r} in LIFELINE_FIELD_KEYS")
        keys[key_id] = _decode_key(material, f"field key {key_id!r}")
        order.append(key_id)
    return KeyRing(primary_id=order[0], keys=keys)


def keyring() -> KeyRing:
    return _parse_keyring(settings.LIFELINE_FIELD_KEYS)


def encrypt(plaintext: str, *, label: str) -> str:
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.cipher(ring.primary_id).encrypt(nonce, plaintext.encode(), label.encode())
    body = base64.urlsafe_b64encode(nonce + sealed).decode()
    return f"{PREFIX}${ring.primary_id}${body}"


def key_id_of(token: str) -> str:
    parts = token.split("$")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise DecryptionError("value is not a Lifeline ciphertext")
    return parts[1]


def decrypt(token: str, *, label: str) -> str:
    ring = keyring()
    key_id = key_id_of(token)
    if key_id not in ring.keys:
        raise DecryptionError(
            f"{label}: encrypted under key {key_id!r}, which is not in LIFELINE_FIELD_KEYS"
        )
    try:
        raw = base64.urlsafe_b64decode(token.split("$", 2)[2].encode())
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError(f"{label}: ciphertext is corrupted (bad encoding)") from exc
    if len(raw) < NONCE_BYTES + 16:
        raise DecryptionError(f"{label}: ciphertext is corrupted (too short)")
    try:
        plain = ring.cipher(key_id).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], label.encode())
    except InvalidTag as exc:
        raise DecryptionError(
            f"{label}: ciphertext failed authentication; it was altered or the key is wrong"
        ) from exc
    return plain.decode()


@lru_cache(maxsize=8)
def _blind_key(spec: str) -> bytes:
    if not spec:
        raise ImproperlyConfigured("LIFELINE_BLIND_INDEX_KEY is empty")
    return _decode_key(spec, "LIFELINE_BLIND_INDEX_KEY")


def blind_index(value: str, *, purpose: str) -> str:
    """Keyed hash for equality search over an encrypted value. Callers normalise `value` first.

    `purpose` separates indexes (a phone and a passport number with the same digits must
    not collide into one searchable value).
    """
    key = _blind_key(settings.LIFELINE_BLIND_INDEX_KEY)
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
