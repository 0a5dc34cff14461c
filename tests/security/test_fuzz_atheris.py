"""Battery E3: coverage-guided fuzzing (atheris/libFuzzer) of the parsers that take outside input.

Each target in `tests/fuzz/` runs in its own interpreter for LIFELINE_ATHERIS_SECONDS (120, the
battery's "2 min per target in CI"; 20 in the quick form of the SQLite pass), from the seed
corpus in `tests/fuzz/seeds/`. A crash is any exception the application would not turn into a
clear error, an input slower than 30 s, or more than 2 GB of memory; libFuzzer then exits
non-zero, prints the input and the traceback, and the test fails with them.

Not covered: uploads (there are none yet) and XLSX import (there is no import of XLSX).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CHECKED

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "tests" / "fuzz" / "seeds"
QUICK = os.environ.get("LIFELINE_BATTERY") == "quick"
SECONDS = int(os.environ.get("LIFELINE_ATHERIS_SECONDS", "20" if QUICK else "120"))

TARGETS = ["intake_payload", "records_csv"]


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_survives(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    done = subprocess.run(
        [sys.executable, "-m", f"tests.fuzz.{target}", f"-max_total_time={SECONDS}",
         "-timeout=30", "-rss_limit_mb=2048", "-print_final_stats=1",
         str(corpus), str(SEEDS / target)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SECONDS + 240,
    )  # fmt: skip
    output = done.stderr
    crashes = sorted(
        p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-"))
    )
    tail = "\n".join(
        line for line in output.splitlines() if not line.startswith("INFO: Instrumenting")
    )[-6000:]
    assert done.returncode == 0 and not crashes, f"{target}: {crashes}\n{tail}"
    runs = re.search(r"Done (\d+) runs", output)
    assert runs, tail
    CHECKED[f"atheris {target} runs"] += int(runs.group(1))
    # The fuzzer reached past the first checks: the seeds' coverage, at least.
    coverage = re.findall(r"cov: (\d+)", output)
    assert coverage and int(coverage[-1]) > 100, tail
    shutil.rmtree(corpus, ignore_errors=True)
