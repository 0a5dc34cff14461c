"""Django admin for platform operators: agencies, users, memberships. Audited, 2FA-gated."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_otp.admin import OTPAdminSite

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import audit_record

from .models import Agency, Membership, User
from .principal import principal_for


class LifelineAdminSite(OTPAdminSite):
    site_header = "Lifeline administration"
    site_title = "Lifeline admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser and getattr(user, "is_verified", bool)())

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # One log-in page for everyone, with axes and the second factor in front of it.
        return redirect(f"/login/?next={request.get_full_path()}")


site = LifelineAdminSite(name="admin")


class AuditedAdmin(admin.ModelAdmin):
    target_type = ""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=principal_for(request.user),
                action=AuditAction.RECORD_UPDATED if change else AuditAction.RECORD_CREATED,
                target_type=self.target_type,
                target_id=obj.pk,
                metadata={"via": "admin"},
            )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Agencies and people are deactivated, never deleted: records point at them.
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only through services (audit events, help requests): view, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Agency, site=site)
class AgencyAdmin(AuditedAdmin):
    target_type = "agency"
    list_display = ("name", "code", "kind", "country", "is_active")
    list_filter = ("kind", "country", "is_active")
    search_fields = ("name", "code")


@admin.register(User, site=site)
class LifelineUserAdmin(AuditedAdmin, UserAdmin):
    target_type = "user"
    inlines = [MembershipInline]
    list_display = ("username", "is_active", "is_superuser", "last_login")


@admin.register(AuditEvent, site=site)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "occurred_at",
        "actor_id",
        "agency_id",
        "role",
        "action",
        "target_type",
        "target_id",
    )
    list_filter = ("action",)
