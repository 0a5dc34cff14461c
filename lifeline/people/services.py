"""Writes for person records and the person clusters that link them.

Source records are written once per agency and never rewritten by linkage. Clusters are derived
and versioned: every change closes membership rows and opens new ones, so any record's history
can be replayed. Decisions made by people (merge, split, review) are stored as ManualDecision
rows and bind every later linkage run. Every write is one transaction with its audit event.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import phonenumbers
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import SYSTEM, AuditActor, audit_record
from lifeline.core import clock
from lifeline.core.crypto import blind_index
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import linkage, names, policies, scoring
from .models import (
    ClusterMembership,
    Decision,
    LinkageRun,
    LinkEdge,
    ManualDecision,
    MembershipSource,
    PersonCluster,
    PersonRecord,
    PersonToken,
    ReviewPair,
    ReviewStatus,
    RunKind,
    RunStatus,
    Sex,
)

logger = logging.getLogger(__name__)

# Audit actions of this app (audit_record takes any short code; see the report on AuditAction).
AUDIT_CLUSTER_MERGED = "person.cluster_merged"
AUDIT_CLUSTER_SPLIT = "person.cluster_split"
AUDIT_REVIEW_DECIDED = "person.review_decided"
AUDIT_LINKAGE_RUN = "person.linkage_run"

NAME_MAX = 200
ALIASES_MAX = 1000
ID_NUMBER_MAX = 32
PROVINCE_MAX = 64
ORIGIN_MAX = 500
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)

# Term frequencies from a few dozen records are noise; below this, names count at face value.
MIN_RECORDS_FOR_TF = 1000
# Search and attach never score more candidates than this; the best-blocked come first.
MAX_CANDIDATES = 400
# A split writes a cannot-link between every moved and every remaining record; cap it.
MAX_SPLIT_DECISIONS = 2500

TOKEN_KINDS = ("name", "nbag", "ncat", "nskel", "phone", "dob", "idnum")

RECORD_FIELDS = (
    "name_khmer",
    "name_latin",
    "aliases",
    "date_of_birth",
    "age_estimated",
    "sex",
    "nationality",
    "phone",
    "id_number",
    "province",
    "origin_detail",
    "destination_country",
    "deceased",
)


# ---------------------------------------------------------------------------------------------
# Validation


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "on", "yes"}


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def person_input_clean(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate every field and collect all errors at once; returns values ready to store."""
    errors: dict[str, list[str]] = {}

    def text(name: str, max_length: int, *, multiline: bool = False) -> str:
        value = str(raw.get(name) or "").strip()
        if not multiline:
            value = " ".join(value.split())
        if _CONTROL.search(value):
            errors.setdefault(name, []).append(_("Remove the control characters."))
        if len(value) > max_length:
            errors.setdefault(name, []).append(
                _("Use at most %(max)d characters.") % {"max": max_length}
            )
        return value

    def country(name: str, default: str = "") -> str:
        value = str(raw.get(name) or default).strip().upper()
        if value and value not in COUNTRIES:
            errors.setdefault(name, []).append(_("Use a two-letter country code such as KH or TH."))
        return value

    name_khmer = names.normalise_khmer(text("name_khmer", NAME_MAX))
    name_latin = text("name_latin", NAME_MAX)
    if name_khmer and not names.has_khmer(name_khmer):
        errors.setdefault("name_khmer", []).append(_("Write this name in Khmer script."))
    if name_latin and names.has_khmer(name_latin):
        errors.setdefault("name_latin", []).append(
            _("Write this name in Latin letters; put the Khmer spelling in the Khmer name.")
        )
    if not name_khmer and not name_latin and "name_latin" not in errors:
        errors.setdefault("name_latin", []).append(_("Give a name in Khmer or Latin letters."))

    dob_text = str(raw.get("date_of_birth") or "").strip()
    date_of_birth, precision = "", "unknown"
    try:
        dob = names.parse_dob(dob_text)
    except ValueError:
        errors.setdefault("date_of_birth", []).append(
            _("Give the date of birth as YYYY-MM-DD, YYYY-MM or YYYY.")
        )
        dob = None
    if dob is not None:
        if dob.year > clock.now().year:
            errors.setdefault("date_of_birth", []).append(_("The date of birth is in the future."))
        date_of_birth = "-".join(
            [f"{dob.year:04d}"]
            + ([f"{dob.month:02d}"] if dob.month else [])
            + ([f"{dob.day:02d}"] if dob.day else [])
        )
        precision = dob.precision

    sex = str(raw.get("sex") or Sex.UNKNOWN).strip().lower()
    if sex not in Sex.values:
        errors.setdefault("sex", []).append(_("Choose one of the listed options."))

    nationality = country("nationality", "KH")
    phone_text = str(raw.get("phone") or "").strip()
    phone = ""
    if phone_text:
        phone = names.normalise_phone(phone_text, region=nationality or "KH") or ""
        if not phone:
            errors.setdefault("phone", []).append(
                _("This is not a possible phone number; include the country code if abroad.")
            )
    id_raw = text("id_number", ID_NUMBER_MAX * 2)
    id_number = re.sub(r"[^0-9A-Za-z]", "", id_raw).upper()
    if len(id_number) > ID_NUMBER_MAX:
        errors.setdefault("id_number", []).append(
            _("Use at most %(max)d characters.") % {"max": ID_NUMBER_MAX}
        )
    cleaned = {
        "name_khmer": name_khmer,
        "name_latin": name_latin,
        "aliases": text("aliases", ALIASES_MAX, multiline=True),
        "date_of_birth": date_of_birth,
        "dob_precision": precision,
        "age_estimated": _bool(raw.get("age_estimated", False)),
        "sex": sex,
        "nationality": nationality,
        "phone": phone,
        "id_number": id_number,
        "province": text("province", PROVINCE_MAX),
        "origin_detail": text("origin_detail", ORIGIN_MAX, multiline=True),
        "destination_country": country("destination_country"),
        "deceased": _bool(raw.get("deceased", False)),
    }
    if errors:
        raise ValidationFailed(errors)
    return cleaned


