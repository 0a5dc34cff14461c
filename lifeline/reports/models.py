"""The differential-privacy budget: what each dataset may spend per data year, and every spend.

`PrivacyBudget` is the counter that makes spending atomic: a release adds its ε with one
conditional UPDATE (`spent + ε <= limit`), and a CHECK constraint refuses overspending even from
code that forgets the condition. `PrivacyLedgerEntry` is the append-only history; the sum of its
entries for a (dataset, year) equals the budget's `spent_micro`.

ε is held as an integer number of micro-ε in the counter so that sums are exact on every database
(SQLite would add decimals as floats).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from lifeline.accounts.models import User

MICRO = 1_000_000


def epsilon_per_table() -> Decimal:
    """The most ε one table may spend (default 1; settings.LIFELINE_DP_EPSILON_PER_TABLE)."""
    return Decimal(str(getattr(settings, "LIFELINE_DP_EPSILON_PER_TABLE", "1")))


def epsilon_per_year() -> Decimal:
    """ε per dataset and data year (default 10; settings.LIFELINE_DP_EPSILON_PER_YEAR)."""
    return Decimal(str(getattr(settings, "LIFELINE_DP_EPSILON_PER_YEAR", "10")))


def to_micro(epsilon: Decimal) -> int:
    return int((epsilon * MICRO).to_integral_value())


def from_micro(micro: int) -> Decimal:
    return Decimal(micro) / MICRO


class PrivacyBudget(models.Model):
    """The ε one dataset may spend on releases about one data year, and how much is spent."""

    dataset = models.CharField(_("dataset"), max_length=64)
    year = models.PositiveSmallIntegerField(_("year"))
    limit_micro = models.PositiveBigIntegerField(_("limit (micro-ε)"))
    spent_micro = models.PositiveBigIntegerField(_("spent (micro-ε)"), default=0)

    class Meta:
        verbose_name = _("privacy budget")
        verbose_name_plural = _("privacy budgets")
        constraints = [
            models.UniqueConstraint(fields=["dataset", "year"], name="reports_budget_one_per_year"),
            models.CheckConstraint(
                condition=Q(spent_micro__lte=F("limit_micro")), name="reports_budget_not_overspent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.year}: {self.spent} / {self.limit}"

    @property
    def limit(self) -> Decimal:
        return from_micro(self.limit_micro)

    @property
    def spent(self) -> Decimal:
        return from_micro(self.spent_micro)

    @property
    def remaining(self) -> Decimal:
        return from_micro(self.limit_micro - self.spent_micro)


class PrivacyLedgerEntry(models.Model):
    """One differentially private table released: its ε, mechanism, who released it and when."""

    release = models.CharField(_("release"), max_length=64)
    table = models.CharField(_("table"), max_length=64)
    dataset = models.CharField(_("dataset"), max_length=64)
    year = models.PositiveSmallIntegerField(_("year"))
    epsilon = models.DecimalField(_("ε"), max_digits=9, decimal_places=6)
    mechanism = models.CharField(_("mechanism"), max_length=64)
    # How many rows one person may hold in the released data (the privacy unit is the person).
    contributions = models.PositiveSmallIntegerField(_("contributions per person"))
    created_at = models.DateTimeField(_("released at"))
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("released by")
    )

    class Meta:
        verbose_name = _("privacy ledger entry")
        verbose_name_plural = _("privacy ledger entries")
        ordering = ["created_at", "id"]
        constraints = [
            # Releasing the same table again with fresh noise leaks more; reuse the first answer.
            models.UniqueConstraint(
                fields=["dataset", "year", "release", "table"], name="reports_ledger_once"
            ),
            models.CheckConstraint(condition=Q(epsilon__gt=0), name="reports_ledger_positive"),
        ]
        indexes = [models.Index(fields=["dataset", "year"])]

    def __str__(self) -> str:
        return f"{self.release}/{self.table} ε={self.epsilon}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("privacy ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("privacy ledger entries are append-only")


def export_two_person_threshold() -> int:
    """Record exports of more cases than this need a second person's approval (ASVS 2.3.5;
    settings.LIFELINE_EXPORT_TWO_PERSON_THRESHOLD, default 20)."""
    return int(getattr(settings, "LIFELINE_EXPORT_TWO_PERSON_THRESHOLD", 20))


class ExportShape(models.TextChoices):
    HTCDS = "htcds", _("HTCDS 2.0 victim fields")
    CTDC = "ctdc", _("CTDC global dataset variables")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a second person")
    APPROVED = "approved", _("Approved, ready to download")
    REJECTED = "rejected", _("Rejected")
    DOWNLOADED = "downloaded", _("Downloaded")


class RecordExport(models.Model):
    """A request to take pseudonymised person-level rows out of the system.

    One person asks, stating a purpose; above the two-person threshold the export stays pending
    until a second person of the same agency approves it, and a CHECK constraint refuses an
    approval by the requester even from code that forgets the rule. Only the requester
    downloads, once, as an encrypted file. No names, contacts or exact dates are ever in it."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="+", verbose_name=_("agency")
    )
    shape = models.CharField(_("shape"), max_length=8, choices=ExportShape.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    purpose = models.CharField(_("purpose"), max_length=500)
    case_count = models.PositiveIntegerField(_("cases"))
    person_count = models.PositiveIntegerField(_("persons included"))
    withheld_count = models.PositiveIntegerField(_("persons left out (no research consent)"))
    needs_approval = models.BooleanField(_("needs a second person"))
    status = models.CharField(_("status"), max_length=12, choices=ExportStatus.choices)
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True, default="")
    downloaded_at = models.DateTimeField(_("downloaded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("record export")
        verbose_name_plural = _("record exports")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # The two-person rule, in the database: an export that needs approval is released
            # only with a decider who is not the requester.
            models.CheckConstraint(
                condition=Q(needs_approval=False)
                | Q(status__in=["pending", "rejected"])
                | (Q(decided_by__isnull=False) & ~Q(decided_by=F("requested_by"))),
                name="reports_export_two_persons",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=F("requested_by")), name="reports_export_not_self_decided"
            ),
        ]
        indexes = [models.Index(fields=["agency", "status"])]

    def __str__(self) -> str:
        return f"record export {self.pk} ({self.shape} {self.year})"


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    JSON = "json", "JSON"
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class ReportExport(models.Model):
    """The register of report files taken from the dashboard: who, which, when and why. The
    file itself is not kept; it left encrypted under the taker's passphrase."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="+", verbose_name=_("agency")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    format = models.CharField(_("format"), max_length=4, choices=ReportFormat.choices)
    language = models.CharField(_("language"), max_length=2)
    public = models.BooleanField(_("public version"))
    purpose = models.CharField(_("purpose"), max_length=500)
    exported_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("exported by")
    )
    exported_at = models.DateTimeField(_("exported at"))

    class Meta:
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")
        ordering = ["-exported_at", "-id"]

    def __str__(self) -> str:
        return f"report export {self.pk} ({self.format} {self.year})"


class PublicRelease(models.Model):
    """A public version of the annual report, frozen when published and served as is by the
    public API. Only reports that passed the disclosure audit and the re-identification check
    are stored; serving a frozen copy (never a fresh query) keeps anyone from learning about a
    person by comparing answers over time."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="+", verbose_name=_("agency")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    language = models.CharField(_("language"), max_length=2)
    title = models.CharField(_("title"), max_length=200)
    content = models.JSONField(_("content"))
    purpose = models.CharField(_("purpose"), max_length=500)
    published_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("published by")
    )
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        verbose_name = _("public release")
        verbose_name_plural = _("public releases")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["year", "language"])]

    def __str__(self) -> str:
        return f"public release {self.pk} ({self.year}, {self.language})"


class DashboardSnapshot(models.Model):
    """The statistics dashboard of one agency for one whole year in one language, computed by
    the worker every few minutes (reports/snapshots.py) so that the dashboard need not count a
    year of records on each view. Aggregates only: the internal report as JSON
    (data.report_to_dict), labels already translated."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="+", verbose_name=_("agency")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    language = models.CharField(_("language"), max_length=2)
    computed_at = models.DateTimeField(_("computed at"))
    content = models.JSONField(_("content"))

    class Meta:
        verbose_name = _("dashboard snapshot")
        verbose_name_plural = _("dashboard snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "year", "language"], name="reports_dashboard_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"dashboard snapshot {self.pk} ({self.year}, {self.language})"
