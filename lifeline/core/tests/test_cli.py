"""The `lifeline` command line entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_lifeline_check_runs_through_the_cli_entry_point():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    code = "from lifeline.cli import main; main(['lifeline', 'check'])"

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_lifeline_unknown_command_fails():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    code = "from lifeline.cli import main; main(['lifeline', 'no-such-command'])"

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "Unknown command: 'no-such-command'" in result.stderr