# ---------------------------------------------------------------------------------------------
# Blind-index tokens


def token_digest(kind: str, value: str) -> str:
    return blind_index(value, purpose=f"person-{kind}")


def probe_tokens(
    *,
    name_latin: str = "",
    name_khmer: str = "",
    phone: str = "",
    dob: str = "",
    id_number: str = "",
) -> set[tuple[str, str]]:
    """(kind, digest) search keys of a record or a query. No plaintext leaves this function.

    Names give one token per folded name part ("name"), the order-free bag ("nbag"), the
    joined spelling ("ncat") and the consonant skeleton ("nskel"), for each script separately,
    so a Khmer-only record meets a Latin-only one through the Khmer->Latin key.
    """
    out: set[tuple[str, str]] = set()
    for name in (name_latin, name_khmer):
        keys = names.name_keys(name) if name else ()
        if not keys:
            continue
        out |= {("name", token_digest("name", key)) for key in keys}
        out.add(("nbag", token_digest("nbag", " ".join(sorted(keys)))))
        out.add(("ncat", token_digest("ncat", "".join(sorted(keys)))))
        skel = names.name_skeleton(name)
        if skel:
            out.add(("nskel", token_digest("nskel", skel)))
    if phone:
        out.add(("phone", token_digest("phone", phone)))
    if dob:
        out.add(("dob", token_digest("dob", dob[:4])))
    if id_number:
        out.add(("idnum", token_digest("idnum", id_number)))
    return out


def record_tokens(record: PersonRecord) -> set[tuple[str, str]]:
    """The search keys of a stored record (also used by migrations, on historical models)."""
    return probe_tokens(
        name_latin=record.name_latin,
        name_khmer=record.name_khmer,
        phone=record.phone,
        dob=record.date_of_birth,
        id_number=record.id_number,
    )


def _write_tokens(record: PersonRecord) -> None:
    PersonToken.objects.filter(record=record).delete()
    tokens = record_tokens(record)
    PersonToken.objects.bulk_create(
        PersonToken(record=record, kind=kind, digest=digest) for kind, digest in sorted(tokens)
    )


# ---------------------------------------------------------------------------------------------
# Records


def record_input(record: PersonRecord) -> dict[str, str]:
    """The record in the linkage input shape (INPUT_COLUMNS), decrypted in memory only."""
    return {
        "record_id": str(record.pk),
        "agency": str(record.agency_id),
        "name_latin": record.name_latin,
        "name_khmer": record.name_khmer,
        "sex": record.sex if record.sex in (Sex.FEMALE, Sex.MALE) else "",
        "dob": record.date_of_birth,
        "phone": record.phone,
        "id_number": record.id_number,
        "province": record.province,
        "destination_country": record.destination_country,
    }


def _record_insert(
    *, actor: AuditActor, agency: Agency, created_by: User | None, data: Mapping[str, Any]
) -> PersonRecord:
    cleaned = person_input_clean(data)
    now = clock.now()
    record = PersonRecord.objects.create(
        agency=agency, created_by=created_by, created_at=now, updated_at=now, **cleaned
    )
    _write_tokens(record)
    cluster = _attach(record, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_CREATED,
        target_type="person_record",
        target_id=record.pk,
        metadata={"cluster": cluster.pk},
        agency_id=agency.pk,
    )
    return record


