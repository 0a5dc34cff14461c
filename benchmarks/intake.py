"""Intake benchmark (issue 3): how close the API comes to raw PostgreSQL insert capacity, its
tail latency at a steady 100 req/s, and the cost of one deadline sweep over 100,000 open requests.

    python -m benchmarks.intake [--workers 4 --threads 1] [--seconds 20]

Needs PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres; only the
server is used: a scratch database is created and dropped) and, for (b), `wrk` (Debian package;
falls back to a Python generator). Everything targets 127.0.0.1. Prints one JSON line last:
{"intake_rps", "pgbench_tps", "ratio", "p99_ms_at_100rps", "sweep_ms_100k_open", ...}.
Targets: ratio >= 0.5, p99 <= 100 ms at 100 rps, sweep <= 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.harness import (
    PYTHON,
    REPO,
    LoadGenerator,
    Server,
    django_run,
    free_port,
    query,
    request_body,
    scratch_database,
    site_prepare,
)

# A table shaped like intake_helprequest: text columns holding ciphertext-sized values, a unique
# reference and a unique idempotency key, the sweep index.
BENCH_TABLE = """
CREATE TABLE bench_helprequest (
    id bigserial PRIMARY KEY,
    reference varchar(16) NOT NULL UNIQUE,
    status_code text NOT NULL,
    channel varchar(20) NOT NULL,
    reporter_type varchar(10) NOT NULL,
    language varchar(5) NOT NULL,
    reporter_name text NOT NULL,
    reporter_phone text NOT NULL,
    person_name text NOT NULL,
    person_phone text NOT NULL,
    country varchar(2) NOT NULL,
    place_abroad text NOT NULL,
    narrative text NOT NULL,
    safe_contact text NOT NULL,
    is_urgent boolean NOT NULL,
    status varchar(16) NOT NULL,
    received_at timestamptz NOT NULL,
    deadline_at timestamptz NOT NULL,
    escalation_level smallint NOT NULL,
    next_escalation_at timestamptz,
    assigned_agency_id bigint NOT NULL,
    idempotency_key varchar(160) UNIQUE,
    idempotency_fingerprint varchar(64) NOT NULL,
    version integer NOT NULL
);
CREATE INDEX bench_sweep_idx ON bench_helprequest (next_escalation_at);
"""

PGBENCH_SCRIPT = """\
INSERT INTO bench_helprequest (reference, status_code, channel, reporter_type, language,
  reporter_name, reporter_phone, person_name, person_phone, country, place_abroad, narrative,
  safe_contact, is_urgent, status, received_at, deadline_at, escalation_level,
  next_escalation_at, assigned_agency_id, idempotency_key, idempotency_fingerprint, version)
VALUES (substr(md5(random()::text), 1, 14), repeat(md5(random()::text), 2), 'api', 'family', 'en',
  repeat(md5(random()::text), 2), repeat(md5(random()::text), 2), repeat('x', 60),
  repeat('x', 60), 'TH', repeat('x', 60), repeat(md5(random()::text), 8), repeat('x', 60), false,
  'received', now(), now() + interval '4 hours', 0, now() + interval '4 hours', 1,
  '1:' || gen_random_uuid()::text, md5(random()::text), 1);
"""

WRK_LUA = """
wrk.body = [==[BODY]==]
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local key = string.format("%s-%d-%d", "PREFIX", tid, counter)
  wrk.headers["Idempotency-Key"] = key
  return wrk.format("POST", "/api/v1/requests")
end
"""

SWEEP_CODE = """
import json, sys, time
from datetime import timedelta
from django.db import connection
from lifeline.core import clock
from lifeline.intake import services
from lifeline.intake.models import HelpRequest

total, due = int(sys.argv[1]), int(sys.argv[2])
agency_id = int(sys.argv[3])
enc = {f: HelpRequest._meta.get_field(f).get_prep_value(v) for f, v in {
    "status_code": "ABC123", "reporter_name": "Synthetic Person", "reporter_phone": "+85512345678",
    "person_name": "", "person_phone": "", "place_abroad": "", "narrative": "Synthetic. " * 20,
    "safe_contact": ""}.items()}
