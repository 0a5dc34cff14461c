"""Writing and verifying the audit trail.

`audit_record` must run inside the caller's transaction: if the audit row cannot be written, the
change (or the read) it describes must not happen either. It locks the chain head row, which
serialises appends so every event has exactly one predecessor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.db import connection, transaction

from lifeline.core import clock, context

from . import chain
from .models import AuditChainHead, AuditEvent


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


def audit_record(
    *,
    actor: AuditActor,
    action: str,
    target_type: str = "",
    target_id: object = "",
    metadata: dict[str, Any] | None = None,
    agency_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the current transaction (opened if none)."""
    metadata = dict(metadata or {})
    _check_metadata(metadata)
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        seq = head.last_seq + 1
        occurred_at = clock.now()
        fields = {
            "seq": seq,
            "occurred_at": occurred_at,
            "actor_id": actor.user_id,
            "agency_id": agency_id if agency_id is not None else actor.agency_id,
            "role": actor.role_label,
            "action": str(action),
            "target_type": target_type,
            "target_id": "" if target_id in (None, "") else str(target_id),
            "request_id": context.request_id(),
            "metadata": metadata,
        }
        # Round-trip metadata through JSON so the hash covers exactly what the database returns.
        fields["metadata"] = json.loads(json.dumps(metadata))
        digest = chain.link(head.last_hash, chain.canonical(**fields))  # type: ignore[arg-type]
        event = AuditEvent.objects.create(prev_hash=head.last_hash, hash=digest, **fields)
        head.last_seq = seq
        head.last_hash = digest
        head.save(update_fields=["last_seq", "last_hash"])
    return event


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
    return AuditEvent.objects.order_by("seq").values_list(*_ROW_FIELDS).iterator(chunk_size=5000)


def audit_verify(*, anchor_file: Path | None = None) -> chain.VerifyResult:
    """Walk the whole chain; then check the end against the head row and any exported anchors.

    A forger who rewrites rows *and* the head can only be caught by an anchor exported earlier
    (`lifeline audit anchor`), which is why anchors should be sent off the machine.
    """
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
    """The current head, to be exported off the machine (another agency, paper, offline disk)."""
    head = AuditChainHead.objects.filter(id=1).first()
    return {
        "seq": head.last_seq if head else 0,
        "hash": head.last_hash if head else chain.GENESIS,
        "at": clock.now().isoformat(),
        "database": connection.vendor,
    }
