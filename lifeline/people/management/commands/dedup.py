"""`lifeline dedup run` re-links the register; `lifeline dedup link --input --output` links a CSV.

`link` works on plain files without touching the database: input columns record_id, agency,
name_latin, name_khmer, sex, dob, phone, id_number, province, destination_country; output
record_id, person_id, cluster_confidence. Bad rows are reported with their line number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifeline.audit.services import SystemActor


class Command(BaseCommand):
    help = "Record linkage: re-link the register, or link a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="re-link every person record; write a new version")
        run.add_argument("--seed", type=int, default=1)
        link = sub.add_parser("link", help="link a records CSV into persons (no database)")
        link.add_argument("--input", type=Path, required=True)
        link.add_argument("--output", type=Path, required=True)
        link.add_argument("--backend", choices=["duckdb", "spark"], default="duckdb")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "run":
            self._run(options)
        else:
            self._link(options)

    def _run(self, options: dict[str, Any]) -> None:
        from lifeline.people.selectors import person_count
        from lifeline.people.services import linkage_run

        outcome = linkage_run(actor=SystemActor("dedup-run"), seed=options["seed"])
        run = outcome.run
        count = person_count()
        self.stdout.write(
            f"linkage run {run.pk} ({run.kind}, {run.model_version}): {run.records} records, "
            f"{count.point} persons (range {count.lower}-{count.upper}), "
            f"{run.review_pairs} pairs queued for review"
        )
        for bad in outcome.bad_rows:
            self.stderr.write(f"record {bad.record_id} skipped: {bad.reason}")

    def _spark_options(self) -> dict[str, Any]:
        """A Spark session for Splink: SPARK_MASTER (default local[*]) with Splink's similarity
        UDF jar and a checkpoint directory (LIFELINE_SPARK_CHECKPOINTS, default a temp dir)."""
        import os
        import tempfile

        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise CommandError(
                "--backend spark needs pyspark (pip install pyspark==4.3.0)"
            ) from exc
        from splink.backends.spark import similarity_jar_location

        spark = (
            SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
            .appName("lifeline-dedup")
            .config("spark.jars", similarity_jar_location())
            .getOrCreate()
        )
        checkpoints = os.environ.get("LIFELINE_SPARK_CHECKPOINTS") or tempfile.mkdtemp()
        spark.sparkContext.setCheckpointDir(checkpoints)
        return {"spark_session": spark}

    def _link(self, options: dict[str, Any]) -> None:
        import pandas as pd

        from lifeline.people import scoring

        source: Path = options["input"]
        if not source.is_file():
            raise CommandError(f"{source}: no such file")
        try:
            _result, bad = scoring.link_csv(
                source,
                options["output"],
                backend=options["backend"],
                backend_options=self._spark_options() if options["backend"] == "spark" else None,
            )
        except ValueError as exc:
            raise CommandError(f"{source}: {exc}") from exc
        for row in bad:
            self.stderr.write(
                f"{source}:{row.line}: skipped record {row.record_id!r}: {row.reason}"
            )
        written = pd.read_csv(options["output"], dtype=str)
        self.stdout.write(
            f"{len(written)} records linked into {written['person_id'].nunique()} persons; "
            f"{len(bad)} rows skipped; wrote {options['output']}"
        )
