"""CSV, JSON and XLSX of a ReportData: the same numbers as the PDF, for analysts and machines.

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
from django.utils.translation import gettext as _

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


WITHHELD = "x"


def _sheet_name(key: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    base = "".join("-" if ch in "[]:*?/\\" else ch for ch in key)[:28] or "figure"
    name, n = base, 2
    while name.lower() in used:
        name, n = f"{base[:26]}-{n}", n + 1
    used.add(name.lower())
    return name


def report_xlsx(report: ReportData) -> bytes:
    """The report as a workbook: a cover sheet (title, persons with their range, method) and one
    sheet per figure with its unit, period, source and table. Withheld cells read "x", as in the
    PDF; the numbers are the JSON's."""
    import xlsxwriter  # imported here: only this writer needs it

    data = report_dict(report)  # refuses an unpublishable public report
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    heading = book.add_format({"bold": True, "font_size": 14})
    cover = book.add_worksheet("Report")
    used = {"report"}
    cover.write(0, 0, data["title"], heading)
    with translation.override(report.language):
        labels = {
            "persons": str(_("Persons helped")),
            "range": str(_("Range")),
            "unit": str(_("Unit")),
            "period": str(_("Period")),
            "source": str(_("Source")),
            "total": str(_("Total")),
            "method": str(_("Method")),
        }
    line = 2
    if data["persons"] is not None:
        cover.write(line, 0, labels["persons"], bold)
        cover.write_number(line, 1, data["persons"])
        if data["persons_range"]:
            low, high = data["persons_range"]
            cover.write(line + 1, 0, labels["range"], bold)
            cover.write_number(line + 1, 1, low)
            cover.write_number(line + 1, 2, high)
        line += 3
    cover.write(line, 0, labels["method"], bold)
    for n, paragraph in enumerate(data["method"], start=line + 1):
        cover.write(n, 0, paragraph)
    cover.set_column(0, 0, 28)
    for figure in data["figures"]:
        sheet = book.add_worksheet(_sheet_name(figure["key"], used))
        sheet.write(0, 0, figure["title"], heading)
        period = f"{figure['period']['start']} / {figure['period']['end']}"
        for n, (label, value) in enumerate(
            ((labels["unit"], figure["unit_label"]), (labels["period"], period),
             (labels["source"], figure["source"])),
            start=1,
        ):  # fmt: skip
            sheet.write(n, 0, label, bold)
            sheet.write(n, 1, value)
        top = 5
        with_totals = figure["row_totals"] is not None
        header = ["", *figure["columns"]] + ([labels["total"]] if with_totals else [])
        sheet.write_row(top, 0, header, bold)
        for r, (row, cells) in enumerate(zip(figure["rows"], figure["cells"], strict=True)):
            values = list(cells) + ([figure["row_totals"][r]] if with_totals else [])
            sheet.write(top + 1 + r, 0, row)
            for c, value in enumerate(values, start=1):
                _write_value(sheet, top + 1 + r, c, value)
        bottom = top + 1 + len(figure["rows"])
        if figure["column_totals"] is not None:
            sheet.write(bottom, 0, labels["total"], bold)
            for c, value in enumerate([*figure["column_totals"], figure["total"]], start=1):
                _write_value(sheet, bottom, c, value)
            bottom += 1
        if figure["note"]:
            sheet.write(bottom + 1, 0, figure["note"])
        sheet.set_column(0, 0, 32)
    book.close()
    return buffer.getvalue()


def _write_value(sheet: Any, row: int, column: int, value: Any) -> None:
    if value is None:
        sheet.write_string(row, column, WITHHELD)
    elif isinstance(value, int | float):
        sheet.write_number(row, column, value)
    else:
        sheet.write(row, column, value)
