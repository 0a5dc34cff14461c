"""Soak benchmark (issue 7, battery G7): `lifeline serve` on PostgreSQL under a steady mixed load
for a long while; does latency hold and does memory stay flat?

    python -m benchmarks.soak [--seconds 600] [--rate 100] [--workers 4 --threads 1]

Mix: 40 % intake API creates (POST /api/v1/requests, Idempotency-Key), 40 % case reads (staff
API GET /api/v1/cases/{reference}, audited), 20 % referral lists (GET /api/v1/referrals: inbox and
outgoing). Open loop: request i is due at start + i/rate and its latency counts from then, so a
stalled server is not hidden by the generator waiting for it.

Needs PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres; a scratch
database is created and dropped). 127.0.0.1 only. Prints one JSON line last:
{"seconds", "rate", "requests", "p95_ms", "p99_ms", "errors", "rss_start_mb", "rss_end_mb",
"rss_growth_mb", ...}. Targets (G7): p95 < 500 ms, 0 unexpected answers, RSS growth < 10 %.
Not run in CI: the machine it runs on decides the numbers (loadavg is reported with them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.intake import Request, open_loop, percentile_ms, serve, stop_group
from tests.reliability.harness import django_run, request_body, scratch_database, site_prepare

SETUP = """
import json, sys
from django.utils import timezone
from lifeline.accounts.models import Agency, Role
from lifeline.accounts.services import staff_token_create
from lifeline.accounts.tests.factories import AgencyFactory, MembershipFactory
from lifeline.audit.services import SystemActor
from lifeline.cases.models import Purpose, Section
from lifeline.cases.tests.factories import CaseFactory, ConsentFactory
from lifeline.referrals.models import Referral, ReferralKind
cases = int(sys.argv[1])
ngo = AgencyFactory(name="Soak NGO (synthetic)")
other = AgencyFactory(name="Soak partner (synthetic)")
member = MembershipFactory(agency=ngo, role=Role.SUPERVISOR)
own = [CaseFactory(owner_agency=ngo, summary=f"Synthetic soak case {i}.") for i in range(cases)]


def referral(sender, receiver, case):
    victim = case.persons.get(role="victim").person
    consent = ConsentFactory(person=victim, agency=sender, recipient_agency=receiver,
                             purpose=Purpose.RESCUE)
    Referral.objects.create(
        case=case, from_agency=sender, to_agency=receiver, kind=ReferralKind.SHARE,
        sections=[Section.SUMMARY.value], purpose=Purpose.RESCUE, consent=consent,
        sent_at=timezone.now(),
    )


for case in [CaseFactory(owner_agency=other) for _ in range(10)]:
    referral(other, ngo, case)
for case in own[:10]:
    referral(ngo, other, case)
