"""Cross-agency record linkage: count each person once, with honest uncertainty.

Why Splink (Fellegi-Sunter, unsupervised EM): agencies hold no labelled pairs, the model explains
every link as per-field match weights a case worker can read, and the same SQL runs embedded on
DuckDB or on a Spark cluster. What makes Khmer linkage hard is not the engine but the evidence:
a small, skewed name pool, several romanisations, family/given swaps and missing birth dates. So
names are compared on keys from `lifeline.people.names`, birth dates by precision, and phone,
passport/ID, province and destination carry the weight that names cannot.

Records are grouped into persons by average linkage over scored pairs (see
`cluster_average_linkage`), because plain connected components chain namesakes together.
Outputs are meant for national statistics and for case workers, so they state their own
uncertainty: the point person count, the counts from connected components at 0.5 and 0.99 (a
range), and a review list of pairs in between. This module is Django-free; the `people` app
wraps it.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT
from splink.internals.exceptions import SplinkException

from lifeline.people import names

MODEL_VERSION = f"lifeline-link-4/{names.ROMANISATION_TABLE_VERSION}/splink-{splink.__version__}"

INPUT_COLUMNS = (
    "record_id",
    "agency",
    "name_latin",
    "name_khmer",
    "sex",
    "dob",
    "phone",
    "id_number",
    "province",
    "destination_country",
)

TF_COLUMNS = ("name_key", "name_skel", "phone", "province", "destination")

DEFAULT_THRESHOLD = 0.5
CLUSTER_MEAN_THRESHOLD = 0.4
LOWER_THRESHOLD = 0.5
UPPER_THRESHOLD = 0.99
# Pairs scored below this are treated as probability 0 when clustering; low enough that the
# average over two clusters sees every pair with real evidence.
SCORE_FLOOR = 0.2

# Training caps keep memory flat as the register grows: EM on a loose block over a Zipfian name
# pool grows quadratically (measured 2.4 GB at 95k records uncapped, 0.9 GB with a cap).
U_MAX_PAIRS = 5e6
EM_MAX_PAIRS = 2e6

# Share of true pairs that agree on passport/ID or on phone and name. Used to scale the prior
# match probability up from what those near-certain rules find. An assumption: chosen on the
# benchmark's development seed (7), never on the reporting seed (42). Too high a value
# under-links, the failure mode that over-counts persons, and more so as the register grows
# (more namesakes per name). Lowered from 0.15 when the comparisons gained evidence against
# namesakes (Khmer script, date parts, fixed m of the disagreeing levels): with those, seed 7
# standard at 50k over-counted by 2.0 % at 0.15, 1.3 % at 0.12 and 1.0 % at 0.11 (F1 0.949,
# 0.948, 0.948); F1 at 10k on easy, standard and hard moved by less than run-to-run noise.
PRIOR_RULE_RECALL = 0.11

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BadRow:
    """An input row that was skipped, with the 1-based line number in the source file."""

    line: int
    record_id: str
    reason: str


@dataclass
class LinkageResult:
    """What one linkage run produced, with the model version that produced it."""

    clusters: pd.DataFrame  # record_id, person_id, cluster_confidence
    review_pairs: pd.DataFrame  # record_id_l, record_id_r, match_probability, evidence columns
    persons: int
    persons_at_lower: int  # at p >= 0.5: most merging, fewest persons
    persons_at_upper: int  # at p >= 0.99: least merging, most persons
    threshold: float
    model_version: str
    bad_rows: list[BadRow] = field(default_factory=list)
    # Every scored pair at p >= 0.5 (record_id_l, record_id_r, match_probability): the edges
    # behind the range, kept so counts can be recomputed as records and decisions arrive.
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: LinkageModel | None = None
    # Trained parameters (Splink settings dict): store with the results so every link can be
    # explained and re-scored later; `Linker(df, settings=model_settings)` reloads it.
    model_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def persons_range(self) -> tuple[int, int]:
        """(fewest, most) plausible persons: the interval to publish next to the point count."""
        return (self.persons_at_lower, self.persons_at_upper)


@dataclass
class LinkageModel:
    """A trained linker kept alive for incremental matching (search-before-create)."""

    linker: Linker
    db_api: Any
    existing: Any  # SplinkDataFrame of prepared existing records
    person_of_record: dict[str, str]
    model_version: str = MODEL_VERSION


# ---------------------------------------------------------------------------------------------
# Feature preparation


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _mapped(series: pd.Series, fn: Any) -> pd.Series:
    """Apply `fn` once per distinct value; registers repeat the same names thousands of times."""
    cache = {value: fn(value) for value in series.unique()}
    return series.map(cache)


def _name_features(latin: str, khmer: str) -> tuple[Any, ...]:
    latin_keys = names.name_keys(latin) if latin else ()
    khmer_keys = names.name_keys(khmer) if khmer else ()
    primary = latin_keys or khmer_keys
    key = " ".join(sorted(primary)) or None
    key_kh = " ".join(sorted(khmer_keys)) if latin_keys and khmer_keys else None
    concat = "".join(primary) or None
    concat_rev = "".join(reversed(primary)) or None
    skel = names.name_skeleton(latin or khmer) or None
    tokens = sorted(set(latin_keys) | set(khmer_keys)) or None
    khmer_norm = " ".join(sorted(names.normalise_khmer(khmer).split())) if khmer else None
    raw = latin.lower() if latin else None
    cons = names.consonant_key(primary) or None
    cons_kh = (names.consonant_key(khmer_keys) or None) if latin_keys and khmer_keys else None
    cons_a, cons_b = names.consonant_halves(cons) if cons else (None, None)
    cons_loose = names.loose_consonant_key(cons) or None if cons else None
    unknown = names.has_unknown_token(primary) if primary else False
    return (
        key,
        key_kh,
        concat,
        concat_rev,
        skel,
        tokens,
        khmer_norm,
        raw,
        cons,
        cons_kh,
        cons_a,
        cons_b,
        cons_loose,
        unknown,
    )


def prepare(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[BadRow]]:
    """Turn raw agency records into comparison features; rows that cannot be used are reported.

    A row is bad when it has no record_id, repeats an earlier record_id, or has a malformed
    date of birth. Unparseable phone numbers are dropped to empty (a wrong phone is worse
    evidence than none) but the row is kept.
    """
    frame = frame.copy()
    for column in INPUT_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
        frame[column] = frame[column].map(_clean)
    lines = frame["_line"] if "_line" in frame.columns else pd.Series(frame.index + 2)
    bad: list[BadRow] = []
    keep = pd.Series(True, index=frame.index)

    missing_id = frame["record_id"] == ""
    duplicate = frame["record_id"].duplicated() & ~missing_id
    for idx in frame.index[missing_id]:
        bad.append(BadRow(int(lines[idx]), "", "missing record_id"))
    for idx in frame.index[duplicate]:
        bad.append(BadRow(int(lines[idx]), frame.at[idx, "record_id"], "duplicate record_id"))
    keep &= ~missing_id & ~duplicate

    dob_cache: dict[str, names.Dob | str | None] = {}
    for raw in frame["dob"].unique():
        try:
            dob_cache[raw] = names.parse_dob(raw)
        except ValueError as exc:
            dob_cache[raw] = str(exc)
    # An object Series built by hand: `.map(dict)` would infer a string dtype when every parsed
    # value is an error message, turning the None of empty dates into NaN (found by atheris).
    dobs = pd.Series([dob_cache[raw] for raw in frame["dob"]], index=frame.index, dtype=object)
    dob_bad = dobs.map(lambda d: isinstance(d, str))
    for idx in frame.index[dob_bad & keep]:
        bad.append(BadRow(int(lines[idx]), frame.at[idx, "record_id"], str(dobs[idx])))
    keep &= ~dob_bad
    frame, dobs = frame[keep], dobs[keep]

    feats = pd.DataFrame({"unique_id": frame["record_id"].to_numpy()})
    feats["agency"] = frame["agency"].replace("", None).to_numpy()
    pairs = pd.Series(list(zip(frame["name_latin"], frame["name_khmer"], strict=True)))
    name_cache = {pair: _name_features(*pair) for pair in set(pairs)}
    name_cols = [
        "name_key",
        "name_key_kh",
        "name_concat",
        "name_concat_rev",
        "name_skel",
        "name_tokens",
        "khmer_norm",
        "name_raw",
        "name_cons",
        "name_cons_kh",
        "name_cons_a",
        "name_cons_b",
        "name_cons_loose",
        "name_unknown",
    ]
    values = [name_cache[pair] for pair in pairs]
    for position, column in enumerate(name_cols):
        feats[column] = [value[position] for value in values]

    sex = frame["sex"].str.upper().str[:1]
    feats["sex"] = sex.where(sex.isin(["F", "M"]), None).to_numpy()
    feats["dob_year"] = [d.year if d else None for d in dobs]
    feats["dob_month"] = [d.month if d else None for d in dobs]
    feats["dob_day"] = [d.day if d else None for d in dobs]
    for column in ("dob_year", "dob_month", "dob_day"):
        feats[column] = feats[column].astype("Int64")
    feats["dob_full"] = [
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}" if d and d.precision == "day" else None
        for d in dobs
    ]
    feats["phone"] = _mapped(frame["phone"], names.normalise_phone).to_numpy()
    ident = frame["id_number"].str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    feats["id_number"] = ident.replace("", None).to_numpy()
    # Passports are a letter and digits, national ID cards are all digits; agencies put either
    # in the same field, so two different numbers of different kinds are not a disagreement.
    feats["id_kind"] = [
        None if not value else ("passport" if value[0].isalpha() else "national_id")
        for value in ident
    ]
    feats["province"] = frame["province"].str.lower().replace("", None).to_numpy()
    dest = frame["destination_country"].str.upper()
    feats["destination"] = dest.replace("", None).to_numpy()
    # Blocking keys for records that lack the fields name blocks are paired with: a name key
    # kept only when the record has no birth year, or misses two of birth year, province and
    # destination. Joining these to the full key pairs sparse records by name and sex at a
    # cost proportional to the (small) share of sparse records, not to a name-only block.
    no_dob = feats["dob_year"].isna().to_numpy()
    missing = (
        feats["dob_year"].isna().astype(int)
        + feats["province"].isna().astype(int)
        + feats["destination"].isna().astype(int)
    ).to_numpy()
    # Two-year windows, one shifted by a year: any two birth years one apart (an estimated
    # age) share one of them, so an equi-join on both finds them without a range join.
    feats["dob_year2"] = feats["dob_year"] // 2
    feats["dob_year2_shift"] = (feats["dob_year"] + 1) // 2
    feats["name_cons_sparse"] = feats["name_cons"].where(missing >= 2, None)
    # Four-year windows two years apart: any two birth years up to two apart share one. Joined
    # only from year-only dates (estimated ages are written as a year), so the cost follows
    # the share of year-only records.
    feats["dob_year4"] = feats["dob_year"] // 4
    feats["dob_year4_shift"] = (feats["dob_year"] + 2) // 4
    year_only = (feats["dob_year"].notna() & feats["dob_month"].isna()).to_numpy()
    feats["name_cons_yo"] = feats["name_cons"].where(year_only, None)
    feats["name_cons_nodob"] = feats["name_cons"].where(no_dob, None)
    feats["name_cons_kh_nodob"] = feats["name_cons_kh"].where(no_dob, None)
    no_sex = feats["sex"].isna().to_numpy()
    feats["name_cons_nosex"] = feats["name_cons"].where(no_sex, None)
    feats["name_cons_nodob_nosex"] = feats["name_cons"].where(no_dob & no_sex, None)
    feats["name_cons_loose_nodob"] = feats["name_cons_loose"].where(no_dob, None)
    # Typo-tolerant keys kept only for names with a token outside the lexicon (typos land
    # there), joined to everyone's full key: the cost follows the share of such names.
    unknown = feats["name_unknown"].astype(bool).to_numpy()
    for column in ("name_cons_a", "name_cons_b", "name_cons_loose"):
        feats[f"{column}_unk"] = feats[column].where(unknown, None)
    feats = feats.drop(columns=["name_unknown"])
    return feats, bad


# ---------------------------------------------------------------------------------------------
# Model specification


# m of the levels that say "not the same person" (a conflicting sex, birth years more than two
# apart, different names, two different IDs of one kind), fixed rather than learned: the EM
# blocks that are clean enough to train on hold almost no such pairs, so EM either leaves them
# untrained (Splink then falls back to a default) or drives them to zero, a veto that one typo
# would trigger. Assumptions about clerical error rates, not measurements: one record in a
# hundred gets sex or birth year badly wrong, or carries an ID of another document.
FIXED_M = {
    "different sex": 0.01,
    "different birth years": 0.01,
    "different names": 0.005,
    "different id": 0.01,
}


KHMER_DIFFERS_LABEL = "Khmer script differs"

# m for levels that EM may find no pairs for, used only then. Splink's fallback gives the first
# level of a comparison m = 0.95, which would turn "Khmer script differs" into evidence for a
# match (measured: the easy profile at 10k never trains it, and precision fell 0.984 -> 0.978).
UNTRAINED_M = {
    KHMER_DIFFERS_LABEL: 0.01,
    "same year, dates conflict": 0.01,
    "years within 2, dates differ": 0.01,
}


def _else_level(label: str) -> Any:
    """The last level of a comparison; its m fixed when FIXED_M names it."""
    level = cll.ElseLevel().configure(label_for_charts=label)
    if label in FIXED_M:
        level = level.configure(m_probability=FIXED_M[label], fix_m_probability=True)
    return level


def _jaro_winkler_either_order(threshold: float) -> Any:
    return cll.Or(
        cll.JaroWinklerLevel("name_concat", threshold),
        cll.CustomLevel(
            f"jaro_winkler_similarity(name_concat_l, name_concat_rev_r) >= {threshold}",
            base_dialect_str="duckdb",
        ),
        cll.CustomLevel(
            f"jaro_winkler_similarity(name_concat_rev_l, name_concat_r) >= {threshold}",
            base_dialect_str="duckdb",
        ),
    ).configure(label_for_charts=f"Jaro-Winkler >= {threshold}")


def _name_comparison() -> cl.CustomComparison:
    """Names: script-exact, then romanisation keys, then looser spellings, then one shared token.

    The exact levels carry term-frequency adjustments: "Sok Sophea" agreeing is weak evidence,
    a rare name agreeing is strong.
    """
    d = "duckdb"
    other_key_equal = cll.Or(
        cll.CustomLevel("khmer_norm_l = khmer_norm_r", base_dialect_str=d),
        cll.CustomLevel("name_key_kh_l = name_key_r", base_dialect_str=d),
        cll.CustomLevel("name_key_l = name_key_kh_r", base_dialect_str=d),
        cll.CustomLevel("name_concat_l = name_concat_r", base_dialect_str=d),
        cll.CustomLevel("name_concat_l = name_concat_rev_r", base_dialect_str=d),
        # Both ways round: a run-together name ("PhierumNhem") has one token, so its reversed
        # spelling is itself and only the other record's reversal can meet it.
        cll.CustomLevel("name_concat_rev_l = name_concat_r", base_dialect_str=d),
    )
    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="Khmer name keys",
        comparison_levels=[
            cll.CustomLevel(
                "(name_key_l IS NULL AND khmer_norm_l IS NULL) OR "
                "(name_key_r IS NULL AND khmer_norm_r IS NULL)",
                base_dialect_str=d,
            ).configure(is_null_level=True, label_for_charts="name missing"),
            # Both records carry the name in Khmer script and the spellings differ: two names
            # that romanise alike ("Sophea"/"Sophia") are often different names in Khmer.
            # Measured, seed 7 at 50k: 17 % of the scored pairs with differing Khmer were one
            # person, scored 0.53 on average when this level did not exist.
            cll.CustomLevel("khmer_norm_l <> khmer_norm_r", base_dialect_str=d).configure(
                label_for_charts=KHMER_DIFFERS_LABEL
            ),
            cll.ExactMatchLevel("name_key").configure(
                label_for_charts="same name under romanisation table (any order)",
                tf_adjustment_column="name_key",
            ),
            # Adjusted by the frequency of the name key too: a common name spelled alike in
            # Khmer script is as weak as a common name agreeing under the romanisation table
            # (measured, seed 7 at 50k: 60 % of the scored pairs below 0.99 at this level were
            # namesakes, scored 0.60 on average before the adjustment).
            other_key_equal.configure(
                label_for_charts="same Khmer script, cross-script key or joined spelling",
                tf_adjustment_column="name_key",
            ),
            # Term-frequency adjusted: common skeletons (Sok + Chanda/Chenda/Chonda) are shared
            # by many different names and must not chain namesakes together.
            cll.ExactMatchLevel("name_skel").configure(
                label_for_charts="same consonant skeleton", tf_adjustment_column="name_skel"
            ),
            # The consonant key (blocking's loosest name key) as evidence: it survives a typo in
            # a vowel, a split given name and a family/given swap at once ("Vonn Da Seng" /
            # "SENG VANDA" / សេង វណ្ណដា), which left such pairs at "one name token shared".
            # Measured, seed 7 standard at 50k: F1 0.940 -> 0.943, over-count 2.9 % -> 2.3 %.
            cll.Or(
                cll.CustomLevel("name_cons_l = name_cons_r", base_dialect_str=d),
                cll.CustomLevel("name_cons_kh_l = name_cons_r", base_dialect_str=d),
                cll.CustomLevel("name_cons_l = name_cons_kh_r", base_dialect_str=d),
            ).configure(label_for_charts="same consonant key", tf_adjustment_column="name_key"),
            # Both orders: a swapped family/given name with one spelling change is still close.
            _jaro_winkler_either_order(0.9),
            _jaro_winkler_either_order(0.8),
            # Siblings share the family name and differ in the given name; keeping this level
            # apart lets EM learn that it is evidence against a match, not weak evidence for.
            cll.ArrayIntersectLevel("name_tokens", 1).configure(
                label_for_charts="one name token shared, others differ"
            ),
            _else_level("different names"),
        ],
    )


def _dob_comparison() -> cl.CustomComparison:
    """Birth dates by precision: a year-only date is compatible with a full one, not a miss."""
    d = "duckdb"
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth with precision",
        comparison_levels=[
            cll.NullLevel("dob_year").configure(label_for_charts="dob missing"),
            cll.CustomLevel("dob_full_l = dob_full_r", "exact date", d),
            cll.CustomLevel(
                "dob_year_l = dob_year_r AND dob_month_l = dob_day_r AND dob_day_l = dob_month_r",
                "day and month transposed",
                d,
            ),
            cll.CustomLevel(
                "dob_year_l = dob_year_r AND dob_month_l = dob_month_r "
                "AND (dob_day_l IS NULL OR dob_day_r IS NULL)",
                "same year and month, day unknown",
                d,
            ),
            cll.CustomLevel(
                "dob_year_l = dob_year_r AND (dob_month_l IS NULL OR dob_month_r IS NULL)",
                "same year, one date year-only",
                d,
            ),
            # A slip of the pen changes one part of a date; two namesakes born the same year
            # differ in month and day both (11 in 12 of them). Measured, seed 7 standard at
            # 50k: the one level that held both had 110 falsely linked pairs; split, F1 0.942
            # -> 0.945.
            cll.CustomLevel(
                "dob_year_l = dob_year_r AND (dob_month_l = dob_month_r OR dob_day_l = dob_day_r)",
                "same year, month or day differs",
                d,
            ),
            cll.CustomLevel("dob_year_l = dob_year_r", "same year, dates conflict", d),
            # An estimated age moves the year and is written as a year only; two full dates
            # a year or two apart that also differ in month or day are two people (siblings
            # are born 1-4 years apart). Measured as above: F1 0.945 -> 0.949.
            cll.CustomLevel(
                "abs(dob_year_l - dob_year_r) <= 2 "
                "AND (dob_month_l IS NULL OR dob_month_r IS NULL OR dob_month_l = dob_month_r) "
                "AND (dob_day_l IS NULL OR dob_day_r IS NULL OR dob_day_l = dob_day_r)",
                "years within 2, dates otherwise compatible",
                d,
            ),
            cll.CustomLevel("abs(dob_year_l - dob_year_r) <= 2", "years within 2, dates differ", d),
            _else_level("different birth years"),
        ],
    )


def _exact(column: str, label: str, *, tf: bool = False) -> cl.CustomComparison:
    exact = cll.ExactMatchLevel(column).configure(label_for_charts=f"same {label}")
    if tf:
        exact = exact.configure(tf_adjustment_column=column)
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column).configure(label_for_charts=f"{label} missing"),
            exact,
            _else_level(f"different {label}"),
        ],
    )


FAMILY_PHONE_LABEL = "same phone, names differ (family phone?)"


def _phone_comparison() -> cl.CustomComparison:
    """Phones, split by whether the names also look alike.

    Cambodian families often share one phone, so siblings reach agencies with the same number;
    a shared phone with clearly different names is its own level, and EM learns it is weak.
    """
    names_alike = cll.Or(
        cll.CustomLevel("name_key_l = name_key_r", base_dialect_str="duckdb"),
        cll.CustomLevel("name_skel_l = name_skel_r", base_dialect_str="duckdb"),
        cll.JaroWinklerLevel("name_concat", 0.8),
        cll.CustomLevel("name_key_l IS NULL OR name_key_r IS NULL", base_dialect_str="duckdb"),
    )
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.NullLevel("phone").configure(label_for_charts="phone missing"),
            cll.And(cll.ExactMatchLevel("phone"), names_alike).configure(
                label_for_charts="same phone, names alike", tf_adjustment_column="phone"
            ),
            cll.ExactMatchLevel("phone").configure(label_for_charts=FAMILY_PHONE_LABEL),
            cll.ElseLevel().configure(label_for_charts="different phone"),
        ],
    )


def _id_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            cll.NullLevel("id_number").configure(label_for_charts="id missing"),
            cll.ExactMatchLevel("id_number").configure(label_for_charts="same id"),
            cll.And(
                cll.LevenshteinLevel("id_number", 1),
                cll.ExactMatchLevel("id_kind"),
            ).configure(label_for_charts="id one edit apart"),
            cll.CustomLevel("id_kind_l <> id_kind_r", "ids of different kinds", "duckdb"),
            _else_level("different id"),
        ],
    )


BLOCKING_RULES: tuple[str, ...] = (
    "l.name_cons = r.name_cons AND l.destination = r.destination AND l.sex = r.sex",
    "l.name_cons = r.name_cons AND l.province = r.province",
    "l.name_key = r.name_key AND l.destination = r.destination",
    "l.name_cons = r.name_cons_nodob AND l.sex = r.sex",
    "l.name_cons_nodob = r.name_cons AND l.sex = r.sex",
    "l.name_cons = r.name_cons AND l.dob_year = r.dob_year",
    "l.name_skel = r.name_skel AND l.province = r.province",
    "l.dob_full = r.dob_full AND l.sex = r.sex",
    "l.name_cons_loose = r.name_cons_loose_nodob AND l.destination = r.destination "
    "AND l.sex = r.sex",
    "l.name_cons_kh = r.name_cons AND l.province = r.province",
    "l.name_cons = r.name_cons_kh AND l.province = r.province",
    "l.name_cons_loose_nodob = r.name_cons_loose AND l.destination = r.destination "
    "AND l.sex = r.sex",
    "l.name_key = r.name_key AND l.dob_year2 = r.dob_year2",
    "l.name_key = r.name_key AND l.dob_year2_shift = r.dob_year2_shift",
    "l.name_cons = r.name_cons_sparse AND l.sex = r.sex",
    "l.name_cons_sparse = r.name_cons AND l.sex = r.sex",
    "l.name_cons_b = r.name_cons_b AND l.dob_year = r.dob_year AND l.province = r.province",
    "l.name_skel = r.name_skel AND l.dob_year = r.dob_year",
    "l.name_cons_a_unk = r.name_cons_a AND l.province = r.province "
    "AND l.destination = r.destination AND l.sex = r.sex",
    "l.name_cons_a = r.name_cons_a_unk AND l.province = r.province "
    "AND l.destination = r.destination AND l.sex = r.sex",
    "l.name_cons_loose_nodob = r.name_cons_loose AND l.province = r.province",
    "l.name_cons_loose = r.name_cons_loose_nodob AND l.province = r.province",
    "l.name_cons = r.name_cons_kh_nodob AND l.sex = r.sex",
    "l.name_cons_kh = r.name_cons_nodob AND l.sex = r.sex",
    "l.name_cons_nodob = r.name_cons_kh AND l.sex = r.sex",
    "l.name_cons_kh_nodob = r.name_cons AND l.sex = r.sex",
    "l.name_cons = r.name_cons_kh AND l.dob_year = r.dob_year",
    "l.name_cons_kh = r.name_cons AND l.dob_year = r.dob_year",
    "l.name_cons_loose_unk = r.name_cons_loose AND l.dob_year = r.dob_year",
    "l.name_cons_loose = r.name_cons_loose_unk AND l.dob_year = r.dob_year",
    "l.khmer_norm = r.khmer_norm AND l.province = r.province",
    "l.name_cons_yo = r.name_cons AND l.dob_year4 = r.dob_year4",
    "l.name_cons_yo = r.name_cons AND l.dob_year4_shift = r.dob_year4_shift",
    "l.name_cons = r.name_cons_yo AND l.dob_year4 = r.dob_year4",
    "l.name_cons = r.name_cons_yo AND l.dob_year4_shift = r.dob_year4_shift",
    "l.name_cons_a_unk = r.name_cons_a AND l.dob_year = r.dob_year AND l.province = r.province",
    "l.name_cons_a = r.name_cons_a_unk AND l.dob_year = r.dob_year AND l.province = r.province",
    "l.name_cons_b_unk = r.name_cons_b AND l.province = r.province "
    "AND l.destination = r.destination AND l.sex = r.sex",
    "l.name_cons_b = r.name_cons_b_unk AND l.province = r.province "
    "AND l.destination = r.destination AND l.sex = r.sex",
    "l.name_cons_nodob = r.name_cons_nosex",
    "l.name_cons_nosex = r.name_cons_nodob",
    "l.name_cons_nodob_nosex = r.name_cons",
    "l.name_cons = r.name_cons_nodob_nosex",
    "l.phone = r.phone",
    "l.id_number = r.id_number",
)
"""Candidate pairs: a union of cheap equi-joins that together keep >= 99% of true pairs.

