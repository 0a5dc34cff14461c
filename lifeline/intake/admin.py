"""Help requests are sensitive: read-only in the admin; writes go through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lifeline.accounts.admin import ReadOnlyAdmin, site

from .models import HelpRequest, IntakeSettings


@admin.register(IntakeSettings, site=site)
class IntakeSettingsAdmin(admin.ModelAdmin):
    list_display = ("agency", "urgent_minutes", "normal_minutes", "partner_agency")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HelpRequest, site=site)
class HelpRequestAdmin(ReadOnlyAdmin):
    """Read-only, and only the columns that identify nobody: the encrypted fields (names,
    phones, places, narratives) are not shown here at all; staff read them in the audited
    request page of their own agency."""

    fields = list_display = (
        "reference", "status", "channel", "is_urgent", "assigned_agency", "received_at",
        "deadline_at", "first_response_at", "escalation_level",
    )  # fmt: skip
    list_filter = ("status", "channel", "is_urgent")
