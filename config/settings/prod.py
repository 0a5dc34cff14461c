"""Production: every secret from the environment; refuses to start without them."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production")
    return value


DEBUG = False
SECRET_KEY = _required("DJANGO_SECRET_KEY")
LIFELINE_FIELD_KEYS = _required("LIFELINE_FIELD_KEYS")
LIFELINE_BLIND_INDEX_KEY = _required("LIFELINE_BLIND_INDEX_KEY")
ALLOWED_HOSTS = [h for h in _required("LIFELINE_ALLOWED_HOSTS").split(",") if h]
LIFELINE_DEMO_TOOLS = False

SECURE_SSL_REDIRECT = os.environ.get("LIFELINE_SSL_REDIRECT", "1") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
