"""Scoring one pair of records in plain Python, with the same comparison levels as the Splink model.

Why a second scorer: search-before-create and attaching a new record to a person must answer in
well under a second inside a web request, against a handful of candidates found through blind
indexes. Starting a Splink linker for that costs more than the whole answer may take, and a
register with a few dozen records cannot train a model at all. So the levels of
`lifeline.people.linkage` are mirrored here (one function per comparison, level labels
identical), and the weights come from the last trained model when there is one
(`Parameters.from_model`), else from `DEFAULT_PARAMETERS`. A test checks that this scorer and
Splink agree on the level of every field for a sample of pairs; change both together.

Term-frequency adjustment is supported for the exact levels Splink adjusts, when the caller can
supply term frequencies (the Django layer counts blind-index tokens); without them common names
count as much as rare ones, which over-links, so callers should pass them where they can.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lifeline.people import linkage

MISSING, AGREE, PARTIAL, DISAGREE = "missing", "agree", "partial", "disagree"

Features = dict[str, Any]
TermFrequency = Callable[[str, str], float | None]


def _value(value: Any) -> Any:
    """None for every flavour of missing (None, NaN, pandas NA)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def features_of(records: Iterable[Mapping[str, str]]) -> dict[str, Features]:
    """Comparison features of raw records (INPUT_COLUMNS), keyed by record_id.

    Rows `linkage.prepare` refuses (bad date of birth, missing id) are left out.
    """
    frame = pd.DataFrame(list(records), columns=list(linkage.INPUT_COLUMNS))
    if frame.empty:
        return {}
    prepared, _bad = linkage.prepare(frame)
    return _features_by_id(prepared)


def _features_by_id(prepared: pd.DataFrame) -> dict[str, Features]:
    out: dict[str, Features] = {}
    for row in prepared.to_dict("records"):
        clean: Features = {str(key): _value(value) for key, value in row.items()}
        tokens = row.get("name_tokens")
        clean["name_tokens"] = list(tokens) if isinstance(tokens, list | tuple) else []
        for column in ("dob_year", "dob_month", "dob_day"):
            if clean[column] is not None:
                clean[column] = int(clean[column])
        out[str(clean["unique_id"])] = clean
    return out


# ---------------------------------------------------------------------------------------------
# String similarity (DuckDB's jaro_winkler_similarity and levenshtein, in Python)