Name keys are always combined with a second field: on a Zipfian name pool a name-only block
grows quadratically with the register (the most common name alone yields ~1e8 pairs at 1M).
Plain SQL over prepared columns, so the benchmark can check blocking recall on true pairs.

Measured on the benchmark's development seed (7, standard 10k), the rules of kh-rom-1 missed
4.4 % of true pairs: a third had names that agreed but no second field in common (birth
year, province or destination missing on one side), a third had names whose keys differed
only in ways the consonant key (`name_cons`) ignores (split/joined, a/o, order), the rest
were Khmer-script spellings the old transliteration got wrong, and typos. Hence the consonant
key rules, and the sparse-record rules: `name_cons_sparse` / `name_cons_nodob` are set only on
records missing two of birth year, province and destination / missing the birth year, so
joining them to the full key costs pairs in proportion to those records, not a name-only
block. Asymmetric rules are listed both ways because a dedupe join only looks at l < r.

lifeline-link-4 added the rules for the hard profile (blocking recall 0.972 -> 0.990-0.994 on
hard 10k, four seeds; docs/research/blocking-hard-profile.md): the consonant key split into two
letter classes (`name_cons_a` / `_b`: one typo changes at most one half), a loose consonant key
(no ng "g", repeated letters merged), and keys set only on records with a year-only date, no
birth date, no sex, or a token outside the name lexicon (`_unk`, `_yo`, `_nodob`, `_nosex`).
Each is joined to the other record's full key, so its cost follows the share of such records.
The four rules with no second field join a record without a birth date to one without a sex:
neither can offer a second field that the other has.

