"""The screening demo step: idempotent, through the real services, synthetic only."""

from __future__ import annotations

import io

import pytest

from lifeline.accounts.models import AgencyKind, Role
from lifeline.accounts.tests.factories import AgencyFactory, MembershipFactory, UserFactory
from lifeline.core import demo_registry
from lifeline.screening import demo
from lifeline.screening.models import (
    IndicatorResponse,
    OfficialDetermination,
    ScreeningInterview,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mekong():
    agency = AgencyFactory(code="ngo-mekong", name="Mekong (synthetic)", kind=AgencyKind.NGO)
    MembershipFactory(user=UserFactory(username="ngo-mekong.caseworker"), agency=agency,
                      role=Role.CASE_WORKER)  # fmt: skip
    return agency


def test_demo_screens_two_persons_once(mekong):
    out = io.StringIO()

    first = demo.load(out)
    second = demo.load()

    rows = ScreeningInterview.objects.order_by("pk")
    assert [r.suggested_outcome for r in rows] == ["POSSIBLE_VOT", "POSSIBLE_FORCED_LABOUR"]
    assert "NON_PUNISHMENT" in rows[0].suggested_flags
    assert [r.instrument_version for r in rows] == ["kh-screen-2", "kh-screen-2"]
    platforms = IndicatorResponse.objects.filter(item_id="c_platform").order_by("interview_id")
    assert list(platforms.values_list("value", flat=True)) == ["facebook", "not_online"]
    assert OfficialDetermination.objects.get().value == "PENDING"
    assert first == "screenings: 2 at ngo-mekong (2 new), one official determination pending"
    assert second.startswith("screenings: 2 at ngo-mekong (0 new)")
    assert out.getvalue() == first + "\n"


def test_demo_without_the_agency_does_nothing():
    assert demo.load() == "screenings: skipped (no ngo-mekong case worker)"
    assert ScreeningInterview.objects.count() == 0


def test_demo_step_is_registered():
    assert "screenings" in [name for name, _step in demo_registry.DEMO_STEPS]
