"""Reads of person records, candidates, clusters and the review queue: scoped and audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_denied, audit_record
from lifeline.core.errors import NotFound

from . import linkage, names, policies, scoring, services
from .models import (
    ClusterMembership,
    Decision,
    LinkEdge,
    ManualDecision,
    PersonCluster,
    PersonRecord,
    ReviewPair,
    ReviewStatus,
)

MAX_LISTED_IDS = 200


def person_record_get(
    *, principal: Principal, record_id: int, extra_agency_ids: Iterable[int] = ()
) -> PersonRecord:
    """One record of the actor's agency, or of an agency the caller vouches for (a shared case).
    The read is audited (no audit row, no data); a refusal is audited too, and is not found."""
    record = PersonRecord.objects.select_related("agency").filter(pk=record_id).first()
    if record is None or not policies.can_view_person_record(principal, record, extra_agency_ids):
        audit_denied(
            actor=principal,
            target_type="person_record",
            metadata={"lookup": "id"},
        )
        raise NotFound
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_VIEWED,
        target_type="person_record",
        target_id=record.pk,
        metadata={"record_agency": record.agency_id},
    )
    return record


@dataclass(frozen=True)
class Candidate:
    """A record that may be the person searched for, with the evidence for each field."""

    record_id: int
    agency_id: int
    cluster_id: int | None
    score: float  # match probability 0..1
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def agreeing_fields(self) -> list[str]:
        return [name for name, e in self.evidence.items() if e["status"] == scoring.AGREE]


@transaction.atomic
def person_candidates(
    *,
    principal: Principal,
    name: str = "",
    phone: str = "",
    dob: str = "",
    id_number: str = "",
    agency_ids: Iterable[int] | None = None,
    limit: int = 20,
) -> list[Candidate]:
    """Search before create: records that may already be this person, best first.

    Blocks on blind-index tokens (no plaintext query touches the database), then scores each
    candidate with the current linkage weights. `agency_ids` is the caller's scope (default:
    the actor's own agency). The audit event holds counts, never the query.
    """
    if not principal.has(Capability.PERSON_IDENTITY_VIEW) or principal.agency is None:
        raise NotFound
    scope = [principal.agency.pk] if agency_ids is None else list(agency_ids)
    name = " ".join((name or "").split())[: services.NAME_MAX]
    phone_e164 = names.normalise_phone(phone) or "" if phone else ""
    try:
        parsed = names.parse_dob(dob)
    except ValueError:
        parsed = None
    dob_text = ""
    if parsed is not None:
        dob_text = "-".join(
            [f"{parsed.year:04d}"]
            + ([f"{parsed.month:02d}"] if parsed.month else [])
            + ([f"{parsed.day:02d}"] if parsed.day else [])
        )
    id_clean = "".join(ch for ch in (id_number or "") if ch.isalnum()).upper()
    khmer = names.has_khmer(name)
    tokens = services.probe_tokens(
        name_latin="" if khmer else name,
        name_khmer=name if khmer else "",
        phone=phone_e164,
        id_number=id_clean,
    )
    results: list[Candidate] = []
    scored = 0
    if tokens:
        ids = services.blocked_record_ids(tokens, agency_ids=scope)
        records = {r.pk: r for r in PersonRecord.objects.filter(pk__in=ids, agency_id__in=scope)}
        probe_input = {
            "record_id": "__probe__",
            "name_latin": "" if khmer else name,
            "name_khmer": name if khmer else "",
            "dob": dob_text,
            "phone": phone_e164,
            "id_number": id_clean,
        }
        feats = scoring.features_of(
            [probe_input] + [services.record_input(r) for r in records.values()]
        )
        probe = feats.get("__probe__")
        if probe is not None:
            parameters, _run = services.current_parameters()
            tf = services.term_frequencies(probe)
            cluster_of = services._current_cluster_of(records)
            for rid, record in records.items():
                other = feats.get(str(rid))
                if other is None:
                    continue
                scored += 1
                result = scoring.score_pair(probe, other, parameters, term_frequency=tf)
                evidence = result.evidence_dict()
                if not any(
                    evidence[f]["status"] in (scoring.AGREE, scoring.PARTIAL)
                    and evidence[f]["level"] != "one name token shared, others differ"
                    for f in ("name", "phone", "id_number")
                ):
                    continue
                results.append(
                    Candidate(
                        record_id=rid,
                        agency_id=record.agency_id,
                        cluster_id=cluster_of.get(rid),
                        score=round(result.match_probability, 4),
                        evidence={k: v for k, v in evidence.items() if k != "agency"},
                    )
                )
    results.sort(key=lambda c: (-c.score, c.record_id))
    results = results[:limit]
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_SEARCHED,
        target_type="person_record",
        metadata={
            "count": len(results),
            "scored": scored,
            "ids": [c.record_id for c in results[:MAX_LISTED_IDS]],
        },
    )
    return results


# ---------------------------------------------------------------------------------------------
# Counting persons


@dataclass(frozen=True)
class PersonCount:
    """Persons as a point figure with the honest range around it."""

    point: int
    lower: int  # fewest persons: everything at p >= 0.5 joined
    upper: int  # most persons: only p >= 0.99 joined
    records: int
    pending_review: int


def _components(record_ids: list[int], links: Iterable[tuple[int, int]]) -> int:
    parent = {rid: rid for rid in record_ids}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    return len({find(rid) for rid in record_ids})


def person_count() -> PersonCount:
    """How many persons the register holds: the current clusters, and connected components of
    the scored links at 0.5 and at 0.99 (both with people's rulings applied) as the range.

    Aggregates only; callers (reports) check statistics.view.
    """
    record_ids = list(PersonRecord.objects.values_list("pk", flat=True))
    current = dict(
        ClusterMembership.objects.filter(is_current=True).values_list("record_id", "cluster_id")
    )
    point = len(set(current.values())) + sum(1 for rid in record_ids if rid not in current)
    same: set[tuple[int, int]] = set()
    different: set[tuple[int, int]] = set()
    for a, b, decision in ManualDecision.objects.filter(is_active=True).values_list(
        "record_a_id", "record_b_id", "decision"
    ):
        (same if decision == Decision.SAME_PERSON else different).add((a, b))
    edges = [
        (a, b, p)
        for a, b, p in LinkEdge.objects.values_list(
            "record_a_id", "record_b_id", "match_probability"
        )
        if (a, b) not in different
    ]
    lower = _components(
        record_ids, [(a, b) for a, b, p in edges if p >= linkage.LOWER_THRESHOLD] + list(same)
    )
    upper = _components(
        record_ids, [(a, b) for a, b, p in edges if p >= linkage.UPPER_THRESHOLD] + list(same)
    )
    pending = ReviewPair.objects.filter(status=ReviewStatus.PENDING).count()
    return PersonCount(
        point=point,
        lower=min(lower, point),
        upper=max(upper, point),
        records=len(record_ids),
        pending_review=pending,
    )


def candidate_records(
    *, principal: Principal, candidates: Iterable[Candidate]
) -> dict[int, PersonRecord]:
    """The records behind search-before-create candidates, by id: only the principal's own
    agency's (person_candidates has already checked the capability and audited the search)."""
    if principal.agency is None:
        return {}
    ids = [c.record_id for c in candidates]
    return PersonRecord.objects.filter(agency_id=principal.agency.pk).in_bulk(ids)


# ---------------------------------------------------------------------------------------------
# Review queue


def reviewable_pairs(principal: Principal) -> QuerySet[ReviewPair]:
    """Pairs with a record of the reviewer's own agency; nothing without dedup.review."""
    if not principal.has(Capability.DEDUP_REVIEW) or principal.agency is None:
        return ReviewPair.objects.none()
    own = principal.agency.pk
    return ReviewPair.objects.filter(Q(record_a__agency_id=own) | Q(record_b__agency_id=own))


@transaction.atomic
def review_queue(*, principal: Principal, limit: int = 100) -> list[ReviewPair]:
    """Pending pairs, most uncertain first (closest to 0.5 is least known). Listing audited."""
    rows = list(
        reviewable_pairs(principal)
        .filter(status=ReviewStatus.PENDING)
        .select_related("record_a__agency", "record_b__agency")
        .order_by("match_probability", "pk")[:limit]
    )
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_LISTED,
        target_type="review_pair",
        metadata={"count": len(rows), "ids": [r.pk for r in rows[:MAX_LISTED_IDS]]},
    )
    return rows


