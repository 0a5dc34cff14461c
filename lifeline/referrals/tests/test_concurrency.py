"""An accept racing a consent withdrawal: the accept waits for the case lock the withdrawal
holds, then sees the consent withdrawn and refuses. PostgreSQL only (SQLite has no row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from lifeline.cases.models import Case, CaseShare, Consent
from lifeline.core import clock
from lifeline.core.errors import Conflict
from lifeline.referrals import services
from lifeline.referrals.models import Referral

from .conftest import as_principal


@pytest.mark.django_db(transaction=True)
def test_accept_waits_for_a_concurrent_withdrawal_then_refuses(
    case, supervisor, b_case_worker, agency_b, make_consent, send
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    consent = make_consent(agency_b)
    referral = send(supervisor)
    receiver = as_principal(b_case_worker)
    outcome: list[str] = []

    def accept() -> None:
        try:
            services.referral_accept(principal=receiver, referral_id=referral.pk)
            outcome.append("accepted")
        except Conflict:
            outcome.append("refused")
        finally:
            connections.close_all()

    with transaction.atomic():
        # What consent_withdraw does: lock the case, then withdraw.
        Case.objects.select_for_update().get(pk=case.pk)
        racer = threading.Thread(target=accept)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "accept did not wait for the case lock"
        Consent.objects.filter(pk=consent.pk).update(withdrawn_at=clock.now())
    racer.join(timeout=30)

    assert outcome == ["refused"]
    assert Referral.objects.get().status == "pending"
    assert CaseShare.objects.count() == 0
