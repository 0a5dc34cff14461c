"""The annual report's writers: PDF (rendered and rasterised), HTML, CSV and JSON agree with each
other and with the hand-computed sample; public outputs are refused unless they pass the checks."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from lifeline.reports.data import ChartKind, Figure, values_by_position
from lifeline.reports.disclosure import DisclosureError, Table
from lifeline.reports.exports import report_csv, report_dict, report_json
from lifeline.reports.pdf import report_html, report_pdf

from .samples import YEAR, sample_report

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="needs Debian's poppler-utils",
)
BAR_RGB = (0x1F, 0x5F, 0x8B)


def parse_number(text: str) -> int | float | None:
    text = text.strip()
    if text == "x":
        return None
    number = float(text.replace(",", "").rstrip("%"))
    return int(number) if number.is_integer() else number


# --- hand-computed expectations -------------------------------------------------------------


def test_json_matches_the_hand_computed_sample() -> None:
    data = report_dict(sample_report())
    destination = next(f for f in data["figures"] if f["key"] == "destination")
    # 7 and 4 are below 11; together they would be pinned within [1, 10], so 25 goes too.
    assert destination["cells"] == [[412], [236], [118], [None], [None], [None]]
    assert destination["total"] == 802
    assert (destination["unit"], destination["period"]["start"], destination["period"]["end"]) == (
        "persons",
        "2022-01-01",
        "2022-12-31",
    )
    sex_age = next(f for f in data["figures"] if f["key"] == "sex-age")
    # The 3 is hidden in a rectangle with the smallest cells that close it.
    assert sex_age["cells"] == [[None, None, 168], [None, None, 240]]
    assert sex_age["row_totals"] == [311, 491]
    assert sex_age["column_totals"] == [24, 370, 408]
    assert sex_age["total"] == 802
    assert data["persons_range"] == [781, 830]
    assert data["suppression_threshold"] == 11


# --- the writers agree -----------------------------------------------------------------------


class _TableReader(HTMLParser):
    """Every <table data-figure=...>: its rows as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._figure: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._figure = dict(attrs).get("data-figure")
            self.tables[self._figure or ""] = []
        elif tag == "tr" and self._figure is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._figure is not None:
            self.tables[self._figure].append(self._row)
            self._row = None
        elif tag == "table":
            self._figure = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_values(html: str) -> dict[str, dict[tuple[str, str], int | float | None]]:
    reader = _TableReader()
    reader.feed(html)
    out: dict[str, dict[tuple[str, str], int | float | None]] = {}
    for key, (header, *rows) in reader.tables.items():
        columns = ["total" if c == "Total" else c for c in header[1:]]
        figure: dict[tuple[str, str], int | float | None] = {}
        for label, *cells in rows:
            row = "total" if label == "Total" else label
            for column, text in zip(columns, cells, strict=False):
                figure[(row, column)] = parse_number(text)
        out[key] = figure
    return out


def csv_values(text: str) -> dict[str, dict[tuple[str, str], int | float | None]]:
    out: dict[str, dict[tuple[str, str], int | float | None]] = {}
    for line in csv.DictReader(io.StringIO(text)):
        value = None if line["status"] == "withheld" else parse_number(line["value"])
        out.setdefault(line["figure"], {})[(line["row"], line["column"])] = value
    return out


def json_values(data: dict) -> dict[str, dict[tuple[str, str], int | float | None]]:  # type: ignore[type-arg]
    out: dict[str, dict[tuple[str, str], int | float | None]] = {}
    for f in data["figures"]:
        values: dict[tuple[str, str], int | float | None] = {}
        for row, cells in zip(f["rows"], f["cells"], strict=True):
            for column, value in zip(f["columns"], cells, strict=True):
                values[(row, column)] = value
        if f["row_totals"] is not None:
            values.update(
                {(r, "total"): v for r, v in zip(f["rows"], f["row_totals"], strict=True)}
            )
            values.update(
                {("total", c): v for c, v in zip(f["columns"], f["column_totals"], strict=True)}
            )
        values[("total", "total")] = f["total"]
        out[f["key"]] = values
    return out


