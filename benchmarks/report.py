"""Reports benchmark (issue 6): the annual report's statistics on PostgreSQL against the same
statistics computed by DuckDB over a Parquet export of the same rows, then the dashboard's queries.

    python -m benchmarks.report [--cases 1000000] [--dashboard-runs 20]

Needs PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres; only the
server is used: a scratch database is created, migrated and dropped). Synthetic rows are made in
SQL (generate_series): per case a help request, three timeline events, and an authority request
for every second case. Prints one JSON line last:
{"cases", "report_s", "duckdb_s", "ratio", "dashboard_p95_ms", ...}. Targets: ratio <= 2,
dashboard p95 <= 200 ms. The dashboard is timed both ways: computed live for one agency and year
("dashboard_live_p95_ms") and as served from the worker's snapshot ("dashboard_p95_ms", after one
refresh of every snapshot: "snapshot_refresh_s"). Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.harness import connect, scratch_database, with_dbname

AGENCIES = 4
GENERATE = """
INSERT INTO accounts_agency (name, code, kind, country, is_active, created_at)
SELECT 'Bench agency ' || a || ' (synthetic)', 'bench-' || a, 'ngo', 'KH', true, now()
FROM generate_series(1, {agencies}) a;

INSERT INTO intake_helprequest (reference, status_code, channel, reporter_type, language,
    reporter_name, reporter_phone, person_name, person_phone, country, place_abroad, narrative,
    safe_contact, do_not_call_back, is_child, is_medical, is_confined, is_transfer_imminent,
    is_urgent, status, received_at, first_response_at, deadline_at, escalation_level,
    assigned_agency_id, idempotency_fingerprint, version)
SELECT 'HR-B' || n, '', 'hotline_call', 'family', 'km', '', '', '', '', c.code, '', '', '',
    false, false, false, false, false, false, 'received', t.at,
    CASE WHEN n % 5 = 0 THEN NULL ELSE t.at + (n % 9) * interval '1 day' END,
    t.at, 0, (SELECT min(id) FROM accounts_agency) + n % {agencies}, '', 1
FROM generate_series(1, {cases}) n
CROSS JOIN LATERAL (SELECT timestamptz '2022-01-01' + (n % 365) * interval '1 day'
    + (n % 86400) * interval '1 second' AS at) t
CROSS JOIN LATERAL (SELECT (ARRAY['TH','MY','CN','LA','VN','MM'])[1 + n % 6] AS code) c;

INSERT INTO cases_case (reference, owner_agency_id, state, paused_from, opened_at, updated_at,
    closed_at, closure_reason, help_request_id, destination_country, is_urgent, summary, version)
SELECT 'CS-B' || h.id, h.assigned_agency_id,
    CASE WHEN h.id % 3 = 0 THEN 'closed' ELSE 'removed' END, '', h.received_at, h.received_at,
    CASE WHEN h.id % 3 = 0 THEN h.received_at + interval '60 days' END,
    CASE WHEN h.id % 3 = 0 THEN 'lost_contact' ELSE '' END, h.id, h.country, false, '', 1
FROM intake_helprequest h;

INSERT INTO cases_caseevent (case_id, at, kind, section, from_state, to_state, note)
SELECT c.id, c.opened_at + s.days * interval '1 day' + (c.id % 5) * interval '1 day',
    'transition', 'summary', '', s.state, ''
FROM cases_case c
CROSS JOIN (VALUES (2, 'locating'), (5, 'referred'), (20, 'removed')) s(days, state);

INSERT INTO cases_authorityrequest (case_id, recipient_agency_id, recipient_name, channel, purpose,
    sent_at, reference_number, content, content_hash, is_urgent, ack_deadline_at,
    response_deadline_at, acknowledged_at, outcome, escalation_level)
SELECT c.id, (SELECT min(id) FROM accounts_agency) + c.id % {agencies}, '', 'letter', 'rescue',
    c.opened_at + interval '6 days', '', '', '', false, c.opened_at + interval '8 days',
    c.opened_at + interval '36 days',
    CASE WHEN c.id % 4 = 0 THEN NULL ELSE c.opened_at + (6 + c.id % 11) * interval '1 day' END,
    '', 0
