"""Writing, linking and verifying the audit trail.

`audit_record` must run inside the caller's transaction: if the audit row cannot be written, the
change (or the read) it describes must not happen either. It only inserts the event, *unlinked*:
it takes no lock, so audited writes all over the system run side by side (ADR 0006).

`audit_link` gives committed unlinked events their place in the hash chain, in id order, under
the chain head's row lock. The worker runs it every second; `audit_verify` and `audit_anchor`
run it first, so what they report covers every event committed before they started.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction

from lifeline.core import clock, context, periodic

from . import chain
from .models import AuditAction, AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)

LINKER_JOB = "audit-linker"
LINKER_EVERY_SECONDS = 1.0
# Health turns red when an event has waited this long to be linked, or the linker this long to run.
LINKER_STALE_SECONDS = 60
LINK_BATCH = 5000


class AuditActor(Protocol):
    """Who acted: a principal (user in an agency with roles), or the system."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def agency_id(self) -> int | None: ...

    @property
    def role_label(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """The worker, the sweeper, a management command: no user."""

    name: str = "system"
    user_id: int | None = None
    agency_id: int | None = None

    @property
    def role_label(self) -> str:
        return self.name


SYSTEM = SystemActor()


def _check_metadata(metadata: dict[str, Any]) -> None:
    # Ids, codes and counts only: a free-text value here would copy sensitive data out of the
    # encrypted columns into a plaintext, undeletable table.
    for key, value in metadata.items():
        # A list of ids is fine; its items obey the same rules as a single value.
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str) and len(item) > 64:
                raise ValueError(f"audit metadata {key!r} is too long to be an id or code")
            if isinstance(item, dict | list | tuple):
                raise ValueError(f"audit metadata {key!r} must be flat")


@dataclass(frozen=True)
class AuditEntry:
    """One event of a batch written by `audit_record_many` (same meaning as the keywords of
    `audit_record`)."""

    action: str
    target_type: str = ""
    target_id: object = ""
    metadata: dict[str, Any] | None = None
    agency_id: int | None = None


def _fields(actor: AuditActor, entry: AuditEntry) -> dict[str, Any]:
    metadata = dict(entry.metadata or {})
    _check_metadata(metadata)
    return {
        "occurred_at": clock.now(),
        "actor_id": actor.user_id,
        "agency_id": entry.agency_id if entry.agency_id is not None else actor.agency_id,
        "role": actor.role_label,
        "action": str(entry.action),
        "target_type": entry.target_type,
        "target_id": "" if entry.target_id in (None, "") else str(entry.target_id),
        "request_id": context.request_id(),
        # JSON-clean values, so the row reads back exactly as written (the linker hashes what
        # the database returns).
        "metadata": json.loads(json.dumps(metadata)),
    }


def audit_record(
    *,
    actor: AuditActor,
    action: str,
    target_type: str = "",
    target_id: object = "",
    metadata: dict[str, Any] | None = None,
    agency_id: int | None = None,
) -> AuditEvent:
    """Write one event in the current transaction (autocommitted if none). It takes no lock:
    `audit_link` gives it its place in the chain once committed; until then its `seq` and
    hashes are NULL."""
    entry = AuditEntry(action, target_type, target_id, metadata, agency_id)
    return AuditEvent.objects.create(**_fields(actor, entry))


# Refusals recorded while a request runs, written once its view has returned (see audit_denied).
_pending_denials: ContextVar[list[dict[str, Any]] | None] = ContextVar(
    "lifeline_pending_denials", default=None
)


def audit_denied(
    *,
    actor: AuditActor,
    target_type: str = "",
    target_id: object = "",
    metadata: dict[str, Any] | None = None,
    agency_id: int | None = None,
) -> None:
    """Record a refused attempt (battery B3).

    A refusal usually raises NotFound out of the transaction it was found in, and the rollback
    would take an audit row written there with it. Within a request (`denials_deferred`, run by
    `DenialAuditMiddleware`) the row is therefore kept aside and written in its own transaction
    after the view has returned; elsewhere (commands, the worker, direct calls) it is written
    at once, in the caller's transaction if there is one."""
    entry = AuditEntry(AuditAction.ACCESS_DENIED, target_type, target_id, metadata, agency_id)
    fields = _fields(actor, entry)
    pending = _pending_denials.get()
    if pending is None:
        AuditEvent.objects.create(**fields)
    else:
        pending.append(fields)


