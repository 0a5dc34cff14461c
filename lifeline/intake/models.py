"""Help requests, their deadlines and escalations, in-app notifications and the outbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from lifeline.accounts.models import Agency, User
from lifeline.core.fields import EncryptedTextField


class Channel(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    HOTLINE_CALL = "hotline_call", _("Hotline call")
    API = "api", _("API")
    WALK_IN = "walk_in", _("Walk-in")
    PARTNER_REFERRAL = "partner_referral", _("Partner referral")


class ReporterType(models.TextChoices):
    SELF = "self", _("The person themselves")
    FAMILY = "family", _("Family member")
    FRIEND = "friend", _("Friend")
    OTHER = "other", _("Other")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESPONDED = "responded", _("Responded")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (RequestStatus.RECEIVED, RequestStatus.ACKNOWLEDGED)


class IntakeSettings(models.Model):
    """Per-agency first-response deadlines, operating hours and escalation ladder."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="intake_settings")
    urgent_minutes = models.PositiveIntegerField(default=15)
    normal_minutes = models.PositiveIntegerField(default=240)
    # Minutes between one escalation level and the next.
    urgent_step_minutes = models.PositiveIntegerField(default=15)
    normal_step_minutes = models.PositiveIntegerField(default=60)
    # Optional operating hours for non-urgent requests (local time); urgent ones run 24/7.
    timezone = models.CharField(max_length=64, default="Asia/Phnom_Penh")
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    working_days = models.CharField(
        max_length=7, default="0123456", help_text="Weekdays open, Monday=0"
    )
    partner_agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Last escalation level, e.g. the national committee",
    )

    def __str__(self) -> str:
        return f"intake settings of agency {self.agency_id}"


class HelpRequest(models.Model):
    reference = models.CharField(max_length=16, unique=True)
    # Shown once to the person with the reference, so they can check the status later.
    status_code = EncryptedTextField()
    channel = models.CharField(max_length=20, choices=Channel.choices)
    reporter_type = models.CharField(max_length=10, choices=ReporterType.choices)
    language = models.CharField(max_length=5, default="km")

    reporter_name = EncryptedTextField(blank=True, default="")
    reporter_phone = EncryptedTextField(blank=True, default="")
    person_name = EncryptedTextField(blank=True, default="")
    person_phone = EncryptedTextField(blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    place_abroad = EncryptedTextField(blank=True, default="")
    narrative = EncryptedTextField(blank=True, default="")
    safe_contact = EncryptedTextField(blank=True, default="")
    do_not_call_back = models.BooleanField(default=False)

    is_child = models.BooleanField(default=False)
    is_medical = models.BooleanField(default=False)
    is_confined = models.BooleanField(default=False)
    is_transfer_imminent = models.BooleanField(default=False)
    is_urgent = models.BooleanField(default=False)

    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.RECEIVED
    )
    received_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField()
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # Next time the sweeper must look at this request; NULL once answered or fully escalated.
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    assigned_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="requests")
    assigned_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_requests"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "<source>:<client key>", source being the API client's agency id or "web".
    idempotency_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["next_escalation_at"], name="request_sweep_idx"),
            models.Index(fields=["assigned_agency", "status", "deadline_at"]),
        ]

    def __str__(self) -> str:
        return self.reference


class SearchToken(models.Model):
    """Blind-indexed name and phone tokens, so staff can search without plaintext in the DB."""

    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8)  # "name" or "phone"
    digest = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} token of request {self.request_id}"


class EscalationLevel(models.TextChoices):
    ASSIGNED_OFFICER = "assigned_officer", _("Assigned officer")
    SUPERVISORS = "supervisors", _("Agency supervisors")
    AGENCY_ADMIN = "agency_admin", _("Agency administrator")
    PARTNER_AGENCY = "partner_agency", _("Partner agency")


LADDER = [
    EscalationLevel.ASSIGNED_OFFICER,
    EscalationLevel.SUPERVISORS,
    EscalationLevel.AGENCY_ADMIN,
    EscalationLevel.PARTNER_AGENCY,
]


class Escalation(models.Model):
    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=20, choices=EscalationLevel.choices)
    target_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    notified_user_ids = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "level"], name="escalation_once_per_level")
        ]

    def __str__(self) -> str:
        return f"request {self.request_id} level {self.level}"


class Notification(models.Model):
    """In-app notice. Carries ids and a kind, never a person's details."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    request = models.ForeignKey(HelpRequest, null=True, on_delete=models.CASCADE)
    dedupe_key = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}"


class OutboxMessage(models.Model):
    """Anything sent outward, written in the same transaction as the change that caused it."""

    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField()
    available_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["delivered_at", "available_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key}"


class ThrottleBucket(models.Model):
    """Fixed-window counters for the public form, shared by every server process."""

    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="throttle_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}"