Order matters for time, not for the pairs: Splink excludes from each rule the pairs of every
rule before it, so each rule's join is checked against all earlier rules. The rules run from
the largest join to the smallest (counted on easy 200k), and rules whose pairs another rule
always finds are left out (a name-key rule is implied by the consonant-key rule with the same
second field, since equal name keys give equal consonant keys): at easy 1M the unordered
53-rule list took over 25 minutes, against 6.5 for the 26 rules of lifeline-link-3.
"""


def build_settings() -> SettingsCreator:
    """The model: comparisons, blocking and link type; shared by DuckDB and Spark runs."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _name_comparison(),
            _dob_comparison(),
            _exact("sex", "sex"),
            _phone_comparison(),
            _id_comparison(),
            _exact("province", "province", tf=True),
            _exact("destination", "destination", tf=True),
            # Agencies partly deduplicate their own files, so two records from one agency are
            # less often the same person than two from different agencies; EM learns by how much.
            _exact("agency", "agency"),
        ],
        blocking_rules_to_generate_predictions=[{"blocking_rule": rule} for rule in BLOCKING_RULES],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
        additional_columns_to_retain=[],
    )


# DuckDB takes up to 80 % of RAM by default; capped, it spills large joins to a temporary
# directory instead, so a 1M-record link keeps to a known footprint beside the pandas frames.
DUCKDB_MEMORY_LIMIT = os.environ.get("LIFELINE_DUCKDB_MEMORY_LIMIT", "3GB")


