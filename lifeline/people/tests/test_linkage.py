"""Tests for the Splink linkage pipeline on small synthetic record sets (no Django, no DB)."""

from __future__ import annotations

import csv
import importlib.util
import shutil
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lifeline.people import linkage

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from benchmarks.khlink import generate


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate("easy", 1500, seed=3)


@pytest.fixture(scope="module")
def result(records: pd.DataFrame) -> linkage.LinkageResult:
    return linkage.link_records(records.drop(columns=["true_person_id"]), seed=3)


def test_prepare_builds_name_keys_for_both_scripts():
    frame = pd.DataFrame(
        [
            {
                "record_id": "a",
                "name_latin": "SOK Hieng",
                "name_khmer": "សុខ ហៀង",
                "dob": "1990",
                "phone": "012 345 678",
            },
            {"record_id": "b", "name_latin": "", "name_khmer": "សុខ ហៀង", "dob": "1990-02-03"},
        ]
    )
    features, bad = linkage.prepare(frame)
    assert bad == []
    assert list(features["name_key"]) == ["hiang sok", "hiang sok"]
    assert features.loc[0, "phone"] == "+85512345678"
    assert features.loc[1, "dob_full"] == "1990-02-03"
    assert pd.isna(features.loc[0, "dob_full"])


def test_prepare_keeps_sparse_blocking_keys_only_for_sparse_records():
    frame = pd.DataFrame(
        [
            {"record_id": "full", "name_latin": "Sok Dara", "dob": "1990", "province": "Kampot"},
            {
                "record_id": "nodob",
                "name_latin": "Sok Dara",
                "province": "Kampot",
                "destination_country": "TH",
            },
            {"record_id": "sparse", "name_latin": "Sok Dara", "destination_country": "TH"},
        ]
    )
    features, _ = linkage.prepare(frame)
    features = features.set_index("unique_id")
    assert features.loc["full", "name_cons"] == "krst"
    assert pd.isna(features.loc["full", "name_cons_nodob"])
    assert pd.isna(features.loc["full", "name_cons_sparse"])
    assert features.loc["nodob", "name_cons_nodob"] == "krst"
    assert pd.isna(features.loc["nodob", "name_cons_sparse"])
    assert features.loc["sparse", "name_cons_sparse"] == "krst"


def _blocked(left: dict[str, str], right: dict[str, str]) -> bool:
    features, _ = linkage.prepare(pd.DataFrame([left, right]))
    con = duckdb.connect()
    con.register("f", features)
    condition = " OR ".join(f"coalesce(({rule}), false)" for rule in linkage.BLOCKING_RULES)
    hit = con.execute(
        f"SELECT {condition} FROM f l JOIN f r ON l.unique_id = 'a' AND r.unique_id = 'b'"  # noqa: S608
    ).fetchone()
    con.close()
    return bool(hit and hit[0])


def test_blocking_pairs_split_and_khmer_spellings_on_consonants_and_year():
    left = {"record_id": "a", "name_latin": "Sok Vann Heng", "dob": "1990", "sex": "M"}
    right = {"record_id": "b", "name_khmer": "សុខ វណ្ណហេង", "dob": "1990-01-02", "sex": "M"}
    assert _blocked(left, right)


def test_blocking_pairs_a_sparse_record_by_name_and_sex():
    left = {"record_id": "a", "name_latin": "Sok Dara", "sex": "F", "province": "Kampot"}
    right = {"record_id": "b", "name_latin": "SOK DARA", "dob": "1990", "sex": "F"}
    assert _blocked(left, right)
    assert not _blocked(left, {**right, "sex": "M"})


def test_name_blocking_rules_always_join_a_second_field():
    """A name key alone is only joined from a key set on records lacking sex as well."""
    name_columns = ("name_key", "name_skel", "name_cons", "khmer_norm")
    for rule in linkage.BLOCKING_RULES:
        if any(column in rule for column in name_columns):
            assert " AND " in rule or "_nosex" in rule, rule


def test_blocking_pairs_a_record_without_birth_date_to_one_without_sex():
    left = {"record_id": "a", "name_latin": "Sok Dara", "sex": "F", "province": "Kampot"}
    right = {"record_id": "b", "name_latin": "SOK DARA", "dob": "1990", "province": "Takeo"}
    assert _blocked(left, right)
    assert not _blocked({**left, "dob": "1975"}, right)


