"""Review queue screens: who may see them, what they show, and what a decision writes."""

from __future__ import annotations

import pytest

from lifeline.audit.models import AuditEvent
from lifeline.people.models import ManualDecision, ReviewPair, ReviewStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(agency_a, agency_b, make_record):
    make_record(
        agency_a, name_latin="Sok Heang", province="Prey Veng", sex="female", phone="012345678"
    )
    make_record(agency_b, name_latin="Sok Hieng", name_khmer="សុខ ហៀង", province="Prey Veng")
    return ReviewPair.objects.get(status=ReviewStatus.PENDING)


@pytest.mark.parametrize("role", ["supervisor", "data_protection_officer"])
def test_reviewers_see_the_queue_and_the_pair(role, request, client, login_fully, pair):
    login_fully(client, request.getfixturevalue(role))
    listing = client.get("/people/review/")
    assert listing.status_code == 200
    assert f'data-pair="{pair.pk}"' in listing.content.decode()
    page = client.get(f"/people/review/{pair.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Sok Heang" in body and "Sok Hieng" in body and "សុខ ហៀង" in body
    assert "same name under romanisation table (any order)" in body
    assert 'class="evidence-missing"' in body  # phone only on one side
    viewed = AuditEvent.objects.get(action="record.viewed", target_type="review_pair")
    assert viewed.metadata["records"] == [pair.record_a_id, pair.record_b_id]
    assert AuditEvent.objects.filter(action="record.listed", target_type="review_pair").exists()


@pytest.mark.parametrize(
    "role", ["intake_officer", "case_worker", "analyst", "agency_admin", "liaison_officer"]
)
def test_other_roles_get_not_found_and_nothing_is_written(role, request, client, login_fully, pair):
    login_fully(client, request.getfixturevalue(role))
    before = AuditEvent.objects.filter(target_type="review_pair").count()
    assert client.get("/people/review/").status_code == 404
    assert client.get(f"/people/review/{pair.pk}/").status_code == 404
    response = client.post(
        f"/people/review/{pair.pk}/decide/", {"decision": "confirm", "reason": "looks alike"}
    )
    assert response.status_code == 404
    pair.refresh_from_db()
    assert pair.status == ReviewStatus.PENDING
    assert not ManualDecision.objects.exists()
    assert AuditEvent.objects.filter(target_type="review_pair").count() == before


def test_pairs_of_unrelated_agencies_are_not_found(client, login_fully, make_staff, pair):
    from lifeline.accounts.models import AgencyKind, Role
    from lifeline.accounts.tests.factories import AgencyFactory

    agency_c = AgencyFactory(name="Agency C (synthetic)", code="agency-c", kind=AgencyKind.NGO)
    login_fully(client, make_staff("c.supervisor", Role.SUPERVISOR, agency_c))
    assert f'data-pair="{pair.pk}"' not in client.get("/people/review/").content.decode()
    assert client.get(f"/people/review/{pair.pk}/").status_code == 404
    assert (
        client.post(
            f"/people/review/{pair.pk}/decide/", {"decision": "reject", "reason": "x"}
        ).status_code
        == 404
    )
    pair.refresh_from_db()
    assert pair.status == ReviewStatus.PENDING


def test_other_agency_reviewer_sees_a_pair_with_its_own_record(
    client, login_fully, other_agency_user, pair
):
    login_fully(client, other_agency_user)
    assert client.get(f"/people/review/{pair.pk}/").status_code == 200


def test_confirm_records_the_decision(client, login_fully, supervisor, pair):
    login_fully(client, supervisor)
    response = client.post(
        f"/people/review/{pair.pk}/decide/", {"decision": "confirm", "reason": "same photo"}
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == ReviewStatus.CONFIRMED
    decision = ManualDecision.objects.get()
    assert (decision.decision, decision.reason, decision.decided_by_id) == (
        "same",
        "same photo",
        supervisor.pk,
    )
    assert AuditEvent.objects.filter(action="person.review_decided").count() == 1


def test_decision_without_reason_is_refused(client, login_fully, supervisor, pair):
    login_fully(client, supervisor)
    response = client.post(f"/people/review/{pair.pk}/decide/", {"decision": "reject"})
    assert response.status_code == 422
    pair.refresh_from_db()
    assert pair.status == ReviewStatus.PENDING
    assert not ManualDecision.objects.exists()


def _msgids() -> set[str]:
    """Every msgid the people app shows: gettext calls in code, translate tags in templates."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found: set[str] = set()
    for path in [*root.glob("*.py"), *root.glob("templates/people/*.html")]:
        text = path.read_text()
        calls = re.findall(r'(?:gettext_lazy|gettext|\b_)\(\s*"((?:[^"\\]|\\.)*)"', text)
        found |= set(calls)
        found |= set(re.findall(r'{% translate "([^"]+)" %}', text))
        for block in re.findall(
            r"{% blocktranslate with (\w+)=[^%]*%}(.*?){% endblocktranslate", text
        ):
            found.add(re.sub(r"{{ (\w+) }}", r"%(\1)s", block[1]))
    return found


def test_every_people_string_has_a_khmer_translation():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "scripts" / "km" / "people.py"
    spec = importlib.util.spec_from_file_location("km_people", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    msgids = _msgids()
    assert "Possible duplicates" in msgids and "Pair %(n)s" in msgids
    missing = sorted(m for m in msgids if m not in module.KM)
    assert missing == []


def _cluster_of(record_id):
    from lifeline.people.models import ClusterMembership

    return ClusterMembership.objects.get(record_id=record_id, is_current=True).cluster_id


def test_reviewer_merges_two_people_and_splits_them_again(
    client, login_fully, supervisor, agency_a, agency_b, make_record
):
    first = make_record(agency_a, name_latin="Chan Dara", province="Kampot", sex="male")
    second = make_record(agency_b, name_latin="Nov Sreymom", province="Takeo", sex="female")
    a, b = _cluster_of(first.pk), _cluster_of(second.pk)
    assert a != b
    login_fully(client, supervisor)
    page = client.get(f"/people/clusters/{a}/")
    assert page.status_code == 200 and "Chan Dara" in page.content.decode()
    assert AuditEvent.objects.filter(action="record.viewed", target_type="person_cluster").exists()

    no_reason = client.post(f"/people/clusters/{a}/merge/", {"other_cluster": b, "reason": ""})
    assert no_reason.status_code == 422
    assert _cluster_of(first.pk) != _cluster_of(second.pk)

    merged = client.post(
        f"/people/clusters/{a}/merge/", {"other_cluster": b, "reason": "same passport seen"}
    )
    assert merged.status_code == 302
    assert _cluster_of(first.pk) == _cluster_of(second.pk)
    kept = _cluster_of(first.pk)

    split = client.post(
        f"/people/clusters/{kept}/split/",
        {"record_ids": [second.pk], "reason": "passport was misread"},
    )
    assert split.status_code == 302
    assert _cluster_of(first.pk) != _cluster_of(second.pk)
    assert ManualDecision.objects.filter(decision="different").count() == 1


def test_cluster_of_another_agency_only_is_not_found(
    client, login_fully, supervisor, agency_b, make_record
):
    theirs = make_record(agency_b, name_latin="Keo Sophal", province="Kandal")
    login_fully(client, supervisor)
    cluster = _cluster_of(theirs.pk)
    assert client.get(f"/people/clusters/{cluster}/").status_code == 404
    assert (
        client.post(
            f"/people/clusters/{cluster}/split/", {"record_ids": [theirs.pk], "reason": "x" * 12}
        ).status_code
        == 404
    )
    assert AuditEvent.objects.filter(action="access.denied", target_type="person_cluster").exists()
