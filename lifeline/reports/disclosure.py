"""Disclosure control for published count tables: small-cell suppression that an audit proves.

A public table must not show, or let anyone work out, a count of 1 to k-1 people (k = 11, as
CTDC publishes). Three steps, each usable on its own:

1. **Primary suppression.** Every count (cell or total) from 1 to k-1 is withheld. Zeros are shown
   by default: "nobody" is not a person to protect, and showing them is common practice (CMS).
2. **Complementary suppression.** Withholding one cell of a row whose total is shown hides nothing,
   so more cells (and if needed totals) are withheld until the audit passes. The choice is a
   greedy heuristic; it never has to be right, because step 3 decides.
3. **Audit.** For every withheld value, the audit computes the interval of values it could take
   given everything published: the shown cells and totals, the additive relations between them,
   and what the published method tells an attacker (withheld values are at least 1 when zeros are
   always shown). It solves two linear programmes per withheld value (minimise, maximise) with
   HiGHS. The
   constraint matrix of a one- or two-way table with margins is the incidence matrix of a bipartite
   graph, hence totally unimodular, so the linear bounds are attained by integer tables: the
   intervals are exact, not approximations. A table fails when an interval is narrower than the
   protection width (k - 1 by default), i.e. when the value is pinned down or nearly so.

The audit reads only the published table, so anyone (a reviewer, CI, the public) can rerun it
without the hidden values. Linked tables that share margins must be audited together; this
module audits one table at a time (see docs/adr/0009).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import highspy
import numpy as np

K_THRESHOLD = 11
TOTAL = -1

# (row, column); TOTAL in either place addresses a margin, (TOTAL, TOTAL) the grand total.
Key = tuple[int, int]


class DisclosureError(Exception):
    """The table cannot be published as asked (it would disclose, or it is inconsistent)."""


# --- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """Counts by one or two categorical variables, with their margins.

    A two-way table has cells (i, j), row totals (i, TOTAL), column totals (TOTAL, j) and a grand
    total (TOTAL, TOTAL). A one-way table has one column: cells (i, 0) and the total (TOTAL, 0).
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    one_way: bool = False

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.rows):
            raise ValueError("one row of counts per row label")
        if any(len(row) != len(self.columns) for row in self.counts):
            raise ValueError("one count per column label in every row")
        if self.one_way and len(self.columns) != 1:
            raise ValueError("a one-way table has exactly one column")
        if any(count < 0 or int(count) != count for row in self.counts for count in row):
            raise ValueError("counts are non-negative integers")

    @classmethod
    def one_dimensional(
        cls, labels: Sequence[str], counts: Sequence[int], *, column: str = ""
    ) -> Table:
        return cls(tuple(labels), (column,), tuple((int(c),) for c in counts), one_way=True)

    @classmethod
    def two_dimensional(
        cls, rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[int]]
    ) -> Table:
        return cls(tuple(rows), tuple(columns), tuple(tuple(int(c) for c in r) for r in counts))

    @property
    def shape(self) -> TableShape:
        return TableShape(self.rows, self.columns, self.one_way)

    def values(self) -> dict[Key, int]:
        """Every cell and total by key."""
        out: dict[Key, int] = {}
        for i, row in enumerate(self.counts):
            for j, count in enumerate(row):
                out[(i, j)] = count
        if self.one_way:
            out[(TOTAL, 0)] = sum(row[0] for row in self.counts)
            return out
        for i, row in enumerate(self.counts):
            out[(i, TOTAL)] = sum(row)
        for j in range(len(self.columns)):
            out[(TOTAL, j)] = sum(row[j] for row in self.counts)
        out[(TOTAL, TOTAL)] = sum(sum(row) for row in self.counts)
        return out

    def publish(self, withheld: Iterable[Key] = ()) -> PublishedTable:
        hidden = set(withheld)
        return PublishedTable(
            self.shape, {key: None if key in hidden else v for key, v in self.values().items()}
        )


