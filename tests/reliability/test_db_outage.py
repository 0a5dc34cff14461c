"""G2: PostgreSQL crashes (`pg_ctl stop -m immediate`) under load. While it is down intake answers
503 and never 201; after it is back, retries with the same keys finish and nothing acknowledged
is missing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import (
    Cluster,
    LoadGenerator,
    Server,
    Site,
    duplicate_references,
    scratch_database,
    site_prepare,
    stored_by_key,
)

REQUESTS = 1500
RATE = 100.0
DOWN_SECONDS = 3.0


@pytest.fixture
def cluster(pg_server_url: str) -> Iterator[Cluster]:
    # pg_server_url: only to skip where PostgreSQL tooling is not the database under test.
    cluster = Cluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def outage_site(cluster: Cluster, workdir: Path) -> Iterator[Site]:
    with scratch_database(cluster.url, "lifeline_outage") as url:
        yield site_prepare(url, workdir)


@pytest.mark.slow
def test_database_crash_answers_503_never_201_and_loses_no_acknowledged_request(
    cluster: Cluster, outage_site: Site, workdir: Path
) -> None:
    server = Server(outage_site.env, workdir, workers=2, threads=4)
    events: dict[str, float] = {}
    chaos_errors: list[BaseException] = []

    def chaos() -> None:
        try:
            time.sleep(4)
            cluster.crash()
            events["down"] = time.monotonic()
            time.sleep(DOWN_SECONDS)
            events["restarting"] = time.monotonic()
            cluster.start()
            events["up"] = time.monotonic()
        except BaseException as exc:
            chaos_errors.append(exc)

    load = LoadGenerator(server.port, outage_site.token, threads=32)
    try:
        server.start()
        chaos_thread = threading.Thread(target=chaos, daemon=True)
        chaos_thread.start()
        outcomes = load.run(REQUESTS, RATE)
        chaos_thread.join(timeout=60)
        assert not chaos_errors, chaos_errors

        # Attempts sent after the crash completed and answered before the restart began.
        down, restarting = events["down"], events["restarting"]
        during = [a for a in load.attempts if down < a.sent and a.received < restarting]
        answered = [a.status for a in during if a.status != -1]
        assert answered, "no request reached the server while the database was down"
        assert not [s for s in answered if 200 <= s < 300]
        assert set(answered) == {503}, sorted(set(answered))

        acked = {o.key: o for o in outcomes if o.acked}
        unacked = [o for o in outcomes if not o.acked]
        assert not [o for o in outcomes if 400 <= o.status < 500]
        stored = stored_by_key(outage_site.database_url, outage_site.agency_id)
        assert [k for k in acked if k not in stored] == []
        assert {k: r for k, r in stored.items() if len(r) != 1} == {}
        assert [k for k, o in acked.items() if stored[k] != [o.reference]] == []

        for outcome in unacked:
            load.deliver(outcome, max_attempts=20)
        assert all(o.acked for o in unacked)
        stored_after = stored_by_key(outage_site.database_url, outage_site.agency_id)
        assert len(stored_after) == REQUESTS
        assert all(stored_after[o.key] == [o.reference] for o in outcomes)
        assert duplicate_references(outage_site.database_url) == 0

        statuses: dict[int, int] = {}
        for attempt in load.attempts:
            statuses[attempt.status] = statuses.get(attempt.status, 0) + 1
        print(
            f"\ndatabase outage: requested={REQUESTS} acked_during_load={len(acked)} "
            f"(200-repeats={sum(1 for o in acked.values() if o.status == 200)}) "
            f"unacked_then_replayed={len(unacked)} stored={len(stored_after)} missing=0 "
            f"duplicates=0 answers_while_down={len(answered)} (all 503) "
            f"down_for={events['up'] - events['down']:.1f}s "
            f"statuses={dict(sorted(statuses.items()))}"
        )
    finally:
        server.stop()
