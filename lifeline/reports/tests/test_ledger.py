"""The ε ledger: spends are recorded and audited, over-budget releases are refused atomically."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from decimal import Decimal

import pytest
from django.db import (
    IntegrityError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Sum
from django.test import override_settings

from lifeline.accounts.models import User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.reports import selectors
from lifeline.reports.disclosure import Table
from lifeline.reports.models import PrivacyBudget, PrivacyLedgerEntry
from lifeline.reports.privacy import SeededDiscreteLaplace
from lifeline.reports.services import BudgetExhausted, dp_table_release, privacy_budget_spend

TABLE = Table.two_dimensional(["TH", "MM", "LA"], ["F", "M"], [[120, 80], [30, 45], [12, 60]])


def spend(actor: Principal, table: str, epsilon: str, **kwargs: object) -> PrivacyLedgerEntry:
    arguments: dict[str, object] = {
        "actor": actor,
        "dataset": "cases",
        "year": 2022,
        "release": "annual-2022",
        "table": table,
        "epsilon": Decimal(epsilon),
        "mechanism": "opendp.discrete_laplace",
        "contributions": 1,
    }
    arguments.update(kwargs)
    return privacy_budget_spend(**arguments)  # type: ignore[arg-type]


def nothing_written() -> bool:
    return (
        not PrivacyLedgerEntry.objects.exists()
        and not AuditEvent.objects.filter(target_type="privacy_ledger_entry").exists()
        and not PrivacyBudget.objects.filter(spent_micro__gt=0).exists()
    )


@pytest.fixture
def releaser(analyst: User) -> Principal:
    return principal_for(analyst)


def test_a_spend_is_recorded_charged_and_audited(releaser: Principal, analyst: User) -> None:
    entry = spend(releaser, "destination-by-sex", "1")
    assert (entry.release, entry.table, entry.dataset, entry.year) == (
        "annual-2022",
        "destination-by-sex",
        "cases",
        2022,
    )
    assert entry.epsilon == Decimal("1.000000")
    assert entry.created_by == analyst
    budget = PrivacyBudget.objects.get(dataset="cases", year=2022)
    assert (budget.spent, budget.limit) == (Decimal(1), Decimal(10))
    event = AuditEvent.objects.get(target_type="privacy_ledger_entry", target_id=str(entry.pk))
    assert event.action == AuditAction.RECORD_CREATED
    assert event.actor_id == analyst.pk
    assert event.metadata["epsilon_micro"] == 1_000_000
    assert selectors.privacy_budget_remaining(actor=releaser, dataset="cases", year=2022) == 9


def test_the_release_that_would_overspend_the_year_is_refused_and_writes_nothing(
    releaser: Principal,
) -> None:
    for n in range(10):
        spend(releaser, f"table-{n}", "1")
    with pytest.raises(BudgetExhausted) as refused:
        spend(releaser, "table-10", "0.000001")
    assert refused.value.remaining == 0
    assert PrivacyLedgerEntry.objects.count() == 10
    assert PrivacyBudget.objects.get().spent_micro == 10_000_000
    assert AuditEvent.objects.filter(target_type="privacy_ledger_entry").count() == 10


@override_settings(LIFELINE_DP_EPSILON_PER_YEAR="1")
def test_budget_arithmetic_is_exact(releaser: Principal) -> None:
    # 0.3 + 0.3 + 0.4 is exactly 1 (it would not be in floating point).
    for n, epsilon in enumerate(["0.3", "0.3", "0.4"]):
        spend(releaser, f"t{n}", epsilon)
    with pytest.raises(BudgetExhausted):
        spend(releaser, "t3", "0.000001")
    total = PrivacyLedgerEntry.objects.aggregate(total=Sum("epsilon"))["total"]
    assert total == Decimal(1)
    assert PrivacyBudget.objects.get().spent == total


def test_budgets_are_per_dataset_and_per_year(releaser: Principal) -> None:
    for n in range(10):
        spend(releaser, f"table-{n}", "1")
    spend(releaser, "table-0", "1", year=2023)
    spend(releaser, "table-0", "1", dataset="requests")
    assert PrivacyLedgerEntry.objects.count() == 12


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"epsilon": Decimal("1.5")}, "epsilon"),
        ({"epsilon": Decimal("0")}, "epsilon"),
        ({"epsilon": Decimal("-1")}, "epsilon"),
        ({"table": "Destination by sex"}, "table"),
        ({"year": 22}, "year"),
        ({"contributions": 0}, "contributions"),
    ],
)
def test_invalid_spends_are_refused_and_write_nothing(
    releaser: Principal, changes: dict[str, object], field: str
) -> None:
    arguments = {"table": "destination-by-sex", "epsilon": "1", **changes}
    with pytest.raises(ValidationFailed) as refused:
        spend(releaser, **arguments)  # type: ignore[arg-type]
    assert field in refused.value.errors
    assert nothing_written()


def test_the_same_table_of_a_release_cannot_be_released_twice(releaser: Principal) -> None:
    spend(releaser, "destination-by-sex", "1")
    with pytest.raises(Conflict):
        spend(releaser, "destination-by-sex", "0.5")
    assert PrivacyBudget.objects.get().spent == Decimal(1)
    assert PrivacyLedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    "who", ["data_protection_officer", "case_worker", "user_without_membership"]
)
def test_staff_without_report_export_cannot_spend(request: pytest.FixtureRequest, who: str) -> None:
    actor = principal_for(request.getfixturevalue(who))
    with pytest.raises(NotFound):
        spend(actor, "destination-by-sex", "1")
    assert nothing_written()
    assert not PrivacyBudget.objects.exists()


def test_ledger_entries_are_append_only(releaser: Principal) -> None:
    entry = spend(releaser, "destination-by-sex", "1")
    entry.epsilon = Decimal("0.1")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


def test_the_database_refuses_an_overspend_that_skips_the_condition(releaser: Principal) -> None:
    spend(releaser, "destination-by-sex", "1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PrivacyBudget.objects.update(spent_micro=F("spent_micro") + 9_500_000)
    assert PrivacyBudget.objects.get().spent == Decimal(1)


class SpyMechanism(SeededDiscreteLaplace):
    def __init__(self) -> None:
        super().__init__(seed=1)
        self.calls = 0

    def noisy_counts(
        self, counts: Sequence[int], *, sensitivity: int, epsilon: Decimal
    ) -> list[int]:
        self.calls += 1
        return super().noisy_counts(counts, sensitivity=sensitivity, epsilon=epsilon)


def test_dp_release_charges_then_returns_noisy_counts(releaser: Principal) -> None:
    spy = SpyMechanism()
    released = dp_table_release(
        actor=releaser,
        table=TABLE,
        dataset="cases",
        year=2022,
        release="annual-2022",
        table_name="destination-by-sex",
        contributions=4,
        mechanism=spy,
    )
    assert spy.calls == 1
    assert released.epsilon == Decimal(1) and released.contributions == 4
    entry = PrivacyLedgerEntry.objects.get()
    assert entry.mechanism == "seeded.discrete_laplace (test only)"
    assert entry.contributions == 4


def test_dp_release_over_budget_draws_no_noise(releaser: Principal) -> None:
    for n in range(10):
        spend(releaser, f"table-{n}", "1")
    spy = SpyMechanism()
    with pytest.raises(BudgetExhausted):
        dp_table_release(
            actor=releaser,
            table=TABLE,
            dataset="cases",
            year=2022,
            release="annual-2022",
            table_name="destination-by-sex",
            contributions=1,
            mechanism=spy,
        )
    assert spy.calls == 0
    assert PrivacyLedgerEntry.objects.count() == 10


def test_ledger_list_is_for_statistics_viewers_only(releaser: Principal, make_staff) -> None:  # type: ignore[no-untyped-def]
    spend(releaser, "b-table", "0.5")
    spend(releaser, "a-table", "0.5")
    listed = selectors.privacy_ledger_list(actor=releaser, dataset="cases", year=2022)
    assert [e.table for e in listed] == ["b-table", "a-table"]
    outsider = principal_for(make_staff("nobody.else"))
    with pytest.raises(NotFound):
        selectors.privacy_ledger_list(actor=outsider, dataset="cases", year=2022)


@pytest.mark.django_db(transaction=True)
def test_concurrent_releases_cannot_overspend(analyst: User, settings) -> None:  # type: ignore[no-untyped-def]
    # Eight releases of ε = 3 race for a budget of 10: exactly three may pass, on either database.
    settings.LIFELINE_DP_EPSILON_PER_TABLE = "3"
    actor = principal_for(analyst)
    PrivacyBudget.objects.create(dataset="cases", year=2022, limit_micro=10_000_000)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            barrier.wait()
            outcome = "error"
            for _ in range(500):
                try:
                    spend(actor, f"table-{n}", "3")
                    outcome = "spent"
                except BudgetExhausted:
                    outcome = "refused"
                except OperationalError as exc:
                    # The in-memory SQLite test database (shared cache) reports a lock at once
                    # instead of waiting as a file database does; retry like a client would.
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.01)
                    continue
                break
            with lock:
                outcomes.append(outcome)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["refused"] * 5 + ["spent"] * 3
    assert PrivacyBudget.objects.get().spent_micro == 9_000_000
    assert PrivacyLedgerEntry.objects.count() == 3
