"""Linkage runs, versioned clusters, merges, splits, review decisions and the person count."""

from __future__ import annotations

import pytest

from lifeline.audit.models import AuditEvent
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.people import selectors, services
from lifeline.people.models import (
    ClusterMembership,
    Decision,
    LinkageRun,
    ManualDecision,
    PersonCluster,
    ReviewPair,
    ReviewStatus,
    RunKind,
)

pytestmark = pytest.mark.django_db


def cluster_of(record) -> int:
    return ClusterMembership.objects.get(record=record, is_current=True).cluster_id


@pytest.fixture
def register(agency_a, agency_b, make_record):
    """Two agencies' records: Sok Heang three times (two spellings and Khmer script), Meas Dara
    twice, Chan Theary once."""
    return {
        "heang_a": make_record(
            agency_a,
            name_latin="Sok Heang",
            date_of_birth="1998-03-04",
            sex="female",
            phone="012345678",
            province="Prey Veng",
        ),
        "heang_b": make_record(
            agency_b,
            name_latin="Heang Sok",
            name_khmer="សុខ ហៀង",
            date_of_birth="1998",
            sex="female",
            phone="+85512345678",
            province="Prey Veng",
        ),
        "heang_c": make_record(
            agency_b, name_khmer="សុខ ហៀង", province="Prey Veng", destination_country="TH"
        ),
        "dara_a": make_record(
            agency_a,
            name_latin="Meas Dara",
            date_of_birth="1990-01-02",
            sex="male",
            id_number="N1234567",
            province="Kandal",
        ),
        "dara_b": make_record(
            agency_b, name_latin="Mias Dara", date_of_birth="1990", sex="male", id_number="N1234567"
        ),
        "theary": make_record(
            agency_a, name_latin="Chan Theary", date_of_birth="2001", sex="female", province="Takeo"
        ),
    }


def test_run_writes_a_version_and_reuses_cluster_ids(register):
    before = {k: cluster_of(r) for k, r in register.items()}
    run = services.linkage_run().run
    assert run.kind == RunKind.RULES  # six records cannot train a model
    assert run.status == "finished" and run.records == 6
    after = {k: cluster_of(r) for k, r in register.items()}
    assert after["heang_a"] == after["heang_b"]
    assert after["dara_a"] == after["dara_b"]
    assert len({after["heang_a"], after["dara_a"], after["theary"]}) == 3
    # Records whose person did not change keep their cluster id.
    assert after["theary"] == before["theary"]
    assert after["dara_a"] == before["dara_a"]
    event = AuditEvent.objects.get(action=services.AUDIT_LINKAGE_RUN)
    assert event.target_id == str(run.pk)
    assert event.metadata["records"] == 6


def test_person_count_gives_point_and_range(register):
    services.linkage_run()
    count = selectors.person_count()
    assert count.records == 6
    assert count.lower <= count.point <= count.upper
    clusters = {cluster_of(r) for r in register.values()}
    assert count.point == len(clusters)
    assert count.upper <= 6


def test_merge_is_kept_across_later_runs(register, reviewer):
    services.linkage_run()
    a, b = cluster_of(register["theary"]), cluster_of(register["dara_a"])
    kept = services.cluster_merge(
        principal=reviewer, cluster_a_id=a, cluster_b_id=b, reason="same passport seen"
    )
    assert cluster_of(register["theary"]) == cluster_of(register["dara_a"]) == kept.pk
    assert not PersonCluster.objects.get(pk=max(a, b)).is_active
    decision = ManualDecision.objects.get(is_active=True, decision=Decision.SAME_PERSON)
    assert decision.reason == "same passport seen"
    services.linkage_run()
    assert cluster_of(register["theary"]) == cluster_of(register["dara_a"])
    assert AuditEvent.objects.filter(action=services.AUDIT_CLUSTER_MERGED).count() == 1


def test_split_is_kept_across_later_runs(register, reviewer):
    services.linkage_run()
    cluster = cluster_of(register["heang_a"])
    members = list(
        ClusterMembership.objects.filter(cluster_id=cluster, is_current=True).values_list(
            "record_id", flat=True
        )
    )
    assert register["heang_b"].pk in members
    new = services.cluster_split(
        principal=reviewer,
        cluster_id=cluster,
        record_ids=[register["heang_b"].pk],
        reason="different mothers' names",
    )
    assert cluster_of(register["heang_b"]) == new.pk != cluster_of(register["heang_a"])
    services.linkage_run()
    assert cluster_of(register["heang_b"]) != cluster_of(register["heang_a"])
    # History: the old membership of heang_b is closed, not rewritten.
    history = ClusterMembership.objects.filter(record=register["heang_b"]).order_by("pk")
    assert [m.is_current for m in history][-1] is True
    assert any(not m.is_current and m.cluster_id == cluster for m in history)


def test_split_of_every_record_is_refused(register, reviewer):
    services.linkage_run()
    cluster = cluster_of(register["dara_a"])
    with pytest.raises(ValidationFailed):
        services.cluster_split(
            principal=reviewer,
            cluster_id=cluster,
            record_ids=[register["dara_a"].pk, register["dara_b"].pk],
            reason="x",
        )


def test_merge_needs_dedup_review(register, officer):
    services.linkage_run()
    a, b = cluster_of(register["theary"]), cluster_of(register["dara_a"])
    with pytest.raises(NotFound):
        services.cluster_merge(principal=officer, cluster_a_id=a, cluster_b_id=b, reason="x")
    assert cluster_of(register["theary"]) != cluster_of(register["dara_a"])
    assert not ManualDecision.objects.exists()