@transaction.atomic
def person_record_create(*, principal: Principal, data: Mapping[str, Any]) -> PersonRecord:
    """Store one agency's record of a person, index it blindly, and attach it to a person.

    Needs person.identity.view in an agency; the record always belongs to that agency.
    """
    if not policies.can_create_person_record(principal):
        raise NotFound
    assert principal.agency is not None  # noqa: S101 - the policy requires an agency
    return _record_insert(
        actor=principal, agency=principal.agency, created_by=principal.user, data=data
    )


def person_record_create_system(
    *, actor: AuditActor, agency: Agency, data: Mapping[str, Any]
) -> PersonRecord:
    """For imports and demo data run by an operator: no user, same validation and audit."""
    with transaction.atomic():
        return _record_insert(actor=actor, agency=agency, created_by=None, data=data)


IDENTITY_FIELDS = frozenset(
    {
        "name_khmer",
        "name_latin",
        "date_of_birth",
        "sex",
        "phone",
        "id_number",
        "province",
        "destination_country",
    }
)


@transaction.atomic
def person_record_update(
    *, principal: Principal, record_id: int, expected_version: int, data: Mapping[str, Any]
) -> PersonRecord:
    """Change a record the actor's agency entered. A stale `expected_version` is a Conflict, so
    two people editing at once cannot overwrite each other unseen. Fields not in `data` keep
    their values."""
    record = PersonRecord.objects.select_for_update().filter(pk=record_id).first()
    if record is None or not policies.can_update_person_record(principal, record):
        raise NotFound
    if record.version != expected_version:
        raise Conflict("the person record changed since it was read")
    current = {name: getattr(record, name) for name in RECORD_FIELDS}
    unknown = set(data) - set(RECORD_FIELDS)
    if unknown:
        raise ValidationFailed({name: [_("This field cannot be changed.")] for name in unknown})
    cleaned = person_input_clean({**current, **data})
    changed = sorted(name for name, value in cleaned.items() if getattr(record, name) != value)
    if not changed:
        return record
    for name in changed:
        setattr(record, name, cleaned[name])
    record.version += 1
    record.updated_at = clock.now()
    record.save()
    _write_tokens(record)
    if IDENTITY_FIELDS & set(changed):
        _attach(record, actor=principal)
    audit_record(
        actor=principal,
        action=AuditAction.RECORD_UPDATED,
        target_type="person_record",
        target_id=record.pk,
        metadata={"fields": changed, "version": record.version},
    )
    return record


# ---------------------------------------------------------------------------------------------
# Scoring helpers shared by search and attach


def current_parameters() -> tuple[scoring.Parameters, LinkageRun | None]:
    """Weights of the latest run that trained a model, else the defaults."""
    run = (
        LinkageRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()
    )
    if run is not None and run.kind == RunKind.MODEL and run.model_settings:
        return scoring.Parameters.from_model(run.model_settings, source=f"run {run.pk}"), run
    return scoring.DEFAULT_PARAMETERS, run


def term_frequencies(probe: Mapping[str, Any]) -> scoring.TermFrequency | None:
    """Term frequencies of the probe's values, counted over blind tokens and plain columns."""
    total = PersonRecord.objects.count()
    if total < MIN_RECORDS_FOR_TF:
        return None
    kinds = {"name_key": "nbag", "name_skel": "nskel", "phone": "phone"}
    counts: dict[tuple[str, str], float] = {}
    for column, kind in kinds.items():
        value = probe.get(column)
        if not value:
            continue
        digest = token_digest(kind, str(value))
        n = PersonToken.objects.filter(kind=kind, digest=digest).count()
        counts[(column, str(value))] = max(n, 1) / total
    province = probe.get("province")
    if province:
        n = PersonRecord.objects.filter(province__iexact=province).count()
        counts[("province", str(province))] = max(n, 1) / total
    destination = probe.get("destination")
    if destination:
        n = PersonRecord.objects.filter(destination_country=destination).count()
        counts[("destination", str(destination))] = max(n, 1) / total

    def lookup(column: str, value: str) -> float | None:
        return counts.get((column, value))

    return lookup


