"""Small TOTP helpers shared by the enrolment page and the demo."""

from __future__ import annotations

import base64

from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_key_b32(device: TOTPDevice) -> str:
    """The device's key as authenticator apps take it by hand: base32, no padding."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")
