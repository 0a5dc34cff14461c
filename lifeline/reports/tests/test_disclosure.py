"""Small-cell suppression and its audit. Pure: no database.

The audit is checked against brute force (every integer table consistent with what is published),
and against tables built to leak in the ways suppression usually fails."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifeline.reports.disclosure import (
    TOTAL,
    DisclosureError,
    PeriodLevel,
    PublishedTable,
    Table,
    assert_publishable,
    audit,
    coarsen_date,
    coarsen_geocode,
    primary_suppressions,
    public_label_problems,
    suppress,
    unique_combinations,
)


def two_way(counts: list[list[int]]) -> Table:
    rows = [f"r{i}" for i in range(len(counts))]
    columns = [f"c{j}" for j in range(len(counts[0]))]
    return Table.two_dimensional(rows, columns, counts)


def brute_force_intervals(
    published: PublishedTable, lower: int
) -> dict[tuple[int, int], tuple[int, int]]:
    """Min and max of each withheld value over every integer table (withheld cells >= lower)
    that agrees with
    everything published. Each withheld cell is tried up to the smallest shown total it is in."""
    shape = published.shape
    relations = shape.relations()
    inner = [k for k in published.withheld if TOTAL not in k]
    caps = []
    for cell in inner:
        shown = [
            published.values[total]
            for total, parts in relations
            if cell in parts and published.values[total] is not None
        ]
        caps.append(min(shown, default=published.total or 0))
    seen: list[dict[tuple[int, int], int]] = []
    for guess in itertools.product(*(range(lower, cap + 1) for cap in caps)):
        values = dict(published.values)
        values.update(zip(inner, guess, strict=True))
        for total, parts in relations:  # rows and columns first, the grand total last
            values[total] = sum(values[p] for p in parts)  # type: ignore[misc]
        if all(published.values[k] in (None, values[k]) for k in shape.positions()):
            seen.append(values)  # type: ignore[arg-type]
    return {
        key: (min(v[key] for v in seen), max(v[key] for v in seen)) for key in published.withheld
    }


# --- the audit catches leaks ------------------------------------------------------------------


def test_single_withheld_cell_in_a_row_is_derived_from_the_row_total() -> None:
    table = two_way([[3, 20], [30, 40]])
    report = audit(table.publish({(0, 0)}))
    assert not report.passed
    assert report.intervals[(0, 0)].low == report.intervals[(0, 0)].high == 3
    with pytest.raises(DisclosureError, match="r0 × c0"):  # noqa: RUF001
        assert_publishable(table.publish({(0, 0)}))


def test_two_withheld_in_a_row_still_leak_when_one_is_derivable_through_its_column() -> None:
    # Row 0 hides 3 and 15, but column 1 shows every other cell and its total: 15 = 45 - 30,
    # then 3 = 18 - 15.
    table = two_way([[3, 15, 40], [20, 30, 50]])
    report = audit(table.publish({(0, 0), (0, 1)}))
    assert not report.passed
    assert (report.intervals[(0, 0)].low, report.intervals[(0, 0)].high) == (3, 3)
    assert (report.intervals[(0, 1)].low, report.intervals[(0, 1)].high) == (15, 15)


def test_a_rectangle_of_withheld_cells_protects_the_small_one() -> None:
    table = two_way([[3, 20], [30, 40]])
    report = audit(table.publish({(0, 0), (0, 1), (1, 0), (1, 1)}))
    assert report.passed
    assert (report.intervals[(0, 0)].low, report.intervals[(0, 0)].high) == (1, 22)


def test_shown_zeros_tell_the_attacker_that_withheld_cells_are_at_least_one() -> None:
    # Two withheld cells summing to 11: with zeros always shown, each lies in [1, 10], which is
    # narrower than k - 1 = 10; if zeros could be withheld too, each lies in [0, 11].
    table = Table.one_dimensional(["a", "b", "c"], [1, 10, 40])
    published = table.publish({(0, 0), (1, 0)})
    # The total is 51; 40 is shown, so the two withheld cells sum to 11.
    shown_zeros = audit(published, zeros_shown=True)
    assert (shown_zeros.intervals[(0, 0)].low, shown_zeros.intervals[(0, 0)].high) == (1, 10)
    assert not shown_zeros.passed
    withheld_zeros = audit(published, zeros_shown=False)
    assert (withheld_zeros.intervals[(0, 0)].low, withheld_zeros.intervals[(0, 0)].high) == (0, 11)
    assert withheld_zeros.passed


def test_a_shown_small_count_fails_even_with_nothing_withheld() -> None:
    report = audit(Table.one_dimensional(["a", "b"], [4, 40]).publish())
    assert not report.passed
    assert report.problems == ["a: 4 is shown but below 11"]


def test_a_shown_zero_is_allowed_unless_zeros_are_withheld() -> None:
    published = Table.one_dimensional(["a", "b"], [0, 40]).publish()
    assert audit(published).passed
    assert not audit(published, zeros_shown=False).passed


def test_inconsistent_published_totals_are_reported() -> None:
    shape = Table.one_dimensional(["a", "b"], [20, 30]).shape
    published = PublishedTable(shape, {(0, 0): 20, (1, 0): 30, (TOTAL, 0): 51})
    report = audit(published)
    assert report.problems == ["total: shown total differs from its parts"]


@pytest.mark.parametrize(
    ("counts", "withheld"),
    [
        ([[3, 8], [9, 6]], {(0, 0), (0, 1), (1, 0), (1, 1)}),
        ([[3, 15, 40], [20, 30, 50]], {(0, 0), (0, 1)}),
        ([[3, 9, 4], [12, 1, 6]], {(0, 0), (0, 2), (1, 1), (1, 2), (0, TOTAL)}),
        ([[2, 5, 0], [0, 7, 6]], {(0, 0), (0, 1), (1, 1), (1, 2), (TOTAL, TOTAL), (0, TOTAL)}),
    ],
)
def test_audit_intervals_equal_brute_force(
    counts: list[list[int]], withheld: set[tuple[int, int]]
) -> None:
    table = two_way(counts)
    published = table.publish(withheld)
    report = audit(published)
    expected = brute_force_intervals(published, 1)
    assert {k: (i.low, i.high) for k, i in report.intervals.items()} == expected


# --- suppression ----------------------------------------------------------------------------


def test_one_way_small_cell_gets_one_complementary_cell_the_smallest() -> None:
    result = suppress(Table.one_dimensional(["a", "b", "c"], [3, 50, 60]))
    assert result.primary == {(0, 0)}
    assert result.complementary == {(1, 0)}
    assert result.published.as_dict() == {
        "rows": ["a", "b", "c"],
        "columns": [""],
        "cells": [[None], [None], [60]],
        "total": 113,
    }
    assert (result.audit.intervals[(0, 0)].low, result.audit.intervals[(0, 0)].high) == (1, 52)


def test_one_way_total_below_k_is_withheld_with_every_cell() -> None:
    result = suppress(Table.one_dimensional(["a", "b"], [4, 3]))
    assert result.published.values == {(0, 0): None, (1, 0): None, (TOTAL, 0): None}
    assert result.audit.passed


def test_zeros_stay_shown_and_are_never_complementary() -> None:
    result = suppress(Table.one_dimensional(["a", "b", "c", "d"], [3, 0, 0, 25]))
    assert result.published.cell(1) == 0 and result.published.cell(2) == 0
    assert result.published.cell(3) is None  # the only non-zero cell left to hide
    assert result.audit.passed


def test_two_way_single_small_cell_is_hidden_in_a_rectangle() -> None:
    result = suppress(two_way([[3, 20], [30, 40]]))
    assert result.primary == {(0, 0)}
    assert result.complementary == {(0, 1), (1, 0), (1, 1)}
    published = result.published
    assert [published.row_total(0), published.row_total(1)] == [23, 70]
    assert [published.column_total(0), published.column_total(1), published.total] == [33, 60, 93]


def test_two_way_row_total_below_k_is_protected_against_the_grand_total() -> None:
    table = two_way([[2, 3, 0], [20, 30, 40], [25, 35, 45]])
    result = suppress(table)
    assert {(0, 0), (0, 1), (0, TOTAL)} <= result.primary
    # The small row total would be the grand total minus the other row totals: one more of
    # those (or the grand total) must be withheld as well.
    hidden_margins = {(1, TOTAL), (2, TOTAL), (TOTAL, TOTAL)} & result.complementary
    assert hidden_margins
    assert result.audit.intervals[(0, TOTAL)].width >= 10
    assert_publishable(result.published)


def test_two_small_cells_in_one_row_need_more_than_each_other() -> None:
    # 3 and 4 hide each other in the row, but their sum (7) would pin both within [1, 6].
    table = two_way([[3, 4, 50], [30, 40, 60], [33, 44, 70]])
    result = suppress(table)
    assert {(0, 0), (0, 1)} == result.primary
    assert result.complementary
    for key in result.primary:
        assert result.audit.intervals[key].width >= 10


def test_suppression_never_changes_a_shown_value_and_keeps_shown_zeros() -> None:
    table = two_way([[0, 12, 5], [14, 0, 30], [9, 40, 0]])
    result = suppress(table)
    for key, value in result.published.values.items():
        assert value is None or value == table.values()[key]
    assert result.published.cell(0, 0) == 0 and result.published.cell(1, 1) == 0


def test_primary_suppressions_cover_totals_and_optionally_zeros() -> None:
    table = two_way([[0, 5], [20, 30]])
    assert primary_suppressions(table) == {(0, 1), (0, TOTAL)}
    assert primary_suppressions(table, zeros_shown=False) == {(0, 0), (0, 1), (0, TOTAL)}


counts_strategy = st.integers(min_value=1, max_value=4).flatmap(
    lambda n_rows: st.integers(min_value=1, max_value=4).flatmap(
        lambda n_cols: st.lists(
            st.lists(
                st.one_of(st.integers(0, 12), st.integers(0, 60)), min_size=n_cols, max_size=n_cols
            ),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=counts_strategy, zeros_shown=st.booleans())
def test_every_suppressed_table_passes_its_audit_and_shows_only_true_values(
    counts: list[list[int]], zeros_shown: bool
) -> None:
    table = two_way(counts)
    result = suppress(table, zeros_shown=zeros_shown)
    assert result.audit.passed
    truth = table.values()
    for key, value in result.published.values.items():
        if value is None:
            interval = result.audit.intervals[key]
            # The audit is sound: the true value is one of the values it allows.
            assert interval.low <= truth[key] <= interval.high
            assert interval.width >= 10
        else:
            assert value == truth[key]
            assert (value == 0 and zeros_shown) or value >= 11


# --- coarsening and label checks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "expected"),
    [(PeriodLevel.MONTH, "2022-08"), (PeriodLevel.QUARTER, "2022-Q3"), (PeriodLevel.YEAR, "2022")],
)
def test_coarsen_date_never_shows_a_day(level: PeriodLevel, expected: str) -> None:
    assert coarsen_date(date(2022, 8, 17), level) == expected
    assert coarsen_date(datetime(2022, 8, 17, 23, 59), level) == expected


def test_quarters_at_their_edges() -> None:
    assert [coarsen_date(date(2023, m, 1), PeriodLevel.QUARTER) for m in (1, 3, 4, 12)] == [
        "2023-Q1",
        "2023-Q1",
        "2023-Q2",
        "2023-Q4",
    ]


@pytest.mark.parametrize("code", ["12", "1201", "120104", "12010403"])
def test_coarsen_geocode_keeps_only_the_province(code: str) -> None:
    assert coarsen_geocode(code) == "12"


@pytest.mark.parametrize("code", ["1", "120", "abc", "1201040301"])
def test_coarsen_geocode_refuses_what_is_not_a_code(code: str) -> None:
    with pytest.raises(ValueError, match="administrative code"):
        coarsen_geocode(code)


def test_public_label_problems_flags_exact_dates_and_commune_codes_but_not_years() -> None:
    labels = ["2022", "2022-Q3", "2022-08", "Thailand", "2022-08-17", "17/08/2022", "120104"]
    assert public_label_problems(labels) == [
        "'2022-08-17' looks like an exact date",
        "'17/08/2022' looks like an exact date",
        "'120104' looks like a district, commune or village code",
    ]


def test_unique_combinations_finds_records_alone_on_their_quasi_identifiers() -> None:
    records = [
        {"sex": "F", "age": "18-20", "province": "12"},
        {"sex": "F", "age": "18-20", "province": "12"},
        {"sex": "M", "age": "18-20", "province": "12"},
    ]
    assert unique_combinations(records, ["sex", "age", "province"]) == [("M", "18-20", "12")]
    assert unique_combinations(records, ["age", "province"]) == []
    assert unique_combinations(records, ["age"], k=4) == [("18-20",)]
