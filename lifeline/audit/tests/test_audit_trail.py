"""The audit trail as stored: unlinked appends, the linker, append-only enforcement, tamper
detection, linker health, and (on PostgreSQL) audited writers that do not wait for one another."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections, connection, transaction

from lifeline.accounts import services as account_services
from lifeline.accounts.models import Agency
from lifeline.audit import chain, triggers
from lifeline.audit.models import AuditAction, AuditChainHead, AuditEvent
from lifeline.audit.services import (
    LINKER_JOB,
    SYSTEM,
    AuditEntry,
    SystemActor,
    audit_link,
    audit_record,
    audit_record_many,
    audit_verify,
)
from lifeline.core import clock, context, periodic
from lifeline.core.models import Heartbeat

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)


def _record(count: int, *, link: bool = True) -> list[AuditEvent]:
    """`count` events, one second apart from T0; linked into the chain unless link=False."""
    with clock.freeze(T0):
        events = []
        for i in range(count):
            clock.advance(timedelta(seconds=1))
            events.append(
                audit_record(
                    actor=SystemActor("test"),
                    action=AuditAction.RECORD_VIEWED,
                    target_type="case",
                    target_id=100 + i,
                    metadata={"n": i, "ids": [1, 2]},
                )
            )
    if link:
        audit_link()
        for event in events:
            event.refresh_from_db()
    return events


def _expected_hash(prev: str, event: AuditEvent, seq: int) -> str:
    return chain.link(
        prev,
        chain.canonical(
            seq=seq,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            agency_id=event.agency_id,
            role=event.role,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            request_id=event.request_id,
            metadata=event.metadata,
        ),
    )


def _verify(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


def _broken(*args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        _verify(*args)
    return str(excinfo.value)


def _sql(sql: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def bypass_triggers():
    """Act as a database owner would: lift the append-only triggers. The test transaction's
    rollback puts them back (DDL is transactional on SQLite and PostgreSQL)."""
    triggers.remove(connection)
    yield
    triggers.install(connection)


# --- writing ----------------------------------------------------------------------------------


def test_audit_record_inserts_the_event_unlinked_without_touching_the_chain_head():
    token = context.set_request_id("req-abc")
    try:
        (event,) = _record(1, link=False)
    finally:
        context.reset_request_id(token)

    event.refresh_from_db()
    assert (event.seq, event.prev_hash, event.hash) == (None, None, None)
    assert (event.occurred_at, event.action, event.target_id, event.request_id) == (
        T0 + timedelta(seconds=1),
        "record.viewed",
        "100",
        "req-abc",
    )
    assert not AuditChainHead.objects.exists()


def test_audit_link_gives_seq_links_and_head_in_id_order():
    token = context.set_request_id("req-abc")
    try:
        first, second = _record(2, link=False)
    finally:
        context.reset_request_id(token)

    assert audit_link() == 2

    first.refresh_from_db()
    second.refresh_from_db()
    expected_first = chain.link(
        chain.GENESIS,
        chain.canonical(
            seq=1,
            occurred_at=T0 + timedelta(seconds=1),
            actor_id=None,
            agency_id=None,
            role="test",
            action="record.viewed",
            target_type="case",
            target_id="100",
            request_id="req-abc",
            metadata={"n": 0, "ids": [1, 2]},
        ),
    )
    assert (first.seq, first.prev_hash, first.hash) == (1, chain.GENESIS, expected_first)
    assert (first.action, first.target_id, first.request_id) == ("record.viewed", "100", "req-abc")
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.hash == _expected_hash(first.hash, second, 2)
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_seq, head.last_hash) == (2, second.hash)


def test_audit_link_again_links_only_new_events_after_the_head():
    first, second = _record(2)

    assert audit_link() == 0
    (third,) = _record(1)

    assert (third.seq, third.prev_hash) == (3, second.hash)
    assert AuditEvent.objects.filter(pk__in=[first.pk, second.pk]).values_list(
        "seq", "hash"
    ).order_by("seq")[::1] == [(1, first.hash), (2, second.hash)]
    assert audit_verify().ok is True


def test_audit_link_in_small_batches_links_everything_in_id_order():
    events = _record(7, link=False)

    assert audit_link(batch=3) == 7

    rows = list(AuditEvent.objects.order_by("seq").values_list("id", "seq"))
    assert rows == [(event.pk, i) for i, event in enumerate(events, start=1)]
    assert audit_verify(link=False).checked == 7


def test_a_row_that_commits_late_is_linked_after_rows_already_linked():
    """Ids are handed out at INSERT, rows become visible at COMMIT: a lower id can appear after
    higher ones were linked. It takes the next place in the chain; ids are not the order."""
    base = (AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000
    fields = {"occurred_at": T0, "action": AuditAction.RECORD_VIEWED, "metadata": {}}
    # bulk_create: the model's save() refuses rows that already carry a primary key.
    AuditEvent.objects.bulk_create([AuditEvent(id=base + 500, **fields)])
    audit_link()
    # A lower id, "committed" after #1 was linked.
    AuditEvent.objects.bulk_create([AuditEvent(id=base + 100, **fields)])

    assert audit_link() == 1

    assert list(AuditEvent.objects.order_by("seq").values_list("id", "seq")) == [
        (base + 500, 1),
        (base + 100, 2),
    ]
    assert audit_verify().ok is True


def test_audit_record_many_writes_one_unlinked_event_per_entry():
    with clock.freeze(T0):
        events = audit_record_many(
            actor=SystemActor("sweeper"),
            entries=[
                AuditEntry(AuditAction.REQUEST_ESCALATED, "help_request", 7, {"level": 1}, 3),
                AuditEntry(AuditAction.REQUEST_ESCALATED, "help_request", 8, {"level": 2}, 4),
            ],
        )

    rows = list(
        AuditEvent.objects.order_by("id").values_list(
            "role", "action", "target_id", "agency_id", "metadata", "occurred_at", "seq"
        )
    )
    assert len(events) == 2
    assert rows == [
        ("sweeper", "request.escalated", "7", 3, {"level": 1}, T0, None),
        ("sweeper", "request.escalated", "8", 4, {"level": 2}, T0, None),
    ]
    assert audit_link() == 2
    assert audit_verify().ok is True


def test_audit_record_many_writes_nothing_when_one_entry_is_refused():
    with pytest.raises(ValueError, match="too long"):
        audit_record_many(
            actor=SYSTEM,
            entries=[
                AuditEntry(AuditAction.RECORD_UPDATED, metadata={"ok": 1}),
                AuditEntry(AuditAction.RECORD_UPDATED, metadata={"note": "x" * 65}),
            ],
        )

    assert AuditEvent.objects.count() == 0


def test_audit_record_takes_actor_agency_and_role_from_the_principal(supervisor):
    from lifeline.accounts.principal import principal_for

    principal = principal_for(supervisor)

    event = audit_record(actor=principal, action=AuditAction.RECORD_LISTED)

    assert (event.actor_id, event.agency_id, event.role) == (
        supervisor.pk,
        principal.agency.pk,
        "supervisor",
    )


def test_audit_metadata_refuses_long_free_text():
    with pytest.raises(
        ValueError, match=r"^audit metadata 'note' is too long to be an id or code$"
    ):
        audit_record(actor=SYSTEM, action=AuditAction.RECORD_UPDATED, metadata={"note": "x" * 65})

    assert AuditEvent.objects.count() == 0


def test_audit_metadata_refuses_free_text_hidden_in_a_list():
    with pytest.raises(ValueError, match="'names' is too long"):
        audit_record(
            actor=SYSTEM,
            action=AuditAction.RECORD_UPDATED,
            metadata={"names": ["ok", "Synthetic Person " * 5]},
        )


@pytest.mark.parametrize(
    "value", [{"a": 1}, [{"a": 1}], [[1]]], ids=["dict", "list-dict", "nested"]
)
def test_audit_metadata_refuses_nested_values(value):
    with pytest.raises(ValueError, match="'m' must be flat"):
        audit_record(actor=SYSTEM, action=AuditAction.RECORD_UPDATED, metadata={"m": value})


def test_audit_metadata_accepts_ids_codes_and_counts():
    event = audit_record(
        actor=SYSTEM,
        action=AuditAction.RECORD_UPDATED,
        metadata={"code": "x" * 64, "count": 3, "ids": [4, 5], "flag": True, "none": None},
    )

    event.refresh_from_db()
    assert event.metadata == {
        "code": "x" * 64,
        "count": 3,
        "ids": [4, 5],
        "flag": True,
        "none": None,
    }


def test_audit_write_failure_rolls_back_the_change_it_describes(monkeypatch):
    _record(1)

    def fail(**kwargs):
        raise DatabaseError("audit insert failed (injected)")

    monkeypatch.setattr(AuditEvent.objects, "create", fail)

    with pytest.raises(DatabaseError, match="injected"):
        account_services.agency_create(
            actor=SYSTEM,
            name="Rolled Back (synthetic)",
            code="rolled-back",
            kind="ngo",
            country="KH",
        )

    assert Agency.objects.filter(code="rolled-back").count() == 0
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_seq, AuditEvent.objects.count()) == (1, 1)


# --- append-only ------------------------------------------------------------------------------


def test_database_refuses_update_of_an_audit_event():
    (event,) = _record(1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")

    event.refresh_from_db()
    assert event.action == "record.viewed"


def test_database_refuses_delete_of_an_audit_event():
    (event,) = _record(1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.count() == 1


def test_database_refuses_changing_an_unlinked_event():
    (event,) = _record(1, link=False)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(target_id="999")
    # Linking and editing in the same statement is refused too.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(
            seq=1, prev_hash=chain.GENESIS, hash="a" * 64, target_id="999"
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    event.refresh_from_db()
    assert (event.target_id, event.seq, event.hash) == ("100", None, None)


def test_database_allows_linking_an_event_once_and_never_relinking_it():
    (event,) = _record(1, link=False)

    AuditEvent.objects.filter(pk=event.pk).update(seq=1, prev_hash=chain.GENESIS, hash="a" * 64)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(hash="b" * 64)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(seq=None, prev_hash=None, hash=None)
    event.refresh_from_db()
    assert (event.seq, event.hash) == (1, "a" * 64)


def test_database_refuses_a_link_without_full_length_hashes():
    (event,) = _record(1, link=False)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(seq=1, prev_hash=chain.GENESIS, hash="x")

    event.refresh_from_db()
    assert event.seq is None


def test_database_refuses_inserting_an_event_that_claims_a_place_in_the_chain():
    with pytest.raises(DatabaseError, match="inserted unlinked"), transaction.atomic():
        AuditEvent.objects.create(
            seq=1,
            occurred_at=T0,
            action=AuditAction.RECORD_VIEWED,
            prev_hash=chain.GENESIS,
            hash="f" * 64,
        )

    assert AuditEvent.objects.count() == 0


def test_model_refuses_save_and_delete_of_an_existing_event():
    (event,) = _record(1)

    with pytest.raises(PermissionError, match="append-only"):
        event.save()
    with pytest.raises(PermissionError, match="append-only"):
        event.delete()


# --- verification and tampering -------------------------------------------------------------


def test_audit_verify_reports_ok_on_a_clean_chain():
    events = _record(5)

    assert _verify() == f"audit chain OK: 5 events, head #5 {events[-1].hash}\n"


def test_audit_verify_links_committed_events_first():
    _record(3)
    _record(2, link=False)

    assert _verify().startswith("audit chain OK: 5 events, head #5 ")
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()


def test_audit_link_command_links_and_beats():
    _record(2, link=False)
    out = io.StringIO()

    call_command("audit", "link", stdout=out)

    assert out.getvalue() == "linked 2 events\n"
    assert Heartbeat.objects.get(name=LINKER_JOB).detail == {"linked": 2}


def test_audit_verify_reports_ok_on_an_empty_chain():
    assert _verify() == f"audit chain OK: 0 events, head #0 {chain.GENESIS}\n"


def test_audit_verify_names_an_edited_row(bypass_triggers):
    events = _record(5)
    _sql("UPDATE audit_auditevent SET target_id = '999' WHERE seq = 3")

    assert _broken() == (
        f"audit chain BROKEN at event #3 (id {events[2].pk}): content does not match its hash; "
        "2 events before it verified"
    )


def test_audit_verify_names_a_row_whose_metadata_was_edited(bypass_triggers):
    events = _record(5)
    _sql("UPDATE audit_auditevent SET metadata = %s WHERE seq = 4", [json.dumps({"n": 99})])

    assert _broken().startswith(f"audit chain BROKEN at event #4 (id {events[3].pk}): content")


def test_audit_verify_names_the_gap_left_by_a_deleted_row(bypass_triggers):
    events = _record(5)
    _sql("DELETE FROM audit_auditevent WHERE seq = 2")

    assert _broken() == (
        f"audit chain BROKEN at event #3 (id {events[2].pk}): sequence jumps from 1 to 3: "
        "row(s) missing or reordered; 1 events before it verified"
    )


def test_audit_verify_names_a_deleted_last_row_from_the_head(bypass_triggers):
    _record(5)
    _sql("DELETE FROM audit_auditevent WHERE seq = 5")

    assert _broken() == (
        "audit chain BROKEN at event #5: chain ends at #4 but the head records #5: rows were "
        "removed from or added to the end; 4 events before it verified"
    )


def test_audit_verify_names_reordered_rows(bypass_triggers):
    events = _record(5)
    _sql("UPDATE audit_auditevent SET seq = -2 WHERE seq = 2")
    _sql("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3")
    _sql("UPDATE audit_auditevent SET seq = 3 WHERE seq = -2")

    assert _broken() == (
        f"audit chain BROKEN at event #2 (id {events[2].pk}): previous-hash link broken; "
        "1 events before it verified"
    )


def test_audit_verify_names_a_forged_row_with_a_wrong_hash(bypass_triggers):
    events = _record(5)
    forged = AuditEvent(
        seq=6,
        occurred_at=T0 + timedelta(seconds=6),
        action=AuditAction.RECORD_VIEWED,
        prev_hash=events[-1].hash,
        hash="f" * 64,
    )
    forged.save()
    AuditChainHead.objects.filter(id=1).update(last_seq=6, last_hash="f" * 64)

    assert _broken() == (
        f"audit chain BROKEN at event #6 (id {forged.pk}): content does not match its hash; "
        "5 events before it verified"
    )


def test_audit_verify_with_anchor_catches_a_rewritten_tail_with_valid_hashes(
    bypass_triggers, tmp_path
):
    events = _record(5)
    anchors = tmp_path / "anchors.jsonl"
    call_command("audit", "anchor", "--append", str(anchors), stdout=io.StringIO())
    # A forger with database access rewrites #5 and recomputes its hash and the head.
    fifth = AuditEvent.objects.filter(seq=5).values_list(*_FIELDS).get()
    row = dict(zip(_FIELDS, fifth, strict=True))
    row["target_id"] = "777"
    digest = chain.link(
        row.pop("prev_hash"), chain.canonical(**{_ARG[k]: v for k, v in row.items()})
    )
    _sql("UPDATE audit_auditevent SET target_id = '777', hash = %s WHERE seq = 5", [digest])
    AuditChainHead.objects.filter(id=1).update(last_hash=digest)

    assert _verify().startswith("audit chain OK: 5 events")  # the chain alone cannot tell
    assert _broken("--anchors", str(anchors)) == (
        f"audit chain BROKEN at event #5 (id {events[4].pk}): differs from the exported anchor: "
        "the chain was rewritten; 5 events before it verified"
    )


def test_audit_anchor_prints_the_head_as_json():
    events = _record(2)
    out = io.StringIO()

    with clock.freeze(T0):
        call_command("audit", "anchor", stdout=out)

    assert json.loads(out.getvalue()) == {
        "seq": 2,
        "hash": events[-1].hash,
        "at": "2025-03-01T08:00:00+00:00",
        "database": connection.vendor,
    }


def test_audit_verify_passes_on_its_own_anchor_file(tmp_path):
    _record(3)
    anchors = tmp_path / "anchors.jsonl"
    call_command("audit", "anchor", "--append", str(anchors), stdout=io.StringIO())
    _record(2)
    call_command("audit", "anchor", "--append", str(anchors), stdout=io.StringIO())

    assert audit_verify(anchor_file=anchors).ok is True
    assert [json.loads(line)["seq"] for line in anchors.read_text().splitlines()] == [3, 5]


_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "agency_id",
    "role",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "metadata",
    "prev_hash",
)
_ARG = {f: f for f in _FIELDS}


def test_audit_verify_names_the_gap_when_a_linked_row_is_unlinked_by_hand(bypass_triggers):
    """Setting a row's chain columns back to NULL makes the linker append it at the end: its old
    place is then a gap, which verify names."""
    events = _record(5)
    _sql("UPDATE audit_auditevent SET seq = NULL, prev_hash = NULL, hash = NULL WHERE seq = 3")

    assert _broken() == (
        f"audit chain BROKEN at event #4 (id {events[3].pk}): sequence jumps from 2 to 4: "
        "row(s) missing or reordered; 2 events before it verified"
    )


# --- the linker in the worker, and its health ---------------------------------------------------


def test_the_worker_links_an_unlinked_row_and_beats():
    (event,) = _record(1, link=False)

    periodic.run_job(periodic.JOBS[LINKER_JOB])

    event.refresh_from_db()
    assert (event.seq, event.prev_hash) == (1, chain.GENESIS)
    assert event.hash == _expected_hash(chain.GENESIS, event, 1)
    assert Heartbeat.objects.get(name=LINKER_JOB).detail == {"linked": 1}
    assert periodic.JOBS[LINKER_JOB].every_seconds == 1.0


def test_linker_health_is_green_while_it_beats_and_no_event_waits_over_60_seconds(client):
    with clock.freeze(T0):
        _record(1, link=False)  # written at T0 + 1 s
        clock.advance(timedelta(seconds=61))
        for name in ["worker", *periodic.JOBS]:
            periodic.beat(name)

        response = client.get("/health")

    assert (response.status_code, response.json()["status"]) == (200, "green")
    assert response.json()["checks"]["audit_linker"] == {
        "ok": True,
        "seconds_since_beat": 0.0,
        "oldest_unlinked_seconds": 60.0,
    }


def test_linker_health_is_red_when_an_event_waits_over_60_seconds(client):
    with clock.freeze(T0):
        _record(1, link=False)  # at T0 + 1 s
        clock.advance(timedelta(seconds=62))
        for name in ["worker", *periodic.JOBS]:
            periodic.beat(name)  # the linker "runs" but does not link: it is lagging

        response = client.get("/health")

    body = response.json()
    assert (response.status_code, body["status"]) == (503, "red")
    assert body["checks"]["audit_linker"] == {
        "ok": False,
        "seconds_since_beat": 0.0,
        "oldest_unlinked_seconds": 61.0,
    }
    assert [name for name, check in body["checks"].items() if not check["ok"]] == ["audit_linker"]


def test_linker_health_is_red_when_the_linker_stopped(client):
    with clock.freeze(T0):
        for name in ["worker", *periodic.JOBS]:
            periodic.beat(name)
        clock.advance(timedelta(seconds=61))
        for name in ["worker", *periodic.JOBS]:
            if name != LINKER_JOB:
                periodic.beat(name)

        response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["audit_linker"] == {
        "ok": False,
        "seconds_since_beat": 61.0,
        "oldest_unlinked_seconds": 0.0,
    }


def test_linker_health_is_red_when_the_linker_never_ran(client):
    response = client.get("/health")

    assert response.json()["checks"]["audit_linker"] == {
        "ok": False,
        "error": "audit linker has never run",
        "oldest_unlinked_seconds": 0.0,
    }


# --- concurrency (PostgreSQL only: SQLite serialises writers) ---------------------------------


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent writers are the point of this test")


def _in_thread(target, *args):
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target(*args)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.django_db(transaction=True)
def test_audited_writers_do_not_wait_for_one_another():
    """Eight transactions each write an audit event and then wait, uncommitted, until all eight
    have written theirs. With a chain lock taken at write time the second writer would block on
    the first, the barrier would time out, and this test would fail."""
    _needs_postgresql()
    writers = 8
    barrier = threading.Barrier(writers, timeout=10)

    def writer(i: int) -> None:
        with transaction.atomic():
            audit_record(actor=SystemActor("test"), action=AuditAction.RECORD_VIEWED, target_id=i)
            barrier.wait()  # raises BrokenBarrierError if any writer is blocked

    started = [_in_thread(writer, i) for i in range(writers)]
    for thread, _errors in started:
        thread.join(timeout=30)

    assert [errors for _thread, errors in started] == [[]] * writers
    assert AuditEvent.objects.filter(seq__isnull=True).count() == writers
    assert audit_link() == writers
    assert audit_verify().checked == writers


@pytest.mark.django_db(transaction=True)
def test_the_linker_neither_waits_for_nor_skips_an_open_transaction():
    """A writer holds an uncommitted event (lower id) while another commits (higher id). The
    linker links the committed one without waiting; after the first commits it is linked next."""
    _needs_postgresql()
    written = threading.Event()
    release = threading.Event()

    def slow_writer() -> None:
        with transaction.atomic():
            audit_record(actor=SystemActor("slow"), action=AuditAction.RECORD_VIEWED)
            written.set()
            assert release.wait(timeout=20)

    thread, errors = _in_thread(slow_writer)
    assert written.wait(timeout=10)
    fast = audit_record(actor=SystemActor("fast"), action=AuditAction.RECORD_VIEWED)

    linked_while_open = audit_link()  # would hang here if the linker waited for the writer
    release.set()
    thread.join(timeout=30)
    linked_after = audit_link()

    slow = AuditEvent.objects.get(role="slow")
    assert errors == []
    assert (linked_while_open, linked_after) == (1, 1)
    assert slow.pk < fast.pk
    assert list(AuditEvent.objects.order_by("seq").values_list("role", "seq")) == [
        ("fast", 1),
        ("slow", 2),
    ]
    assert audit_verify().ok is True


@pytest.mark.django_db(transaction=True)
def test_two_linkers_at_once_link_each_event_exactly_once():
    _needs_postgresql()
    for i in range(200):
        audit_record(actor=SystemActor("test"), action=AuditAction.RECORD_VIEWED, target_id=i)
    counts: list[int] = []
    barrier = threading.Barrier(2, timeout=10)

    def linker() -> None:
        barrier.wait()
        counts.append(audit_link(batch=50))

    started = [_in_thread(linker) for _ in range(2)]
    for thread, _errors in started:
        thread.join(timeout=30)

    assert [errors for _thread, errors in started] == [[], []]
    assert sum(counts) == 200
    assert audit_verify().checked == 200


@pytest.mark.django_db(transaction=True)
def test_verify_is_not_fooled_by_events_linked_while_it_walks(monkeypatch):
    """The worker links every second. Verify reads the rows and the head from one snapshot, so
    rows linked mid-walk are neither half-seen nor taken for rows added to the end."""
    _needs_postgresql()
    _record(3)
    walk = chain.verify_rows

    def link_one() -> None:
        audit_record(actor=SystemActor("worker"), action=AuditAction.RECORD_VIEWED)
        audit_link()

    def walk_while_the_worker_links(rows):
        def rows_with_a_link_midway():
            remaining = iter(rows)
            yield next(remaining)
            thread, errors = _in_thread(link_one)
            thread.join(timeout=20)
            assert errors == []
            yield from remaining

        return walk(rows_with_a_link_midway())

    monkeypatch.setattr(chain, "verify_rows", walk_while_the_worker_links)
    during = audit_verify(link=False)
    monkeypatch.undo()

    assert (during.ok, during.checked, during.last_seq) == (True, 3, 3)
    assert audit_verify().checked == 4