@dataclass(frozen=True)
class TableShape:
    """Labels and the additive relations between cells and totals."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    one_way: bool = False

    def positions(self) -> list[Key]:
        n_rows, n_cols = len(self.rows), len(self.columns)
        keys = [(i, j) for i in range(n_rows) for j in range(n_cols)]
        if self.one_way:
            return [*keys, (TOTAL, 0)]
        keys += [(i, TOTAL) for i in range(n_rows)]
        keys += [(TOTAL, j) for j in range(n_cols)]
        return [*keys, (TOTAL, TOTAL)]

    def relations(self) -> list[tuple[Key, tuple[Key, ...]]]:
        """Each (total, parts): the total equals the sum of its parts."""
        n_rows, n_cols = len(self.rows), len(self.columns)
        if self.one_way:
            return [((TOTAL, 0), tuple((i, 0) for i in range(n_rows)))]
        relations = [((i, TOTAL), tuple((i, j) for j in range(n_cols))) for i in range(n_rows)]
        relations += [((TOTAL, j), tuple((i, j) for i in range(n_rows))) for j in range(n_cols)]
        # The grand total against the row totals; against the column totals it is implied.
        relations.append(((TOTAL, TOTAL), tuple((i, TOTAL) for i in range(n_rows))))
        return relations

    def label(self, key: Key) -> str:
        i, j = key
        row = "total" if i == TOTAL else self.rows[i]
        if self.one_way:
            return row
        column = "total" if j == TOTAL else self.columns[j]
        return f"{row} × {column}"  # noqa: RUF001 (a multiplication sign)


@dataclass(frozen=True)
class PublishedTable:
    """What leaves the system: every cell and total, or None where it is withheld."""

    shape: TableShape
    values: Mapping[Key, int | None]

    @property
    def withheld(self) -> list[Key]:
        return [key for key in self.shape.positions() if self.values[key] is None]

    def cell(self, i: int, j: int = 0) -> int | None:
        return self.values[(i, j)]

    def row_total(self, i: int) -> int | None:
        return self.values[(i, 0) if self.shape.one_way else (i, TOTAL)]

    def column_total(self, j: int) -> int | None:
        return self.values[(TOTAL, j)]

    @property
    def total(self) -> int | None:
        return self.values[(TOTAL, 0) if self.shape.one_way else (TOTAL, TOTAL)]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: labels, cells, margins; None where withheld."""
        rows = range(len(self.shape.rows))
        columns = range(len(self.shape.columns))
        out: dict[str, object] = {
            "rows": list(self.shape.rows),
            "columns": list(self.shape.columns),
            "cells": [[self.values[(i, j)] for j in columns] for i in rows],
            "total": self.total,
        }
        if not self.shape.one_way:
            out["row_totals"] = [self.values[(i, TOTAL)] for i in rows]
            out["column_totals"] = [self.values[(TOTAL, j)] for j in columns]
        return out


# --- audit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float  # math.inf when unbounded

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class AuditReport:
    intervals: dict[Key, Interval]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


class _Problem:
    """The withheld values as unknowns, constrained by every published relation."""

    def __init__(self, published: PublishedTable, lower_bound: int) -> None:
        self.keys = published.withheld
        self.index = {key: n for n, key in enumerate(self.keys)}
        self.lower_bound = lower_bound
        self.inconsistent: list[str] = []
        self.alone: set[Key] = set()
        # Column-wise sparse matrix of the relations that involve an unknown.
        columns: list[list[tuple[int, float]]] = [[] for _ in self.keys]
        rhs: list[float] = []
        for total, parts in published.shape.relations():
            # total - sum(parts) = 0, with the published values moved to the right-hand side.
            constant = 0.0
            unknowns: list[tuple[Key, float]] = []
            for key, sign in [(total, 1.0), *((part, -1.0) for part in parts)]:
                value = published.values[key]
                if value is None:
                    unknowns.append((key, sign))
                else:
                    constant += sign * value
            if not unknowns:
                if constant != 0:
                    self.inconsistent.append(published.shape.label(total))
                continue
            if len(unknowns) == 1:
                self.alone.add(unknowns[0][0])
            for key, sign in unknowns:
                columns[self.index[key]].append((len(rhs), sign))
            rhs.append(-constant)
        self._solver = _solver(columns, rhs, lower_bound) if rhs else None

    def interval(self, key: Key) -> Interval:
        if self._solver is None:
            return Interval(self.lower_bound, math.inf)
        n = len(self.keys)
        solver = self._solver
        cost = np.zeros(n)
        cost[self.index[key]] = 1.0
        solver.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        solver.changeObjectiveSense(highspy.ObjSense.kMinimize)
        solver.run()
        if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise DisclosureError("the published values contradict each other")
        low = solver.getInfo().objective_function_value
        solver.changeObjectiveSense(highspy.ObjSense.kMaximize)
        solver.run()
        status = solver.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            high = solver.getInfo().objective_function_value
            # Totally unimodular constraints: the optimum is integral up to solver tolerance.
            return Interval(math.ceil(low - 1e-6), math.floor(high + 1e-6))
        # Feasible (the minimum exists), so "unbounded or infeasible" means unbounded.
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return Interval(math.ceil(low - 1e-6), math.inf)
        raise DisclosureError(f"linear programme failed: {solver.modelStatusToString(status)}")


