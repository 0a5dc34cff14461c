"""Agencies, the people who work there, and their roles."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class AgencyKind(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    NGO = "ngo", _("NGO")
    EMBASSY = "embassy", _("Embassy or consulate")
    MINISTRY = "ministry", _("Ministry")
    POLICE = "police", _("Police")
    SHELTER = "shelter", _("Shelter")
    INTERNATIONAL = "international", _("International organisation")


class Role(models.TextChoices):
    INTAKE_OFFICER = "intake_officer", _("Intake officer")
    CASE_WORKER = "case_worker", _("Case worker")
    SUPERVISOR = "supervisor", _("Supervisor")
    LIAISON_OFFICER = "liaison_officer", _("Liaison officer")
    DATA_PROTECTION_OFFICER = "data_protection_officer", _("Data protection officer")
    ANALYST = "analyst", _("Analyst")
    AGENCY_ADMIN = "agency_admin", _("Agency administrator")


class Agency(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    code = models.SlugField(_("short code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AgencyKind.choices)
    country = models.CharField(
        _("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code, e.g. KH, TH")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="agency_country_iso2"
            )
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who works at one or more agencies. Roles come only from memberships."""

    preferred_language = models.CharField(
        max_length=5, choices=[("km", "ខ្មែរ"), ("en", "English")], default="km"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency", "role"], name="membership_unique_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.agency_id}:{self.role}"


class ApiClient(models.Model):
    """A partner system or channel gateway calling the JSON API on behalf of one agency.

    Only a SHA-256 digest of the token is stored; the token is shown once when created.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="api_clients")
    name = models.CharField(max_length=100)
    token_digest = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"API client {self.name} ({self.agency_id})"


class StaffToken(models.Model):
    """A personal API token: the JSON API acts as this user, in this agency, with their roles.

    Issued only from a second-factor-verified session or by a platform operator, so the token
    stands in for the second factor. Stored as a SHA-256 digest; it expires.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_tokens")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"staff token {self.pk} of user {self.user_id}"
