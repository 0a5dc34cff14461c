"""Writes of the reports app: spending privacy budget on a differentially private release.

A spend is one transaction: the budget counter is raised by a single conditional UPDATE that
succeeds only while `spent + ε <= limit`, the ledger entry is written, and the audit event too. Two
releases racing for the last ε cannot both pass: the database evaluates the condition on the row
each UPDATE locks (PostgreSQL re-checks it after a concurrent commit; SQLite runs one writer at a
time), and a CHECK constraint backs it up.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F

from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_record
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import policies
from .disclosure import Table
from .models import (
    MICRO,
    PrivacyBudget,
    PrivacyLedgerEntry,
    epsilon_per_table,
    epsilon_per_year,
    to_micro,
)
from .privacy import CountMechanism, NoisyTable, OpenDPDiscreteLaplace, noisy_table

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class BudgetExhausted(Conflict):
    """The release would spend more ε than is left for this dataset and year."""

    def __init__(self, *, remaining: Decimal, asked: Decimal) -> None:
        super().__init__(f"privacy budget exhausted: {remaining} left, {asked} asked")
        self.remaining = remaining
        self.asked = asked


def _validate(
    *, dataset: str, year: int, release: str, table: str, epsilon: Decimal, contributions: int
) -> Decimal:
    errors: dict[str, list[str]] = {}
    for field, value in (("dataset", dataset), ("release", release), ("table", table)):
        if not _NAME.match(value):
            errors[field] = ["lower-case letters, digits, '.', '_' or '-', at most 64"]
    if not 1900 <= year <= 2999:
        errors["year"] = ["a four-digit year"]
    try:
        epsilon = Decimal(epsilon).quantize(Decimal(1) / MICRO)
    except (InvalidOperation, TypeError):
        errors["epsilon"] = ["a number"]
    else:
        if epsilon <= 0:
            errors["epsilon"] = ["must be positive"]
        elif epsilon > epsilon_per_table():
            errors["epsilon"] = [f"at most {epsilon_per_table()} per table"]
    if not 1 <= contributions <= 100:
        errors["contributions"] = ["between 1 and 100"]
    if errors:
        raise ValidationFailed(errors)
    return epsilon


@transaction.atomic
def privacy_budget_spend(
    *,
    actor: Principal,
    dataset: str,
    year: int,
    release: str,
    table: str,
    epsilon: Decimal,
    mechanism: str,
    contributions: int,
) -> PrivacyLedgerEntry:
    """Charge ε for one table of a public release to the dataset's budget for that data year.

    Refused (nothing written) when the actor may not release, the input is invalid, the table was
    already released, or the year's budget cannot cover it."""
    if not policies.can_release_public_statistics(actor):
        raise NotFound
    assert actor.user is not None  # noqa: S101 (the policy requires a user)
    epsilon = _validate(
        dataset=dataset,
        year=year,
        release=release,
        table=table,
        epsilon=epsilon,
        contributions=contributions,
    )
    micro = to_micro(epsilon)
    budget, _ = PrivacyBudget.objects.get_or_create(
        dataset=dataset, year=year, defaults={"limit_micro": to_micro(epsilon_per_year())}
    )
    charged = PrivacyBudget.objects.filter(
        pk=budget.pk, spent_micro__lte=F("limit_micro") - micro
    ).update(spent_micro=F("spent_micro") + micro)
    if charged != 1:
        budget.refresh_from_db()
        raise BudgetExhausted(remaining=budget.remaining, asked=epsilon)
    try:
        with transaction.atomic():
            entry = PrivacyLedgerEntry.objects.create(
                release=release,
                table=table,
                dataset=dataset,
                year=year,
                epsilon=epsilon,
                mechanism=mechanism[:64],
                contributions=contributions,
                created_at=clock.now(),
                created_by=actor.user,
            )
    except IntegrityError as exc:
        # Leaving the outer atomic block by this exception rolls the charge back too.
        raise Conflict("this table of this release was already published") from exc
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_CREATED,
        target_type="privacy_ledger_entry",
        target_id=entry.pk,
        metadata={
            "dataset": dataset,
            "year": year,
            "release": release,
            "table": table,
            "epsilon_micro": micro,
            "mechanism": entry.mechanism,
        },
        agency_id=actor.agency_id,
    )
    return entry


@transaction.atomic
def dp_table_release(
    *,
    actor: Principal,
    table: Table,
    dataset: str,
    year: int,
    release: str,
    table_name: str,
    contributions: int,
    epsilon: Decimal | None = None,
    mechanism: CountMechanism | None = None,
) -> NoisyTable:
    """Release one table with differentially private counts, charging its ε to the ledger first.

    The noise is drawn inside the same transaction: if anything fails, neither the charge nor the
    noisy answer exists."""
    mechanism = mechanism or OpenDPDiscreteLaplace()
    epsilon = epsilon_per_table() if epsilon is None else epsilon
    entry = privacy_budget_spend(
        actor=actor,
        dataset=dataset,
        year=year,
        release=release,
        table=table_name,
        epsilon=epsilon,
        mechanism=mechanism.name,
        contributions=contributions,
    )
    return noisy_table(
        table, epsilon=entry.epsilon, contributions=contributions, mechanism=mechanism
    )
