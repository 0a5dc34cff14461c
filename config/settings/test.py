"""Test settings: fresh random keys per run, fast hashing is NOT used (we test the real hasher)."""

from __future__ import annotations

import base64
import secrets

from .base import *  # noqa: F403
from .base import INSTALLED_APPS

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SECRET_KEY = secrets.token_urlsafe(50)
LIFELINE_FIELD_KEYS = "t1:" + base64.b64encode(secrets.token_bytes(32)).decode()
LIFELINE_BLIND_INDEX_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
LIFELINE_DEMO_TOOLS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A test-only model with an encrypted column (raw-database canary and key rotation tests).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Serve static files from the apps' folders; tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
