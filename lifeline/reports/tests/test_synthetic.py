"""DP synthetic microdata and the re-identification check that guards every public output.

One real MST synthesis runs per module (about 20 s: JAX compiles the model); the tests that only
exercise the ledger, the command and the check use a stand-in synthesiser."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import translation

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import principal_for
from lifeline.cases.tests.factories import CaseFactory, PersonRecordFactory
from lifeline.people.models import ClusterMembership, MembershipSource, PersonCluster
from lifeline.reports import synthetic
from lifeline.reports.disclosure import Table
from lifeline.reports.models import PrivacyBudget, PrivacyLedgerEntry
from lifeline.reports.reidentification import (
    ReidentificationError,
    assert_microdata_releasable,
    microdata_problems,
    table_problems,
)
from lifeline.reports.services import BudgetExhausted
from lifeline.reports.stats import Scope, year_period
from lifeline.reports.synthetic import (
    CATEGORIES,
    COLUMNS,
    MODELLED,
    QUASI_IDENTIFIERS,
    drop_rare_combinations,
    synthetic_release,
    total_variation,
    two_way_tvd,
)
from lifeline.screening.models import ScreeningInterview

N_FIXTURE = 3000
PROVINCES = list(synthetic.PROVINCES.values())


def victim_fixture(n: int = N_FIXTURE, seed: int = 11) -> list[dict[str, str]]:
    """Synthetic victims with the correlations seen in the field: marriage brokering to China
    (women), scam compounds in Myanmar and Laos (men), Zipf-weighted provinces."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(PROVINCES))]
    rows = []
    for _ in range(n):
        kind = rng.choices(["labour", "marriage", "scam"], [0.6, 0.15, 0.25])[0]
        if kind == "marriage":
            sex, destination, outcome = "female", "CN", "POSSIBLE_VOT"
        elif kind == "scam":
            sex, destination = "male", rng.choice(["MM", "LA"])
            outcome = rng.choice(["POSSIBLE_VOT", "DECEIVED_AND_EXPLOITED"])
        else:
            sex, destination = rng.choice(["female", "male"]), rng.choice(["TH", "MY", "KR"])
            outcome = rng.choice(["POSSIBLE_FORCED_LABOUR", "EXPLOITED_MIGRANT", "NOT_SCREENED"])
        rows.append(
            {
                "sex": sex,
                "age_band": rng.choice(["0-17", "18-24", "25-34", "35-44", "45-59"]),
                "province": rng.choices(PROVINCES, weights)[0],
                "destination": destination,
                "screening_outcome": outcome,
            }
        )
    return rows


@pytest.fixture(scope="module")
def real_rows() -> list[dict[str, str]]:
    return victim_fixture()


@pytest.fixture(scope="module")
def drawn(real_rows: list[dict[str, str]]) -> dict[str, Any]:
    """One real synthesis at ε = 1, recording how the library was asked to sample."""
    from opendp.extras.mbi import ContingencyTable

    calls: list[dict[str, Any]] = []
    original = ContingencyTable.synthesize

    def spy(self: Any, rows: int | None = None, method: str = "round") -> Any:
        calls.append({"method": method})
        return original(self, rows, method)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ContingencyTable, "synthesize", spy)
        rows = synthetic.synthesize(real_rows, epsilon=Decimal(1), seed=7)
    return {"rows": rows, "calls": calls}


# --- the synthesiser ------------------------------------------------------------------------


def test_synthesis_samples_rather_than_rounds(drawn: dict[str, Any]) -> None:
    assert drawn["calls"] == [{"method": "sample"}]


def test_synthetic_rows_hold_only_public_categories(
    drawn: dict[str, Any], real_rows: list[dict[str, str]]
) -> None:
    rows = drawn["rows"]
    assert abs(len(rows) - len(real_rows)) < 0.1 * len(real_rows)  # the noisy total
    for row in rows:
        assert tuple(row) == MODELLED
        assert all(row[c] in CATEGORIES[c] for c in MODELLED)


