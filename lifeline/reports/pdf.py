"""The annual report as HTML and PDF (WeasyPrint), from a ReportData.

The HTML is a standalone print document (templates/reports/annual.html): Khmer OS for both
scripts, charts inline as SVG (no images to fetch, no scripts), each figure with its unit, period
and source, its table, and the method at the end. WeasyPrint shapes the HTML's Khmer through
Pango/HarfBuzz; chart labels arrive already shaped (charts.outlined_text). Debian's fonts-khmeros
must be installed where PDFs are made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from .charts import WITHHELD_MARK, outlined_text
from .data import UNIT_LABELS, Figure, Number, ReportData
from .exports import ensure_publishable


@dataclass(frozen=True)
class _Cell:
    text: str
    withheld: bool


def format_value(value: Number | None, kind: str = "number") -> _Cell:
    if value is None:
        return _Cell(WITHHELD_MARK, True)
    if kind == "share":
        percent = round(100 * float(value), 1)
        return _Cell(f"{percent:g}%", False)
    if float(value).is_integer():
        return _Cell(f"{int(value):,}", False)
    return _Cell(f"{value:,.1f}", False)


def _figure_context(figure: Figure) -> dict[str, Any]:
    kinds = figure.column_formats or ("number",) * len(figure.columns)
    rows: list[dict[str, Any]] = []
    for n, (label, values) in enumerate(zip(figure.rows, figure.cells, strict=True)):
        cells = [format_value(v, kind) for v, kind in zip(values, kinds, strict=True)]
        if figure.row_totals is not None:
            cells.append(format_value(figure.row_totals[n]))
        rows.append({"label": str(label), "cells": cells})
    total_row: list[_Cell] = []
    if figure.column_totals is not None:
        total_row = [format_value(v) for v in figure.column_totals]
        total_row.append(format_value(figure.total))
    elif figure.support is not None:
        # One-way count table: its total under the single column.
        total_row = [format_value(figure.total)]
    every: list[_Cell] = [c for r in rows for c in r["cells"]] + total_row
    # WeasyPrint lays out SVG text letter by letter, which breaks Khmer: draw shaped outlines.
    with outlined_text():
        svg = figure.svg()
    return {
        "key": figure.key,
        "title": str(figure.title),
        "unit": str(UNIT_LABELS[figure.unit]),
        "period": figure.period.label,
        "source": str(figure.source),
        # nosemgrep: lifeline-mark-safe -- SVG built by charts.py, which escapes every label
        "svg": mark_safe(svg),  # noqa: S308 (built by charts.py, which escapes all text)
        "columns": [str(c) for c in figure.columns],
        "has_row_totals": figure.row_totals is not None,
        "rows": rows,
        "total_row": total_row,
        "note": str(figure.note),
        "has_withheld": any(c.withheld for c in every),
    }


def report_html(report: ReportData) -> str:
    ensure_publishable(report)
    with translation.override(report.language):
        context = {
            "report": report,
            "figures": [_figure_context(f) for f in report.figures],
            "generated": f"{report.generated_at:%Y-%m-%d}",
            "persons": None if report.persons is None else f"{report.persons:,}",
            "persons_range": (
                None
                if report.persons_range is None
                else [f"{report.persons_range[0]:,}", f"{report.persons_range[1]:,}"]
            ),
            "footer": gettext("Lifeline · figures state their unit, period and source"),
        }
        return render_to_string("reports/annual.html", context)


def report_pdf(report: ReportData) -> bytes:
    """The PDF bytes. Nothing is fetched: the document has no external resources."""
    from weasyprint import HTML  # imported late: Pango is loaded only where PDFs are made

    # fontTools logs every subset step at INFO; a report is not worth a page of log lines.
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    html = report_html(report)
    return HTML(string=html, base_url=None, url_fetcher=_refuse_fetch).write_pdf()


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report may not load external resources: {url}")
