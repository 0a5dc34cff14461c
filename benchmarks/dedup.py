"""kh-link-bench: linkage quality, count error, time and memory on synthetic Khmer records.

Usage: python benchmarks/dedup.py --profile standard --records 10000 [--seed 42]

Prints progress lines, then ONE JSON line last (the machine-readable result).

Metric definitions (all against the generator's true person ids):
- Pairwise precision / recall / F1 are over unordered record pairs, after clustering. A
  predicted pair is any two records placed in the same person at the operating threshold (so
  links implied by transitivity count); a true pair is any two records of the same true person.
  precision = |pred ∩ true| / |pred|, recall = |pred ∩ true| / |true|, F1 their harmonic mean.
- count_error_pct = (predicted persons - true persons) / true persons * 100.
- blocking_recall = share of true pairs that satisfy at least one blocking rule (pairs that
  are never scored cannot be linked except through transitivity);
  blocking_reachable_recall = share of true pairs whose records are connected through blocked
  true pairs, i.e. the recall ceiling after clustering.
- truth_in_range: true persons lies within [persons at p >= 0.5, persons at p >= 0.99].
- seconds / peak_rss_mb cover the linkage run (prepare, train, predict, cluster) of the
  Khmer-aware model; data generation and the baseline are timed separately.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.khlink import generate
from lifeline.people import linkage


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pairs(n: pd.Series) -> int:
    return int((n * (n - 1) // 2).sum())


def pairwise_scores(truth: pd.Series, predicted: pd.Series) -> dict[str, float]:
    """Clustered pairwise precision, recall and F1 (see module docstring)."""
    frame = pd.DataFrame({"t": truth.to_numpy(), "p": predicted.to_numpy()})
    true_pairs = _pairs(frame.groupby("t").size())
    pred_pairs = _pairs(frame.groupby("p").size())
    both = _pairs(frame.groupby(["t", "p"]).size())
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true_pairs}


def blocking_recall(
    features: pd.DataFrame, truth: pd.DataFrame, rules: list[str]
) -> tuple[float, float]:
    """Blocking recall, and the share of true pairs still reachable through blocked true pairs.

    The first is the strict pairwise figure. The second is the ceiling for clustering: two
    records of one person that no rule pairs directly can still meet through a third record.
    """
    con = duckdb.connect()
    con.register("f", features)
    con.register("t", truth)
    condition = " OR ".join(f"({rule})" for rule in rules)
    sql = f"""
        WITH tp AS (
            SELECT a.record_id AS id_l, b.record_id AS id_r
            FROM t a JOIN t b ON a.true_person_id = b.true_person_id AND a.record_id < b.record_id
        )
        SELECT tp.id_l, tp.id_r, coalesce({condition}, false) AS hit
        FROM tp JOIN f l ON l.unique_id = tp.id_l JOIN f r ON r.unique_id = tp.id_r
    """  # noqa: S608 - rules are module constants, not user input
    pairs = con.execute(sql).df()
    con.close()
    if pairs.empty:
        return 1.0, 1.0
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for left, right in pairs.loc[pairs["hit"], ["id_l", "id_r"]].itertuples(index=False):
        parent[find(left)] = find(right)
    reachable = [find(a) == find(b) for a, b in zip(pairs["id_l"], pairs["id_r"], strict=True)]
    return float(pairs["hit"].mean()), float(sum(reachable) / len(reachable))


def baseline(records: pd.DataFrame, threshold: float, seed: int) -> pd.Series:
    """Generic Splink model: Jaro-Winkler on the raw name, exact raw dob, exact other fields."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frame = pd.DataFrame(
        {
            "unique_id": records["record_id"],
            "name_raw": records["name_latin"]
            .str.lower()
            .where(records["name_latin"] != "", records["name_khmer"]),
            "dob_raw": records["dob"],
            "sex": records["sex"],
            "phone_raw": records["phone"],
            "id_number": records["id_number"],
            "province": records["province"],
            "destination": records["destination_country"],
        }
    ).replace("", None)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_raw", [0.92, 0.8]),
            cl.ExactMatch("dob_raw"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("phone_raw"),
            cl.ExactMatch("id_number"),
            cl.ExactMatch("province"),
            cl.ExactMatch("destination"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name_raw", "sex"),
            block_on("dob_raw", "sex", "province"),
            block_on("phone_raw"),
            block_on("id_number"),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number")], recall=0.5
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=linkage.U_MAX_PAIRS, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_raw", "sex"), max_pairs=linkage.EM_MAX_PAIRS
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dob_raw", "sex", "province"), max_pairs=linkage.EM_MAX_PAIRS
    )
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    mapping = dict(
        zip(clusters["unique_id"].astype(str), clusters["cluster_id"].astype(str), strict=True)
    )
    return records["record_id"].map(mapping)


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["easy", "standard", "hard"], default="standard")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threshold", type=float, default=linkage.DEFAULT_THRESHOLD)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("splink").setLevel(logging.ERROR)

    started = time.perf_counter()
    records = generate(args.profile, args.records, args.seed)
    truth = records[["record_id", "true_person_id"]]
    generate_seconds = time.perf_counter() - started
    print(f"generated {len(records)} records in {generate_seconds:.1f}s", file=sys.stderr)

    started = time.perf_counter()
    result = linkage.link_records(
        records.drop(columns=["true_person_id"]),
        threshold=args.threshold,
        seed=args.seed,
        keep_model=False,
    )
    seconds = time.perf_counter() - started
    peak = _peak_rss_mb()
    print(f"linked in {seconds:.1f}s, peak RSS {peak:.0f} MB", file=sys.stderr)

    predicted = records["record_id"].map(
        dict(zip(result.clusters["record_id"], result.clusters["person_id"], strict=True))
    )
    scores = pairwise_scores(records["true_person_id"], predicted)
    true_persons = int(records["true_person_id"].nunique())
    features, _ = linkage.prepare(records)
    block_recall, reachable = blocking_recall(features, truth, list(linkage.BLOCKING_RULES))

    baseline_f1 = None
    baseline_seconds = None
    if not args.no_baseline:
        started = time.perf_counter()
        base = baseline(records, args.threshold, args.seed)
        baseline_seconds = round(time.perf_counter() - started, 1)
        baseline_f1 = round(pairwise_scores(records["true_person_id"], base)["f1"], 4)

    low, high = result.persons_range
    out: dict[str, object] = {
        "profile": args.profile,
        "records": len(records),
        "seed": args.seed,
        "f1": round(scores["f1"], 4),
        "precision": round(scores["precision"], 4),
        "recall": round(scores["recall"], 4),
        "baseline_f1": baseline_f1,
        "count_error_pct": round((result.persons - true_persons) / true_persons * 100, 2),
        "true_persons": true_persons,
        "persons": result.persons,
        "persons_range": [low, high],
        "truth_in_range": low <= true_persons <= high,
        "blocking_recall": round(block_recall, 4),
        "blocking_reachable_recall": round(reachable, 4),
        "review_pairs": len(result.review_pairs),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak),
        "generate_seconds": round(generate_seconds, 1),
        "baseline_seconds": baseline_seconds,
        "threshold": args.threshold,
        "model_version": result.model_version,
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