def test_merge_needs_a_record_of_the_reviewers_agency(agency_b, make_record, reviewer):
    one = make_record(agency_b, name_latin="Kim Vuthy", date_of_birth="1985")
    two = make_record(agency_b, name_latin="Ly Chenda", date_of_birth="2008")
    with pytest.raises(NotFound):
        services.cluster_merge(
            principal=reviewer,
            cluster_a_id=cluster_of(one),
            cluster_b_id=cluster_of(two),
            reason="x",
        )
    assert cluster_of(one) != cluster_of(two)


def test_merge_needs_a_reason(register, reviewer):
    services.linkage_run()
    a, b = cluster_of(register["theary"]), cluster_of(register["dara_a"])
    with pytest.raises(ValidationFailed):
        services.cluster_merge(principal=reviewer, cluster_a_id=a, cluster_b_id=b, reason=" ")


@pytest.fixture
def pending_pair(agency_a, agency_b, make_record):
    a = make_record(agency_a, name_latin="Sok Heang", province="Prey Veng", sex="female")
    b = make_record(agency_b, name_latin="Sok Hieng", province="Prey Veng")
    pair = ReviewPair.objects.get(status=ReviewStatus.PENDING)
    return a, b, pair


def test_rejecting_a_pair_separates_it_now_and_in_later_runs(pending_pair, reviewer):
    a, b, pair = pending_pair
    assert cluster_of(a) == cluster_of(b)
    services.review_decide(principal=reviewer, pair_id=pair.pk, confirm=False, reason="ages")
    pair.refresh_from_db()
    assert pair.status == ReviewStatus.REJECTED and pair.decided_by_id == reviewer.user_id
    assert cluster_of(a) != cluster_of(b)
    services.linkage_run()
    assert cluster_of(a) != cluster_of(b)
    # A later run does not queue the decided pair again.
    assert not ReviewPair.objects.filter(status=ReviewStatus.PENDING).exists()
    count = selectors.person_count()
    assert (count.point, count.lower, count.upper) == (2, 2, 2)


def test_confirming_a_pair_joins_it_now_and_in_later_runs(
    agency_a, agency_b, make_record, reviewer
):
    a = make_record(agency_a, name_latin="Sok Heang", province="Prey Veng", sex="female")
    c = make_record(agency_a, name_latin="Chan Theary", province="Takeo", sex="female")
    services.linkage_run()
    b = make_record(agency_b, name_latin="Sok Hieng", province="Prey Veng")
    pair = ReviewPair.objects.get(status=ReviewStatus.PENDING)
    services.review_decide(principal=reviewer, pair_id=pair.pk, confirm=True, reason="photo")
    assert cluster_of(a) == cluster_of(b) != cluster_of(c)
    services.linkage_run()
    assert cluster_of(a) == cluster_of(b)
    assert ManualDecision.objects.get(is_active=True).decision == Decision.SAME_PERSON


def test_a_decided_pair_cannot_be_decided_again(pending_pair, reviewer):
    _a, _b, pair = pending_pair
    services.review_decide(principal=reviewer, pair_id=pair.pk, confirm=True, reason="photo")
    with pytest.raises(Conflict):
        services.review_decide(principal=reviewer, pair_id=pair.pk, confirm=False, reason="x")


def test_review_by_other_agency_is_not_found(agency_b, make_staff, make_record):
    from lifeline.accounts.models import AgencyKind, Role
    from lifeline.accounts.principal import principal_for
    from lifeline.accounts.tests.factories import AgencyFactory

    agency_c = AgencyFactory(name="Agency C (synthetic)", code="agency-c", kind=AgencyKind.NGO)
    outsider = principal_for(make_staff("c.sup", Role.SUPERVISOR, agency_c))
    make_record(agency_b, name_latin="Sok Heang", province="Prey Veng", sex="female")
    make_record(agency_b, name_latin="Sok Hieng", province="Prey Veng")
    pair = ReviewPair.objects.get()
    with pytest.raises(NotFound):
        services.review_decide(principal=outsider, pair_id=pair.pk, confirm=True, reason="x")
    pair.refresh_from_db()
    assert pair.status == ReviewStatus.PENDING
    assert not ManualDecision.objects.exists()


def test_runs_keep_their_model_version(register):
    services.linkage_run()
    services.linkage_run()
    versions = list(LinkageRun.objects.values_list("model_version", flat=True))
    assert len(versions) == 2 and all(v.startswith("lifeline-link-4/") for v in versions)


@pytest.mark.slow
def test_a_large_register_trains_a_model_and_new_records_use_it(agency_a, officer):
    from lifeline.people.models import LinkEdge, PersonRecord
    from lifeline.people.tests.conftest import bulk_register

    bulk_register(agency_a, 1500, seed=8, profile="easy")
    outcome = services.linkage_run(seed=8)
    run = outcome.run
    assert run.kind == RunKind.MODEL
    assert run.model_settings["comparisons"]
    assert run.records == PersonRecord.objects.count()
    count = selectors.person_count()
    assert count.lower <= count.point <= count.upper
    assert count.point < count.records  # duplicates were linked
    parameters, latest = services.current_parameters()
    assert latest == run and parameters.source == f"run {run.pk}"
    # A copy of an existing record joins that record's person, scored by the trained model.
    source = next(
        r for r in PersonRecord.objects.order_by("pk") if r.phone and r.dob_precision == "day"
    )
    copy = services.person_record_create(
        principal=officer,
        data={
            "name_latin": source.name_latin, "name_khmer": source.name_khmer,
            "date_of_birth": source.date_of_birth, "sex": source.sex, "phone": source.phone,
            "province": source.province,
        },
    )  # fmt: skip
    assert cluster_of(copy) == cluster_of(source)
    edge = LinkEdge.objects.get(record_a=source, record_b=copy)
    assert edge.run == run and edge.match_probability > 0.99