def blocked_record_ids(
    tokens: set[tuple[str, str]], *, exclude: int | None = None, agency_ids: Iterable[int] | None
) -> list[int]:
    """Records sharing a strong key (bag, joined name, skeleton, phone, ID) or two name parts,
    best-blocked first, at most MAX_CANDIDATES."""
    strong = [(k, d) for k, d in tokens if k in ("nbag", "ncat", "nskel", "phone", "idnum")]
    name_parts = [d for k, d in tokens if k == "name"]
    scope = PersonToken.objects.all()
    if agency_ids is not None:
        scope = scope.filter(record__agency_id__in=list(agency_ids))
    if exclude is not None:
        scope = scope.exclude(record_id=exclude)
    hits: dict[int, int] = defaultdict(int)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, digest in strong:
        by_kind[kind].append(digest)
    for kind, digests in by_kind.items():
        for record_id in scope.filter(kind=kind, digest__in=digests).values_list(
            "record_id", flat=True
        ):
            hits[record_id] += 10
    if name_parts:
        shared = (
            scope.filter(kind="name", digest__in=name_parts)
            .values("record_id")
            .annotate(n=Count("id"))
            .values_list("record_id", "n")
        )
        needed = min(2, len(name_parts))
        for record_id, n in shared:
            if n >= needed or record_id in hits:
                hits[record_id] += n
    ranked = sorted(hits, key=lambda rid: (-hits[rid], rid))
    return ranked[:MAX_CANDIDATES]


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _decisions() -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    same: set[tuple[int, int]] = set()
    different: set[tuple[int, int]] = set()
    for a, b, decision in ManualDecision.objects.filter(is_active=True).values_list(
        "record_a_id", "record_b_id", "decision"
    ):
        (same if decision == Decision.SAME_PERSON else different).add((a, b))
    return same, different


def _current_cluster_of(record_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        ClusterMembership.objects.filter(
            record_id__in=list(record_ids), is_current=True
        ).values_list("record_id", "cluster_id")
    )


def _move(
    record_ids: Iterable[int],
    cluster: PersonCluster,
    *,
    source: str,
    run: LinkageRun | None,
    confidence: float | dict[int, float] = 1.0,
) -> None:
    """Close the current membership of each record and open one in `cluster`."""
    now = clock.now()
    ids = list(record_ids)
    current = {
        m.record_id: m
        for m in ClusterMembership.objects.select_for_update().filter(
            record_id__in=ids, is_current=True
        )
    }
    closing = [m.pk for rid, m in current.items() if m.cluster_id != cluster.pk]
    ClusterMembership.objects.filter(pk__in=closing).update(
        is_current=False, ended_at=now, to_run=run
    )
    ClusterMembership.objects.bulk_create(
        ClusterMembership(
            record_id=rid,
            cluster=cluster,
            source=source,
            from_run=run,
            started_at=now,
            confidence=confidence.get(rid, 1.0) if isinstance(confidence, dict) else confidence,
        )
        for rid in ids
        if rid not in current or current[rid].cluster_id != cluster.pk
    )
    left = {m.cluster_id for m in current.values() if m.cluster_id != cluster.pk}
    _retire_empty(left)


def _retire_empty(cluster_ids: Iterable[int]) -> None:
    ids = list(cluster_ids)
    if not ids:
        return
    alive = set(
        ClusterMembership.objects.filter(cluster_id__in=ids, is_current=True).values_list(
            "cluster_id", flat=True
        )
    )
    PersonCluster.objects.filter(pk__in=[c for c in ids if c not in alive]).update(is_active=False)


def _new_cluster(run: LinkageRun | None = None) -> PersonCluster:
    return PersonCluster.objects.create(created_at=clock.now(), created_in_run=run)


def _queue_review(
    run: LinkageRun | None,
    pairs: Iterable[tuple[int, int, float, dict[str, Any]]],
    decided: set[tuple[int, int]],
) -> int:
    """Queue pairs for review unless a person already ruled on them or they wait already."""
    now = clock.now()
    wanted = {}
    for a, b, probability, evidence in pairs:
        key = _ordered(a, b)
        if key in decided:
            continue
        wanted[key] = (probability, evidence)
    if not wanted:
        return 0
    waiting = set(
        ReviewPair.objects.filter(status=ReviewStatus.PENDING)
        .filter(record_a_id__in=[a for a, _b in wanted])
        .values_list("record_a_id", "record_b_id")
    )
    rows = [
        ReviewPair(
            run=run,
            record_a_id=a,
            record_b_id=b,
            match_probability=round(p, 6),
            evidence=evidence,
            created_at=now,
        )
        for (a, b), (p, evidence) in wanted.items()
        if (a, b) not in waiting
    ]
    ReviewPair.objects.bulk_create(rows)
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Incremental: attach one record to a person


