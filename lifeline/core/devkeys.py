"""Development-only keys, created once under var/ so the demo needs no setup.

Production never calls this: config/settings/prod.py requires the keys in the environment.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def new_key_b64() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_or_create_dev_keys(path: Path) -> dict[str, str]:
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "secret_key": secrets.token_urlsafe(50),
        "field_keys": "dev1:" + new_key_b64(),
        "blind_index_key": new_key_b64(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    return data
