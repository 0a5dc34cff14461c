"""G4: the outbox survives kill -9 of the worker in the middle of a delivery. Every committed
urgent request is notified at least once (an email sent before a COMMIT that never came is sent
again), handled once (one Notification per recipient, whatever the redeliveries), and a request
whose transaction rolled back is never notified.

A real `lifeline worker` on PostgreSQL; the email backend (slow_mail.py) hangs right after sending
chosen messages, inside the delivery transaction, and the test kills the worker there."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from .harness import Site, Worker, django_run, query

URGENT = 120
MEMBERS = 3
HANG_AT = (25, 80)  # kill -9 while the 25th and then the 80th message is being delivered

BUILD = """
import json, sys, uuid
from django.db import transaction
from lifeline.accounts.models import Agency, Role
from lifeline.accounts.tests.factories import MembershipFactory
from lifeline.audit.services import SystemActor
from lifeline.intake.services import help_request_create, request_input_clean
agency = Agency.objects.get(code="rel-hotline")
for role in (Role.INTAKE_OFFICER, Role.INTAKE_OFFICER, Role.SUPERVISOR):
    MembershipFactory(agency=agency, role=role)
actor = SystemActor("outbox-drill")

def create(i):
    data = request_input_clean(
        {"reporter_type": "family", "reporter_name": "Synthetic Reporter", "country": "TH",
         "reporter_phone": "+85512345678", "is_child": True, "language": "en",
         "narrative": f"Synthetic urgent request {i}; not a real person."},
        channel="api",
    )
    return help_request_create(actor=actor, data=data, assigned_agency=agency,
                               idempotency_key=str(uuid.uuid4()), source="drill").request.pk

committed = [create(i) for i in range(int(sys.argv[1]))]

class RolledBack(Exception):
    pass

try:
    with transaction.atomic():
        rolled_back = create(-1)  # its outbox row is written in this transaction too...
        raise RolledBack  # ...and goes with it
except RolledBack:
    pass
print(json.dumps({"committed": committed, "rolled_back": rolled_back}))
"""


def _count(site: Site, sql: str) -> int:
    return int(query(site.database_url, sql)[0][0])


def _delivered(site: Site) -> int:
    return _count(
        site,
        "SELECT count(*) FROM intake_outboxmessage "
        "WHERE kind = 'urgent_request' AND delivered_at IS NOT NULL",
    )


def _lines(log: Path) -> int:
    return log.read_bytes().count(b"\n") if log.exists() else 0


def _reached(log: Path, count: int) -> bool:
    return _lines(log) >= count


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_worker_killed_mid_delivery_notifies_every_committed_request_once(
    crash_site: Site, workdir: Path
) -> None:
    log = workdir / "mail.log"
    env = crash_site.env
    env.update(
        LIFELINE_EMAIL_BACKEND="tests.reliability.slow_mail.DrillEmailBackend",
        LIFELINE_DRILL_MAIL_LOG=str(log),
        LIFELINE_DRILL_MAIL_HANG_AT=",".join(map(str, HANG_AT)),
    )
    built = json.loads(django_run(env, BUILD, str(URGENT)).strip().splitlines()[-1])
    committed, rolled_back = built["committed"], built["rolled_back"]
    assert len(committed) == URGENT
    assert _count(crash_site, "SELECT count(*) FROM intake_outboxmessage") == URGENT

    kills: list[tuple[int, int]] = []
    worker = Worker(env, workdir)
    try:
        for hang in HANG_AT:
            worker.start()
            _wait(partial(_reached, log, hang), 90, f"message {hang} to be sent")
            time.sleep(0.3)  # the worker now sleeps inside the delivery transaction
            assert _lines(log) == hang
            worker.kill()  # kill -9: the transaction of message `hang` never commits
            # Sent but not committed: that message is still due, its notifications are gone.
            # (Each earlier kill also cost one line: its message was sent again after restart.)
            delivered = _delivered(crash_site)
            assert delivered == hang - 1 - len(kills)
            kills.append((hang, delivered))
        worker.start()
        drained = _wait(lambda: _delivered(crash_site) == URGENT, 120, "the outbox to drain")
    finally:
        worker.stop()

    # Handled once: one notification per committed request and recipient, no more.
    notes = query(
        crash_site.database_url,
        "SELECT request_id, count(*), count(DISTINCT user_id) FROM intake_notification "
        "WHERE kind = 'urgent_request' GROUP BY request_id",
    )
    assert {r[0] for r in notes} == set(committed)
    assert {(r[1], r[2]) for r in notes} == {(MEMBERS, MEMBERS)}
    assert _count(crash_site, "SELECT count(*) FROM intake_notification") == URGENT * MEMBERS
    # Delivered at least once: every message sent; the two caught mid-delivery sent twice.
    assert _count(crash_site, "SELECT count(*) FROM intake_outboxmessage") == URGENT
    assert _lines(log) == URGENT + len(HANG_AT)
    assert {line.count(",") + 1 for line in log.read_text().splitlines()} == {MEMBERS}
    # The rolled-back request left no request, no outbox row and no notification.
    left = query(
        crash_site.database_url,
        "SELECT (SELECT count(*) FROM intake_helprequest WHERE id = %(id)s), "
        "(SELECT count(*) FROM intake_outboxmessage WHERE dedupe_key = %(key)s), "
        "(SELECT count(*) FROM intake_notification WHERE request_id = %(id)s)",
        {"id": rolled_back, "key": f"urgent:{rolled_back}"},
    )
    assert left == [(0, 0, 0)]
    print(
        f"\noutbox kill: {URGENT} urgent requests x {MEMBERS} recipients; worker killed -9 "
        f"mid-delivery at messages {list(HANG_AT)} (committed then: {[d for _h, d in kills]}); "
        f"drained {drained:.1f}s after the last restart; {URGENT * MEMBERS} notifications "
        f"(0 duplicates), {_lines(log)} emails sent ({len(HANG_AT)} redelivered); "
        f"rolled-back request: 0 rows"
    )