def _attach(record: PersonRecord, *, actor: AuditActor) -> PersonCluster:
    """Match a new or changed record against existing persons in one indexed pass.

    Above the operating threshold (and on average close to the whole cluster, as in a full
    run) it joins the best cluster; pairs between 0.5 and 0.99 also wait for review; otherwise
    the record starts a person of its own. An existing record already sharing its cluster with
    others keeps its place until the next run or a reviewer moves it.
    """
    parameters, run = current_parameters()
    tokens = probe_tokens(
        name_latin=record.name_latin,
        name_khmer=record.name_khmer,
        phone=record.phone,
        dob=record.date_of_birth,
        id_number=record.id_number,
    )
    candidate_ids = blocked_record_ids(tokens, exclude=record.pk, agency_ids=None)
    candidates = {r.pk: r for r in PersonRecord.objects.filter(pk__in=candidate_ids)}
    feats = scoring.features_of(
        [record_input(record)] + [record_input(r) for r in candidates.values()]
    )
    probe = feats.get(str(record.pk))
    scores: dict[int, scoring.PairScore] = {}
    if probe is not None:
        tf = term_frequencies(probe)
        for rid in candidates:
            other = feats.get(str(rid))
            if other is not None:
                scores[rid] = scoring.score_pair(probe, other, parameters, term_frequency=tf)

    _same, different = _decisions()
    LinkEdge.objects.filter(record_a=record).delete()
    LinkEdge.objects.filter(record_b=record).delete()
    LinkEdge.objects.bulk_create(
        LinkEdge(
            run=run,
            record_a_id=min(record.pk, rid),
            record_b_id=max(record.pk, rid),
            match_probability=round(s.match_probability, 6),
        )
        for rid, s in scores.items()
        if s.match_probability >= linkage.LOWER_THRESHOLD
    )
    _queue_review(
        run,
        (
            (record.pk, rid, s.match_probability, s.evidence_dict())
            for rid, s in scores.items()
            if linkage.LOWER_THRESHOLD <= s.match_probability < linkage.UPPER_THRESHOLD
        ),
        different | _same,
    )

    current = _current_cluster_of([record.pk]).get(record.pk)
    if current is not None:
        others = ClusterMembership.objects.filter(cluster_id=current, is_current=True).exclude(
            record_id=record.pk
        )
        if others.exists():
            return PersonCluster.objects.get(pk=current)

    cluster_of = _current_cluster_of(scores)
    members: dict[int, list[int]] = defaultdict(list)
    for rid, cid in ClusterMembership.objects.filter(
        cluster_id__in=set(cluster_of.values()), is_current=True
    ).values_list("record_id", "cluster_id"):
        members[cid].append(rid)
    best: tuple[float, int] | None = None
    for cid, rids in members.items():
        if any(_ordered(record.pk, rid) in different for rid in rids):
            continue
        probs = [scores[r].match_probability if r in scores else 0.0 for r in rids]
        if max(probs) < linkage.DEFAULT_THRESHOLD:
            continue
        mean = sum(probs) / len(probs)
        if mean < linkage.CLUSTER_MEAN_THRESHOLD:
            continue
        if best is None or (mean, -cid) > (best[0], -best[1]):
            best = (mean, cid)
    if best is not None:
        cluster = PersonCluster.objects.get(pk=best[1])
        confidence = max(scores[r].match_probability for r in members[best[1]] if r in scores)
    else:
        cluster = _new_cluster(None)
        near = [s.match_probability for s in scores.values()]
        confidence = 1.0 - max(near, default=0.0)
    if current != cluster.pk:
        _move(
            [record.pk],
            cluster,
            source=MembershipSource.INCREMENTAL,
            run=run,
            confidence=round(confidence, 4),
        )
    return cluster


# ---------------------------------------------------------------------------------------------
# Full linkage run


@dataclass(frozen=True)
class RunOutcome:
    run: LinkageRun
    bad_rows: list[linkage.BadRow]


def _splink_review(frame: pd.DataFrame) -> list[tuple[str, str, float, dict]]:
    out = []
    for row in frame.to_dict("records"):
        evidence: dict[str, dict[str, Any]] = {}
        for name in scoring.COMPARISONS:
            label = row.get(f"evidence_{name}")
            if not label:
                continue
            weight = row.get(f"weight_{name}")
            evidence[name] = {
                "level": label,
                "status": scoring.status_of(name, label),
                "weight": None if weight is None or pd.isna(weight) else float(weight),
            }
        out.append(
            (
                str(row["record_id_l"]),
                str(row["record_id_r"]),
                float(row["match_probability"]),
                evidence,
            )
        )
    return out


