"""The Python scorer must agree with the Splink model it mirrors, level by level."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from lifeline.people import linkage, scoring

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from benchmarks.khlink import generate


@pytest.fixture(scope="module")
def linked():
    records = generate("standard", 1500, seed=5).drop(columns=["true_person_id"])
    result = linkage.link_records(records, seed=5)
    assert result.model is not None
    scored = result.model.linker.inference.predict(threshold_match_probability=0.01)
    predictions = scored.as_pandas_dataframe()
    return records, result, predictions


def test_levels_and_weights_match_splink(linked):
    records, result, predictions = linked
    feats = scoring.features_of(records.to_dict("records"))
    parameters = scoring.Parameters.from_model(result.model_settings)
    levels = linkage._level_weights(result.model.linker)
    sample = predictions.sample(n=min(600, len(predictions)), random_state=1)
    mismatches = []
    for row in sample.to_dict("records"):
        left, right = feats[str(row["unique_id_l"])], feats[str(row["unique_id_r"])]
        ours = scoring.score_pair(left, right, parameters)
        for name, evidence in ours.evidence.items():
            weight = row[f"mw_{name}"]
            options = levels[name]
            same_weight = [label for w, label in options if math.isclose(w, weight, abs_tol=1e-6)]
            if evidence.level not in same_weight and not (
                evidence.status == scoring.MISSING and weight == 0
            ):
                mismatches.append((name, evidence.level, same_weight))
        tf_adjust = sum(row[c] for c in row if c.startswith("mw_tf_adj_") and not pd.isna(row[c]))
        assert ours.match_weight == pytest.approx(row["match_weight"] - tf_adjust, abs=0.01)
    assert mismatches == []


def test_term_frequency_adjustment_matches_splink(linked):
    records, result, predictions = linked
    feats = scoring.features_of(records.to_dict("records"))
    parameters = scoring.Parameters.from_model(result.model_settings)
    adjusted = predictions[predictions["mw_tf_adj_name"].fillna(0) != 0]
    # The looser name levels are adjusted by the name key too, where the two records' keys
    # differ and Splink takes the larger frequency: check those rows as well, not only the
    # first rows (mostly exact name-key agreements).
    looser = {
        "same Khmer script, cross-script key or joined spelling",
        "same consonant key",
    }
    at_looser = [
        scoring.name_level(feats[str(left)], feats[str(right)]) in looser
        for left, right in zip(adjusted["unique_id_l"], adjusted["unique_id_r"], strict=True)
    ]
    loose_rows = adjusted[at_looser].head(50)
    assert len(loose_rows) > 5
    rows = pd.concat([adjusted.head(50), loose_rows])
    assert len(rows) > 10
    columns = ("name_key", "name_skel", "phone", "province", "destination")
    for row in rows.to_dict("records"):
        left, right = feats[str(row["unique_id_l"])], feats[str(row["unique_id_r"])]
        tf: dict[tuple[str, str], float] = {}
        for column in columns:
            for side, feat in (("l", left), ("r", right)):
                value = row[f"tf_{column}_{side}"]
                if feat.get(column) is not None and not pd.isna(value):
                    tf[(column, str(feat[column]))] = float(value)

        def lookup(column: str, value: str, tf=tf) -> float | None:
            return tf.get((column, value))

        ours = scoring.score_pair(left, right, parameters, term_frequency=lookup)
        assert ours.match_weight == pytest.approx(row["match_weight"], abs=0.05)


def test_jaro_winkler_equals_duckdb_on_random_names():
    import random

    import duckdb

    rng = random.Random(1)
    words = [
        ("".join(rng.choice("aeioukmnst") for _ in range(rng.randint(1, 10))),
         "".join(rng.choice("aeioukmnst") for _ in range(rng.randint(1, 10))))
        for _ in range(1000)
    ]  # fmt: skip
    con = duckdb.connect()
    expected = con.execute(
        "SELECT jaro_winkler_similarity(a, b) FROM (SELECT unnest($1) AS a, unnest($2) AS b)",
        [[a for a, _ in words], [b for _, b in words]],
    ).fetchall()
    ours = [scoring.jaro_winkler(a, b) for a, b in words]
    assert ours == pytest.approx([row[0] for row in expected], abs=1e-9)


def test_jaro_winkler_known_values():
    assert scoring.jaro_winkler("martha", "marhta") == pytest.approx(0.9611, abs=1e-4)
    assert scoring.jaro_winkler("dixon", "dicksonx") == pytest.approx(0.8133, abs=1e-4)
    assert scoring.jaro_winkler("", "abc") == 0.0
    assert scoring.levenshtein("N1234567", "N1234557") == 1


def test_default_weights_link_small_registers():
    frame = pd.DataFrame(
        [
            {"record_id": "a", "name_latin": "Sok Heang", "dob": "1998", "phone": "012345678"},
            {"record_id": "b", "name_khmer": "សុខ ហៀង", "dob": "1998-03-04", "phone": "012345678"},
            {"record_id": "c", "name_latin": "Meas Dara", "dob": "1990"},
        ]
    )
    result = scoring.link_records_default(frame)
    person = dict(zip(result.clusters["record_id"], result.clusters["person_id"], strict=True))
    assert person["a"] == person["b"] != person["c"]
    assert result.persons == 2 and result.persons_range == (2, 2)
    split = scoring.link_records_default(frame, cannot_link=[("b", "a")])
    assert split.persons == 3


def test_constraints_in_average_linkage():
    pairs = pd.DataFrame(
        {"unique_id_l": ["a", "b"], "unique_id_r": ["b", "c"], "match_probability": [0.95, 0.9]}
    )
    free = linkage.cluster_average_linkage(["a", "b", "c", "d"], pairs, 0.5, 0.4)
    assert free == {"a": "a", "b": "a", "c": "a", "d": "d"}
    kept_apart = linkage.cluster_average_linkage(
        ["a", "b", "c", "d"], pairs, 0.5, 0.4, cannot_link=[("a", "c")]
    )
    assert kept_apart["a"] == kept_apart["b"] != kept_apart["c"]
    forced = linkage.cluster_average_linkage(
        ["a", "b", "c", "d"], pairs, 0.5, 0.4, must_link=[("d", "a")]
    )
    assert forced["d"] == forced["a"]
    # A cannot-link beats a conflicting must-link.
    conflict = linkage.cluster_average_linkage(
        ["a", "b"], pairs.head(1), 0.5, 0.4, must_link=[("a", "b")], cannot_link=[("a", "b")]
    )
    assert conflict["a"] != conflict["b"]


def test_untrained_level_uses_splinks_default_m():
    settings = {
        "comparisons": [
            {
                "output_column_name": "phone",
                "comparison_levels": [
                    {"label_for_charts": "phone missing", "is_null_level": True},
                    {"label_for_charts": "a", "m_probability": 0.9, "u_probability": 0.01},
                    {"label_for_charts": "b", "m_probability": None, "u_probability": 0.02},
                    {"label_for_charts": "c", "m_probability": 0.1, "u_probability": 0.97},
                ],
            }
        ]
    }
    levels = scoring.Parameters.from_model(settings).levels["phone"]
    assert levels["b"] == (pytest.approx(0.025), 0.02)
    assert levels["a"] == (0.9, 0.01)
