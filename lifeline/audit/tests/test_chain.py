"""The pure hash chain: canonical form, links, verification over rows. No database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from lifeline.audit import chain

T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)


def _rows(count: int) -> list[tuple]:
    rows = []
    prev = chain.GENESIS
    for seq in range(1, count + 1):
        fields = {
            "seq": seq,
            "occurred_at": T0 + timedelta(seconds=seq),
            "actor_id": 10 + seq,
            "agency_id": 3,
            "role": "supervisor",
            "action": "record.viewed",
            "target_type": "case",
            "target_id": str(100 + seq),
            "request_id": f"req{seq}",
            "metadata": {"n": seq},
        }
        digest = chain.link(prev, chain.canonical(**fields))
        rows.append((1000 + seq, *fields.values(), prev, digest))
        prev = digest
    return rows


def test_canonical_is_sorted_compact_ascii_json():
    body = chain.canonical(
        seq=1,
        occurred_at=T0,
        actor_id=None,
        agency_id=2,
        role="r",
        action="a",
        target_type="",
        target_id="",
        request_id="",
        metadata={"z": 1, "a": "ស"},
    )

    assert body == (
        b'{"action":"a","actor":null,"agency":2,"at":"2025-03-01T08:00:00.000000+00:00",'
        b'"meta":{"a":"\\u179f","z":1},"request_id":"","role":"r","seq":1,"target_id":"",'
        b'"target_type":""}'
    )


def test_link_is_sha256_of_previous_hash_then_event():
    assert chain.link("ab", b"{}") == hashlib.sha256(b"ab{}").hexdigest()


def test_verify_rows_accepts_an_intact_chain():
    rows = _rows(5)

    result = chain.verify_rows(rows)

    assert result == chain.VerifyResult(True, 5, last_seq=5, last_hash=rows[-1][-1])


def test_verify_rows_accepts_an_empty_chain():
    assert chain.verify_rows([]) == chain.VerifyResult(True, 0, last_seq=0)


def test_verify_rows_names_an_edited_row():
    rows = _rows(5)
    rows[2] = (*rows[2][:6], "record.exported", *rows[2][7:])

    result = chain.verify_rows(rows)

    assert (result.ok, result.first_bad_seq, result.first_bad_id, result.checked) == (
        False,
        3,
        1003,
        2,
    )
    assert result.reason == "content does not match its hash"


def test_verify_rows_names_the_row_after_a_deleted_one():
    rows = _rows(5)
    del rows[1]

    result = chain.verify_rows(rows)

    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 3, 1003)
    assert result.reason == "sequence jumps from 1 to 3: row(s) missing or reordered"


def test_verify_rows_names_swapped_rows():
    rows = _rows(5)
    # Swap the contents of #2 and #3 but keep the sequence numbers in order.
    two, three = rows[1], rows[2]
    rows[1] = (three[0], 2, *three[2:])
    rows[2] = (two[0], 3, *two[2:])

    result = chain.verify_rows(rows)

    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 2, 1003)
    assert result.reason == "previous-hash link broken"


def test_verify_rows_names_a_repeated_sequence_number():
    rows = _rows(3)
    rows.insert(2, rows[1])

    result = chain.verify_rows(rows)

    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert result.reason == "sequence 2 repeats or goes backwards after 2"


def test_verify_rows_names_a_forged_row_with_a_made_up_hash():
    rows = _rows(3)
    forged = (2000, 4, T0, 1, 3, "supervisor", "record.viewed", "case", "9", "", {}, rows[-1][-1])
    rows.append((*forged, "f" * 64))

    result = chain.verify_rows(rows)

    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 4, 2000)
    assert result.reason == "content does not match its hash"