def review_pair_clusters(*, pair: ReviewPair) -> list[int | None]:
    """The current cluster of each record of a pair already read through review_pair_get."""
    current = dict(
        ClusterMembership.objects.filter(
            record_id__in=[pair.record_a_id, pair.record_b_id], is_current=True
        ).values_list("record_id", "cluster_id")
    )
    return [current.get(pair.record_a_id), current.get(pair.record_b_id)]


def review_pair_get(*, principal: Principal, pair_id: int) -> ReviewPair:
    """One pair with both records: the read of both identities is audited."""
    pair = (
        reviewable_pairs(principal)
        .select_related("record_a__agency", "record_b__agency")
        .filter(pk=pair_id)
        .first()
    )
    if pair is None:
        audit_denied(
            actor=principal,
            target_type="review_pair",
            metadata={"lookup": "id"},
        )
        raise NotFound
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_VIEWED,
        target_type="review_pair",
        target_id=pair.pk,
        metadata={
            "records": [pair.record_a_id, pair.record_b_id],
            "agencies": [pair.record_a.agency_id, pair.record_b.agency_id],
        },
    )
    return pair


def cluster_get(
    *, principal: Principal, cluster_id: int
) -> tuple[PersonCluster, list[PersonRecord]]:
    """One person cluster with its current records, for a reviewer who holds one of them.

    The read of every record's identity is audited; anyone else gets NotFound (also audited).
    """
    cluster = PersonCluster.objects.filter(pk=cluster_id, is_active=True).first()
    records = (
        list(
            PersonRecord.objects.filter(
                memberships__cluster_id=cluster_id, memberships__is_current=True
            )
            .select_related("agency")
            .order_by("pk")
        )
        if cluster is not None
        else []
    )
    if cluster is None or not policies.can_review_records(
        principal, {r.agency_id for r in records}
    ):
        audit_denied(
            actor=principal,
            target_type="person_cluster",
            metadata={"lookup": "id"},
        )
        raise NotFound
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_VIEWED,
        target_type="person_cluster",
        target_id=cluster.pk,
        metadata={"records": [r.pk for r in records][:200]},
    )
    return cluster, records
