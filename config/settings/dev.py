"""Local development and the demo: SQLite by default, keys generated once into var/."""

from __future__ import annotations

import os

from lifeline.core.devkeys import load_or_create_dev_keys

from .base import *  # noqa: F403
from .base import VAR_DIR

DEBUG = os.environ.get("LIFELINE_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

_keys = load_or_create_dev_keys(VAR_DIR / "dev-keys.json")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _keys["secret_key"]
LIFELINE_FIELD_KEYS = os.environ.get("LIFELINE_FIELD_KEYS") or _keys["field_keys"]
LIFELINE_BLIND_INDEX_KEY = os.environ.get("LIFELINE_BLIND_INDEX_KEY") or _keys["blind_index_key"]
LIFELINE_DEMO_TOOLS = True
WHITENOISE_USE_FINDERS = True
