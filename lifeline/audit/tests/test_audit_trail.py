"""The audit trail as stored: appends, append-only enforcement, and tamper detection."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from lifeline.accounts import services as account_services
from lifeline.accounts.models import Agency
from lifeline.audit import chain, triggers
from lifeline.audit.models import AuditAction, AuditChainHead, AuditEvent
from lifeline.audit.services import SYSTEM, SystemActor, audit_record, audit_verify
from lifeline.core import clock, context

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)


def _record(count: int) -> list[AuditEvent]:
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
    return events


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


def test_audit_record_writes_seq_links_and_head():
    token = context.set_request_id("req-abc")
    try:
        first, second = _record(2)
    finally:
        context.reset_request_id(token)

    first.refresh_from_db()
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
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_seq, head.last_hash) == (2, second.hash)


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
