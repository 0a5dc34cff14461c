"""Help requests are sensitive: read-only in the admin; writes go through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lifeline.accounts.admin import site

from .models import IntakeSettings


@admin.register(IntakeSettings, site=site)
class IntakeSettingsAdmin(admin.ModelAdmin):
    list_display = ("agency", "urgent_minutes", "normal_minutes", "partner_agency")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
