"""Configuration and static analysis (issue 7, battery F1/F2).

F1: Django's deployment checks pass with the production settings, given generated keys.
F2: bandit over lifeline/ at medium severity or worse finds only the reviewed lines below, each
carrying its written justification next to the code. (ruff's S rules already run in CI.)
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _prod_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIFELINE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        LIFELINE_FIELD_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        LIFELINE_BLIND_INDEX_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        LIFELINE_ALLOWED_HOSTS="lifeline.example.org",
        LIFELINE_VAR_DIR=str(tmp_path),
    )
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_deploy_checks_pass_with_production_settings(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_prod_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
def test_deploy_checks_would_catch_an_insecure_setting(tmp_path):
    """The check above can fail: production settings without HSTS are reported."""
    env = _prod_env(tmp_path)
    settings_dir = tmp_path / "insecure_settings"
    settings_dir.mkdir()
    (settings_dir / "__init__.py").write_text("")
    (settings_dir / "weak.py").write_text(
        "from config.settings.prod import *  # noqa: F403\nSECURE_HSTS_SECONDS = 0\n"
    )
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{ROOT}"
    env["DJANGO_SETTINGS_MODULE"] = "insecure_settings.weak"

    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


@pytest.mark.slow
def test_production_settings_refuse_to_start_without_keys(tmp_path):
    env = _prod_env(tmp_path)
    del env["LIFELINE_FIELD_KEYS"]

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "LIFELINE_FIELD_KEYS must be set in production" in result.stderr


# --- bandit ----------------------------------------------------------------------------------

# Reviewed findings (path, bandit test id). Each line also carries ruff's matching `noqa: S...`
# with the reason: bound parameters only / names from model _meta / SVG built by charts.py,
# which escapes every label.
REVIEWED = {
    ("lifeline/audit/services.py", "B608"),
    ("lifeline/core/rotation.py", "B608"),
    ("lifeline/reports/stats.py", "B608"),
    ("lifeline/reports/pdf.py", "B308"),
    ("lifeline/reports/pdf.py", "B703"),
    ("lifeline/reports/views.py", "B308"),
    ("lifeline/reports/views.py", "B703"),
}


def _bandit() -> list[str] | None:
    """bandit from $LIFELINE_BANDIT, the PATH, or this interpreter; None if absent."""
    explicit = os.environ.get("LIFELINE_BANDIT")
    if explicit:
        return [explicit]
    found = shutil.which("bandit")
    if found:
        return [found]
    try:
        import bandit  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "bandit"]


@pytest.mark.slow
def test_bandit_finds_nothing_unreviewed_at_medium_or_high():
    command = _bandit()
    if command is None:
        pytest.skip("bandit is not installed (pip install bandit==1.9.4)")
    result = subprocess.run(
        [
            *command,
            "-r",
            "lifeline",
            "-x",
            "*/tests/*,*/migrations/*",
            "--severity-level",
            "medium",
            "-f",
            "json",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout)
    found = {(r["filename"].removeprefix("./"), r["test_id"]) for r in report["results"]}
    assert not report["errors"], report["errors"]
    assert found - REVIEWED == set(), "new medium/high bandit findings: review or fix them"
    for path, _test_id in REVIEWED & found:
        lines = [
            r["line_number"] for r in report["results"] if r["filename"].removeprefix("./") == path
        ]
        text = (ROOT / path).read_text().splitlines()
        for number in lines:
            assert "noqa: S" in text[number - 1], f"{path}:{number} lost its justification"
