"""The statistics dashboard: aggregates of the viewer's agency, charts drawn on the server."""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from lifeline.accounts.access import requires
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import request_principal
from lifeline.core import clock
from lifeline.core.errors import NotFound

from . import selectors, snapshots, stats
from .data import UNIT_LABELS, Figure, Period
from .pdf import format_value

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(value: str, *, last: bool) -> date | None:
    match = _MONTH.match(value)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        return None
    return date(year, month, calendar.monthrange(year, month)[1] if last else 1)


def period_from_query(query: Any) -> tuple[Period, int]:
    """`from`/`to` months (YYYY-MM) when both are valid and ordered, else `year`, else this
    year."""
    start = _month(query.get("from", ""), last=False)
    end = _month(query.get("to", ""), last=True)
    if start and end and start <= end:
        return Period(start, end), start.year
    year_text = query.get("year", "")
    year = int(year_text) if year_text.isdigit() and 1900 <= int(year_text) <= 2999 else 0
    year = year or clock.now().year
    return stats.year_period(year), year


def figure_view(figure: Figure) -> dict[str, Any]:
    """What the dashboard shows of a figure: its chart, and its table with unit and period."""
    kinds = figure.column_formats or ("number",) * len(figure.columns)
    rows = []
    for n, (label, values) in enumerate(zip(figure.rows, figure.cells, strict=True)):
        cells = [format_value(v, kind) for v, kind in zip(values, kinds, strict=True)]
        if figure.row_totals is not None:
            cells.append(format_value(figure.row_totals[n]))
        rows.append({"label": str(label), "cells": cells})
    total_row = []
    if figure.column_totals is not None:
        total_row = [format_value(v) for v in figure.column_totals]
        total_row.append(format_value(figure.total))
    elif figure.support is not None:
        total_row = [format_value(figure.total)]
    return {
        "key": figure.key,
        "title": str(figure.title),
        "unit": str(UNIT_LABELS[figure.unit]),
        "period": figure.period.label,
        "source": str(figure.source),
        # nosemgrep: lifeline-mark-safe -- SVG built by charts.py, which escapes every label
        "svg": mark_safe(figure.svg()),  # noqa: S308 (charts.py escapes every label)
        "columns": [str(c) for c in figure.columns],
        "has_row_totals": figure.row_totals is not None,
        "rows": rows,
        "total_row": total_row,
        "note": str(figure.note),
    }


@requires(Capability.STATISTICS_VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    principal = request_principal(request)
    period, year = period_from_query(request.GET)
    try:
        scope = selectors.statistics_scope(
            actor=principal,
            period=period,
            country=request.GET.get("country", ""),
            agency_code=request.GET.get("agency", ""),
        )
    except NotFound as exc:
        raise Http404 from exc
    report, freshness = snapshots.dashboard_report(scope, year=year, language=request.LANGUAGE_CODE)
    context = {
        "report": report,
        "freshness": freshness,
        "period": period,
        "scope": scope,
        "figures": [figure_view(f) for f in report.figures],
        "query": {
            "year": request.GET.get("year", ""),
            "from": request.GET.get("from", ""),
            "to": request.GET.get("to", ""),
            "country": scope.country,
        },
    }
    return render(request, "reports/dashboard.html", context)