def linkage_run(
    *, actor: AuditActor = SYSTEM, threshold: float = linkage.DEFAULT_THRESHOLD, seed: int = 1
) -> RunOutcome:
    """Re-link every record and write a new version of the person clusters.

    Records are decrypted in memory only. Active decisions made by people are applied as
    must-link / cannot-link constraints. Clusters keep their id when they keep most of their
    records, so links held elsewhere stay meaningful. Records created while the run was
    computing keep the cluster their incremental match gave them.
    """
    started = clock.now()
    records = list(PersonRecord.objects.all())
    inputs = [record_input(r) for r in records]
    same, different = _decisions()
    must = [(str(a), str(b)) for a, b in same]
    cannot = [(str(a), str(b)) for a, b in different]
    frame = pd.DataFrame(inputs, columns=list(linkage.INPUT_COLUMNS))
    result: linkage.LinkageResult | None = None
    kind = RunKind.RULES
    if len(records) >= scoring.MIN_RECORDS_FOR_MODEL:
        try:
            result = linkage.link_records(
                frame,
                threshold=threshold,
                seed=seed,
                keep_model=False,
                must_link=must,
                cannot_link=cannot,
            )
            kind = RunKind.MODEL
        except Exception:
            # Splink refuses to train on some degenerate registers; the default weights still
            # give every record a person, and the run records which was used.
            logger.exception("model linkage failed; falling back to default weights")
    if result is None:
        result = scoring.link_records_default(
            frame, threshold=threshold, must_link=must, cannot_link=cannot
        )
    clusters = result.clusters
    person_of = dict(zip(clusters["record_id"], clusters["person_id"], strict=True))
    confidence = dict(zip(clusters["record_id"], clusters["cluster_confidence"], strict=True))
    edges = result.pairs
    review = _splink_review(result.review_pairs)
    model_settings = result.model_settings if kind == RunKind.MODEL else {}

    with transaction.atomic():
        run = LinkageRun.objects.create(
            model_version=result.model_version,
            kind=kind,
            status=RunStatus.RUNNING,
            started_by=getattr(actor, "user", None),
            started_at=started,
            threshold=threshold,
            lower_threshold=linkage.LOWER_THRESHOLD,
            upper_threshold=linkage.UPPER_THRESHOLD,
            model_settings=model_settings,
        )
        groups: dict[str, list[int]] = defaultdict(list)
        for rid, pid in person_of.items():
            groups[pid].append(int(rid))
        _write_version(
            run, list(groups.values()), {int(k): float(v) for k, v in confidence.items()}
        )
        LinkEdge.objects.all().delete()
        LinkEdge.objects.bulk_create(
            (
                LinkEdge(
                    run=run,
                    record_a_id=min(int(a), int(b)),
                    record_b_id=max(int(a), int(b)),
                    match_probability=round(float(p), 6),
                )
                for a, b, p in edges[
                    ["record_id_l", "record_id_r", "match_probability"]
                ].itertuples(index=False)
            ),
            batch_size=2000,
        )
        ReviewPair.objects.filter(status=ReviewStatus.PENDING).update(
            status=ReviewStatus.SUPERSEDED
        )
        queued = _queue_review(
            run, ((int(a), int(b), p, e) for a, b, p, e in review), same | different
        )
        from .selectors import person_count  # selectors import this module; import late

        count = person_count()
        run.status = RunStatus.FINISHED
        run.finished_at = clock.now()
        run.records = len(person_of)
        run.clusters = len(groups)
        run.persons_at_lower = count.lower
        run.persons_at_upper = count.upper
        run.review_pairs = queued
        run.decisions_applied = len(same) + len(different)
        run.save()
        audit_record(
            actor=actor,
            action=AUDIT_LINKAGE_RUN,
            target_type="linkage_run",
            target_id=run.pk,
            metadata={
                "records": run.records,
                "clusters": run.clusters,
                "review_pairs": queued,
                "kind": kind,
                "model_version": run.model_version[:64],
            },
        )
    return RunOutcome(run=run, bad_rows=result.bad_rows)


