"""The statistics dashboard: who may see it, what it shows, and that it never shows a person."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from lifeline.accounts.models import Agency, Role
from lifeline.reports.tests.fixture import CANARY_NAME, CANARY_REFERENCE, World, build

pytestmark = pytest.mark.django_db
URL = "/reports/"


@pytest.fixture
def world(agency_a: Agency, agency_b: Agency) -> World:
    return build(agency_a, agency_b)


def _get(client: Client, user, login_fully, query: str = "?year=2022"):  # type: ignore[no-untyped-def]
    login_fully(client, user)
    return client.get(URL + query)


def test_url_name() -> None:
    assert reverse("reports:dashboard") == URL


@pytest.mark.parametrize(
    "role", [Role.ANALYST, Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER, Role.AGENCY_ADMIN]
)
def test_statistics_roles_see_the_dashboard(
    role: str, world: World, make_staff, agency_a: Agency, client: Client, login_fully
) -> None:
    user = make_staff(f"stats.{role}", role, agency_a)
    response = _get(client, user, login_fully)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="funnel"' in html
    assert "<svg" in html


@pytest.mark.parametrize("role", [Role.CASE_WORKER, Role.INTAKE_OFFICER])
def test_case_and_intake_staff_get_not_found(
    role: str, world: World, make_staff, agency_a: Agency, client: Client, login_fully
) -> None:
    user = make_staff(f"nostats.{role}", role, agency_a)
    assert _get(client, user, login_fully).status_code == 404


def test_another_agency_code_is_not_found(
    world: World, analyst, client: Client, login_fully
) -> None:
    assert _get(client, analyst, login_fully, "?year=2022&agency=agency-b").status_code == 404


def test_dashboard_shows_the_fixture_numbers_and_no_person(
    world: World, analyst, client: Client, login_fully
) -> None:
    html = _get(client, analyst, login_fully).content.decode()
    assert CANARY_NAME not in html
    assert "Canarysong" not in html  # nor the officer named on an authority request
    assert CANARY_REFERENCE not in html
    assert not re.search(r"CS-FIX-\d+|HR-FIX-\d+", html)
    # Units, the dedup range, and the fixture's figures.
    assert "persons (deduplicated)" in html
    assert "between 2 and 3" in html
    funnel = html.split('<table data-figure="funnel">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<td class="n">([^<]*)</td>', funnel)
    assert cells[:4] == ["4", "x", "4", "3"]  # requests (no median); cases opened, 3 days
    destination = html.split('<table data-figure="destination">', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]*)</th><td class="n">(\d+)</td>', destination) == [
        ("TH", "2"),
        ("unknown", "1"),
        ("MY", "1"),
        ("Total", "4"),
    ]
    assert "Royal Embassy (synthetic)" in html
    assert "Unit: cases" in html


def test_month_range_and_country_filters(
    world: World, analyst, client: Client, login_fully
) -> None:
    html = _get(
        client, analyst, login_fully, "?from=2022-01&to=2022-02&country=th"
    ).content.decode()
    destination = html.split('<table data-figure="destination">', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">TH</th><td class="n">2</td>' in destination
    assert "MY" not in destination
    month = html.split('<table data-figure="month">', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">(2022-\d\d)</th>', month) == ["2022-01", "2022-02"]


def test_khmer_dashboard(world: World, analyst, client: Client, login_fully) -> None:
    analyst.preferred_language = "km"
    analyst.save(update_fields=["preferred_language"])
    response = _get(client, analyst, login_fully)
    assert response.status_code == 200
    assert '<html lang="km"' in response.content.decode()
