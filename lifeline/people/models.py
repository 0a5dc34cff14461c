"""Person source records as each agency entered them, and the clusters that link them.

A `PersonRecord` is never rewritten by linkage: clusters point at records, records do not
point at clusters. Identity fields are encrypted; search goes through `PersonToken` blind
indexes (name keys, phone, year of birth).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from lifeline.accounts.models import Agency, User
from lifeline.core.fields import EncryptedTextField


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    TRANSGENDER_NONCONFORMING = "tgnc", _("Transgender or non-conforming")
    UNKNOWN = "unknown", _("Unknown")


class DobPrecision(models.TextChoices):
    DAY = "day", _("Exact date")
    MONTH = "month", _("Month and year")
    YEAR = "year", _("Year only")
    UNKNOWN = "unknown", _("Unknown")


class PersonRecord(models.Model):
    """One agency's record of one person. Sensitive values are encrypted at rest."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="person_records")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    # Names as entered: Khmer script and Latin, plus free-form aliases (one per line).
    name_khmer = EncryptedTextField(blank=True, default="")
    name_latin = EncryptedTextField(blank=True, default="")
    aliases = EncryptedTextField(blank=True, default="")
    # ISO date truncated to its precision: "1998-03-04", "1998-03" or "1998"; "" when unknown.
    date_of_birth = EncryptedTextField(blank=True, default="")
    dob_precision = models.CharField(
        max_length=8, choices=DobPrecision.choices, default=DobPrecision.UNKNOWN
    )
    age_estimated = models.BooleanField(default=False)
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    nationality = models.CharField(max_length=2, blank=True, default="KH")
    phone = EncryptedTextField(blank=True, default="")  # E.164
    id_number = EncryptedTextField(blank=True, default="")  # national ID or passport
    province = models.CharField(max_length=64, blank=True, default="")  # province of origin
    origin_detail = EncryptedTextField(blank=True, default="")  # district, commune, village
    destination_country = models.CharField(max_length=2, blank=True, default="")
    deceased = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["agency", "created_at"])]

    def __str__(self) -> str:
        return f"person record {self.pk}"


class PersonToken(models.Model):
    """Blind-indexed search keys of a person record (HMAC; no plaintext)."""

    record = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8)  # "name", "phone", "dob", "idnum"
    digest = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["kind", "digest"])]

    def __str__(self) -> str:
        return f"{self.kind} token of person record {self.record_id}"