def _write_version(run: LinkageRun, groups: list[list[int]], confidence: dict[int, float]) -> None:
    """Turn the run's groups into cluster memberships, reusing cluster ids by largest overlap.

    A constant number of queries whatever the register size: one read of the current
    memberships, then bulk writes.
    """
    current: dict[int, tuple[int, float, int]] = {
        rid: (cid, conf, pk)
        for rid, cid, conf, pk in ClusterMembership.objects.filter(is_current=True).values_list(
            "record_id", "cluster_id", "confidence", "pk"
        )
    }
    claimed: set[int] = set()
    assigned: dict[int, int] = {}
    unclaimed_groups: list[list[int]] = []
    for group in sorted(groups, key=lambda g: (-len(g), min(g))):
        overlap: dict[int, int] = defaultdict(int)
        for rid in group:
            if rid in current:
                overlap[current[rid][0]] += 1
        choice = next(
            (
                cid
                for cid, _n in sorted(overlap.items(), key=lambda item: (-item[1], item[0]))
                if cid not in claimed
            ),
            None,
        )
        if choice is None:
            unclaimed_groups.append(group)
            continue
        claimed.add(choice)
        assigned.update(dict.fromkeys(group, choice))
    now = clock.now()
    fresh = PersonCluster.objects.bulk_create(
        [PersonCluster(created_at=now, created_in_run=run) for _group in unclaimed_groups],
        batch_size=2000,
    )
    for group, cluster in zip(unclaimed_groups, fresh, strict=True):
        claimed.add(cluster.pk)
        assigned.update(dict.fromkeys(group, cluster.pk))

    moving = [rid for rid, cid in assigned.items() if current.get(rid, (None,))[0] != cid]
    touched = {current[rid][0] for rid in moving if rid in current}
    closing = [current[rid][2] for rid in moving if rid in current]
    for start in range(0, len(closing), 2000):
        ClusterMembership.objects.filter(pk__in=closing[start : start + 2000]).update(
            is_current=False, ended_at=now, to_run=run
        )
    ClusterMembership.objects.bulk_create(
        (
            ClusterMembership(
                record_id=rid,
                cluster_id=assigned[rid],
                source=MembershipSource.RUN,
                from_run=run,
                started_at=now,
                confidence=confidence.get(rid, 1.0),
            )
            for rid in moving
        ),
        batch_size=2000,
    )
    # Members that stay get this run's confidence.
    changed = [
        ClusterMembership(pk=current[rid][2], confidence=confidence.get(rid, 1.0))
        for rid, cid in assigned.items()
        if rid in current and current[rid][0] == cid and current[rid][1] != confidence.get(rid, 1.0)
    ]
    ClusterMembership.objects.bulk_update(changed, ["confidence"], batch_size=2000)
    for start in range(0, len(claimed), 2000):
        PersonCluster.objects.filter(pk__in=sorted(claimed)[start : start + 2000]).update(
            is_active=True
        )
    _retire_empty(touched - claimed)


# ---------------------------------------------------------------------------------------------
# Decisions made by people: merge, split, review


def _cluster_records(cluster_id: int) -> list[PersonRecord]:
    return list(
        PersonRecord.objects.filter(
            memberships__cluster_id=cluster_id, memberships__is_current=True
        ).order_by("pk")
    )


def _decide(principal: Principal, a: int, b: int, decision: str, reason: str) -> ManualDecision:
    a, b = _ordered(a, b)
    ManualDecision.objects.filter(record_a_id=a, record_b_id=b, is_active=True).update(
        is_active=False
    )
    return ManualDecision.objects.create(
        record_a_id=a,
        record_b_id=b,
        decision=decision,
        decided_by=principal.user,
        decided_at=clock.now(),
        reason=reason,
    )


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed({"reason": [_("Say why, in a few words.")]})
    if len(reason) > 500:
        raise ValidationFailed({"reason": [_("Use at most %(max)d characters.") % {"max": 500}]})
    return reason


def _merge_clusters(principal: Principal, keep: int, gone: int, reason: str) -> None:
    keep_records = _cluster_records(keep)
    gone_records = _cluster_records(gone)
    keep_ids = [r.pk for r in keep_records]
    gone_ids = [r.pk for r in gone_records]
    # An explicit merge overrides earlier "not the same person" rulings between the two sides.
    for a in keep_ids:
        for b in gone_ids:
            x, y = _ordered(a, b)
            ManualDecision.objects.filter(
                record_a_id=x, record_b_id=y, is_active=True, decision=Decision.NOT_SAME_PERSON
            ).update(is_active=False)
    _decide(principal, keep_ids[0], gone_ids[0], Decision.SAME_PERSON, reason)
    _move(gone_ids, PersonCluster.objects.get(pk=keep), source=MembershipSource.MANUAL, run=None)


@transaction.atomic
def cluster_merge(
    *, principal: Principal, cluster_a_id: int, cluster_b_id: int, reason: str
) -> PersonCluster:
    """Declare two clusters one person. Kept across later runs as a must-link ruling.

    Needs dedup.review and a record of the reviewer's agency in one of the clusters.
    """
    reason = _clean_reason(reason)
    clusters = {
        c.pk: c
        for c in PersonCluster.objects.select_for_update().filter(
            pk__in=[cluster_a_id, cluster_b_id], is_active=True
        )
    }
    if len(clusters) != 2 or cluster_a_id == cluster_b_id:
        raise NotFound
    agencies = {r.agency_id for c in clusters for r in _cluster_records(c)}
    if not policies.can_review_records(principal, agencies):
        raise NotFound
    keep, gone = sorted(clusters)
    _merge_clusters(principal, keep, gone, reason)
    audit_record(
        actor=principal,
        action=AUDIT_CLUSTER_MERGED,
        target_type="person_cluster",
        target_id=keep,
        metadata={"merged": gone},
    )
    return clusters[keep]