def test_two_way_tvd_is_small(drawn: dict[str, Any], real_rows: list[dict[str, str]]) -> None:
    rows = drawn["rows"]
    utility = two_way_tvd(real_rows, rows)
    assert len(utility.pairs) == 10
    # Eight runs on this fixture at ε = 1: mean 0.070-0.092, max 0.13-0.22 (the noise is OpenDP's
    # and cannot be seeded). The library default, method="round", gave mean 0.18, max 0.50.
    assert utility.mean < 0.12, utility.pairs
    assert utility.max < 0.30, utility.pairs
    # A synthesiser that ignores the data (uniform over the categories) is far worse: the TVD can
    # tell a good synthesis from a useless one.
    rng = random.Random(3)
    uniform = [{c: rng.choice(CATEGORIES[c]) for c in MODELLED} for _ in range(len(real_rows))]
    assert two_way_tvd(real_rows, uniform).mean > 3 * utility.mean


def test_total_variation_by_hand() -> None:
    real = [{"a": "x", "b": "1"}, {"a": "x", "b": "2"}]
    assert total_variation(real, real, ("a", "b")) == 0
    assert total_variation(real, [{"a": "y", "b": "1"}], ("a", "b")) == 1
    assert total_variation(real, [{"a": "x", "b": "1"}], ("a", "b")) == pytest.approx(0.5)


def test_values_outside_the_public_categories_are_refused() -> None:
    row = {c: CATEGORIES[c][0] for c in MODELLED} | {"province": "Sangkat Boeng Keng Kang 1"}
    with pytest.raises(ValueError, match="not a public category"):
        synthetic.synthesize([row], epsilon=Decimal(1))


@pytest.mark.parametrize(
    ("entered", "category"),
    [
        ("Siem Reap", "Siem Reap"),
        ("siemreab", "Siem Reap"),
        ("Sihanoukville", "Preah Sihanouk"),
        ("170204", "Siem Reap"),  # a commune code keeps only its province
        ("Atlantis", "other"),
        ("", "unknown"),
    ],
)
def test_provinces_are_coarsened_to_the_public_list(entered: str, category: str) -> None:
    assert synthetic.province_category(entered) == category


def test_age_bands_and_destinations() -> None:
    assert synthetic.age_band("2005-03-04", 2022) == "0-17"
    assert synthetic.age_band("2004", 2022) == "18-24"
    assert synthetic.age_band("1960-01", 2022) == "60+"
    assert synthetic.age_band("", 2022) == "unknown"
    assert synthetic.destination_category("th") == "TH"
    assert synthetic.destination_category("FR") == "other"


# --- the re-identification check ------------------------------------------------------------


def test_the_check_catches_a_planted_unique_row(drawn: dict[str, Any]) -> None:
    kept, _dropped = drop_rare_combinations(drawn["rows"], k=2)
    assert microdata_problems(kept, QUASI_IDENTIFIERS, k=2) == []  # a real release passes
    planted = {
        "sex": "tgnc",
        "age_band": "60+",
        "province": "Kep",
        "destination": "AE",
        "screening_outcome": "NO_INDICATORS",
    }
    problems = microdata_problems([*kept, planted], QUASI_IDENTIFIERS, k=2)
    assert len(problems) == 1 and "Kep" in problems[0] and "AE" in problems[0]
    with pytest.raises(ReidentificationError):
        assert_microdata_releasable([*kept, planted], QUASI_IDENTIFIERS, k=2)


def test_dropping_rare_combinations_leaves_no_small_group(drawn: dict[str, Any]) -> None:
    rows = drawn["rows"]
    kept, dropped = drop_rare_combinations(rows, k=3)
    assert dropped > 0 and len(kept) + dropped == len(rows)
    assert microdata_problems(kept, QUASI_IDENTIFIERS, k=3) == []
    assert microdata_problems(rows, QUASI_IDENTIFIERS, k=3) != []


def test_the_check_on_public_tables_catches_a_small_count() -> None:
    table = Table.two_dimensional(["TH", "MM"], ["F", "M"], [[40, 1], [25, 30]])
    problems = table_problems(table.publish())
    assert any("TH" in p and "1" in p for p in problems)
    assert table_problems(Table.two_dimensional(["TH"], ["F"], [[40]]).publish()) == []