def _solver(columns: list[list[tuple[int, float]]], rhs: list[float], lower: int) -> highspy.Highs:
    """A HiGHS model of: A x = rhs, x >= lower. Kept between solves; only the objective changes."""
    lp = highspy.HighsLp()
    lp.num_col_ = len(columns)
    lp.num_row_ = len(rhs)
    lp.col_cost_ = np.zeros(len(columns))
    lp.col_lower_ = np.full(len(columns), float(lower))
    lp.col_upper_ = np.full(len(columns), highspy.kHighsInf)
    lp.row_lower_ = np.array(rhs)
    lp.row_upper_ = np.array(rhs)
    starts, rows, values = [0], [], []
    for column in columns:
        for row, value in column:
            rows.append(row)
            values.append(value)
        starts.append(len(rows))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(rows, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(values)
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    # Each solve changes only the objective: without presolve HiGHS restarts from the last basis.
    solver.setOptionValue("presolve", "off")
    solver.passModel(lp)
    return solver


def audit(
    published: PublishedTable,
    *,
    k: int = K_THRESHOLD,
    protection: int | None = None,
    zeros_shown: bool = True,
) -> AuditReport:
    """Prove (or refute) that the published table discloses no count below k.

    Fails when a shown value lies in 1..k-1 (or is 0 while zeros are meant to be withheld), when
    shown values contradict each other, or when a withheld value's feasible interval is narrower
    than `protection` (default k - 1). Uses only what is published.
    """
    protection = k - 1 if protection is None else protection
    problems: list[str] = []
    for key in published.shape.positions():
        value = published.values[key]
        if value is not None and (0 < value < k or (value == 0 and not zeros_shown)):
            problems.append(f"{published.shape.label(key)}: {value} is shown but below {k}")
    problem = _Problem(published, lower_bound=1 if zeros_shown else 0)
    problems += [f"{label}: shown total differs from its parts" for label in problem.inconsistent]
    intervals: dict[Key, Interval] = {}
    if not problem.inconsistent:
        for key in problem.keys:
            interval = problem.interval(key)
            intervals[key] = interval
            if interval.width < protection:
                problems.append(
                    f"{published.shape.label(key)}: withheld, but derivable within "
                    f"[{interval.low:g}, {interval.high:g}]"
                )
    return AuditReport(intervals, problems)


def assert_publishable(
    published: PublishedTable,
    *,
    k: int = K_THRESHOLD,
    protection: int | None = None,
    zeros_shown: bool = True,
) -> None:
    """Raise DisclosureError unless the audit passes. Every public output calls this last."""
    report = audit(published, k=k, protection=protection, zeros_shown=zeros_shown)
    if not report.passed:
        raise DisclosureError("; ".join(report.problems))


# --- suppression ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suppression:
    published: PublishedTable
    primary: frozenset[Key]
    complementary: frozenset[Key]
    audit: AuditReport


def primary_suppressions(
    table: Table, *, k: int = K_THRESHOLD, zeros_shown: bool = True
) -> set[Key]:
    """Cells and totals counting 1..k-1 people (and 0 when zeros are withheld too)."""
    return {
        key
        for key, value in table.values().items()
        if 0 < value < k or (value == 0 and not zeros_shown)
    }


def suppress(
    table: Table,
    *,
    k: int = K_THRESHOLD,
    protection: int | None = None,
    zeros_shown: bool = True,
) -> Suppression:
    """Withhold small counts, then further cells until the audit proves nothing small leaks."""
    protection = k - 1 if protection is None else protection
    values = table.values()
    shape = table.shape
    primary = primary_suppressions(table, k=k, zeros_shown=zeros_shown)
    withheld = set(primary)
    relations = shape.relations()
    member_of: dict[Key, list[int]] = {key: [] for key in values}
    for n, (total, parts) in enumerate(relations):
        for key in (total, *parts):
            member_of[key].append(n)

    def eligible(key: Key) -> bool:
        # A shown zero stays shown: withholding it would contradict "withheld means at least 1".
        return key not in withheld and (values[key] != 0 or not zeros_shown)

    def cost(key: Key, via: int) -> tuple[int, int, int]:
        # Prefer a cell whose other relation already hides something: it closes a cycle of
        # withheld cells, and cycles are what protect them. Then interior cells over totals,
        # then small counts (less information lost).
        joins = any(
            m in withheld and m != key
            for n in member_of[key]
            if n != via
            for m in (relations[n][0], *relations[n][1])
        )
        return (int(TOTAL in key), int(not joins), values[key])

    # Withholding more only widens intervals, so a value once protected stays protected.
    protected: set[Key] = set()
    while True:
        published = table.publish(withheld)
        failing = _first_failure(
            published, protection=protection, zeros_shown=zeros_shown, protected=protected
        )
        if failing is None:
            break
        candidate = _pick_candidate(failing, relations, member_of, withheld, eligible, cost)
        if candidate is None:
            raise DisclosureError(f"no cell left to withhold to protect {shape.label(failing)}")
        withheld.add(candidate)

    report = audit(published, k=k, protection=protection, zeros_shown=zeros_shown)
    if not report.passed:  # the loop above audits the same way; this is the proof on record
        raise DisclosureError("; ".join(report.problems))
    return Suppression(published, frozenset(primary), frozenset(withheld - primary), report)


def _first_failure(
    published: PublishedTable, *, protection: int, zeros_shown: bool, protected: set[Key]
) -> Key | None:
    problem = _Problem(published, lower_bound=1 if zeros_shown else 0)
    if problem.inconsistent:
        raise DisclosureError("the table's totals differ from its parts")
    # A value that is the only unknown of a relation is pinned: no solver needed.
    for key in problem.keys:
        if key in problem.alone and protection > 0:
            return key
    for key in problem.keys:
        if key in protected:
            continue
        if problem.interval(key).width < protection:
            return key
        protected.add(key)
    return None


def _pick_candidate(
    failing: Key,
    relations: list[tuple[Key, tuple[Key, ...]]],
    member_of: dict[Key, list[int]],
    withheld: set[Key],
    eligible: Callable[[Key], bool],
    cost: Callable[[Key, int], tuple[int, int, int]],
) -> Key | None:
    def members(n: int) -> tuple[Key, ...]:
        return (relations[n][0], *relations[n][1])

    # The relation where the failing value has the fewest withheld companions is the one that
    # pins it; hide one more member there.
    ranked = sorted(member_of[failing], key=lambda n: sum(1 for m in members(n) if m in withheld))
    for n in ranked:
        options = [m for m in members(n) if eligible(m)]
        if options:
            return min(options, key=lambda m: cost(m, n))
    # Every relation of the failing value is used up: widen through a neighbouring relation.
    neighbours = {m for n in member_of[failing] for m in members(n) if m in withheld}
    pairs = [(m, n) for w in neighbours for n in member_of[w] for m in members(n) if eligible(m)]
    if not pairs:
        pairs = [(m, -1) for m in member_of if eligible(m)]
    return min(pairs, key=lambda pair: cost(*pair))[0] if pairs else None


# --- coarsening: what public outputs may show ------------------------------------------------


class PeriodLevel(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def coarsen_date(value: date | datetime, level: PeriodLevel = PeriodLevel.MONTH) -> str:
    """A public period label: "2022-03", "2022-Q1" or "2022". Never a day."""
    if level is PeriodLevel.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    if level is PeriodLevel.QUARTER:
        return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"
    return f"{value.year:04d}"


# Cambodia's gazetteer codes (NCDD): province 2 digits, district 4, commune 6, village 8.
_GEOCODE = re.compile(r"^\d{2}(\d{2}){0,3}$")


def coarsen_geocode(code: str) -> str:
    """The province part of a Cambodian administrative code; districts, communes and villages
    never appear in public outputs."""
    code = code.strip()
    if not _GEOCODE.match(code):
        raise ValueError(f"not a Cambodian administrative code: {code!r}")
    return code[:2]


_EXACT_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_FINE_GEOCODE = re.compile(r"\b\d{4}(\d{2}){0,2}\b")


def public_label_problems(labels: Iterable[str]) -> list[str]:
    """Labels that look like an exact date or a sub-province code (years like 2022 are fine)."""
    problems = []
    for label in labels:
        if _EXACT_DATE.search(label):
            problems.append(f"{label!r} looks like an exact date")
        elif any(len(m.group(0)) > 4 for m in _FINE_GEOCODE.finditer(label)):
            problems.append(f"{label!r} looks like a district, commune or village code")
    return problems


def unique_combinations(
    records: Iterable[Mapping[str, object]], quasi_identifiers: Sequence[str], *, k: int = 2
) -> list[tuple[object, ...]]:
    """Combinations of quasi-identifier values that fewer than k records share (k=2: uniques).

    For the re-identification check on any public record-level output."""
    counts: dict[tuple[object, ...], int] = {}
    for record in records:
        combination = tuple(record.get(q) for q in quasi_identifiers)
        counts[combination] = counts.get(combination, 0) + 1
    return sorted((c for c, n in counts.items() if n < k), key=repr)
