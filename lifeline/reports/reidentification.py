"""The re-identification check that every public output passes before it is written.

The rule, per kind of output:

- **Public count tables** (the annual report with --public): a cell is the people sharing one
  combination of the table's variables, so a record is "unique on its quasi-identifiers" when a
  shown count is small. No shown count (cell or total) may be 1 to k-1 (k = 11, as CTDC
  publishes), and the disclosure audit must prove that no withheld count can be worked out.
- **Synthetic microdata**: no combination of the quasi-identifiers (sex, age band, province of
  origin, destination) may occur in the file fewer than `microdata_min_count()` times (default 2:
  no unique row). The rows are drawn from a differentially private model, not copied from people,
  so the DP guarantee is what protects each person; this check is the second line. It stops a row
  that *looks* like one identifiable person (a reader cannot tell a synthetic unique from a real
  one), and it catches a broken synthesiser (ε far too large, or copying) that would reproduce the
  rare people of the real data. It reads only the output, so applying it (and dropping the rows
  that fail, which the synthesiser does first) is post-processing and costs no ε.

  Why not k = 11 for microdata as for tables: with four quasi-identifiers (4 x 7 x 27 x 15 =
  11,340 combinations) and 5,000 rows, about 70% of synthetic rows sit in combinations of fewer
  than 11 (measured), so the file would lose most of its content; k = 2 dropped about 9%. The
  setting LIFELINE_SYNTHETIC_MIN_COUNT raises it for a stricter release.

Every function here reads only what would be published, so a reviewer can rerun it on the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings
from django.utils.translation import gettext

from .data import ReportData, public_problems
from .disclosure import K_THRESHOLD, PublishedTable, unique_combinations


class ReidentificationError(Exception):
    """A public output would let a reader single out a person; nothing was written."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def microdata_min_count() -> int:
    """How many rows each quasi-identifier combination of public microdata needs (default 2)."""
    value = int(getattr(settings, "LIFELINE_SYNTHETIC_MIN_COUNT", 2))
    if value < 2:
        raise ValueError("LIFELINE_SYNTHETIC_MIN_COUNT must be at least 2 (no unique rows)")
    return value


def microdata_problems(
    rows: Iterable[Mapping[str, object]],
    quasi_identifiers: Sequence[str],
    *,
    k: int | None = None,
) -> list[str]:
    """One message per quasi-identifier combination that fewer than k rows share."""
    k = microdata_min_count() if k is None else k
    rows = list(rows)
    problems: list[str] = []
    for combination in unique_combinations(rows, quasi_identifiers, k=k):
        described = ", ".join(
            f"{q}={v}" for q, v in zip(quasi_identifiers, combination, strict=True)
        )
        problems.append(
            gettext("fewer than %(k)s rows share %(combination)s")
            % {"k": k, "combination": described}
        )
    missing = sorted({q for row in rows for q in quasi_identifiers if q not in row})
    if missing:
        problems.append(
            gettext("rows lack the quasi-identifiers %(columns)s") % {"columns": ", ".join(missing)}
        )
    return problems


def table_problems(table: PublishedTable, *, k: int = K_THRESHOLD) -> list[str]:
    """Shown counts from 1 to k-1: each is a group of fewer than k people a reader can see."""
    problems = []
    for key in table.shape.positions():
        value = table.values[key]
        if value is not None and 0 < value < k:
            problems.append(
                gettext("%(cell)s shows %(value)s, fewer than %(k)s people")
                % {"cell": table.shape.label(key), "value": value, "k": k}
            )
    return problems


def report_problems(report: ReportData) -> list[str]:
    """Everything that stops a public report: small shown counts, a failed audit, a figure with
    no count table behind it, labels with exact dates or sub-province places."""
    problems: list[str] = []
    if not report.public:
        problems.append(gettext("the report was not built as a public report"))
    for figure in report.figures:
        if figure.support is not None:
            problems += [f"{figure.key}: {p}" for p in table_problems(figure.support, k=report.k)]
    return problems + [p for p in public_problems(report) if p not in problems]


def assert_microdata_releasable(
    rows: Iterable[Mapping[str, object]], quasi_identifiers: Sequence[str], *, k: int | None = None
) -> None:
    problems = microdata_problems(rows, quasi_identifiers, k=k)
    if problems:
        raise ReidentificationError(problems)


def assert_report_releasable(report: ReportData) -> None:
    problems = report_problems(report)
    if problems:
        raise ReidentificationError(problems)