# --- the release: ledger, scope, command ----------------------------------------------------

pytestmark_db = pytest.mark.django_db


def common_rows(rows: Sequence[Mapping[str, str]], **_: object) -> list[dict[str, str]]:
    """A stand-in synthesiser (fast): every real row three times."""
    return [dict(row) for row in rows for _ in range(3)]


def world(agency: Agency) -> None:
    """Four victims in 2022 (two records of one person, linked), one in 2021."""
    when = datetime(2022, 5, 1, tzinfo=UTC)
    records = [
        PersonRecordFactory(
            agency=agency, sex="female", date_of_birth="2001-02-03", province="Prey Veng",
            destination_country="TH",
        ),
        PersonRecordFactory(agency=agency, sex="female", date_of_birth="2001", province="14"),
        PersonRecordFactory(agency=agency, sex="male", date_of_birth="", province="Kampot"),
        PersonRecordFactory(agency=agency, sex="male", date_of_birth="1980", province=""),
    ]  # fmt: skip
    for record in records:
        CaseFactory(owner_agency=agency, victim=record, opened_at=when, destination_country="MY")
    CaseFactory(owner_agency=agency, opened_at=datetime(2021, 5, 1, tzinfo=UTC))
    cluster = PersonCluster.objects.create(created_at=when)
    for record in records[:2]:
        ClusterMembership.objects.create(
            record=record, cluster=cluster, source=MembershipSource.choices[0][0], started_at=when
        )
    # The linked person was screened twice under their second record: the latest counts.
    for day, outcome in ((2, "NO_INDICATORS"), (9, "POSSIBLE_VOT")):
        ScreeningInterview.objects.create(
            agency=agency, person=records[1], instrument_version="test", status="complete",
            started_at=when.replace(day=day), updated_at=when, completed_at=when,
            safe_to_talk=True, private=True, consent_interview=True, suggested_outcome=outcome,
        )  # fmt: skip


@pytestmark_db
def test_victim_rows_are_coarse_and_one_per_person(agency_a: Agency) -> None:
    world(agency_a)
    scope = Scope(period=year_period(2022), agency=agency_a)
    rows = synthetic.victim_rows(scope, year=2022)
    assert sorted(tuple(r.values()) for r in rows) == sorted(
        [
            ("female", "18-24", "Prey Veng", "TH", "POSSIBLE_VOT"),
            ("male", "unknown", "Kampot", "MY", "NOT_SCREENED"),
            ("male", "35-44", "unknown", "MY", "NOT_SCREENED"),
        ]
    )


@pytestmark_db
@override_settings(LIFELINE_DP_EPSILON_PER_YEAR="1.5")
def test_a_release_is_one_ledger_entry_and_an_over_budget_one_is_refused(
    agency_a: Agency, analyst: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Decimal] = []

    def fake(rows: Sequence[Mapping[str, str]], *, epsilon: Decimal, **kw: object) -> list[Any]:
        calls.append(epsilon)
        return common_rows(rows)

    monkeypatch.setattr(synthetic, "victim_rows", lambda scope, year: victim_fixture(300))
    monkeypatch.setattr(synthetic, "synthesize", fake)
    actor = principal_for(analyst)
    scope = Scope(period=year_period(2022), agency=agency_a)
    first = synthetic_release(
        actor=actor, scope=scope, year=2022, epsilon=Decimal(1), release="synthetic-a"
    )
    entry = PrivacyLedgerEntry.objects.get()
    assert (entry.dataset, entry.table, entry.release) == (
        "victims",
        "synthetic-microdata",
        "synthetic-a",
    )
    assert entry.epsilon == Decimal(1) and entry.mechanism == "opendp.mbi.mst+sample"
    assert first.entry == entry and calls == [Decimal(1)]
    assert all(tuple(row) == COLUMNS for row in first.rows)
    assert PrivacyBudget.objects.get(dataset="victims", year=2022).spent == Decimal(1)

    with pytest.raises(BudgetExhausted):
        synthetic_release(
            actor=actor, scope=scope, year=2022, epsilon=Decimal(1), release="synthetic-b"
        )
    assert calls == [Decimal(1)]  # over budget: nothing drawn
    assert PrivacyLedgerEntry.objects.count() == 1
    assert PrivacyBudget.objects.get(dataset="victims", year=2022).spent == Decimal(1)


