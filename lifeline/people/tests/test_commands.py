"""`lifeline dedup link` on plain files and `lifeline dedup run` on the database."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from lifeline.people.models import ClusterMembership, LinkageRun

HEADER = [
    "record_id",
    "agency",
    "name_latin",
    "name_khmer",
    "sex",
    "dob",
    "phone",
    "id_number",
    "province",
    "destination_country",
]

ROWS = [
    ["h1", "hotline", "Sok Heang", "", "F", "1998-03-04", "012345678", "", "Prey Veng", "TH"],
    ["e1", "embassy", "HEANG Sok", "សុខ ហៀង", "F", "1998", "+85512345678", "", "Prey Veng", "TH"],
    ["n1", "ngo", "Meas Dara", "", "M", "1990-01", "", "N1234567", "Kandal", "MY"],
    ["m1", "ministry", "Mias Dara", "", "M", "1990", "", "N1234567", "", "MY"],
    ["bad-date", "ngo", "Chan Theary", "", "F", "2001-02-31", "", "", "Takeo", "CN"],
    ["p1", "police", "Chan Theary", "ចាន់ ធារី", "F", "2001", "", "", "Takeo", "CN"],
    ["short", "ngo", "Kim Vuthy"],
    ["h1", "ngo", "Kim Vuthy", "", "M", "1985", "", "", "Kampot", "MY"],
]


def write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


def test_link_writes_persons_and_reports_bad_rows_by_line(tmp_path: Path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write(source, ROWS)
    out, err = StringIO(), StringIO()
    call_command(
        "dedup", "link", "--input", str(source), "--output", str(target), stdout=out, stderr=err
    )
    written = pd.read_csv(target, dtype=str)
    assert list(written.columns) == ["record_id", "person_id", "cluster_confidence"]
    assert sorted(written["record_id"]) == ["e1", "h1", "m1", "n1", "p1"]
    person = dict(zip(written["record_id"], written["person_id"], strict=True))
    assert person["h1"] == person["e1"]
    assert person["n1"] == person["m1"]
    assert person["p1"] not in (person["h1"], person["n1"])
    assert written["cluster_confidence"].astype(float).between(0, 1).all()
    messages = err.getvalue().splitlines()
    # Header is line 1: bad-date is line 6, short line 8, the repeated h1 line 9.
    assert [m.split(": ")[0] for m in messages] == [f"{source}:6", f"{source}:8", f"{source}:9"]
    assert "bad-date" in messages[0] and "duplicate" in messages[2]
    assert "5 records linked into 3 persons; 3 rows skipped" in out.getvalue()


def test_link_without_record_id_column_fails_clearly(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text("name,dob\nSok,1990\n")
    with pytest.raises(CommandError, match="record_id"):
        call_command("dedup", "link", "--input", str(source), "--output", str(tmp_path / "o.csv"))


def test_link_with_only_malformed_or_empty_dates_reports_them(tmp_path: Path) -> None:
    # Found by atheris: when every date given was malformed, the empty ones crashed the link.
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("record_id,name_latin,dob\na,Sok Heang,1\x1998\nb,Chan Dara,\n")
    err = StringIO()
    call_command(
        "dedup", "link", "--input", str(source), "--output", str(target), stdout=StringIO(),
        stderr=err,
    )  # fmt: skip
    assert list(pd.read_csv(target, dtype=str)["record_id"]) == ["b"]
    assert err.getvalue().startswith(f"{source}:2: skipped record 'a'")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Found by the atheris target tests/fuzz/records_csv.py: a repeated column crashed.
        ("record_id,dob,dob\n1,1990,1991\n", "repeats column"),
        (b"record_id,name_latin\n1,\xff\xfe\n", "utf-8"),
    ],
)
def test_link_of_a_malformed_file_fails_clearly(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    source = tmp_path / "in.csv"
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("dedup", "link", "--input", str(source), "--output", str(tmp_path / "o.csv"))


def test_link_of_a_missing_file_fails_clearly(tmp_path: Path):
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "dedup",
            "link",
            "--input",
            str(tmp_path / "nope.csv"),
            "--output",
            str(tmp_path / "o.csv"),
        )


@pytest.mark.django_db
def test_run_links_the_register(agency_a, agency_b, make_record):
    make_record(agency_a, name_latin="Sok Heang", date_of_birth="1998", phone="012345678")
    make_record(agency_b, name_khmer="សុខ ហៀង", date_of_birth="1998", phone="012345678")
    make_record(agency_b, name_latin="Meas Dara", date_of_birth="1990")
    out = StringIO()
    call_command("dedup", "run", stdout=out)
    run = LinkageRun.objects.get()
    assert run.status == "finished" and run.records == 3
    assert (
        ClusterMembership.objects.filter(is_current=True).values("cluster").distinct().count() == 2
    )
    assert f"linkage run {run.pk} (rules" in out.getvalue()
    assert "2 persons" in out.getvalue()