def test_csv_json_and_html_give_the_same_numbers() -> None:
    report = sample_report(language="en")
    from_json = json_values(json.loads(report_json(report)))
    from_csv = csv_values(report_csv(report))
    expected = {f.key: values_by_position(f) for f in report.figures}
    assert from_json == expected
    assert from_csv == expected
    # The HTML shows one-way totals under the single column; map them to ("total", "total").
    from_html = html_values(report_html(report))
    for key, values in from_html.items():
        figure = report.figure(key)
        if figure.row_totals is None:
            values = {(r, "total" if r == "total" else c): v for (r, c), v in values.items()}
        assert values == expected[key], key


@needs_poppler
def test_pdf_text_shows_the_same_table_rows(tmp_path: Path) -> None:
    report = sample_report(language="en")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report_pdf(report))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for figure in report.figures:
        for n, label in enumerate(figure.rows):
            expected = [*figure.cells[n]]
            if figure.row_totals is not None:
                expected.append(figure.row_totals[n])
            lines = [ln for ln in text.splitlines() if re.match(rf"\s*{re.escape(label)}\s", ln)]
            # The table row is the last line starting with the label (charts carry no text).
            tokens = lines[-1].split()[1:]
            assert [parse_number(t) for t in tokens] == expected, (figure.key, label)


# --- the PDF, rasterised ---------------------------------------------------------------------


def rasterise(pdf: bytes, tmp_path: Path, name: str) -> list[Image.Image]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / name)], check=True)
    return [Image.open(p).convert("RGB") for p in sorted(tmp_path.glob(f"{name}-*.png"))]


def count_pixels(pages: list[Image.Image], rgb: tuple[int, int, int], tolerance: int = 24) -> int:
    total = 0
    for page in pages:
        for pixel, count in _histogram(page).items():
            if all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=True)):
                total += count
    return total


def _histogram(page: Image.Image) -> dict[tuple[int, int, int], int]:
    colours = page.getcolors(maxcolors=1 << 20) or []
    return {colour: count for count, colour in colours}  # type: ignore[misc]


@needs_poppler
def test_khmer_pdf_has_ink_charts_and_khmer_text(tmp_path: Path) -> None:
    report = sample_report(language="km")
    pages = rasterise(report_pdf(report), tmp_path, "km")
    assert len(pages) >= 2
    first = pages[0]
    white = count_pixels([first], (255, 255, 255), tolerance=8)
    assert white < first.width * first.height * 0.98  # the page is not blank
    with_charts = count_pixels(pages, BAR_RGB)

    plain = dataclasses.replace(
        report,
        figures=tuple(dataclasses.replace(f, chart=ChartKind.NONE) for f in report.figures),
    )
    without_charts = count_pixels(rasterise(report_pdf(plain), tmp_path, "plain"), BAR_RGB)
    assert with_charts > 2000
    assert without_charts < with_charts / 20

    text = subprocess.run(
        ["pdftotext", str(tmp_path / "km.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "របាយការណ៍" in text
    assert "ប្រចាំ" in text
    assert "802" in text


# --- public outputs are refused unless they pass ---------------------------------------------


def unsafe_report():  # type: ignore[no-untyped-def]
    report = sample_report()
    raw = Table.one_dimensional(["Thailand", "China"], [412, 7]).publish()
    leaking = Figure.from_counts(
        key="raw", title="Raw", unit=report.figures[0].unit, period=YEAR, source="s", table=raw
    )
    return dataclasses.replace(report, figures=(*report.figures, leaking))


@pytest.mark.parametrize("writer", [report_csv, report_json, report_html])
def test_public_outputs_with_a_small_cell_are_refused(writer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DisclosureError, match="China: 7 is shown but below 11"):
        writer(unsafe_report())


def test_internal_outputs_may_show_small_cells() -> None:
    report = dataclasses.replace(unsafe_report(), public=False)
    assert "7" in report_csv(report)


def test_public_outputs_with_an_exact_date_label_are_refused() -> None:
    report = sample_report()
    table = Table.one_dimensional(["2022-03-14", "2022-03-15"], [40, 50]).publish()
    dated = Figure.from_counts(
        key="daily",
        title="Daily",
        unit=report.figures[0].unit,
        period=YEAR,
        source="s",
        table=table,
    )
    with pytest.raises(DisclosureError, match="exact date"):
        report_json(dataclasses.replace(report, figures=(dated,)))


def test_a_public_figure_without_counts_to_audit_is_refused() -> None:
    report = sample_report()
    medians = dataclasses.replace(report.figures[0], support=None)
    with pytest.raises(DisclosureError, match="no count table to audit"):
        report_csv(dataclasses.replace(report, figures=(medians,)))