def jaro_winkler(left: str, right: str) -> float:
    """Jaro-Winkler similarity (prefix scale 0.1 over at most 4 characters, boost above 0.7)."""
    if left == right:
        return 1.0
    len_l, len_r = len(left), len(right)
    if not len_l or not len_r:
        return 0.0
    window = max(max(len_l, len_r) // 2 - 1, 0)
    matched_l = [False] * len_l
    matched_r = [False] * len_r
    matches = 0
    for i, char in enumerate(left):
        for j in range(max(0, i - window), min(len_r, i + window + 1)):
            if not matched_r[j] and right[j] == char:
                matched_l[i] = matched_r[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    transpositions = 0
    j = 0
    for i in range(len_l):
        if matched_l[i]:
            while not matched_r[j]:
                j += 1
            if left[i] != right[j]:
                transpositions += 1
            j += 1
    # Half the out-of-order matches, rounded down, and the prefix bonus only above 0.7: both as
    # DuckDB's jaro_winkler_similarity, which the Splink model's levels were trained with.
    jaro = (matches / len_l + matches / len_r + (matches - transpositions // 2) / matches) / 3
    if jaro <= 0.7:
        return jaro
    prefix = 0
    for a, b in zip(left[:4], right[:4], strict=False):
        if a != b:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def levenshtein(left: str, right: str) -> int:
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i]
        for j, b in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


# ---------------------------------------------------------------------------------------------
# Comparison levels, mirroring linkage.build_settings (labels must match label_for_charts)


def _eq(left: Features, right: Features, column: str, other: str | None = None) -> bool:
    a, b = left.get(column), right.get(other or column)
    return a is not None and b is not None and a == b


def _jw(left: Features, right: Features, column: str, threshold: float) -> bool:
    a, b = left.get(column), right.get(column)
    return a is not None and b is not None and jaro_winkler(a, b) >= threshold


def _jw_either_order(left: Features, right: Features, threshold: float) -> bool:
    """Joined names compared as written and with one side's family/given order reversed."""
    pairs = (
        (left.get("name_concat"), right.get("name_concat")),
        (left.get("name_concat"), right.get("name_concat_rev")),
        (left.get("name_concat_rev"), right.get("name_concat")),
    )
    return any(
        a is not None and b is not None and jaro_winkler(a, b) >= threshold for a, b in pairs
    )


def name_level(left: Features, right: Features) -> str:
    def missing(f: Features) -> bool:
        return f.get("name_key") is None and f.get("khmer_norm") is None

    if missing(left) or missing(right):
        return "name missing"
    khmer_l, khmer_r = left.get("khmer_norm"), right.get("khmer_norm")
    if khmer_l is not None and khmer_r is not None and khmer_l != khmer_r:
        return linkage.KHMER_DIFFERS_LABEL
    if _eq(left, right, "name_key"):
        return "same name under romanisation table (any order)"
    if (
        _eq(left, right, "khmer_norm")
        or _eq(left, right, "name_key_kh", "name_key")
        or _eq(left, right, "name_key", "name_key_kh")
        or _eq(left, right, "name_concat")
        or _eq(left, right, "name_concat", "name_concat_rev")
        or _eq(left, right, "name_concat_rev", "name_concat")
    ):
        return "same Khmer script, cross-script key or joined spelling"
    if _eq(left, right, "name_skel"):
        return "same consonant skeleton"
    if (
        _eq(left, right, "name_cons")
        or _eq(left, right, "name_cons_kh", "name_cons")
        or _eq(left, right, "name_cons", "name_cons_kh")
    ):
        return "same consonant key"
    if _jw_either_order(left, right, 0.9):
        return "Jaro-Winkler >= 0.9"
    if _jw_either_order(left, right, 0.8):
        return "Jaro-Winkler >= 0.8"
    if set(left.get("name_tokens") or ()) & set(right.get("name_tokens") or ()):
        return "one name token shared, others differ"
    return "different names"


def dob_level(left: Features, right: Features) -> str:
    year_l, year_r = left.get("dob_year"), right.get("dob_year")
    if year_l is None or year_r is None:
        return "dob missing"
    month_l, month_r = left.get("dob_month"), right.get("dob_month")
    day_l, day_r = left.get("dob_day"), right.get("dob_day")
    if _eq(left, right, "dob_full"):
        return "exact date"
    same_year = year_l == year_r
    known = None not in (month_l, month_r, day_l, day_r)
    if same_year and known and month_l == day_r and day_l == month_r:
        return "day and month transposed"
    if (
        same_year
        and month_l is not None
        and month_l == month_r
        and (day_l is None or day_r is None)
    ):
        return "same year and month, day unknown"
    if same_year and (month_l is None or month_r is None):
        return "same year, one date year-only"
    if same_year and (month_l == month_r or (day_l is not None and day_l == day_r)):
        return "same year, month or day differs"
    if same_year:
        return "same year, dates conflict"
    if abs(year_l - year_r) <= 2:
        month_ok = month_l is None or month_r is None or month_l == month_r
        day_ok = day_l is None or day_r is None or day_l == day_r
        if month_ok and day_ok:
            return "years within 2, dates otherwise compatible"
        return "years within 2, dates differ"
    return "different birth years"


def _exact_level(column: str, label: str) -> Callable[[Features, Features], str]:
    def level(left: Features, right: Features) -> str:
        if left.get(column) is None or right.get(column) is None:
            return f"{label} missing"
        return f"same {label}" if left[column] == right[column] else f"different {label}"

    return level


def phone_level(left: Features, right: Features) -> str:
    if left.get("phone") is None or right.get("phone") is None:
        return "phone missing"
    if left["phone"] != right["phone"]:
        return "different phone"
    names_alike = (
        _eq(left, right, "name_key")
        or _eq(left, right, "name_skel")
        or _jw(left, right, "name_concat", 0.8)
        or left.get("name_key") is None
        or right.get("name_key") is None
    )
    return "same phone, names alike" if names_alike else linkage.FAMILY_PHONE_LABEL


def id_level(left: Features, right: Features) -> str:
    a, b = left.get("id_number"), right.get("id_number")
    if a is None or b is None:
        return "id missing"
    if a == b:
        return "same id"
    if _eq(left, right, "id_kind") and levenshtein(a, b) <= 1:
        return "id one edit apart"
    kind_l, kind_r = left.get("id_kind"), right.get("id_kind")
    if kind_l is not None and kind_r is not None and kind_l != kind_r:
        return "ids of different kinds"
    return "different id"


COMPARISONS: dict[str, Callable[[Features, Features], str]] = {
    "name": name_level,
    "dob": dob_level,
    "sex": _exact_level("sex", "sex"),
    "phone": phone_level,
    "id_number": id_level,
    "province": _exact_level("province", "province"),
    "destination": _exact_level("destination", "destination"),
    "agency": _exact_level("agency", "agency"),
}

# The exact levels Splink adjusts for term frequency: (comparison, level) -> feature column.
TF_LEVELS: dict[tuple[str, str], str] = {
    ("name", "same name under romanisation table (any order)"): "name_key",
    ("name", "same Khmer script, cross-script key or joined spelling"): "name_key",
    ("name", "same consonant key"): "name_key",
    ("name", "same consonant skeleton"): "name_skel",
    ("phone", "same phone, names alike"): "phone",
    ("province", "same province"): "province",
    ("destination", "same destination"): "destination",
}


# Splink measures a term-frequency adjustment against the u of the comparison's plain exact-match
# level on that column; for phone that is the "names differ" level, not the level adjusted.
TF_BASE_LEVEL: dict[tuple[str, str], str] = {
    ("phone", "same phone, names alike"): linkage.FAMILY_PHONE_LABEL,
    # Looser name levels are adjusted by the name key's frequency, measured against the u of
    # the exact name-key level (the two keys differ, so Splink takes the larger frequency).
    ("name", "same Khmer script, cross-script key or joined spelling"): (
        "same name under romanisation table (any order)"
    ),
    ("name", "same consonant key"): "same name under romanisation table (any order)",
}


def status_of(comparison: str, label: str) -> str:
    """agree / partial / disagree / missing, for people reading the evidence."""
    if label.endswith("missing"):
        return MISSING
    levels = LEVEL_ORDER[comparison]
    if label == linkage.KHMER_DIFFERS_LABEL:
        return DISAGREE
    if label == levels[0]:
        return AGREE
    if label == levels[-1]:
        return DISAGREE
    return PARTIAL


# Non-null levels of each comparison, strongest first, as in linkage.build_settings; except
# "Khmer script differs", which Splink tests first but which is a disagreement.
LEVEL_ORDER: dict[str, tuple[str, ...]] = {
    "name": (
        "same name under romanisation table (any order)",
        "same Khmer script, cross-script key or joined spelling",
        "same consonant skeleton",
        "same consonant key",
        "Jaro-Winkler >= 0.9",
        "Jaro-Winkler >= 0.8",
        "one name token shared, others differ",
        linkage.KHMER_DIFFERS_LABEL,
        "different names",
    ),
    "dob": (
        "exact date",
        "day and month transposed",
        "same year and month, day unknown",
        "same year, one date year-only",
        "same year, month or day differs",
        "same year, dates conflict",
        "years within 2, dates otherwise compatible",
        "years within 2, dates differ",
        "different birth years",
    ),
    "sex": ("same sex", "different sex"),
    "phone": (
        "same phone, names alike",
        linkage.FAMILY_PHONE_LABEL,
        "different phone",
    ),
    "id_number": ("same id", "id one edit apart", "ids of different kinds", "different id"),
    "province": ("same province", "different province"),
    "destination": ("same destination", "different destination"),
    "agency": ("same agency", "different agency"),
}


# ---------------------------------------------------------------------------------------------
# Parameters and scores


_NOT_OBSERVED = "level not observed in training dataset"  # splink LEVEL_NOT_OBSERVED_TEXT


def _splink_probability(value: Any) -> float | None:
    """Splink scores a level EM never saw ("level not observed") with probability 1e-6."""
    return 1e-6 if value == _NOT_OBSERVED else value


def _splink_m(value: Any, position: int, levels: int) -> float | None:
    """m as Splink uses it at predict time, including for a level EM left untrained.

    A small register can leave a level without pairs in every EM pass (measured: "same phone,
    names differ" on 1,500 records); Splink then predicts with its default m (0.95 for the
    strongest level, the remaining 0.05 shared by the others), so the scorer must too.
    """
    if value is None and levels > 1:
        return 0.95 if position == 0 else 0.05 / (levels - 1)
    return _splink_probability(value)


@dataclass(frozen=True)
class Parameters:
    """Prior match probability and (m, u) per comparison level label."""

    prior: float
    levels: dict[str, dict[str, tuple[float | None, float | None]]]
    source: str = "default"

    @classmethod
    def from_model(cls, settings: Mapping[str, Any], source: str = "model") -> Parameters:
        """Read a Splink settings dict (`linker.misc.save_model_to_json()`)."""
        levels: dict[str, dict[str, tuple[float | None, float | None]]] = {}
        for comparison in settings.get("comparisons", []):
            name = comparison.get("output_column_name")
            scored = [
                level
                for level in comparison.get("comparison_levels", [])
                if not level.get("is_null_level")
            ]
            levels[name] = {
                level.get("label_for_charts", ""): (
                    _splink_m(level.get("m_probability"), position, len(scored)),
                    _splink_probability(level.get("u_probability")),
                )
                for position, level in enumerate(scored)
            }
        prior = float(settings.get("probability_two_random_records_match") or 1e-4)
        return cls(prior=prior, levels=levels, source=source)

    def with_prior(self, prior: float) -> Parameters:
        return Parameters(prior=prior, levels=self.levels, source=self.source)


# Used before any model has been trained (a new or small register). Rounded from a model trained
# on the synthetic "easy" profile (benchmarks/khlink), then made less extreme: a default must not
# veto on one field the way a trained model may.
DEFAULT_PARAMETERS = Parameters(
    prior=1e-3,
    levels={
        "name": {
            "same name under romanisation table (any order)": (0.76, 0.0012),
            "same Khmer script, cross-script key or joined spelling": (0.056, 0.00015),
            "same consonant skeleton": (0.094, 0.0003),
            "same consonant key": (0.03, 0.0008),
            "Jaro-Winkler >= 0.9": (0.034, 0.0037),
            "Jaro-Winkler >= 0.8": (0.0046, 0.026),
            "one name token shared, others differ": (0.05, 0.11),
            "Khmer script differs": (0.01, 0.3),
            "different names": (0.005, 0.6),
        },
        "dob": {
            "exact date": (0.74, 0.00085),
            "day and month transposed": (0.01, 0.000016),
            "same year and month, day unknown": (0.04, 0.00015),
            "same year, one date year-only": (0.14, 0.0029),
            "same year, month or day differs": (0.03, 0.002),
            "same year, dates conflict": (0.01, 0.02),
            "years within 2, dates otherwise compatible": (0.08, 0.03),
            "years within 2, dates differ": (0.01, 0.07),
            "different birth years": (0.01, 0.87),
        },
        "sex": {"same sex": (0.99, 0.5), "different sex": (0.01, 0.5)},
        "phone": {
            "same phone, names alike": (0.9, 0.0011),
            # No evidence either way (m = u): siblings share family phones.
            "same phone, names differ (family phone?)": (0.0002, 0.0002),
            "different phone": (0.1, 0.999),
        },
        "id_number": {
            "same id": (0.84, 0.0009),
            "id one edit apart": (0.05, 0.00004),
            "ids of different kinds": (0.11, 0.5),
            "different id": (0.001, 0.5),
        },
        "province": {"same province": (0.89, 0.06), "different province": (0.11, 0.94)},
        "destination": {
            "same destination": (0.92, 0.22),
            "different destination": (0.08, 0.78),
        },
        "agency": {"same agency": (0.06, 0.25), "different agency": (0.94, 0.75)},
    },
)


@dataclass(frozen=True)
class FieldEvidence:
    level: str
    status: str
    weight: float  # log2 Bayes factor; 0 when the field is missing

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "status": self.status, "weight": round(self.weight, 2)}


@dataclass(frozen=True)
class PairScore:
    match_probability: float
    match_weight: float
    evidence: dict[str, FieldEvidence] = field(default_factory=dict)

    def evidence_dict(self) -> dict[str, dict[str, Any]]:
        return {name: item.as_dict() for name, item in self.evidence.items()}


TF_MINIMUM_U = 0.0  # Splink's default tf_minimum_u_value


def _log2(value: float) -> float:
    return math.log2(value) if value > 0 else -1074.0


def score_pair(
    left: Features,
    right: Features,
    parameters: Parameters = DEFAULT_PARAMETERS,
    *,
    term_frequency: TermFrequency | None = None,
) -> PairScore:
    """Match probability of two records, with the level and weight of every field."""
    total = _log2(parameters.prior) - _log2(1 - parameters.prior)
    evidence: dict[str, FieldEvidence] = {}
    for name, compare in COMPARISONS.items():
        label = compare(left, right)
        status = status_of(name, label)
        weight = 0.0
        if status != MISSING:
            m, u = parameters.levels.get(name, {}).get(label, (None, None))
            if m is not None and u is not None and u > 0:
                weight = _log2(m) - _log2(u)
                column = TF_LEVELS.get((name, label))
                if column and term_frequency is not None:
                    # Splink takes the larger of the two records' frequencies; on the exact
                    # levels the values are equal, on the looser name levels they are not.
                    known = [
                        tf
                        for tf in (
                            term_frequency(column, str(side.get(column)))
                            for side in (left, right)
                            if side.get(column) is not None
                        )
                        if tf
                    ]
                    tf = max(known) if known else None
                    base = TF_BASE_LEVEL.get((name, label), label)
                    base_u = parameters.levels.get(name, {}).get(base, (None, None))[1] or u
                    if tf:
                        # Splink's adjustment: the exact level's u is replaced by the value's
                        # own frequency, so a common name agreeing says less than a rare one.
                        weight += _log2(base_u) - _log2(max(tf, TF_MINIMUM_U))
        evidence[name] = FieldEvidence(label, status, weight)
        total += weight
    exponent = max(min(total, 1000.0), -1000.0)
    probability = 2**exponent / (1 + 2**exponent)
    return PairScore(match_probability=probability, match_weight=total, evidence=evidence)


# ---------------------------------------------------------------------------------------------
# Linking a register too small to train a model

# Splink estimates m and u from the data; below about this many records EM finds too few
# pairs and the estimates are noise (measured: a 5-row file linked Sok Heang apart from her
# own Khmer-script record). Smaller inputs are linked with the default weights instead.
MIN_RECORDS_FOR_MODEL = 1000

_BLOCK_COLUMNS = (
    "name_key",
    "name_concat",
    "name_skel",
    "name_cons",
    "phone",
    "id_number",
    "khmer_norm",
)


def _components(record_ids: list[str], links: Iterable[tuple[str, str]]) -> int:
    parent = {rid: rid for rid in record_ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    return len({find(rid) for rid in record_ids})


def link_records_default(
    records: pd.DataFrame,
    *,
    threshold: float = linkage.DEFAULT_THRESHOLD,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
) -> linkage.LinkageResult:
    """Link a small register with DEFAULT_PARAMETERS; same result shape as Splink's run."""
    frame = records.copy()
    for column in linkage.INPUT_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    prepared, bad = linkage.prepare(frame)
    feats = _features_by_id(prepared)
    blocks: dict[tuple[str, Any], list[str]] = {}
    for rid, f in feats.items():
        block_keys = [(c, f[c]) for c in _BLOCK_COLUMNS if f.get(c)]
        if f.get("name_key_kh"):
            block_keys.append(("name_key", f["name_key_kh"]))
        if f.get("name_cons_kh"):
            block_keys.append(("name_cons", f["name_cons_kh"]))
        for block_key in block_keys:
            blocks.setdefault(block_key, []).append(rid)
    seen: set[tuple[str, str]] = set()
    rows: list[tuple[str, str, float]] = []
    review: list[dict[str, Any]] = []
    for members in blocks.values():
        for i, left in enumerate(members):
            for right in members[i + 1 :]:
                key = (left, right) if left < right else (right, left)
                if key in seen or left == right:
                    continue
                seen.add(key)
                result = score_pair(feats[key[0]], feats[key[1]])
                p = result.match_probability
                if p >= linkage.SCORE_FLOOR:
                    rows.append((key[0], key[1], p))
                if linkage.LOWER_THRESHOLD <= p < linkage.UPPER_THRESHOLD:
                    entry: dict[str, Any] = {
                        "record_id_l": key[0],
                        "record_id_r": key[1],
                        "match_probability": p,
                        "match_weight": result.match_weight,
                    }
                    for name, item in result.evidence.items():
                        entry[f"evidence_{name}"] = item.level
                        entry[f"weight_{name}"] = round(item.weight, 2)
                    review.append(entry)
    pairs = pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_probability"])
    record_ids = list(feats)
    must = list(must_link)
    cannot: set[tuple[str, str]] = {(min(a, b), max(a, b)) for a, b in cannot_link}
    person_of = linkage.cluster_average_linkage(
        record_ids,
        pairs,
        threshold,
        linkage.CLUSTER_MEAN_THRESHOLD,
        must_link=must,
        cannot_link=cannot,
    )
    clusters = pd.DataFrame({"record_id": record_ids})
    clusters["person_id"] = clusters["record_id"].map(person_of)
    best_in: dict[str, float] = {}
    best_any: dict[str, float] = {}
    for left, right, p in rows:
        if (min(left, right), max(left, right)) in cannot:
            continue
        for rid in (left, right):
            best_any[rid] = max(best_any.get(rid, 0.0), p)
        if p >= threshold and person_of[left] == person_of[right]:
            for rid in (left, right):
                best_in[rid] = max(best_in.get(rid, 0.0), p)
    clusters["cluster_confidence"] = [
        round(best_in[rid] if rid in best_in else 1.0 - best_any.get(rid, 0.0), 4)
        for rid in record_ids
    ]
    kept = [(a, b, p) for a, b, p in rows if (min(a, b), max(a, b)) not in cannot]

    def count(at: float) -> int:
        return _components(record_ids, [(a, b) for a, b, p in kept if p >= at] + must)

    edges = pd.DataFrame(
        [(a, b, p) for a, b, p in kept if p >= linkage.LOWER_THRESHOLD],
        columns=["record_id_l", "record_id_r", "match_probability"],
    )
    review_frame = pd.DataFrame(review)
    if not review_frame.empty:
        review_frame = review_frame.sort_values(
            "match_probability", ascending=False, ignore_index=True
        )
    return linkage.LinkageResult(
        clusters=clusters,
        review_pairs=review_frame,
        persons=int(clusters["person_id"].nunique()),
        persons_at_lower=count(linkage.LOWER_THRESHOLD),
        persons_at_upper=count(linkage.UPPER_THRESHOLD),
        threshold=threshold,
        model_version=f"{linkage.MODEL_VERSION}/default-weights",
        bad_rows=bad,
        pairs=edges,
    )


def link_auto(records: pd.DataFrame, **options: Any) -> linkage.LinkageResult:
    """Splink when the register is large enough to train on, else the default weights."""
    if len(records) >= MIN_RECORDS_FOR_MODEL:
        return linkage.link_records(records, keep_model=False, **options)
    for engine_option in ("backend", "backend_options", "seed"):
        options.pop(engine_option, None)
    return link_records_default(records, **options)


def link_csv(
    input_path: Any,
    output_path: Any,
    *,
    backend: str = "duckdb",
    backend_options: Mapping[str, Any] | None = None,
) -> tuple[linkage.LinkageResult | None, list[linkage.BadRow]]:
    """`lifeline dedup link`: like `linkage.link_csv`, but small files use the default weights."""
    frame, bad = linkage.read_records_csv(input_path)
    if frame.empty:
        pd.DataFrame(columns=["record_id", "person_id", "cluster_confidence"]).to_csv(
            output_path, index=False
        )
        return None, bad
    result = link_auto(frame, backend=backend, backend_options=backend_options)
    linkage.write_clusters_csv(result, output_path)
    return result, sorted([*bad, *result.bad_rows], key=lambda b: b.line)
