"""The XLSX writer: the same numbers as JSON, withheld cells as "x", Khmer labels, and a public
workbook refused unless the report passes the disclosure checks."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from lifeline.reports.disclosure import DisclosureError
from lifeline.reports.exports import WITHHELD, report_dict, report_xlsx

from .samples import sample_report
from .test_outputs import unsafe_report


def table_of(sheet: Any, *, rows: int, columns: int) -> list[list[Any]]:
    """The figure's body: rows under the header (row 6), the label column left out."""
    return [
        [sheet.cell(row=7 + r, column=2 + c).value for c in range(columns)] for r in range(rows)
    ]


@pytest.mark.parametrize("language", ["en", "km"])
def test_every_figure_sheet_holds_the_json_numbers(language: str) -> None:
    report = sample_report(language=language)
    data = report_dict(report)
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    assert book.sheetnames == ["Report", *(f["key"] for f in data["figures"])]
    for figure in data["figures"]:
        sheet = book[figure["key"]]
        assert sheet.cell(row=1, column=1).value == figure["title"]
        assert sheet.cell(row=2, column=2).value == figure["unit_label"]
        assert sheet.cell(row=3, column=2).value == (
            f"{figure['period']['start']} / {figure['period']['end']}"
        )
        expected = [[WITHHELD if v is None else v for v in row] for row in figure["cells"]]
        got = table_of(sheet, rows=len(figure["rows"]), columns=len(figure["columns"]))
        assert got == expected
        labels = [sheet.cell(row=7 + r, column=1).value for r in range(len(figure["rows"]))]
        assert labels == figure["rows"]
    cover = book["Report"]
    assert cover.cell(row=1, column=1).value == data["title"]
    assert cover.cell(row=3, column=2).value == data["persons"]
    assert [cover.cell(row=4, column=c).value for c in (2, 3)] == data["persons_range"]


def test_withheld_cells_read_x_and_shown_cells_are_numbers() -> None:
    report = sample_report(language="en")
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    destination = book["destination"]
    values = {
        destination.cell(row=7 + r, column=1).value: destination.cell(row=7 + r, column=2).value
        for r in range(6)
    }
    # The hand-computed sample: Malaysia (4) and China (7) are below 11 and withheld; together
    # they would be pinned within [1, 10], so Vietnam (25) is withheld too.
    assert (values["Thailand"], values["Myanmar"], values["Laos"]) == (412, 236, 118)
    assert values["Malaysia"] == values["China"] == values["Vietnam"] == WITHHELD


def test_khmer_workbook_has_khmer_labels() -> None:
    book = load_workbook(io.BytesIO(report_xlsx(sample_report(language="km"))))
    assert book["destination"].cell(row=2, column=1).value == "ឯកតា"  # "Unit"
    assert book["Report"].cell(row=1, column=1).value == "របាយការណ៍ប្រចាំឆ្នាំ ២០២២"


def test_a_public_workbook_that_would_show_a_small_cell_is_refused() -> None:
    with pytest.raises(DisclosureError, match="China: 7 is shown but below 11"):
        report_xlsx(unsafe_report())