now = clock.now()
with connection.cursor() as cur:
    cur.execute(
        '''INSERT INTO intake_helprequest (reference, status_code, channel, reporter_type, language,
        reporter_name, reporter_phone, person_name, person_phone, country, place_abroad,
        narrative, safe_contact, do_not_call_back, is_child, is_medical, is_confined,
        is_transfer_imminent, is_urgent, status, received_at, deadline_at, escalation_level,
        next_escalation_at, assigned_agency_id, idempotency_fingerprint, version)
        SELECT 'B' || lpad(g::text, 10, '0'), %(status_code)s, 'api', 'family', 'en',
        %(reporter_name)s, %(reporter_phone)s, %(person_name)s, %(person_phone)s, 'TH',
        %(place_abroad)s, %(narrative)s, %(safe_contact)s, false, false, false, false, false,
        false, 'received', %(now)s - interval '5 minutes',
        CASE WHEN g <= %(due)s THEN %(now)s - interval '1 minute'
             ELSE %(now)s + (g %% 14400) * interval '1 second' + interval '1 minute' END,
        0,
        CASE WHEN g <= %(due)s THEN %(now)s - interval '1 minute'
             ELSE %(now)s + (g %% 14400) * interval '1 second' + interval '1 minute' END,
        %(agency)s, '', 1
        FROM generate_series(1, %(total)s) g''',
        {**enc, "now": now, "due": due, "total": total, "agency": agency_id},
    )
    cur.execute("ANALYZE intake_helprequest")
started = time.perf_counter()
first = services.sweep()
first_ms = (time.perf_counter() - started) * 1000
started = time.perf_counter()
second = services.sweep()
second_ms = (time.perf_counter() - started) * 1000
# A backlog, as after a few minutes without a sweeper: `backlog` more requests fall due at once.
backlog = int(sys.argv[4])
HelpRequest.objects.filter(next_escalation_at__gt=now, escalation_level=0).filter(
    pk__in=HelpRequest.objects.filter(next_escalation_at__gt=now, escalation_level=0).order_by("pk")
    .values("pk")[:backlog]
).update(deadline_at=now - timedelta(minutes=1), next_escalation_at=now - timedelta(minutes=1))
started = time.perf_counter()
third = services.sweep()
third_ms = (time.perf_counter() - started) * 1000
open_rows = HelpRequest.objects.filter(next_escalation_at__isnull=False).count()
print(json.dumps({"sweep_ms": round(first_ms, 1), "result": first, "open": open_rows,
                  "idle_sweep_ms": round(second_ms, 2), "idle_result": second,
                  "backlog_sweep_ms": round(third_ms, 1), "backlog_result": third}))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pgbench_tps(database_url: str, seconds: int, clients: int, workdir: Path) -> float:
    query(database_url, BENCH_TABLE)
    script = workdir / "insert.sql"
    script.write_text(PGBENCH_SCRIPT)
    done = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", str(script),
         database_url],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    match = re.search(r"tps = ([\d.]+)", done.stdout)
    assert match, done.stdout + done.stderr
    return float(match.group(1))


def count_requests(database_url: str) -> int:
    return int(query(database_url, "SELECT count(*) FROM intake_helprequest")[0][0])