FROM cases_case c WHERE c.id % 2 = 0;
"""

LOADED_TABLES = ("intake_helprequest", "cases_case", "cases_caseevent", "cases_authorityrequest")

EXPORTS = {
    "cases": "SELECT id, owner_agency_id, opened_at, closed_at, closure_reason, state, "
    "destination_country FROM cases_case",
    "events": "SELECT case_id, at, to_state FROM cases_caseevent",
    "authority": "SELECT a.case_id, g.name AS recipient, a.sent_at, a.acknowledged_at "
    "FROM cases_authorityrequest a LEFT JOIN accounts_agency g ON g.id = a.recipient_agency_id",
    "requests": "SELECT assigned_agency_id, received_at, first_response_at, country "
    "FROM intake_helprequest",
}

EXPORT_TYPES = {
    "cases": {
        "id": "BIGINT",
        "owner_agency_id": "BIGINT",
        "opened_at": "TIMESTAMPTZ",
        "closed_at": "TIMESTAMPTZ",
        "closure_reason": "VARCHAR",
        "state": "VARCHAR",
        "destination_country": "VARCHAR",
    },
    "events": {"case_id": "BIGINT", "at": "TIMESTAMPTZ", "to_state": "VARCHAR"},
    "authority": {
        "case_id": "BIGINT",
        "recipient": "VARCHAR",
        "sent_at": "TIMESTAMPTZ",
        "acknowledged_at": "TIMESTAMPTZ",
    },
    "requests": {
        "assigned_agency_id": "BIGINT",
        "received_at": "TIMESTAMPTZ",
        "first_response_at": "TIMESTAMPTZ",
        "country": "VARCHAR",
    },
}

# The same statistics as stats.build_report (year, every agency), in DuckDB over Parquet.
DUCKDB_QUERIES = [
    """WITH c AS (SELECT * FROM cases WHERE opened_at >= TIMESTAMPTZ '2022-01-01'
                  AND opened_at < TIMESTAMPTZ '2023-01-01'),
       f AS (SELECT c.id, c.opened_at, c.closed_at,
                min(e.at) FILTER (WHERE e.to_state = 'locating') AS verified,
                min(e.at) FILTER (WHERE e.to_state = 'referred') AS located,
                min(e.at) FILTER (WHERE e.to_state = 'removed') AS removed,
                min(e.at) FILTER (WHERE e.to_state = 'returned') AS returned
             FROM c LEFT JOIN events e ON e.case_id = c.id GROUP BY ALL),
       r AS (SELECT f.*, (SELECT min(sent_at) FROM authority a WHERE a.case_id = f.id) AS referred
             FROM f)
       SELECT count(*), count(verified), count(located), count(referred), count(removed),
          count(returned), count(closed_at),
          median(epoch(verified - opened_at)), median(epoch(located - verified)),
          median(epoch(referred - located)), median(epoch(removed - referred))
       FROM r""",
    """SELECT destination_country, count(*) FROM cases WHERE opened_at >= TIMESTAMPTZ '2022-01-01'
       AND opened_at < TIMESTAMPTZ '2023-01-01' GROUP BY 1 ORDER BY 2 DESC""",
    """SELECT date_trunc('month', opened_at AT TIME ZONE 'UTC'), count(*) FROM cases
       WHERE opened_at >= TIMESTAMPTZ '2022-01-01' AND opened_at < TIMESTAMPTZ '2023-01-01'
       GROUP BY 1""",
    """SELECT closure_reason, count(*) FROM cases WHERE state = 'closed'
       AND opened_at >= TIMESTAMPTZ '2022-01-01' AND opened_at < TIMESTAMPTZ '2023-01-01'
       GROUP BY 1""",
    """SELECT recipient, median(epoch(acknowledged_at - sent_at)), count(*),
          avg(CASE WHEN acknowledged_at IS NULL OR acknowledged_at - sent_at > INTERVAL 30 DAY
              THEN 1 ELSE 0 END)
       FROM authority WHERE sent_at >= TIMESTAMPTZ '2022-01-01'
       AND sent_at < TIMESTAMPTZ '2023-01-01' GROUP BY 1""",
    """SELECT count(*), median(epoch(first_response_at - received_at)),
          avg(CASE WHEN first_response_at IS NULL OR first_response_at - received_at
              > INTERVAL 7 DAY THEN 1 ELSE 0 END)
       FROM requests WHERE received_at >= TIMESTAMPTZ '2022-01-01'
       AND received_at < TIMESTAMPTZ '2023-01-01'""",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--dashboard-runs", type=int, default=20)
    parser.add_argument("--db-prefix", default="lifeline_reports_bench", help="scratch db prefix")
    parser.add_argument(
        "--database",
        default="",
        help="keep the rows in this database (created and generated when absent, never dropped)"
        " so that later runs only time the queries",
    )
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    if args.database:
        print(
            json.dumps(
                run(kept_database(server_url, args.database), args.cases, args.dashboard_runs)
            )
        )
        return
    with scratch_database(server_url, args.db_prefix) as url:
        print(json.dumps(run(url, args.cases, args.dashboard_runs)))


def kept_database(server_url: str, name: str) -> str:
    """The URL of database `name` on the server, created when it does not exist yet."""
    from psycopg import sql

    admin = with_dbname(server_url, "postgres")
    with connect(admin) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(server_url, name)


def generate(cursor: Any, cases: int) -> None:
    """Bulk load: secondary indexes dropped and foreign-key triggers off while inserting (the
    rows are consistent by construction), then the indexes rebuilt and the tables vacuumed and
    analysed, as a restored production database would be."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' "
        "AND tablename = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [list(LOADED_TABLES)],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET session_replication_role = replica")
    cursor.execute("SET maintenance_work_mem = '512MB'")
    cursor.execute(GENERATE.format(cases=cases, agencies=AGENCIES))
    cursor.execute("SET session_replication_role = DEFAULT")
    for _name, definition in indexes:
        cursor.execute(definition)
    cursor.execute("RESET maintenance_work_mem")
    for table in ("accounts_agency", *LOADED_TABLES):
        cursor.execute(f"VACUUM (ANALYZE) {table}")


