"""`lifeline report annual`: PDF, JSON and CSV from the same selectors agree with each other and
with the hand-computed fixture; --public suppresses, and refuses when the audit fails."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from lifeline.accounts.models import Agency
from lifeline.reports import stats
from lifeline.reports.disclosure import Table
from lifeline.reports.tests.fixture import (
    CANARY_NAME,
    CANARY_REFERENCE,
    EXPECTED_FUNNEL,
    World,
    build,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(agency_a: Agency, agency_b: Agency) -> World:
    return build(agency_a, agency_b)


def run(tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"report.{fmt}"
    call_command(
        "report", "annual", "--year", "2022", "--format", fmt, "--output", str(out), *extra
    )
    return out


def test_json_csv_and_pdf_agree_with_the_fixture(world: World, tmp_path: Path) -> None:
    args = ("--lang", "en", "--agency", "agency-a")
    data = json.loads(run(tmp_path, "json", *args).read_text())
    figures = {f["key"]: f for f in data["figures"]}
    funnel = figures["funnel"]
    assert [[r, c[0], c[1]] for r, c in zip(funnel["rows"], funnel["cells"], strict=True)] == [
        list(x) for x in EXPECTED_FUNNEL
    ]
    assert figures["destination"]["cells"] == [[2], [1], [1]]
    assert figures["destination"]["unit"] == "cases"
    assert figures["authority-response"]["cells"] == [[4.0, 2, 0.5]]
    assert (data["persons"], data["persons_range"]) == (3, [2, 3])

    rows = list(csv.DictReader(io.StringIO(run(tmp_path, "csv", *args).read_text())))
    by_key = {(r["figure"], r["row"], r["column"]): r["value"] for r in rows}
    for figure in data["figures"]:
        for label, cells in zip(figure["rows"], figure["cells"], strict=True):
            for column, value in zip(figure["columns"], cells, strict=True):
                shown = "" if value is None else str(value)
                assert by_key[(figure["key"], label, column)] == shown
    assert by_key[("destination", "total", "total")] == "4"

    pdf = run(tmp_path, "pdf", *args)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Royal Embassy (synthetic)" in text
        assert "Help requests received" in text
        destination = text.split("Cases by destination country", 1)[1]
        for label, count in (("TH", "2"), ("MY", "1")):
            assert any(
                line.split()[:1] == [label] and line.split()[-1] == count
                for line in destination.splitlines()
                if line.strip()
            ), label
        assert CANARY_NAME not in text and CANARY_REFERENCE not in text


def test_every_agency_without_agency_option(world: World, tmp_path: Path) -> None:
    data = json.loads(run(tmp_path, "json", "--lang", "en").read_text())
    destination = next(f for f in data["figures"] if f["key"] == "destination")
    # Agency B's Thai case joins A's four; A's 2021 case stays out.
    assert destination["total"] == 5


def test_public_report_withholds_small_counts_and_keeps_only_count_tables(
    world: World, tmp_path: Path
) -> None:
    data = json.loads(run(tmp_path, "json", "--lang", "en", "--public").read_text())
    assert {f["key"] for f in data["figures"]} == {
        "destination",
        "month",
        "closure",
        "agreement",
        # reports.breakdowns (count tables too)
        "form",
        "sex",
        "age",
        "province",
        "recruitment",
        "platform",
        "reporter",
        "channel",
        "compare-cases",
        "compare-requests",
    }
    destination = next(f for f in data["figures"] if f["key"] == "destination")
    assert destination["cells"] == [[None], [None], [None]]
    assert destination["total"] is None
    month = next(f for f in data["figures"] if f["key"] == "month")
    assert [c[0] for c in month["cells"]][:4] == [None, 0, None, 0]
    assert data["persons"] is None
    assert data["suppression_threshold"] == 11


def test_public_report_is_refused_when_the_audit_fails(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A suppression step that withholds nothing: the writers' audit must catch it.
    monkeypatch.setattr(stats, "suppress", lambda table: _Unsuppressed(table))
    out = tmp_path / "public.csv"
    with pytest.raises(CommandError, match="disclosure audit"):
        call_command(
            "report", "annual", "--year", "2022", "--format", "csv", "--public",
            "--output", str(out),
        )  # fmt: skip
    assert not out.exists()


class _Unsuppressed:
    def __init__(self, table: Table) -> None:
        self.published = table.publish()


def test_khmer_json_has_khmer_titles(world: World, tmp_path: Path) -> None:
    data = json.loads(run(tmp_path, "json", "--lang", "km").read_text())
    assert data["language"] == "km"
    destination = next(f for f in data["figures"] if f["key"] == "destination")
    assert destination["unit_label"] == "ករណី"  # "cases"
    closure = next(f for f in data["figures"] if f["key"] == "closure")
    assert "បាត់ទំនាក់ទំនង" in closure["rows"]  # "Lost contact"
    assert destination["total"] == 5  # every agency: no --agency given


def test_pdf_needs_an_output_file(world: World) -> None:
    with pytest.raises(CommandError, match="--output"):
        call_command("report", "annual", "--year", "2022", "--format", "pdf")


def test_xlsx_holds_the_json_numbers(world: World, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    args = ("--lang", "en", "--agency", "agency-a")
    data = json.loads(run(tmp_path, "json", *args).read_text())
    book = load_workbook(run(tmp_path, "xlsx", *args))
    for figure in data["figures"]:
        sheet = book[figure["key"]]
        for r, cells in enumerate(figure["cells"]):
            got = [sheet.cell(row=7 + r, column=2 + c).value for c in range(len(cells))]
            assert got == ["x" if v is None else v for v in cells], figure["key"]
    with pytest.raises(CommandError, match="--output"):
        call_command("report", "annual", "--year", "2022", "--format", "xlsx")
