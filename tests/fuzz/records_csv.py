"""atheris target (battery E3): the records CSV import of `lifeline dedup link`.

Any bytes as the input file, read and prepared for linkage. Allowed: ValueError (the command
turns it into a one-line error) and rows reported as bad with their line number. Anything else
is a crash, and so is a row that is neither used nor reported.

    python -m tests.fuzz.records_csv -max_total_time=120
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["lifeline"]):
    from lifeline.people import linkage

SCRATCH = Path(tempfile.mkdtemp(prefix="fuzz-csv-")) / "records.csv"


def test_one_input(blob: bytes) -> None:
    SCRATCH.write_bytes(blob)
    try:
        frame, _bad = linkage.read_records_csv(SCRATCH)
    except ValueError:  # the command prints it and exits non-zero
        return
    if frame.empty:  # as `link_csv`: an empty output, and the bad rows reported
        return
    try:
        features, more_bad = linkage.prepare(frame)
    except ValueError:
        return
    # Every row read is either prepared or reported with its line number.
    assert len(features) + len(more_bad) == len(frame), (len(features), len(more_bad), len(frame))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