_token, token = staff_token_create(actor=SystemActor("soak"), user=member.user, agency=ngo, days=1)
print(json.dumps({"token": token, "cases": [c.reference for c in own]}))
"""

MIX = (("create", 0.4), ("case", 0.4), ("referrals", 0.2))
EXPECTED = {"create": 201, "case": 200, "referrals": 200}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def group_memory_mb(pgid: int, field: str = "VmRSS") -> float:
    """Memory of every live process in group `pgid` (gunicorn master, its workers, the worker
    started by `lifeline serve`): "VmRSS" from status (counts pages shared by forked workers once
    per process) or "Pss" from smaps_rollup (shares them out: the sum is the group's real use)."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            source = "status" if field == "VmRSS" else "smaps_rollup"
            for line in (entry / source).read_text().splitlines():
                if line.startswith(field + ":"):
                    total_kb += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return round(total_kb / 1024, 1)


def group_rss_mb(pgid: int) -> float:
    return group_memory_mb(pgid, "VmRSS")


def kind_of(i: int) -> str:
    """A fixed interleaving of the mix (deterministic, evenly spread)."""
    slot = (i * 7919) % 100 / 100
    edge = 0.0
    for kind, share in MIX:
        edge += share
        if slot < edge:
            return kind
    return MIX[-1][0]


def run_load(
    port: int, api_token: str, staff_token: str, cases: list[str], rate: float, seconds: int,
    threads: int, on_tick: Callable[[], None],
) -> tuple[dict[str, list[float]], dict[str, int], int]:  # fmt: skip
    latencies: dict[str, list[float]] = {kind: [] for kind, _ in MIX}
    statuses: dict[str, int] = {}
    errors = 0

    def request(i: int) -> Request:
        kind = kind_of(i)
        if kind == "create":
            headers = {"Authorization": f"Bearer {api_token}", "Idempotency-Key": str(uuid.uuid4()),
                       "Content-Type": "application/json"}  # fmt: skip
            return "POST", "/api/v1/requests", request_body(i), headers
        headers = {"Authorization": f"Bearer {staff_token}"}
        if kind == "case":
            return "GET", f"/api/v1/cases/{cases[i % len(cases)]}", None, headers
        return "GET", "/api/v1/referrals", None, headers

    def record(i: int, status: int, latency: float) -> None:
        nonlocal errors
        kind = kind_of(i)
        latencies[kind].append(latency)
        label = f"{kind}:{status}"
        statuses[label] = statuses.get(label, 0) + 1
        errors += status != EXPECTED[kind]

    open_loop(port, rate, seconds, threads, request, record, on_tick)
    return latencies, statuses, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second, all kinds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (2 cores)")
    parser.add_argument("--threads", type=int, default=1, help="1: sync workers, as serve")
    parser.add_argument("--clients", type=int, default=32, help="generator threads")
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    workdir = Path(tempfile.mkdtemp(prefix="lifeline-soak-"))
    try:
        with scratch_database(server_url, "lifeline_soak") as url:
            log("migrating a scratch database…")
            site = site_prepare(url, workdir)
            setup = json.loads(
                django_run(site.env, SETUP, str(args.cases)).strip().splitlines()[-1]
            )
            server = serve(site.env, args.workers, args.threads, workdir)
            try:
                time.sleep(2)  # the worker's first rounds
                load_start = os.getloadavg()
                rss_start = group_rss_mb(server.pgid)
                pss_start = group_memory_mb(server.pgid, "Pss")
                samples: list[tuple[float, float]] = []
                started = time.monotonic()

                def tick() -> None:
                    now = time.monotonic() - started
                    if not samples or now - samples[-1][0] >= 10:
                        samples.append((round(now, 1), group_rss_mb(server.pgid)))
                        log(f"t={now:.0f}s rss={samples[-1][1]} MB")

                log(f"soak: {args.rate}/s for {args.seconds}s against lifeline serve")
                latencies, statuses, errors = run_load(
                    server.port, site.token, setup["token"], setup["cases"], args.rate,
                    args.seconds, args.clients, tick,
                )  # fmt: skip
                elapsed = time.monotonic() - started
                rss_end = group_rss_mb(server.pgid)
                pss_end = group_memory_mb(server.pgid, "Pss")
                load_end = os.getloadavg()
            finally:
                stop_group(server)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    every = [v for values in latencies.values() for v in values]
    # After the first tenth of the run, caches and connection pools are warm; growth from there
    # is what a leak would look like.
    warm = next((rss for t, rss in samples if t >= args.seconds / 10), rss_start)
    result = {
        "seconds": args.seconds,
        "rate": args.rate,
        "requests": len(every),
        "achieved_rate": round(len(every) / elapsed, 1),
        "p50_ms": percentile_ms(every, 0.50),
        "p95_ms": percentile_ms(every, 0.95),
        "p99_ms": percentile_ms(every, 0.99),
        "max_ms": percentile_ms(every, 1.0),
        "by_kind": {
            kind: {
                "requests": len(v),
                "p95_ms": percentile_ms(v, 0.95),
                "p99_ms": percentile_ms(v, 0.99),
            }
            for kind, v in latencies.items()
        },
        "errors": errors,
        "statuses": dict(sorted(statuses.items())),
        "rss_start_mb": rss_start,
        "rss_warm_mb": warm,
        "rss_end_mb": rss_end,
        "rss_max_mb": max([rss_start, rss_end, *(rss for _t, rss in samples)]),
        "rss_growth_mb": round(rss_end - rss_start, 1),
        "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1) if rss_start else None,
        "rss_growth_after_warmup_pct": round(100 * (rss_end - warm) / warm, 1) if warm else None,
        "pss_start_mb": pss_start,
        "pss_end_mb": pss_end,
        "workers": args.workers,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in load_end],
        "pass_p95_under_500ms": percentile_ms(every, 0.95) < 500,
        "pass_no_errors": errors == 0,
        "pass_rss_growth_under_10pct": bool(rss_start) and (rss_end - rss_start) < 0.1 * rss_start,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
