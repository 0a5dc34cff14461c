"""A dead sweeper silences nothing: requests that fall due while the worker is down are escalated
(level 1) within 60 s of the worker coming back, as are those already overdue before."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from .harness import LoadGenerator, Outcome, Server, Site, Worker, query, request_body

BATCH = 20
WITHIN_SECONDS = 60.0


def _create_overdue(load: LoadGenerator, site: Site, first: int) -> list[str]:
    """Create BATCH requests through the API, then move their deadlines into the past."""
    refs = []
    for i in range(first, first + BATCH):
        outcome = load.deliver(Outcome(str(uuid.uuid4()), request_body(i)))
        assert outcome.status == 201, outcome
        refs.append(outcome.reference)
    query(
        site.database_url,
        "UPDATE intake_helprequest SET deadline_at = now() - interval '2 minutes', "
        "next_escalation_at = now() - interval '2 minutes' WHERE reference = ANY(%s)",
        (refs,),
    )
    return refs


def _escalated(site: Site, refs: list[str]) -> int:
    rows = query(
        site.database_url,
        "SELECT count(*) FROM intake_escalation e JOIN intake_helprequest r ON r.id = e.request_id "
        "WHERE e.level = 1 AND r.reference = ANY(%s)",
        (refs,),
    )
    return int(rows[0][0])


def _wait_escalated(site: Site, refs: list[str], timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _escalated(site, refs) == len(refs):
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{len(refs) - _escalated(site, refs)} requests not escalated in time")


@pytest.mark.slow
def test_requests_overdue_while_worker_was_down_escalate_within_60s_of_restart(
    crash_site: Site, workdir: Path
) -> None:
    web = Server(crash_site.env, workdir, with_worker=False)
    worker = Worker(crash_site.env, workdir)
    try:
        web.start()
        load = LoadGenerator(web.port, crash_site.token)
        before = _create_overdue(load, crash_site, 0)
        worker.start()
        first_round = _wait_escalated(crash_site, before, WITHIN_SECONDS)

        worker.kill()  # kill -9: no chance to finish a round or say goodbye
        during = _create_overdue(load, crash_site, BATCH)
        time.sleep(5)  # the sweeper stays dead for a while; nothing else escalates
        assert _escalated(crash_site, during) == 0

        worker.start()
        after_restart = _wait_escalated(crash_site, before + during, WITHIN_SECONDS)
        assert after_restart <= WITHIN_SECONDS
        once = query(
            crash_site.database_url,
            "SELECT count(*), count(DISTINCT request_id) FROM intake_escalation WHERE level = 1",
        )[0]
        assert once == (2 * BATCH, 2 * BATCH)
        print(
            f"\ndead sweeper: first round {first_round:.1f}s after start; {BATCH} requests fell "
            f"due while the worker was dead; all {2 * BATCH} escalated {after_restart:.1f}s "
            f"after restart (limit {WITHIN_SECONDS:.0f}s)"
        )
    finally:
        worker.stop()
        web.stop()