def test_prepare_reports_bad_rows_with_reasons():
    frame = pd.DataFrame(
        [
            {"record_id": "a", "dob": "1990"},
            {"record_id": "", "dob": "1990"},
            {"record_id": "a", "dob": "1991"},
            {"record_id": "c", "dob": "1990-13-01"},
        ]
    )
    features, bad = linkage.prepare(frame)
    assert list(features["unique_id"]) == ["a"]
    assert [(b.line, b.reason.split(" ")[0]) for b in bad] == [
        (3, "missing"),
        (4, "duplicate"),
        (5, "birth"),
    ]


def test_every_record_gets_a_person_and_confidence(records, result):
    assert len(result.clusters) == len(records)
    assert set(result.clusters.columns) == {"record_id", "person_id", "cluster_confidence"}
    assert result.clusters["cluster_confidence"].between(0, 1).all()


def test_linkage_beats_naive_counting_and_reports_a_range(records, result):
    true_persons = records["true_person_id"].nunique()
    assert abs(result.persons - true_persons) / true_persons < 0.15
    low, high = result.persons_range
    assert low <= result.persons <= high
    assert result.model_version == linkage.MODEL_VERSION


def test_review_pairs_carry_per_field_evidence(result):
    review = result.review_pairs
    assert review["match_probability"].between(0.5, 0.99).all()
    assert {"evidence_name", "evidence_dob", "evidence_phone"} <= set(review.columns)
    if len(review):
        assert review["evidence_name"].notna().all()


def test_match_record_finds_the_existing_person(records, result):
    assert result.model is not None
    existing = records.iloc[0].to_dict()
    probe = {**existing, "record_id": "new-1"}
    candidates = linkage.match_record(result.model, probe)
    assert candidates.loc[0, "record_id"] == existing["record_id"]
    assert candidates.loc[0, "match_probability"] > 0.9
    expected_person = result.clusters.set_index("record_id").loc[existing["record_id"], "person_id"]
    assert candidates.loc[0, "person_id"] == expected_person


def test_link_csv_writes_clusters_and_returns_bad_rows(tmp_path: Path, records):
    source = tmp_path / "records.csv"
    out = tmp_path / "clusters.csv"
    sample = records.drop(columns=["true_person_id"]).head(600)
    sample.to_csv(source, index=False)
    with source.open("a", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["broken", "too", "few"])  # line 602
        writer.writerow(["x1", "police", "Sok Dara", "", "F", "2001-02-31", "", "", "", ""])
    bad = linkage.link_csv(source, out)
    assert [(b.line, b.record_id) for b in bad] == [(602, "broken"), (603, "x1")]
    written = pd.read_csv(out, dtype=str)
    assert list(written.columns) == ["record_id", "person_id", "cluster_confidence"]
    assert len(written) == 600


@pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
    reason="pyspark or Java not installed",
)
@pytest.mark.slow
def test_same_model_runs_on_local_spark(tmp_path: Path):
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.jars", similarity_jar_location())
        .appName("lifeline-linkage-test")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setCheckpointDir(str(tmp_path / "checkpoints"))
    try:
        frame = generate("easy", 300, seed=5)
        features, _ = linkage.prepare(frame.drop(columns=["true_person_id"]))
        result = linkage.link_records(
            frame.drop(columns=["true_person_id"]),
            backend="spark",
            backend_options={"spark_session": spark},
            keep_model=False,
        )
        assert len(result.clusters) == len(features)
        true_persons = frame["true_person_id"].nunique()
        assert abs(result.persons - true_persons) / true_persons < 0.25
    finally:
        spark.stop()


def _pairs(*edges: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(edges, columns=["unique_id_l", "unique_id_r", "match_probability"])


def test_average_linkage_does_not_chain_two_persons_through_one_weak_link():
    pairs = _pairs(("a", "b", 0.95), ("c", "d", 0.95), ("b", "c", 0.6))
    persons = linkage.cluster_average_linkage(["a", "b", "c", "d"], pairs, 0.5, 0.4)
    assert persons == {"a": "a", "b": "a", "c": "c", "d": "c"}


def test_average_linkage_joins_a_record_linked_to_most_of_a_person():
    pairs = _pairs(("a", "b", 0.99), ("b", "c", 0.9), ("a", "c", 0.3))
    persons = linkage.cluster_average_linkage(["a", "b", "c"], pairs, 0.5, 0.4)
    assert set(persons.values()) == {"a"}
