"""Reads of the privacy budget and ledger (no person data: names of releases, ε, dates)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from lifeline.accounts.principal import Principal
from lifeline.core.errors import NotFound

from . import policies
from .models import PrivacyBudget, PrivacyLedgerEntry, epsilon_per_year, from_micro


def privacy_ledger_list(
    *, actor: Principal, dataset: str, year: int
) -> QuerySet[PrivacyLedgerEntry]:
    """Every release charged to one dataset's year, oldest first."""
    if not policies.can_view_statistics(actor):
        raise NotFound
    return PrivacyLedgerEntry.objects.filter(dataset=dataset, year=year).order_by(
        "created_at", "id"
    )


def privacy_budget_remaining(*, actor: Principal, dataset: str, year: int) -> Decimal:
    """ε still available for releases about this dataset's year."""
    if not policies.can_view_statistics(actor):
        raise NotFound
    budget = PrivacyBudget.objects.filter(dataset=dataset, year=year).first()
    if budget is None:
        return epsilon_per_year()
    return from_micro(budget.limit_micro - budget.spent_micro)
