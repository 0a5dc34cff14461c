"""Helpers for tests that act as a person at a browser."""

from __future__ import annotations

import time

from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def english_client(**kwargs: object) -> Client:
    """A browser asking for English, so assertions on wording do not depend on the Khmer
    catalogue (the site default) being complete."""
    return Client(headers={"Accept-Language": "en"}, **kwargs)


def totp_code(device: TOTPDevice) -> str:
    """A code the device will accept now, computed with django_otp.oath.totp.

    Right after a log-in in the same 30-second step the current code counts as a replay, so we
    take the next step's code (the device tolerates one step of drift).
    """
    device.refresh_from_db()
    current = (int(time.time()) - device.t0) // device.step + device.drift
    ahead = max(0, device.last_t + 1 - current)
    assert ahead <= device.tolerance, "logged in too often within one TOTP step"
    code = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0 - ahead * device.step,
        digits=device.digits,
        drift=device.drift,
    )
    return f"{code:0{device.digits}d}"
