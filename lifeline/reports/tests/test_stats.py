"""Statistics selectors against the hand-built fixture: exact values, scope, constant queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from lifeline.accounts.models import Agency
from lifeline.cases.tests.factories import CaseFactory
from lifeline.reports import stats
from lifeline.reports.data import Unit, values_by_position
from lifeline.reports.tests.fixture import EXPECTED_FUNNEL, NOW, World, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(agency_a: Agency, agency_b: Agency) -> World:
    return build(agency_a, agency_b)


@pytest.fixture
def scope(world: World, agency_a: Agency) -> stats.Scope:
    return stats.Scope(period=stats.year_period(2022), agency=agency_a)


@pytest.fixture(autouse=True)
def _english() -> object:
    with translation.override("en"):
        yield


def test_funnel_counts_and_medians_match_the_hand_computed_fixture(scope: stats.Scope) -> None:
    figure = stats.funnel(scope)
    assert figure.unit is Unit.CASES
    assert (figure.period.start.isoformat(), figure.period.end.isoformat()) == (
        "2022-01-01",
        "2022-12-31",
    )
    got = [
        (str(label), row[0], row[1]) for label, row in zip(figure.rows, figure.cells, strict=True)
    ]
    assert got == EXPECTED_FUNNEL


def test_destination_month_and_closure_breakdowns(scope: stats.Scope) -> None:
    destination = stats.destination_countries(scope)
    assert [str(r) for r in destination.rows] == ["TH", "unknown", "MY"]
    assert destination.cells == ((2,), (1,), (1,))
    assert destination.total == 4
    month = stats.cases_by_month(scope)
    assert len(month.rows) == 12
    assert [c[0] for c in month.cells] == [2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert month.rows[0] == "2022-01"
    closure = values_by_position(stats.closures_by_reason(scope))
    assert closure[("Reintegrated (goals met)", "")] == 1
    assert closure[("Lost contact", "")] == 1
    assert closure[("total", "total")] == 2


def test_country_filter_narrows_every_count(world: World, agency_a: Agency) -> None:
    scope = stats.Scope(period=stats.year_period(2022), agency=agency_a, country="TH")
    assert stats.destination_countries(scope).total == 2
    assert stats.funnel(scope).cells[1][0] == 2
    # All four of A's 2022 requests are about Thailand.
    assert stats.funnel(scope).cells[0][0] == 4


def test_other_agency_sees_only_its_own_records(world: World, agency_b: Agency) -> None:
    scope = stats.Scope(period=stats.year_period(2022), agency=agency_b)
    assert stats.destination_countries(scope).cells == ((1,),)
    assert stats.funnel(scope).cells[0][0] == 1
    assert stats.authority_response_times(scope).rows == ()


def test_request_response_times(scope: stats.Scope) -> None:
    figure = stats.request_response_times(scope, now=NOW)
    assert figure.unit is Unit.REQUESTS
    # Median of 1 and 3 days; no response after 7 days: 2 of 4; after 14 and 30: 1 of 3
    # (the request of 30 December is only 11 days old).
    assert figure.cells == ((2.0, 4, None), (0.5, 4, 2), (0.3333, 3, 1), (0.3333, 3, 1))


def test_authority_acknowledgement_per_recipient(scope: stats.Scope) -> None:
    figure = stats.authority_response_times(scope, now=NOW)
    assert figure.rows == ("Royal Embassy (synthetic)",)
    assert figure.cells == ((4.0, 2, 0.5),)


def test_agreement_matrix(scope: stats.Scope) -> None:
    values = values_by_position(stats.determination_agreement(scope))
    assert values[("Possible victim of trafficking", "Victim of trafficking")] == 1
    assert values[("No indicators", "None yet")] == 1
    assert values[("total", "total")] == 2
    assert sum(v for k, v in values.items() if "total" not in k and v) == 2


def test_persons_are_clusters_with_a_range(scope: stats.Scope) -> None:
    assert stats.persons_in_scope(scope) == stats.PersonRange(point=3, lower=2, upper=3)


def test_query_counts_do_not_grow_with_the_data(
    world: World, agency_a: Agency, agency_b: Agency
) -> None:
    scope = stats.Scope(period=stats.year_period(2022), agency=agency_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            stats.build_report(scope, year=2022, language="en", public=False, now=NOW)
        return len(ctx.captured_queries)

    before = count()
    for n in range(5):
        CaseFactory(owner_agency=agency_a, opened_at=NOW.replace(year=2022, month=n + 2))
    assert count() == before