@contextmanager
def denials_deferred() -> Iterator[list[dict[str, Any]]]:
    """Collect `audit_denied` rows for the duration of the block, then write them, committed,
    whatever the block did (returned, raised, rolled back)."""
    pending: list[dict[str, Any]] = []
    token = _pending_denials.set(pending)
    try:
        yield pending
    finally:
        _pending_denials.reset(token)
        if pending:
            with transaction.atomic():
                AuditEvent.objects.bulk_create([AuditEvent(**fields) for fields in pending])


def audit_record_many(*, actor: AuditActor, entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """Write several events by one actor in one INSERT (e.g. every escalation of a sweep batch),
    in the current transaction. Nothing is written if any entry is refused."""
    rows = [AuditEvent(**_fields(actor, entry)) for entry in entries]
    return AuditEvent.objects.bulk_create(rows) if rows else []


# --- linking ------------------------------------------------------------------------------

_CONTENT_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "agency_id",
    "role",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "metadata",
)


def _locked_head() -> AuditChainHead:
    """The head row, locked until the end of the transaction: one linker at a time."""
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(id=1)
    except IntegrityError:
        pass  # another linker created it first; we wait for its lock below
    return AuditChainHead.objects.select_for_update().get(id=1)


def _write_links(links: list[tuple[int, int, str, str]]) -> None:
    """(id, seq, prev_hash, hash) for each row; only rows still unlinked are touched."""
    updated = 0
    # nosemgrep: lifeline-raw-sql -- links the audit hash chain, 1,000 rows an UPDATE, bound
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(links), 1000):
                part = links[start : start + 1000]
                values = ", ".join(["(%s::bigint, %s::bigint, %s, %s)"] * len(part))
                # Only placeholders are formatted in; every value is a bound parameter.
                sql = (
                    "UPDATE audit_auditevent AS e "  # noqa: S608
                    "SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "
                    f"FROM (VALUES {values}) AS v(id, seq, prev_hash, hash) "
                    "WHERE e.id = v.id AND e.seq IS NULL"
                )
                cursor.execute(
                    sql,
                    [value for link in part for value in link],
                )
                updated += cursor.rowcount
        else:
            # One prepared statement for the batch (rowcount is the total over all rows).
            cursor.executemany(
                "UPDATE audit_auditevent SET seq = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s AND seq IS NULL",
                [[seq, prev_hash, digest, pk] for pk, seq, prev_hash, digest in links],
            )
            updated = cursor.rowcount
    if updated != len(links):
        # Under the head lock nobody else links; a difference means the table changed behind
        # our back. Roll back rather than leave a chain with holes.
        raise RuntimeError(f"audit linker updated {updated} of {len(links)} rows")


def audit_link(*, batch: int = LINK_BATCH) -> int:
    """Link every committed, unlinked event into the chain; return how many were linked.

    Order is id order among the rows visible now. A row that commits late (a lower id after
    higher ones were linked) is linked in a later round, after them: the chain order is link
    order, which `seq` records and the hashes cover.
    """
    linked = 0
    while True:
        with transaction.atomic():
            head = _locked_head()
            rows = list(
                AuditEvent.objects.filter(seq__isnull=True)
                .order_by("id")
                .values_list(*_CONTENT_FIELDS)[:batch]
            )
            if not rows:
                return linked
            seq, prev = head.last_seq, head.last_hash
            links = []
            for pk, *content in rows:
                seq += 1
                fields = dict(zip(_CONTENT_FIELDS[1:], content, strict=True))
                digest = chain.link(prev, chain.canonical(seq=seq, **fields))
                links.append((pk, seq, prev, digest))
                prev = digest
            _write_links(links)
            head.last_seq, head.last_hash = seq, prev
            head.save(update_fields=["last_seq", "last_hash"])
        linked += len(rows)
        if len(rows) < batch:
            return linked