def duckdb_connection() -> Any:
    import duckdb

    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", DUCKDB_MEMORY_LIMIT):
        raise ValueError(f"LIFELINE_DUCKDB_MEMORY_LIMIT: not a size: {DUCKDB_MEMORY_LIMIT!r}")
    connection = duckdb.connect(":memory:")
    connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    connection.execute(f"SET temp_directory = '{tempfile.gettempdir()}/lifeline-duckdb'")
    return connection


def make_db_api(backend: str = "duckdb", **options: Any) -> Any:
    """Database API for Splink: embedded DuckDB by default, Spark when one machine is too small.

    Pass `spark_session=` for Spark. That session must load Splink's similarity UDF jar
    (`.config("spark.jars", splink.backends.spark.similarity_jar_location())`) and have a
    checkpoint directory (`spark.sparkContext.setCheckpointDir(...)`). Everything else in this
    module is backend-neutral SQL.
    """
    if backend == "duckdb":
        from splink import DuckDBAPI

        if "connection" not in options:
            options["connection"] = duckdb_connection()
        return DuckDBAPI(**options)
    if backend == "spark":
        from splink import SparkAPI

        return SparkAPI(**options)
    raise ValueError(f"unknown linkage backend {backend!r}")


# ---------------------------------------------------------------------------------------------
# Training, prediction, clustering


