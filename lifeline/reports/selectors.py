"""Reads of the privacy budget and ledger (no person data: names of releases, ε, dates)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from lifeline.accounts.principal import Principal
from lifeline.core.errors import NotFound

from . import policies
from .data import Period
from .models import PrivacyBudget, PrivacyLedgerEntry, epsilon_per_year, from_micro
from .stats import Scope


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


def statistics_scope(
    *, actor: Principal, period: Period, country: str = "", agency_code: str = ""
) -> Scope:
    """The records an actor's statistics count: their own agency's. Asking for another agency
    looks like asking for nothing that exists."""
    if not policies.can_view_statistics(actor) or actor.agency is None:
        raise NotFound
    if agency_code and agency_code != actor.agency.code:
        raise NotFound
    country = country.strip().upper()
    if country and not (len(country) == 2 and country.isalpha()):
        raise NotFound
    return Scope(period=period, agency=actor.agency, country=country)
