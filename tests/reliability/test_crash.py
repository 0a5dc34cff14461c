"""G1: no acknowledged help request is lost, and none is stored twice, when the whole server is
killed (-9) under load and restarted over its stale pid file, and when one web worker dies."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from .harness import (
    PYTHON,
    REPO,
    LoadGenerator,
    Server,
    Site,
    duplicate_references,
    query,
    stored_by_key,
)

REQUESTS = 2400
RATE = 150.0  # per second: about 16 s of load


@pytest.mark.slow
def test_kill_9_of_server_group_and_of_one_worker_loses_no_acknowledged_request(
    crash_site: Site, workdir: Path
) -> None:
    server = Server(crash_site.env, workdir, workers=2, threads=4)
    events: dict[str, object] = {}
    chaos_errors: list[BaseException] = []

    def chaos() -> None:
        try:
            time.sleep(4)
            old_pid = server.pgid
            server.kill_group()
            events["killed_at"] = time.monotonic()
            # The dead master's pid file is still there: a restart must not be blocked by it.
            events["stale_pid_file"] = server.pidfile.read_text().strip()
            events["stale_pid"] = old_pid
            time.sleep(1.0)  # down: connections are refused, clients back off and retry
            server.start()
            events["restarted_at"] = time.monotonic()
            events["new_pid_file"] = server.pidfile.read_text().strip()
            time.sleep(3)
            events["killed_worker"] = server.kill_one_web_worker()
        except BaseException as exc:  # surfaced in the main thread
            chaos_errors.append(exc)

    load = LoadGenerator(server.port, crash_site.token, threads=48)
    started = time.monotonic()
    try:
        server.start()
        chaos_thread = threading.Thread(target=chaos, daemon=True)
        chaos_thread.start()
        outcomes = load.run(REQUESTS, RATE)
        chaos_thread.join(timeout=60)
        assert not chaos_errors, chaos_errors
        assert events["stale_pid_file"] == str(events["stale_pid"])
        assert events["new_pid_file"] == str(server.pgid) != events["stale_pid_file"]

        acked = {o.key: o for o in outcomes if o.acked}
        unacked = [o for o in outcomes if not o.acked]
        refused_4xx = [o for o in outcomes if 400 <= o.status < 500]
        assert not refused_4xx, [(o.status, o.attempts, o.error) for o in refused_4xx[:3]]

        stored = stored_by_key(crash_site.database_url, crash_site.agency_id)
        missing = [k for k in acked if k not in stored]
        twice = {k: refs for k, refs in stored.items() if len(refs) != 1}
        wrong_reference = [k for k, o in acked.items() if stored.get(k, [""])[0] != o.reference]
        assert missing == []
        assert twice == {}
        assert wrong_reference == []
        assert duplicate_references(crash_site.database_url) == 0

        # Replaying every unacknowledged key (same key, same body) must not create a second row.
        for outcome in unacked:
            load.deliver(outcome, max_attempts=20)
        assert all(o.acked for o in unacked)
        stored_after = stored_by_key(crash_site.database_url, crash_site.agency_id)
        assert len(stored_after) == REQUESTS
        assert all(len(refs) == 1 for refs in stored_after.values())
        assert all(stored_after[o.key] == [o.reference] for o in outcomes)
        assert duplicate_references(crash_site.database_url) == 0

        # The audit trail came through the kills whole: one creation event per stored request
        # (a killed transaction leaves neither), and the chain, linked after commit, verifies.
        created_events = query(
            crash_site.database_url,
            "SELECT count(*), count(DISTINCT target_id) FROM audit_auditevent "
            "WHERE action = 'record.created' AND target_type = 'help_request'",
        )[0]
        assert tuple(created_events) == (REQUESTS, REQUESTS)
        verify = subprocess.run(
            [PYTHON, "-m", "lifeline.cli", "audit", "verify"], cwd=REPO, env=crash_site.env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stderr
        assert verify.stdout.startswith("audit chain OK: "), verify.stdout

        statuses: dict[int, int] = {}
        for attempt in load.attempts:
            statuses[attempt.status] = statuses.get(attempt.status, 0) + 1
        repeats = sum(1 for o in acked.values() if o.status == 200)
        print(
            f"\ncrash test: requested={REQUESTS} acked_during_load={len(acked)} "
            f"(200-repeats={repeats}) unacked_then_replayed={len(unacked)} "
            f"stored={len(stored_after)} missing=0 duplicates=0 attempts={len(load.attempts)} "
            f"statuses={dict(sorted(statuses.items()))} "
            f"server_starts={server.starts} killed_worker={events['killed_worker']} "
            f"elapsed={time.monotonic() - started:.1f}s; {verify.stdout.strip()[:40]}"
        )
    finally:
        server.stop()