@transaction.atomic
def cluster_split(
    *, principal: Principal, cluster_id: int, record_ids: Iterable[int], reason: str
) -> PersonCluster:
    """Move some records of a cluster out into a new person. Each moved record gets a
    "not the same person" ruling against each remaining one, so later runs keep them apart."""
    reason = _clean_reason(reason)
    cluster = (
        PersonCluster.objects.select_for_update().filter(pk=cluster_id, is_active=True).first()
    )
    if cluster is None:
        raise NotFound
    members = _cluster_records(cluster.pk)
    if not policies.can_review_records(principal, {r.agency_id for r in members}):
        raise NotFound
    moving = sorted(set(record_ids))
    member_ids = {r.pk for r in members}
    if not moving or not set(moving) <= member_ids or set(moving) == member_ids:
        raise ValidationFailed(
            {"record_ids": [_("Choose some, but not all, records of this person to split off.")]}
        )
    staying = sorted(member_ids - set(moving))
    if len(moving) * len(staying) > MAX_SPLIT_DECISIONS:
        raise ValidationFailed({"record_ids": [_("This cluster is too large to split here.")]})
    for a in moving:
        for b in staying:
            _decide(principal, a, b, Decision.NOT_SAME_PERSON, reason)
    new = _new_cluster(None)
    _move(moving, new, source=MembershipSource.MANUAL, run=None)
    audit_record(
        actor=principal,
        action=AUDIT_CLUSTER_SPLIT,
        target_type="person_cluster",
        target_id=cluster.pk,
        metadata={"new_cluster": new.pk, "moved": moving[:200]},
    )
    return new


@transaction.atomic
def review_decide(
    *, principal: Principal, pair_id: int, confirm: bool, reason: str
) -> ManualDecision:
    """Rule on a queued pair: confirmed pairs end up in one person, rejected pairs in two, now
    and in every later run."""
    pair = (
        ReviewPair.objects.select_for_update()
        .select_related("record_a", "record_b")
        .filter(pk=pair_id)
        .first()
    )
    if pair is None or not policies.can_review_records(
        principal, {pair.record_a.agency_id, pair.record_b.agency_id}
    ):
        raise NotFound
    if pair.status != ReviewStatus.PENDING:
        raise Conflict("this pair was already decided or replaced by a later run")
    reason = _clean_reason(reason)
    a, b = pair.record_a_id, pair.record_b_id
    clusters = _current_cluster_of([a, b])
    if confirm:
        if clusters.get(a) != clusters.get(b) and a in clusters and b in clusters:
            keep, gone = sorted((clusters[a], clusters[b]))
            _merge_clusters(principal, keep, gone, reason)
        decision = _decide(principal, a, b, Decision.SAME_PERSON, reason)
    else:
        decision = _decide(principal, a, b, Decision.NOT_SAME_PERSON, reason)
        if a in clusters and clusters.get(a) == clusters.get(b):
            _separate(a, b, clusters[a])
    pair.status = ReviewStatus.CONFIRMED if confirm else ReviewStatus.REJECTED
    pair.decided_by = principal.user
    pair.decided_at = clock.now()
    pair.decision = decision
    pair.save(update_fields=["status", "decided_by", "decided_at", "decision"])
    audit_record(
        actor=principal,
        action=AUDIT_REVIEW_DECIDED,
        target_type="review_pair",
        target_id=pair.pk,
        metadata={"decision": decision.decision, "records": [a, b]},
    )
    return decision


def _separate(a: int, b: int, cluster_id: int) -> None:
    """Split a cluster so that a and b end apart; every other member goes with the side it is
    linked to more strongly (ties stay with a)."""
    members = [r.pk for r in _cluster_records(cluster_id)]
    strength: dict[tuple[int, int], float] = {}
    for x, y, p in LinkEdge.objects.filter(
        record_a_id__in=members, record_b_id__in=members
    ).values_list("record_a_id", "record_b_id", "match_probability"):
        strength[(x, y)] = strength[(y, x)] = p
    side_b = [b] + [
        m
        for m in members
        if m not in (a, b) and strength.get((m, b), 0.0) > strength.get((m, a), 0.0)
    ]
    _move(side_b, _new_cluster(None), source=MembershipSource.MANUAL, run=None)