@pytestmark_db
def test_the_command_writes_only_the_allowed_columns(
    agency_a: Agency, analyst: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synthetic, "victim_rows", lambda scope, year: victim_fixture(300))
    monkeypatch.setattr(synthetic, "synthesize", common_rows)
    out = tmp_path / "synthetic.csv"
    err = io.StringIO()
    call_command(
        "report", "synthetic", "--year", "2022", "--epsilon", "1", "--user", analyst.username,
        "--agency", "agency-a", "--output", str(out), "--seed", "5", "--lang", "en", stderr=err,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows and tuple(rows[0]) == COLUMNS
    assert {r["year"] for r in rows} == {"2022"}
    assert microdata_problems(rows, QUASI_IDENTIFIERS, k=2) == []
    assert "mean" in err.getvalue() and "ε = 1" in err.getvalue()
    assert PrivacyLedgerEntry.objects.get().mechanism.endswith("(seeded sampling)")


@pytestmark_db
def test_the_command_refuses_a_release_with_a_unique_row(
    agency_a: Agency, analyst: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = {
        "sex": "tgnc", "age_band": "60+", "province": "Kep", "destination": "AE",
        "screening_outcome": "NO_INDICATORS",
    }  # fmt: skip
    monkeypatch.setattr(synthetic, "victim_rows", lambda scope, year: victim_fixture(300))
    monkeypatch.setattr(synthetic, "synthesize", lambda rows, **kw: [*common_rows(rows), planted])
    # A broken minimum-count step: the check must still refuse.
    monkeypatch.setattr(synthetic, "drop_rare_combinations", lambda rows, k: (list(rows), 0))
    out = tmp_path / "synthetic.csv"
    with pytest.raises(CommandError, match="single out a person") as refused:
        call_command(
            "report", "synthetic", "--year", "2022", "--epsilon", "1", "--user", analyst.username,
            "--output", str(out),
        )  # fmt: skip
    assert "ម្នាក់" in str(refused.value)  # Khmer first (default --lang km), then English
    assert not out.exists()
    assert PrivacyLedgerEntry.objects.count() == 1  # the mechanism ran: ε stays spent


@pytestmark_db
def test_the_command_refuses_over_budget_and_unknown_users(
    agency_a: Agency, analyst: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synthetic, "victim_rows", lambda scope, year: victim_fixture(300))
    monkeypatch.setattr(synthetic, "synthesize", common_rows)
    out = tmp_path / "synthetic.csv"
    base = ("report", "synthetic", "--year", "2022", "--output", str(out), "--lang", "en")
    with pytest.raises(CommandError, match="--user"):
        call_command(*base, "--epsilon", "1", "--user", "nobody")
    with (
        override_settings(LIFELINE_DP_EPSILON_PER_YEAR="0.5"),
        pytest.raises(CommandError, match="privacy budget"),
    ):
        call_command(*base, "--epsilon", "0.6", "--user", analyst.username)
    assert not out.exists() and not PrivacyLedgerEntry.objects.exists()


@pytestmark_db
def test_the_public_report_passes_the_check_and_an_unsuppressed_one_fails(
    agency_a: Agency, agency_b: Agency
) -> None:
    from lifeline.reports import stats
    from lifeline.reports.reidentification import report_problems
    from lifeline.reports.tests.fixture import build

    build(agency_a, agency_b)
    scope = Scope(period=year_period(2022), agency=None)
    public = stats.build_report(scope, year=2022, language="en", public=True)
    assert report_problems(public) == []
    internal = stats.build_report(scope, year=2022, language="en", public=False)
    with translation.override("en"):
        problems = report_problems(internal)
    assert any("fewer than 11 people" in p for p in problems)
    assert "the report was not built as a public report" in problems
