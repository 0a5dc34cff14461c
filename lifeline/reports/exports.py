"""CSV and JSON of a ReportData: the same numbers as the PDF, for analysts and machines.

CSV is long format, one line per number: figure, its title, unit, period, source, row, column,
value, and whether the value is shown or withheld. Margins use the row or column "total". JSON
keeps the figures' shape. Both are rendered in the report's language; a public report is refused
unless it passes the disclosure checks.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.utils import translation

from .data import UNIT_LABELS, ReportData, public_problems, values_by_position
from .disclosure import DisclosureError

CSV_HEADER = [
    "figure",
    "title",
    "unit",
    "unit_label",
    "period_start",
    "period_end",
    "source",
    "row",
    "column",
    "value",
    "status",
]


def ensure_publishable(report: ReportData) -> None:
    """Refuse a public report that fails the suppression or label checks."""
    if report.public:
        problems = public_problems(report)
        if problems:
            raise DisclosureError("; ".join(problems))


def report_csv(report: ReportData) -> str:
    ensure_publishable(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    with translation.override(report.language):
        for figure in report.figures:
            for (row, column), value in values_by_position(figure).items():
                writer.writerow(
                    [
                        figure.key,
                        str(figure.title),
                        figure.unit.value,
                        str(UNIT_LABELS[figure.unit]),
                        figure.period.start.isoformat(),
                        figure.period.end.isoformat(),
                        str(figure.source),
                        row,
                        column,
                        "" if value is None else value,
                        "withheld" if value is None else "shown",
                    ]
                )
    return out.getvalue()


def report_dict(report: ReportData) -> dict[str, Any]:
    ensure_publishable(report)
    with translation.override(report.language):
        return {
            "title": str(report.title),
            "year": report.year,
            "language": report.language,
            "public": report.public,
            "generated_at": report.generated_at.isoformat(),
            "persons": report.persons,
            "persons_range": list(report.persons_range) if report.persons_range else None,
            "suppression_threshold": report.k if report.public else None,
            "method": [str(p) for p in report.method],
            "figures": [
                {
                    "key": f.key,
                    "title": str(f.title),
                    "unit": f.unit.value,
                    "unit_label": str(UNIT_LABELS[f.unit]),
                    "period": {
                        "start": f.period.start.isoformat(),
                        "end": f.period.end.isoformat(),
                        "basis": "first_event_date",
                    },
                    "source": str(f.source),
                    "rows": [str(r) for r in f.rows],
                    "columns": [str(c) for c in f.columns],
                    "cells": [list(row) for row in f.cells],
                    "row_totals": None if f.row_totals is None else list(f.row_totals),
                    "column_totals": None if f.column_totals is None else list(f.column_totals),
                    "total": f.total,
                    "note": str(f.note),
                }
                for f in report.figures
            ],
        }


def report_json(report: ReportData) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2)