def train(linker: Linker, *, seed: int = 1) -> None:
    """Estimate the model without labels: prior from near-certain rules, u by sampling, m by EM.

    Several EM passes on different blocks so that every comparison gets m values estimated from
    pairs it did not help choose (a field in the block rule cannot be learned in that pass).
    Then the levels EM cannot learn get their stated m (`UNTRAINED_M`, and m = u for the
    family-phone level); `FIXED_M` levels keep theirs throughout.
    """
    training = linker.training
    prior_rules: list[Any] = [block_on("id_number"), block_on("phone", "name_key")]
    try:
        training.estimate_probability_two_random_records_match(
            prior_rules, recall=PRIOR_RULE_RECALL
        )
    except (ValueError, SplinkException) as exc:
        # A small file can hold more passport/phone matches than the assumed recall allows
        # (Splink refuses); then those rules are taken to find every match, a lower bound.
        logger.warning("prior with recall %s refused (%s); using recall 1", PRIOR_RULE_RECALL, exc)
        try:
            training.estimate_probability_two_random_records_match(prior_rules, recall=1.0)
        except (ValueError, SplinkException) as again:
            logger.warning("prior left at Splink's default: %s", again)
    training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=seed)
    # EM blocks must be mostly true matches or EM drifts (at 100k records a name + birth-year
    # block is dominated by namesakes and the phone m value collapsed from 0.9 to 0.2), so
    # train on name + exact date, then on phone + name, then on passport/ID. Not on phone
    # alone: siblings share a family phone, and EM read them as matches that disagree on sex,
    # birth year and given name (measured, seed 7 at 10k: m of "different birth years" 0.11,
    # of "different sex" 0.10, so neither vetoed a namesake).
    for rule in (
        block_on("name_key", "dob_full"),
        block_on("phone", "name_key"),
        block_on("id_number"),
    ):
        saved = copy.deepcopy(linker._settings_obj)
        try:
            training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=EM_MAX_PAIRS
            )
        except (ValueError, SplinkException) as exc:
            # On a small register a block can hold so few pairs that EM drives an m value to
            # zero and Splink refuses it. A failed pass leaves the settings mid-session (the
            # blocked-on comparison removed), so restore them and keep the other passes.
            linker._settings_obj = saved
            logger.warning("EM pass %s skipped: %s", rule, exc)
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            label = level.label_for_charts
            # The getter answers Splink's fallback for an untrained m; the attribute says None
            # (or "not observed", which Splink scores as m = 1e-6, a veto).
            if label in UNTRAINED_M and level._m_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                level.m_probability = UNTRAINED_M[label]
            if label == FAMILY_PHONE_LABEL and level.u_probability:
                # Random pairs rarely share a phone, but siblings often do: the u of this level
                # from random sampling knows nothing of families. Scored as no evidence either
                # way (m = u); the name comparison already says the names differ. Measured,
                # seed 7 at 50k: 12 % of pairs at this level were one person, scored 0.60.
                level.m_probability = level.u_probability