def intake_max_rate(
    port: int, token: str, database_url: str, seconds: int, connections: int, workdir: Path
) -> tuple[float, str]:
    """Committed help requests per second at maximum rate (counted in the database)."""
    before = count_requests(database_url)
    if shutil.which("wrk"):
        lua = workdir / "intake.lua"
        body = request_body(7).decode()
        lua.write_text(WRK_LUA.replace("PREFIX", uuid.uuid4().hex).replace("BODY", body))
        started = time.monotonic()
        done = subprocess.run(
            ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
             "-s", str(lua), "-H", f"Authorization: Bearer {token}",
             "-H", "Content-Type: application/json",
             "--latency", f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        tool = "wrk"
        log(done.stdout)
    else:
        load = LoadGenerator(port, token, threads=connections, max_attempts=1)
        started = time.monotonic()
        load.run(int(seconds * 400), 400.0)
        elapsed = time.monotonic() - started
        tool = "python"
    return (count_requests(database_url) - before) / elapsed, tool


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of the live processes in process group `pgid` (gunicorn and worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def wait_idle(database_url: str, quiet_seconds: float = 2.0, limit: float = 120.0) -> None:
    """Until no request has been stored for `quiet_seconds`: the server's queue is empty."""
    deadline = time.monotonic() + limit
    last = -1
    while time.monotonic() < deadline:
        now = count_requests(database_url)
        if now == last:
            return
        last = now
        time.sleep(quiet_seconds)


Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def open_loop(
    port: int,
    rate: float,
    seconds: int,
    threads: int,
    request: Callable[[int], Request],
    record: Callable[[int, int, float], None],
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Send `request(i)` for every i below rate * seconds, request i due at start + i/rate, and
    call `record(i, status, latency)` (under a lock) with its latency counted from when it was
    due, so a stalled server is not hidden by the generator waiting for it (no coordinated
    omission); status -1 is no HTTP answer. A fixed pool of threads with keep-alive connections
    sends them, so the generator stays light on the cores it shares with the server; requests a
    busy pool sends late carry that lateness in their latency. `on_tick` runs about every second."""
    lock = threading.Lock()
    counter = iter(range(int(rate * seconds)))
    start = time.monotonic() + 0.5

    def sender() -> None:
        conn: http.client.HTTPConnection | None = None
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            method, path, body, headers = request(i)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):  # counts, with its latency, as failed
                status = -1
                if conn is not None:
                    conn.close()
                conn = None
            latency = time.monotonic() - due
            with lock:
                record(i, status, latency)
        if conn is not None:
            conn.close()

    pool = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    while any(thread.is_alive() for thread in pool):
        time.sleep(1)
        if on_tick is not None:
            on_tick()


def percentile_ms(values: list[float], p: float) -> float:
    """The p-th percentile of latencies in seconds, in milliseconds (0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)


def latency_at_rate(port: int, token: str, rate: float, seconds: int) -> dict[str, float]:
    """Help-request creates at a steady `rate` (see `open_loop`): p50, p99, max, failures."""
    latencies: list[float] = []
    failures = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(i: int) -> Request:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        return "POST", "/api/v1/requests", request_body(i), {**headers, **key}

    def record(_i: int, status: int, latency: float) -> None:
        nonlocal failures
        latencies.append(latency)
        failures += status != 201

    # Enough senders that each is idle most of the time at the target rate.
    open_loop(port, rate, seconds, max(8, int(rate // 3)), request, record)
    return {"p50_ms": percentile_ms(latencies, 0.50), "p99_ms": percentile_ms(latencies, 0.99),
            "max_ms": percentile_ms(latencies, 1.0), "requests": int(rate * seconds),
            "not_201": failures}  # fmt: skip


def serve(env: dict[str, str], workers: int, threads: int, workdir: Path) -> Server:
    """`lifeline serve` (gunicorn + worker), as run in production, in its own process group."""
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "lifeline.cli", "serve", "--port", str(port), "--workers", str(workers),
         "--threads", str(threads)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "serve.log", "ab"),  # noqa: SIM115
        process_group=0,
    )  # fmt: skip
    server = Server(env, workdir, port=port, with_worker=False)
    server.web = proc
    server.wait_ready(60)
    return server


def stop_group(server: Server) -> None:
    assert server.web is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.web.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.web.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.web.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (2 cores)")
    parser.add_argument("--threads", type=int, default=1, help="1: sync workers, as serve")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--pgbench-clients", type=int, default=16)
    parser.add_argument("--low-rate", type=float, default=30.0, help="also p99 at this rate")
    parser.add_argument("--sweep-open", type=int, default=100_000)
    # Steady state: sweeps every 10 s over deadlines spread across ~4 h make ~0.07 % of open
    # requests due per round (~70 of 100k); 100 is a little above that.
    parser.add_argument("--sweep-due", type=int, default=100, help="of those, due now")
    parser.add_argument("--sweep-backlog", type=int, default=1_000, help="then this many at once")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    load_at_start = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="lifeline-bench-"))
    result: dict[str, object] = {}
    try:
        with scratch_database(server_url, "lifeline_intake_bench") as url:
            log("preparing database…")
            site = site_prepare(url, workdir)
            log(f"pgbench {args.seconds}s, {args.pgbench_clients} clients…")
            tps = pgbench_tps(url, args.seconds, args.pgbench_clients, workdir)
            query(url, "DROP TABLE bench_helprequest")

            server = serve(site.env, args.workers, args.threads, workdir)
            try:
                # Warm up every worker (imports, connections) before measuring.
                latency_at_rate(server.port, site.token, 50, 2)
                log(f"intake at max rate {args.seconds}s…")
                # CPU the server spends per stored request: unlike requests/s it does not
                # depend on what else the machine is doing.
                cpu_before, stored_before = group_cpu_seconds(server.pgid), count_requests(url)
                rps, tool = intake_max_rate(server.port, site.token, url, args.seconds,
                                            args.connections, workdir)  # fmt: skip
                wait_idle(url)
                cpu_ms = (
                    (group_cpu_seconds(server.pgid) - cpu_before)
                    * 1000
                    / max(1, count_requests(url) - stored_before)
                )
                # Below capacity first: after 100 req/s the server may still be draining a queue.
                log(f"intake at {args.low_rate} req/s for {args.seconds}s…")
                low = latency_at_rate(server.port, site.token, args.low_rate, args.seconds)
                wait_idle(url)
                log(f"intake at 100 req/s for {args.seconds}s…")
                steady = latency_at_rate(server.port, site.token, 100, args.seconds)
            finally:
                stop_group(server)

            log(f"sweep over {args.sweep_open} open requests, {args.sweep_due} due…")
            query(url, "TRUNCATE intake_helprequest CASCADE")
            sweep = json.loads(
                django_run(site.env, SWEEP_CODE, str(args.sweep_open), str(args.sweep_due),
                           str(site.agency_id), str(args.sweep_backlog),
                           timeout=600).strip().splitlines()[-1]
            )  # fmt: skip
            result = {
                "intake_rps": round(rps, 1),
                "pgbench_tps": round(tps, 1),
                "ratio": round(rps / tps, 3),
                "p99_ms_at_100rps": steady["p99_ms"],
                "sweep_ms_100k_open": sweep["sweep_ms"],
                "p50_ms_at_100rps": steady["p50_ms"],
                "max_ms_at_100rps": steady["max_ms"],
                "not_201_at_100rps": steady["not_201"],
                f"p99_ms_at_{args.low_rate:g}rps": low["p99_ms"],
                f"p50_ms_at_{args.low_rate:g}rps": low["p50_ms"],
                "sweep_due": args.sweep_due,
                "sweep_escalated": sweep["result"]["escalated"],
                "sweep_ms_nothing_due": sweep["idle_sweep_ms"],
                "sweep_backlog": args.sweep_backlog,
                "sweep_ms_backlog": sweep["backlog_sweep_ms"],
                "sweep_backlog_escalated": sweep["backlog_result"]["escalated"],
                "server_cpu_ms_per_request": round(cpu_ms, 1),
                "loadavg_1m_at_start": round(load_at_start, 1),
                "load_tool": tool,
                "gunicorn": f"{args.workers}x{args.threads}",
                "pgbench_clients": args.pgbench_clients,
                "cores": os.cpu_count(),
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
