"""Append-only, hash-chained audit events.

Rows hold ids, never names or free text about people. An event is inserted unlinked (no `seq`,
`prev_hash`, `hash`) in the transaction of the change it describes; the linker gives it its place
in the chain shortly after it commits (ADR 0006). The database refuses every UPDATE except that
one NULL -> value linking step, and every DELETE (triggers, see `triggers.py`); the hash chain
detects what a database owner could still do by hand.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q


class AuditAction(models.TextChoices):
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    OTP_VERIFIED = "auth.otp_verified"
    OTP_FAILED = "auth.otp_failed"
    OTP_DEVICE_CONFIRMED = "auth.otp_device_confirmed"
    ACCESS_DENIED = "access.denied"
    AGENCY_CREATED = "agency.created"
    AGENCY_UPDATED = "agency.updated"
    MEMBERSHIP_GRANTED = "membership.granted"
    MEMBERSHIP_REVOKED = "membership.revoked"
    USER_CREATED = "user.created"
    USER_DEACTIVATED = "user.deactivated"
    KEYS_ROTATED = "keys.rotated"
    RECORD_VIEWED = "record.viewed"
    RECORD_LISTED = "record.listed"
    RECORD_CREATED = "record.created"
    RECORD_UPDATED = "record.updated"
    RECORD_TRANSITIONED = "record.transitioned"
    RECORD_EXPORTED = "record.exported"
    RECORD_SEARCHED = "record.searched"
    REQUEST_ACKNOWLEDGED = "request.acknowledged"
    REQUEST_ASSIGNED = "request.assigned"
    REQUEST_RESPONDED = "request.responded"
    REQUEST_ESCALATED = "request.escalated"


class AuditEvent(models.Model):
    # Chain position and hashes: NULL until the linker links the committed row (ADR 0006).
    seq = models.BigIntegerField(unique=True, null=True, blank=True)
    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True)
    agency_id = models.BigIntegerField(null=True)
    role = models.CharField(max_length=120, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict)
    # NULL, not "": the triggers allow exactly the NULL -> value step, and "" is no hash.
    prev_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor_id", "occurred_at"]),
            models.Index(fields=["agency_id", "occurred_at"]),
            # The linker's work list; stays tiny because rows leave it within seconds.
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="audit_unlinked_idx"),
        ]

    def __str__(self) -> str:
        where = f"#{self.seq}" if self.seq is not None else f"unlinked id {self.pk}"
        return f"{where} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class AuditChainHead(models.Model):
    """One row: the last linked sequence number and hash. Only the linker locks it, so linking
    is serialised while the audited writes themselves are not."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"