def audit_link_job() -> dict[str, Any]:
    return {"linked": audit_link()}


def linker_check() -> tuple[bool, dict[str, object]]:
    """Red when the linker has not run for 60 s, or an event has waited 60 s to be linked:
    events that wait are not yet protected by the chain."""
    now = clock.now()
    beat = periodic.last_beat(LINKER_JOB)
    oldest = (
        AuditEvent.objects.filter(seq__isnull=True)
        .order_by("id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    waited = round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else 0.0
    if beat is None:
        return False, {"error": "audit linker has never run", "oldest_unlinked_seconds": waited}
    age = round((now - beat.beat_at).total_seconds(), 1)
    ok = age <= LINKER_STALE_SECONDS and waited <= LINKER_STALE_SECONDS
    return ok, {"seconds_since_beat": age, "oldest_unlinked_seconds": waited}


# --- verifying ----------------------------------------------------------------------------

_ROW_FIELDS = (
    "id",
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
    "hash",
)


def _rows() -> Iterator[tuple[Any, ...]]:
    return (
        AuditEvent.objects.filter(seq__isnull=False)
        .order_by("seq")
        .values_list(*_ROW_FIELDS)
        .iterator(chunk_size=5000)
    )


def audit_verify(*, anchor_file: Path | None = None, link: bool = True) -> chain.VerifyResult:
    """Link what is committed, walk the whole chain, then check its end against the head row
    and any exported anchors.

    A forger who rewrites rows *and* the head can only be caught by an anchor exported earlier
    (`lifeline audit anchor`), which is why anchors should be sent off the machine.
    """
    if link:
        audit_link()
    if connection.in_atomic_block:
        return _verify_consistent(anchor_file)
    # One snapshot for the walk and the head: the worker links new rows every second, and a
    # head read after a long walk would otherwise look like rows added to the end.
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # nosemgrep: lifeline-raw-sql -- snapshot isolation for the walk; reads no row
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _verify_consistent(anchor_file)


def _verify_consistent(anchor_file: Path | None) -> chain.VerifyResult:
    result = chain.verify_rows(_rows())
    if not result.ok:
        return result
    head = AuditChainHead.objects.filter(id=1).first()
    head_seq = head.last_seq if head else 0
    head_hash = head.last_hash if head else chain.GENESIS
    if (head_seq, head_hash) != (result.last_seq, result.last_hash):
        return chain.VerifyResult(
            False,
            result.checked,
            first_bad_seq=min(head_seq, result.last_seq) + 1,
            reason=(
                f"chain ends at #{result.last_seq} but the head records #{head_seq}: "
                "rows were removed from or added to the end"
            ),
            last_seq=result.last_seq,
            last_hash=result.last_hash,
        )
    if anchor_file is not None:
        for line in anchor_file.read_text().splitlines():
            if not line.strip():
                continue
            anchor = json.loads(line)
            row = AuditEvent.objects.filter(seq=anchor["seq"]).values_list("id", "hash").first()
            if row is None or row[1] != anchor["hash"]:
                return chain.VerifyResult(
                    False,
                    result.checked,
                    first_bad_seq=anchor["seq"],
                    first_bad_id=row[0] if row else None,
                    reason="differs from the exported anchor: the chain was rewritten",
                    last_seq=result.last_seq,
                    last_hash=result.last_hash,
                )
    return result


def audit_anchor() -> dict[str, Any]:
    """The current head, after linking what is committed, to be exported off the machine
    (another agency, paper, offline disk)."""
    audit_link()
    head = AuditChainHead.objects.filter(id=1).first()
    return {
        "seq": head.last_seq if head else 0,
        "hash": head.last_hash if head else chain.GENESIS,
        "at": clock.now().isoformat(),
        "database": connection.vendor,
    }
