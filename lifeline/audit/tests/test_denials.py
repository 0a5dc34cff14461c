"""Refusals are audited even when the transaction they were found in rolls back (battery B3)."""

from __future__ import annotations

import pytest
from django.db import transaction

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SystemActor, audit_denied, denials_deferred

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Exception):
    pass


def denials() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED))


def test_a_refusal_inside_a_rolled_back_transaction_is_kept_within_a_request():
    with denials_deferred():
        with pytest.raises(Refused), transaction.atomic():
            audit_denied(actor=SystemActor("t"), target_type="case", metadata={"lookup": "id"})
            raise Refused
        assert denials() == []  # kept aside until the request ends
    (row,) = denials()
    assert (row.target_type, row.metadata) == ("case", {"lookup": "id"})


def test_the_rows_are_written_when_the_block_itself_raises():
    with pytest.raises(Refused), denials_deferred():
        audit_denied(actor=SystemActor("t"), target_type="referral")
        raise Refused
    assert [row.target_type for row in denials()] == ["referral"]


def test_outside_a_request_the_refusal_is_written_at_once_in_the_callers_transaction():
    with pytest.raises(Refused), transaction.atomic():
        audit_denied(actor=SystemActor("t"), target_type="case")
        assert len(denials()) == 1
        raise Refused
    # No request collects it: it shares the caller's fate, as every other audit row does.
    assert denials() == []
