"""Demo data: the same person across agencies ends up as one person, and loading twice adds
nothing."""

from __future__ import annotations

from io import StringIO

import pytest

from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.people import demo
from lifeline.people.models import ClusterMembership, LinkageRun, PersonRecord

pytestmark = pytest.mark.django_db


def test_demo_load_links_records_once():
    for code in {code for code, _ in demo.RECORDS}:
        AgencyFactory(code=code, name=f"{code} (demo)")
    out = StringIO()
    summary = demo.load(out)
    assert PersonRecord.objects.count() == len(demo.RECORDS) == 11
    assert LinkageRun.objects.count() == 1
    clusters = dict(
        ClusterMembership.objects.filter(is_current=True).values_list("record_id", "cluster_id")
    )
    ids = list(PersonRecord.objects.order_by("pk").values_list("pk", flat=True))
    heang = {clusters[ids[0]], clusters[ids[1]], clusters[ids[2]]}
    assert len(heang) == 1
    assert clusters[ids[3]] == clusters[ids[4]]
    assert clusters[ids[10]] not in heang  # Sok Dara is a namesake, not Sok Heang
    assert summary in out.getvalue()
    assert demo.load().startswith("person records: 11 (0 new)")
    assert LinkageRun.objects.count() == 1
