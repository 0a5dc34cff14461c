"""The pure part of the hash chain: canonical form, hashing, verification over rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def canonical(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: int | None,
    agency_id: int | None,
    role: str,
    action: str,
    target_type: str,
    target_id: str,
    request_id: str,
    metadata: dict[str, Any],
) -> bytes:
    body = {
        "seq": seq,
        "at": occurred_at.isoformat(timespec="microseconds"),
        "actor": actor_id,
        "agency": agency_id,
        "role": role,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "request_id": request_id,
        "meta": metadata,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def link(prev_hash: str, event: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + event).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    reason: str = ""
    last_seq: int = 0
    last_hash: str = GENESIS


def verify_rows(rows: Iterable[tuple[Any, ...]]) -> VerifyResult:
    """Rows in seq order: (id, seq, occurred_at, actor_id, agency_id, role, action, target_type,
    target_id, request_id, metadata, prev_hash, hash). Stops at the first bad row."""
    expected_seq = 1
    running = GENESIS
    checked = 0
    for row in rows:
        (pk, seq, at, actor, agency, role, action, ttype, tid, rid, meta, prev, digest) = row
        if seq != expected_seq:
            why = (
                f"sequence jumps from {expected_seq - 1} to {seq}: row(s) missing or reordered"
                if seq > expected_seq
                else f"sequence {seq} repeats or goes backwards after {expected_seq - 1}"
            )
            return VerifyResult(False, checked, seq, pk, why, expected_seq - 1, running)
        if prev != running:
            return VerifyResult(
                False, checked, seq, pk, "previous-hash link broken", expected_seq - 1, running
            )
        event = canonical(
            seq=seq,
            occurred_at=at,
            actor_id=actor,
            agency_id=agency,
            role=role,
            action=action,
            target_type=ttype,
            target_id=tid,
            request_id=rid,
            metadata=meta,
        )
        if link(prev, event) != digest:
            return VerifyResult(
                False,
                checked,
                seq,
                pk,
                "content does not match its hash",
                expected_seq - 1,
                running,
            )
        running = digest
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked, last_seq=expected_seq - 1, last_hash=running)