def _cluster_counts(linker: Linker, predictions: Any, threshold: float) -> pd.DataFrame:
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    frame = clustered.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    clustered.drop_table_from_database_and_remove_from_cache()
    return frame


def _level_weights(linker: Linker) -> dict[str, list[tuple[float, str]]]:
    """(match weight, label) of every level, per comparison, to name the level behind a weight.

    Splink 5 predictions carry each field's match weight (mw_<field>) but not the level index,
    and every level of a comparison has its own weight, so the weight identifies the level.
    """
    weights: dict[str, list[tuple[float, str]]] = {}
    for comparison in linker._settings_obj.comparisons:
        weights[comparison.output_column_name] = [
            (0.0 if level.is_null_level else math.log2(level._bayes_factor), level.label_for_charts)
            for level in comparison.comparison_levels
            if level._bayes_factor > 0 or level.is_null_level
        ]
    return weights


def _label_for(weight: float, levels: list[tuple[float, str]]) -> str:
    if weight is None or (isinstance(weight, float) and math.isnan(weight)):
        return ""
    if weight == -math.inf:
        return levels[-1][1] if levels else ""
    return min(levels, key=lambda level: abs(level[0] - weight))[1] if levels else ""


def cluster_average_linkage(
    record_ids: list[str],
    pairs: pd.DataFrame,
    link_threshold: float,
    mean_threshold: float,
    *,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
) -> dict[str, str]:
    """Group records into persons without chaining namesakes together.

    Connected components join two persons as soon as any one pair crosses the threshold, so on
    a Zipfian name pool "Sok Chanda" chains to "Sok Chenda" to "Sok Chantha" (measured: pairwise
    precision 0.42 at p >= 0.5 on 100k records). Here links are taken strongest first and two
    groups merge only when the mean match probability over all their record pairs reaches
    `mean_threshold` (pairs never scored count as 0), i.e. average linkage. The person id is
    the smallest record id in the group, so it is stable for the same input.

    Decisions made by people bind every run: `must_link` pairs start in one group (probability
    1 between them) and `cannot_link` pairs never end in one group (probability 0, and no merge
    that would join them). When the two conflict (A=B, B=C but A!=C) the cannot-link wins: an
    unmerged person is visible and can be merged later, a wrongly merged victim disappears.
    Record ids not in `record_ids` are ignored.
    """
    members: dict[str, list[str]] = {rid: [rid] for rid in record_ids}
    owner: dict[str, str] = {rid: rid for rid in record_ids}
    probability: dict[tuple[str, str], float] = {}
    for left, right, prob in pairs[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(
        index=False
    ):
        probability[(left, right)] = probability[(right, left)] = float(prob)
    forbidden: set[tuple[str, str]] = set()
    for left, right in cannot_link:
        if left in owner and right in owner:
            forbidden |= {(left, right), (right, left)}
            probability[(left, right)] = probability[(right, left)] = 0.0

    def merge(group_a: str, group_b: str) -> None:
        side_a, side_b = members[group_a], members[group_b]
        if len(side_a) < len(side_b):
            group_a, group_b, side_a, side_b = group_b, group_a, side_b, side_a
        for record in side_b:
            owner[record] = group_a
        side_a.extend(side_b)
        del members[group_b]

    def clash(side_a: list[str], side_b: list[str]) -> bool:
        return bool(forbidden) and any((x, y) in forbidden for x in side_a for y in side_b)

    for left, right in must_link:
        if left not in owner or right not in owner:
            continue
        probability[(left, right)] = probability[(right, left)] = 1.0
        group_a, group_b = owner[left], owner[right]
        if group_a != group_b and not clash(members[group_a], members[group_b]):
            merge(group_a, group_b)

    links = pairs[pairs["match_probability"] >= link_threshold].sort_values(
        "match_probability", ascending=False, kind="stable"
    )
    for left, right in links[["unique_id_l", "unique_id_r"]].itertuples(index=False):
        group_a, group_b = owner[left], owner[right]
        if group_a == group_b:
            continue
        side_a, side_b = members[group_a], members[group_b]
        total = sum(probability.get((x, y), 0.0) for x in side_a for y in side_b)
        if total / (len(side_a) * len(side_b)) < mean_threshold or clash(side_a, side_b):
            continue
        merge(group_a, group_b)
    person_id = {group: min(recs) for group, recs in members.items()}
    return {rid: person_id[owner[rid]] for rid in record_ids}


def _confidence(clusters: pd.DataFrame, pairs: pd.DataFrame, threshold: float) -> pd.Series:
    """How sure we are of each record's placement.

    In a multi-record person: the strongest link from the record to another record of the same
    person. Alone: one minus the strongest link it has to anyone (a lone record with a 0.8 pair
    is only 0.2 sure to be its own person).
    """
    person = dict(zip(clusters["record_id"], clusters["person_id"], strict=True))
    best_in: dict[str, float] = {}
    best_any: dict[str, float] = {}
    for left, right, prob in pairs[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(
        index=False
    ):
        for rec in (left, right):
            best_any[rec] = max(best_any.get(rec, 0.0), prob)
        if prob >= threshold and person[left] == person[right]:
            for rec in (left, right):
                best_in[rec] = max(best_in.get(rec, 0.0), prob)
    return pd.Series(
        [
            best_in[rec] if rec in best_in else 1.0 - best_any.get(rec, 0.0)
            for rec in clusters["record_id"]
        ],
        index=clusters.index,
    )


def link_records(
    records: pd.DataFrame,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    backend: str = "duckdb",
    backend_options: Mapping[str, Any] | None = None,
    seed: int = 1,
    keep_model: bool = True,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
) -> LinkageResult:
    """Link records from all agencies into persons.

    Returns per-record person ids, pairs between 0.5 and 0.99 for clerical review with the
    comparison level of every field, and the person count at the operating threshold and at
    0.5 and 0.99 so published counts carry a range.
    """
    features, bad = prepare(records)
    db_api = make_db_api(backend, **dict(backend_options or {}))
    sdf = db_api.register(features, dataset_display_name="records")
    linker = Linker(sdf, build_settings(), log_level=logging.WARNING)
    for column in TF_COLUMNS:
        linker.table_management.compute_tf_table(column)
    train(linker, seed=seed)

    predictions = linker.inference.predict(threshold_match_probability=SCORE_FLOOR)
    pairs = predictions.as_pandas_dataframe()
    bounds = {
        t: _cluster_counts(linker, predictions, t) for t in (LOWER_THRESHOLD, UPPER_THRESHOLD)
    }
    predictions.drop_table_from_database_and_remove_from_cache()

    pairs["unique_id_l"] = pairs["unique_id_l"].astype(str)
    pairs["unique_id_r"] = pairs["unique_id_r"].astype(str)
    record_ids = features["unique_id"].astype(str).tolist()
    person_of = cluster_average_linkage(
        record_ids,
        pairs,
        threshold,
        CLUSTER_MEAN_THRESHOLD,
        must_link=must_link,
        cannot_link=cannot_link,
    )
    point = pd.DataFrame({"record_id": record_ids})
    point["person_id"] = point["record_id"].map(person_of)
    point["cluster_confidence"] = _confidence(point, pairs, threshold).round(4)
    pairs = pairs[pairs["match_probability"] >= LOWER_THRESHOLD]
    edges = pairs[["unique_id_l", "unique_id_r", "match_probability"]].rename(
        columns={"unique_id_l": "record_id_l", "unique_id_r": "record_id_r"}
    )

    review = pairs[pairs["match_probability"] < UPPER_THRESHOLD].copy()
    levels = _level_weights(linker)
    for name, options in levels.items():
        column = f"mw_{name}"
        if column in review.columns:
            review[f"evidence_{name}"] = [_label_for(w, options) for w in review[column]]
            review[f"weight_{name}"] = review[column].round(2)
    review = review.rename(columns={"unique_id_l": "record_id_l", "unique_id_r": "record_id_r"})
    review = review[
        ["record_id_l", "record_id_r", "match_probability", "match_weight"]
        + [c for c in review.columns if c.startswith(("evidence_", "weight_"))]
    ].sort_values("match_probability", ascending=False, ignore_index=True)

    model = None
    if keep_model:
        model = LinkageModel(
            linker=linker,
            db_api=db_api,
            existing=sdf,
            person_of_record=dict(zip(point["record_id"], point["person_id"], strict=True)),
        )
    return LinkageResult(
        clusters=point[["record_id", "person_id", "cluster_confidence"]],
        review_pairs=review,
        persons=int(point["person_id"].nunique()),
        persons_at_lower=int(bounds[LOWER_THRESHOLD]["cluster_id"].nunique()),
        persons_at_upper=int(bounds[UPPER_THRESHOLD]["cluster_id"].nunique()),
        threshold=threshold,
        model_version=MODEL_VERSION,
        bad_rows=bad,
        pairs=edges.reset_index(drop=True),
        model=model,
        model_settings=linker.misc.save_model_to_json(),
    )


def match_record(
    model: LinkageModel, record: Mapping[str, str], *, min_probability: float = LOWER_THRESHOLD
) -> pd.DataFrame:
    """Score one new record against the existing register without re-training or re-linking.

    Used for search-before-create at intake: only the new record is blocked against the
    existing table, so the cost is one indexed join, not a full run. Returns candidate
    record_id, person_id and match_probability, best first.
    """
    frame = pd.DataFrame([{column: record.get(column, "") for column in INPUT_COLUMNS}])
    if not _clean(frame.at[0, "record_id"]):
        frame.at[0, "record_id"] = "__new__"
    features, bad = prepare(frame)
    if bad:
        raise ValueError(bad[0].reason)
    new_sdf = model.db_api.register(features)
    try:
        scored = model.linker.inference.predict_between(
            model.existing, new_sdf, threshold_match_probability=min_probability
        )
        pairs = scored.as_pandas_dataframe()
        scored.drop_table_from_database_and_remove_from_cache()
    finally:
        new_sdf.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
    new_id = str(features.at[0, "unique_id"])
    other = [
        str(r) if str(left) == new_id else str(left)
        for left, r in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
    ]
    result = pd.DataFrame(
        {
            "record_id": other,
            "person_id": [model.person_of_record.get(rec, rec) for rec in other],
            "match_probability": pairs["match_probability"].to_numpy(),
        }
    )
    return result.sort_values("match_probability", ascending=False, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# CSV entry point


def read_records_csv(path: str | Path) -> tuple[pd.DataFrame, list[BadRow]]:
    """Read a records CSV keeping each row's line number; malformed rows are reported."""
    bad: list[BadRow] = []
    rows: list[dict[str, str]] = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return pd.DataFrame(columns=[*INPUT_COLUMNS, "_line"]), bad
        if "record_id" not in header:
            raise ValueError("the CSV header has no record_id column")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise ValueError(f"the CSV header repeats column(s): {', '.join(repeated)}")
        start = 1
        for row in reader:
            line = start + 1
            start = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                rid = row[header.index("record_id")] if len(row) > header.index("record_id") else ""
                bad.append(BadRow(line, rid, f"expected {len(header)} fields, found {len(row)}"))
                continue
            entry = dict(zip(header, row, strict=True))
            entry["_line"] = str(line)
            rows.append(entry)
    frame = pd.DataFrame(rows, columns=[*header, "_line"])
    frame["_line"] = frame["_line"].astype(int)
    return frame, bad


def write_clusters_csv(result: LinkageResult, path: str | Path) -> None:
    result.clusters.to_csv(
        path, index=False, columns=["record_id", "person_id", "cluster_confidence"]
    )


def link_csv(
    input_path: str | Path,
    output_path: str | Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    backend: str = "duckdb",
) -> list[BadRow]:
    """`lifeline dedup link`: records CSV in, record_id,person_id,cluster_confidence CSV out.

    Rows that cannot be used are skipped and returned with their line number and reason, so the
    caller can print them; nothing is dropped silently.
    """
    frame, bad = read_records_csv(input_path)
    if frame.empty:
        pd.DataFrame(columns=["record_id", "person_id", "cluster_confidence"]).to_csv(
            output_path, index=False
        )
        return bad
    result = link_records(frame, threshold=threshold, backend=backend, keep_model=False)
    write_clusters_csv(result, output_path)
    return sorted([*bad, *result.bad_rows], key=lambda b: b.line)
