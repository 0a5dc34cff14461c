"""What a report says, as plain data: figures that each state their unit, period and source.

Selectors (written elsewhere) fill a `ReportData`; the PDF, CSV and JSON writers and the dashboard
render the same object, so they cannot disagree. Labels are translated strings (or lazy ones,
rendered under the report's language). A public report must pass `public_problems`: every figure
rests on a count table that the disclosure audit proves safe, and no label shows an exact date or
a commune.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from . import charts
from .disclosure import (
    K_THRESHOLD,
    TOTAL,
    PublishedTable,
    TableShape,
    audit,
    public_label_problems,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
else:
    StrOrPromise = str

Number = int | float


class Unit(StrEnum):
    """What one counts. Persons are deduplicated clusters; the others are records."""

    PERSONS = "persons"
    CASES = "cases"
    REQUESTS = "requests"
    EVENTS = "events"
    DAYS = "days"


UNIT_LABELS = {
    Unit.PERSONS: gettext_lazy("persons (deduplicated)"),
    Unit.CASES: gettext_lazy("cases"),
    Unit.REQUESTS: gettext_lazy("help requests"),
    Unit.EVENTS: gettext_lazy("events"),
    Unit.DAYS: gettext_lazy("days"),
}


class ChartKind(StrEnum):
    """How a figure is drawn, and which columns the chart reads:

    - FUNNEL: rows are steps; column 0 the count, column 1 (optional) median days to the next.
    - RANKED_BARS: rows are categories; column 0 (one-way) or the row totals (two-way).
    - TREND: rows are months or quarters in order; column 0 (one-way) or the row totals.
    - RESPONSE_TIMES: rows are authorities; columns: median days, requests, share unanswered
      after 30 days (0..1).
    - NONE: a table only.
    """

    FUNNEL = "funnel"
    RANKED_BARS = "ranked_bars"
    TREND = "trend"
    RESPONSE_TIMES = "response_times"
    NONE = "none"


@dataclass(frozen=True)
class Period:
    """Inclusive dates; records fall in the period by their first event date."""

    start: date
    end: date

    @property
    def label(self) -> str:
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31):
            if self.start.year == self.end.year:
                return f"{self.start.year}"
            return f"{self.start.year}\u2013{self.end.year}"
        return f"{self.start:%Y-%m}\u2013{self.end:%Y-%m}"


@dataclass(frozen=True)
class Figure:
    key: str  # stable identifier: "destination", "funnel", ...
    title: StrOrPromise
    unit: Unit
    period: Period
    source: StrOrPromise
    rows: tuple[StrOrPromise, ...]
    columns: tuple[StrOrPromise, ...]
    cells: tuple[tuple[Number | None, ...], ...]  # None: withheld
    row_totals: tuple[Number | None, ...] | None = None
    column_totals: tuple[Number | None, ...] | None = None
    total: Number | None = None
    chart: ChartKind = ChartKind.NONE
    note: StrOrPromise = ""
    # The counts this figure rests on, as published; a public report audits them.
    support: PublishedTable | None = None
    # Per column: "number" (default) or "share" (0..1, shown as a percentage).
    column_formats: tuple[str, ...] | None = None

    @classmethod
    def from_counts(
        cls,
        *,
        key: str,
        title: StrOrPromise,
        unit: Unit,
        period: Period,
        source: StrOrPromise,
        table: PublishedTable,
        chart: ChartKind = ChartKind.NONE,
        note: StrOrPromise = "",
    ) -> Figure:
        """A figure showing a count table as published (after suppression or noise)."""
        shape = table.shape
        n_rows, n_cols = len(shape.rows), len(shape.columns)
        cells = tuple(tuple(table.values[(i, j)] for j in range(n_cols)) for i in range(n_rows))
        two_way = not shape.one_way
        return cls(
            key=key,
            title=title,
            unit=unit,
            period=period,
            source=source,
            rows=shape.rows,
            columns=shape.columns,
            cells=cells,
            row_totals=tuple(table.values[(i, TOTAL)] for i in range(n_rows)) if two_way else None,
            column_totals=(
                tuple(table.values[(TOTAL, j)] for j in range(n_cols)) if two_way else None
            ),
            total=table.total,
            chart=chart,
            note=note,
            support=table,
        )

    def series(self) -> list[charts.Bar]:
        """The values a bar or line chart draws: column 0, or the row totals of a two-way table."""
        values = self.row_totals if self.row_totals is not None else [r[0] for r in self.cells]
        return [charts.Bar(str(label), v) for label, v in zip(self.rows, values, strict=True)]

    def svg(self) -> str:
        title, unit = str(self.title), str(UNIT_LABELS[self.unit])
        if self.chart is ChartKind.RANKED_BARS:
            return charts.ranked_bars(title, unit, self.series())
        if self.chart is ChartKind.TREND:
            return charts.trend_line(title, unit, self.series())
        if self.chart is ChartKind.FUNNEL:
            steps = [
                charts.FunnelStep(
                    str(label),
                    None if row[0] is None else int(row[0]),
                    row[1] if len(row) > 1 else None,
                )
                for label, row in zip(self.rows, self.cells, strict=True)
            ]
            return charts.funnel_chart(title, unit, steps)
        if self.chart is ChartKind.RESPONSE_TIMES:
            items = [
                charts.ResponseTime(
                    str(label),
                    row[0],
                    None if len(row) < 2 or row[1] is None else int(row[1]),
                    row[2] if len(row) > 2 else None,
                )
                for label, row in zip(self.rows, self.cells, strict=True)
            ]
            return charts.response_time_bars(title, items)
        return ""

    def labels(self) -> list[str]:
        return [str(x) for x in (self.title, *self.rows, *self.columns, self.note)]


@dataclass(frozen=True)
class ReportData:
    title: StrOrPromise
    year: int
    language: str  # "km" or "en"
    public: bool
    generated_at: datetime
    figures: tuple[Figure, ...]
    # Persons after record linkage: the point estimate and its range (uncertain links).
    persons: int | None = None
    persons_range: tuple[int, int] | None = None
    method: tuple[StrOrPromise, ...] = field(default_factory=tuple)
    k: int = K_THRESHOLD

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def method_paragraphs(*, public: bool, k: int = K_THRESHOLD, epsilon: str = "") -> list[str]:
    """The standard method text: units, period rule, linkage, and (public) disclosure control."""
    paragraphs = [
        gettext(
            "Every figure states its unit. Persons are counted once across agencies after record "
            "linkage; cases, help requests and events are counted as records."
        ),
        gettext(
            "Records belong to a period by the date of their first event, so a person helped in "
            "two years is counted in the first."
        ),
        gettext(
            "Record linkage is uncertain: the number of persons is given with the range between "
            "the strictest and the loosest accepted matching."
        ),
    ]
    if public:
        paragraphs.append(
            gettext(
                "To protect the people counted, no count from 1 to %(below)s is shown, and further "
                "cells are withheld where they would let a reader work such a count out; a "
                "published audit checks every table. Dates are shown by month at most, places by "
                "province at most."
            )
            % {"below": k - 1}
        )
        if epsilon:
            paragraphs.append(
                gettext(
                    "Counts marked as noisy are differentially private "
                    "(ε = %(epsilon)s per table): random noise is added so that no one person's "
                    "presence can be inferred."
                )
                % {"epsilon": epsilon}
            )
    return paragraphs


def public_problems(report: ReportData) -> list[str]:
    """Why this report may not be published (empty when it may)."""
    problems: list[str] = []
    for figure in report.figures:
        if figure.support is None:
            problems.append(f"{figure.key}: no count table to audit")
        else:
            result = audit(figure.support, k=report.k)
            problems += [f"{figure.key}: {p}" for p in result.problems]
        problems += [f"{figure.key}: {p}" for p in public_label_problems(figure.labels())]
    return problems


def values_by_position(figure: Figure) -> dict[tuple[str, str], Number | None]:
    """Every number of a figure keyed by (row label, column label), "total" for margins."""
    out: dict[tuple[str, str], Number | None] = {}
    for label, row in zip(figure.rows, figure.cells, strict=True):
        for column, value in zip(figure.columns, row, strict=True):
            out[(str(label), str(column))] = value
    if figure.row_totals is not None:
        for label, value in zip(figure.rows, figure.row_totals, strict=True):
            out[(str(label), "total")] = value
    if figure.column_totals is not None:
        for column, value in zip(figure.columns, figure.column_totals, strict=True):
            out[("total", str(column))] = value
    if figure.total is not None or figure.support is not None:
        out[("total", "total")] = figure.total
    return out


# --- as plain JSON (the dashboard's snapshots) ----------------------------------------------


def _table_to_dict(table: PublishedTable) -> dict[str, Any]:
    return {
        "rows": list(table.shape.rows),
        "columns": list(table.shape.columns),
        "one_way": table.shape.one_way,
        "values": [[i, j, v] for (i, j), v in table.values.items()],
    }


def _table_from_dict(data: dict[str, Any]) -> PublishedTable:
    shape = TableShape(tuple(data["rows"]), tuple(data["columns"]), one_way=data["one_way"])
    return PublishedTable(shape, {(i, j): v for i, j, v in data["values"]})


def _optional_tuple(values: Sequence[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


def figure_to_dict(figure: Figure) -> dict[str, Any]:
    """Every field of a figure as JSON, labels rendered in the active language."""
    return {
        "key": figure.key,
        "title": str(figure.title),
        "unit": figure.unit.value,
        "period": [figure.period.start.isoformat(), figure.period.end.isoformat()],
        "source": str(figure.source),
        "rows": [str(r) for r in figure.rows],
        "columns": [str(c) for c in figure.columns],
        "cells": [list(row) for row in figure.cells],
        "row_totals": None if figure.row_totals is None else list(figure.row_totals),
        "column_totals": None if figure.column_totals is None else list(figure.column_totals),
        "total": figure.total,
        "chart": figure.chart.value,
        "note": str(figure.note),
        "support": None if figure.support is None else _table_to_dict(figure.support),
        "column_formats": None if figure.column_formats is None else list(figure.column_formats),
    }


def figure_from_dict(data: dict[str, Any]) -> Figure:
    start, end = data["period"]
    return Figure(
        key=data["key"],
        title=data["title"],
        unit=Unit(data["unit"]),
        period=Period(date.fromisoformat(start), date.fromisoformat(end)),
        source=data["source"],
        rows=tuple(data["rows"]),
        columns=tuple(data["columns"]),
        cells=tuple(tuple(row) for row in data["cells"]),
        row_totals=_optional_tuple(data["row_totals"]),
        column_totals=_optional_tuple(data["column_totals"]),
        total=data["total"],
        chart=ChartKind(data["chart"]),
        note=data["note"],
        support=None if data["support"] is None else _table_from_dict(data["support"]),
        column_formats=_optional_tuple(data["column_formats"]),
    )


def report_to_dict(report: ReportData) -> dict[str, Any]:
    """A report as JSON, every lazy label rendered now in the report's language (so that it
    reads the same whatever language is active when it is loaded)."""
    with translation.override(report.language):
        return {
            "title": str(report.title),
            "year": report.year,
            "language": report.language,
            "public": report.public,
            "generated_at": report.generated_at.isoformat(),
            "figures": [figure_to_dict(f) for f in report.figures],
            "persons": report.persons,
            "persons_range": None if report.persons_range is None else list(report.persons_range),
            "method": [str(m) for m in report.method],
            "k": report.k,
        }


def report_from_dict(data: dict[str, Any]) -> ReportData:
    persons_range = data["persons_range"]
    return ReportData(
        title=data["title"],
        year=data["year"],
        language=data["language"],
        public=data["public"],
        generated_at=datetime.fromisoformat(data["generated_at"]),
        figures=tuple(figure_from_dict(f) for f in data["figures"]),
        persons=data["persons"],
        persons_range=None if persons_range is None else (persons_range[0], persons_range[1]),
        method=tuple(data["method"]),
        k=data["k"],
    )
