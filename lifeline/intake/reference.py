"""Readable, unguessable references (LL-7K3Q-9XD2) and the short status code."""

from __future__ import annotations

import secrets

# Crockford-style alphabet without 0/O, 1/I/L, U: readable over a bad phone line.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(prefix: str = "LL") -> str:
    """8 random symbols from 30: ~39 bits, far beyond guessing at the throttled rate.

    Help requests are LL-…; other records (cases: CS-…) use the same scheme with their prefix."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{prefix}-{body[:4]}-{body[4:]}"


def new_status_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(6))


def normalise_reference(text: str) -> str:
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if cleaned.startswith("LL"):
        cleaned = cleaned[2:]
    return f"LL-{cleaned[:4]}-{cleaned[4:8]}" if len(cleaned) == 8 else ""