def export_parquet(connection: Any, duck: Any, folder: str) -> None:
    """Each export query COPYed out of PostgreSQL as CSV, then written to Parquet by DuckDB with
    the column types stated (fast at a million rows, unlike building Arrow tables in Python)."""
    raw = connection.connection
    for name, sql in EXPORTS.items():
        columns = EXPORT_TYPES[name]
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with (
            open(f"{folder}/{name}.csv", "wb") as out,
            raw.cursor() as cursor,
            cursor.copy(copy_sql) as copy,
        ):
            for block in copy:
                out.write(block)
        types = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        duck.execute(
            f"COPY (SELECT * FROM read_csv('{folder}/{name}.csv', header = true, "  # noqa: S608
            f"allow_quoted_nulls = false, columns = {{{types}}})) "
            f"TO '{folder}/{name}.parquet' (FORMAT parquet)"
        )
        os.remove(f"{folder}/{name}.csv")


def run(url: str, cases: int, dashboard_runs: int) -> dict[str, object]:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    import duckdb
    from django.core.management import call_command
    from django.db import connection

    from lifeline.accounts.models import Agency
    from lifeline.cases.models import Case
    from lifeline.core import clock
    from lifeline.reports import snapshots, stats

    call_command("migrate", verbosity=0)
    generate_s: float | None = None
    present = Case.objects.count()
    if present == 0:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            generate(cursor, cases)
        generate_s = time.perf_counter() - started
        present = cases
    cases = present

    scope = stats.Scope(period=stats.year_period(2022), agency=None)
    started = time.perf_counter()
    report = stats.build_report(scope, year=2022, language="en", public=False)
    report_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        duck = duckdb.connect()
        duck.execute("SET TimeZone = 'UTC'")
        started = time.perf_counter()
        export_parquet(connection, duck, folder)
        export_s = time.perf_counter() - started
        for name in EXPORTS:
            # Names and folder are this script's own constants, not input.
            view = f"CREATE VIEW {name} AS SELECT * FROM '{folder}/{name}.parquet'"  # noqa: S608
            duck.execute(view)
        started = time.perf_counter()
        duck_results = [duck.execute(q).fetchall() for q in DUCKDB_QUERIES]
        duckdb_s = time.perf_counter() - started

    # The two engines must agree on what they count before their times mean anything.
    funnel = report.figure("funnel")
    assert duck_results[0][0][0] == funnel.cells[1][0], (duck_results[0][0], funnel.cells[1])
    assert duck_results[0][0][1] == funnel.cells[2][0]

    agency = Agency.objects.order_by("pk").first()
    timings = []
    for _ in range(dashboard_runs):
        started = time.perf_counter()
        stats.build_report(
            stats.Scope(period=stats.year_period(2022), agency=agency),
            year=2022,
            language="en",
            public=False,
        )
        timings.append((time.perf_counter() - started) * 1000)
    live_p95 = _p95(timings)

    # The dashboard as served: the worker's snapshots (refreshed once here, as by
    # `lifeline report snapshots`), read through the view's own function. The clock is set early
    # in 2023 so that the refresh covers 2022 (this year and the last) and the snapshot is fresh.
    with clock.freeze(datetime(2023, 1, 10, 12, 0, tzinfo=UTC)):
        started = time.perf_counter()
        refreshed = snapshots.dashboard_snapshots_refresh()
        snapshot_refresh_s = time.perf_counter() - started
        assert refreshed["failed"] == 0, refreshed
        scope = stats.Scope(period=stats.year_period(2022), agency=agency)
        served_timings = []
        for _ in range(dashboard_runs):
            started = time.perf_counter()
            served, freshness = snapshots.dashboard_report(scope, year=2022, language="en")
            served_timings.append((time.perf_counter() - started) * 1000)
            assert freshness is not None, "the snapshot was not served"
    live = stats.build_report(scope, year=2022, language="en", public=False)
    assert served.figure("funnel").cells == live.figure("funnel").cells
    return {
        "generate_s": round(generate_s, 2) if generate_s is not None else None,
        "export_parquet_s": round(export_s, 2),
        "dashboard_live_median_ms": round(statistics.median(timings), 1),
        "dashboard_median_ms": round(statistics.median(served_timings), 1),
        "cases": cases,
        "report_s": round(report_s, 3),
        "duckdb_s": round(duckdb_s, 3),
        "ratio": round(report_s / duckdb_s, 2) if duckdb_s else None,
        "snapshot_refresh_s": round(snapshot_refresh_s, 2),
        "dashboard_live_p95_ms": round(live_p95, 1),
        "dashboard_p95_ms": round(_p95(served_timings), 1),
    }


def _p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else timings[0]


if __name__ == "__main__":
    main()
