"""The dashboard's snapshots: a faithful JSON round trip, served only when they hold exactly the
request (agency, whole year, no country, language) and are fresh, and the page reads the same."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from lifeline.accounts.models import Agency
from lifeline.core import clock, periodic
from lifeline.reports import snapshots, stats
from lifeline.reports.data import ReportData, report_from_dict, report_to_dict
from lifeline.reports.models import DashboardSnapshot
from lifeline.reports.tests.fixture import World, build

pytestmark = pytest.mark.django_db
URL = "/reports/"


@pytest.fixture
def world(agency_a: Agency, agency_b: Agency) -> World:
    return build(agency_a, agency_b)


def _report(agency: Agency, language: str = "en") -> ReportData:
    scope = stats.Scope(period=stats.year_period(2022), agency=agency)
    return stats.build_report(scope, year=2022, language=language, public=False)


def _tables(html: str) -> list[str]:
    """Every figure's table, as HTML, in page order."""
    return re.findall(r'<table data-figure="[^"]+">.*?</table>', html, flags=re.S)


def _page(client: Client, query: str = "?year=2022") -> str:
    response = client.get(URL + query)
    assert response.status_code == 200
    return response.content.decode()


def _without_note(html: str) -> str:
    """The page less the "as of" note and the per-response CSRF token."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'<p class="as-of">.*?</p>', "", html)


@pytest.mark.parametrize("language", ["en", "km"])
def test_report_round_trips_through_json_figure_by_figure(
    world: World, agency_a: Agency, language: str
) -> None:
    report = _report(agency_a, language)
    loaded = report_from_dict(json.loads(json.dumps(report_to_dict(report))))

    assert [f.key for f in loaded.figures] == [f.key for f in report.figures]
    assert len(report.figures) > 5
    with translation.override(language):
        for before, after in zip(report.figures, loaded.figures, strict=True):
            assert after.title == str(before.title), before.key
            assert after.rows == tuple(str(r) for r in before.rows), before.key
            assert after.columns == tuple(str(c) for c in before.columns), before.key
            assert after.cells == before.cells, before.key
            assert [type(v) for r in after.cells for v in r] == [
                type(v) for r in before.cells for v in r
            ], before.key
            assert after.row_totals == before.row_totals, before.key
            assert after.column_totals == before.column_totals, before.key
            assert after.total == before.total, before.key
            assert (after.unit, after.period, after.chart) == (
                before.unit,
                before.period,
                before.chart,
            )
            assert (after.source, after.note) == (str(before.source), str(before.note))
            assert after.column_formats == before.column_formats
            assert after.support == before.support, before.key
            assert after.svg() == before.svg(), before.key
        assert loaded.method == tuple(str(m) for m in report.method)
    assert (loaded.title, loaded.year, loaded.language, loaded.public, loaded.k) == (
        report.title,
        2022,
        language,
        False,
        report.k,
    )
    assert loaded.generated_at == report.generated_at
    assert (loaded.persons, loaded.persons_range) == (report.persons, report.persons_range)
    assert (loaded.persons, loaded.persons_range) == (3, (2, 3))


def test_lazy_labels_are_stored_in_the_report_language_whatever_is_active(
    world: World, agency_a: Agency
) -> None:
    report = _report(agency_a, "km")
    with translation.override("en"):
        content = report_to_dict(report)
    funnel = next(f for f in content["figures"] if f["key"] == "funnel")
    with translation.override("km"):
        expected = str(report.figure("funnel").title)
    assert funnel["title"] == expected
    assert funnel["title"] != "From help request to closure"  # Khmer, not English


def test_refresh_stores_this_and_last_year_in_both_languages_for_active_agencies(
    world: World, agency_a: Agency, agency_b: Agency
) -> None:
    agency_b.is_active = False
    agency_b.save(update_fields=["is_active"])
    now = datetime(2023, 3, 1, 9, 30, tzinfo=UTC)

    result = snapshots.dashboard_snapshots_refresh(now=now)
    again = snapshots.dashboard_snapshots_refresh(now=now + timedelta(minutes=10))

    active = Agency.objects.filter(is_active=True).count()  # A and the fixture's embassy
    assert result == again == {"snapshots": active * 4, "failed": 0}
    rows = DashboardSnapshot.objects.filter(agency=agency_a)
    assert sorted(rows.values_list("year", "language")) == [
        (2022, "en"),
        (2022, "km"),
        (2023, "en"),
        (2023, "km"),
    ]
    assert {r.computed_at for r in rows} == {now + timedelta(minutes=10)}  # upserted
    assert not DashboardSnapshot.objects.filter(agency=agency_b).exists()
    stored = report_from_dict(rows.get(year=2022, language="en").content)
    assert stored.figure("destination").cells == _report(agency_a).figure("destination").cells


def test_command_refreshes_once(world: World, agency_a: Agency) -> None:
    call_command("report", "snapshots")
    year = clock.now().year
    assert DashboardSnapshot.objects.filter(agency=agency_a, year__in=[year, year - 1]).count() == 4


def test_the_worker_runs_the_refresh_every_ten_minutes() -> None:
    job = periodic.JOBS["dashboard_snapshots"]
    assert job.every_seconds == 600
    assert job.run is snapshots.dashboard_snapshots_job


def test_dashboard_from_the_snapshot_shows_the_same_tables_as_live(
    world: World, analyst, agency_a: Agency, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    live = _page(client)
    assert 'class="as-of"' not in live  # no snapshot yet: computed live
    assert _without_note(live) != live  # the CSRF token is stripped, nothing else

    snapshot = snapshots.refresh_one(agency_a, year=2022, language="en", now=clock.now())
    served = _page(client)

    note = f"Figures as of {snapshot.computed_at:%H:%M} UTC (refreshed every 10 minutes)"
    assert note in served
    assert _tables(served) == _tables(live)
    assert len(_tables(live)) > 5
    assert _without_note(served) == _without_note(live)  # charts, summary, everything else alike
    # The page really comes from the stored copy: change it, and the page changes.
    content = snapshot.content
    destination = next(f for f in content["figures"] if f["key"] == "destination")
    destination["rows"][0] = "ZZ"
    DashboardSnapshot.objects.filter(pk=snapshot.pk).update(content=content)
    assert '<th scope="row">ZZ</th>' in _page(client)


def test_a_stale_snapshot_is_not_served(
    world: World, analyst, agency_a: Agency, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    snapshots.refresh_one(agency_a, year=2022, language="en", now=clock.now())
    assert 'class="as-of"' in _page(client)

    clock.advance(timedelta(minutes=19))
    assert 'class="as-of"' in _page(client)
    clock.advance(timedelta(minutes=1, seconds=1))
    stale = _page(client)

    assert 'class="as-of"' not in stale
    assert '<th scope="row">TH</th><td class="n">2</td>' in stale


@pytest.mark.parametrize(
    "query", ["?from=2022-01&to=2022-06", "?year=2022&country=TH", "?from=2022-03&to=2022-12"]
)
def test_a_filtered_request_is_computed_live(
    world: World, analyst, agency_a: Agency, client: Client, login_fully, query: str
) -> None:
    login_fully(client, analyst)
    snapshot = snapshots.refresh_one(agency_a, year=2022, language="en", now=clock.now())
    content = snapshot.content
    for figure in content["figures"]:
        figure["rows"] = ["ZZ" for _r in figure["rows"]]
    DashboardSnapshot.objects.filter(pk=snapshot.pk).update(content=content)

    html = _page(client, query)

    assert 'class="as-of"' not in html
    assert '<th scope="row">ZZ</th>' not in html


def test_a_whole_year_by_months_is_served_from_the_snapshot(
    world: World, analyst, agency_a: Agency, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    snapshots.refresh_one(agency_a, year=2022, language="en", now=clock.now())
    assert 'class="as-of"' in _page(client, "?from=2022-01&to=2022-12")
    assert 'class="as-of"' not in _page(client, "?year=2021")  # no snapshot of 2021


def test_another_agencys_snapshot_is_never_served(
    world: World, analyst, agency_a: Agency, agency_b: Agency, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    other = snapshots.refresh_one(agency_b, year=2022, language="en", now=clock.now())
    content = other.content
    for figure in content["figures"]:
        figure["rows"] = ["ZZ" for _r in figure["rows"]]
    DashboardSnapshot.objects.filter(pk=other.pk).update(content=content)

    html = _page(client)

    assert 'class="as-of"' not in html
    assert "ZZ" not in html
    assert '<th scope="row">TH</th><td class="n">2</td>' in html
    # Asking for B's code is refused, snapshot or not.
    assert client.get(URL + "?year=2022&agency=agency-b").status_code == 404


def test_khmer_dashboard_uses_the_khmer_snapshot(
    world: World, analyst, agency_a: Agency, client: Client, login_fully
) -> None:
    analyst.preferred_language = "km"
    analyst.save(update_fields=["preferred_language"])
    login_fully(client, analyst)
    live = _page(client)
    snapshots.refresh_one(agency_a, year=2022, language="en", now=clock.now())
    assert 'class="as-of"' not in _page(client)  # the English one is not served in Khmer

    snapshot = snapshots.refresh_one(agency_a, year=2022, language="km", now=clock.now())
    served = _page(client)

    assert '<html lang="km"' in served
    assert f"តួលេខគិតត្រឹមម៉ោង {snapshot.computed_at:%H:%M} UTC" in served
    assert "ធ្វើបច្ចុប្បន្នភាពរៀងរាល់ 10 នាទី" in served
    assert _tables(served) == _tables(live)
    assert _without_note(served) == _without_note(live)
    assert "From help request to closure" not in served
