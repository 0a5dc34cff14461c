"""Referrals and transfers between agencies (issue 4, item 5; domain-model E2, E3).

A referral offers a case to another agency. A *share* keeps the owner and, once accepted, gives
the receiver the chosen sections through a `CaseShare`; a *transfer* makes the receiver the owner
when it accepts. Either rests on a basis recorded at sending time: the person's consent covering
that recipient and purpose, or a supervisor's life-threat override. The basis is checked again
when the receiver accepts, so a consent withdrawn in between stops the referral.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lifeline.accounts.models import Agency, User
from lifeline.cases.models import Case, CaseShare, Consent, LifeThreatOverride, Purpose
from lifeline.core.fields import EncryptedTextField


class ReferralKind(models.TextChoices):
    SHARE = "share", _("Share (we keep the case)")
    TRANSFER = "transfer", _("Transfer (they become the owner)")


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")


class Referral(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    from_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    to_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="referrals_received"
    )
    kind = models.CharField(max_length=8, choices=ReferralKind.choices)
    sections = models.JSONField(default=list)  # values of cases.models.Section
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    note = EncryptedTextField(blank=True, default="")
    # The basis at sending time; exactly one of them (checked below).
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    override = models.ForeignKey(
        LifeThreatOverride,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    status = models.CharField(
        max_length=8, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    sent_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField()
    responded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = EncryptedTextField(blank=True, default="")
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    share = models.ForeignKey(
        CaseShare, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )

    class Meta:
        indexes = [
            models.Index(fields=["to_agency", "status", "sent_at"], name="referral_inbox_idx"),
            models.Index(fields=["from_agency", "sent_at"], name="referral_outbox_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(consent__isnull=False) & Q(override__isnull=True))
                | (Q(consent__isnull=True) & Q(override__isnull=False)),
                name="referral_has_one_basis",
            ),
            models.CheckConstraint(
                condition=~Q(from_agency=models.F("to_agency")),
                name="referral_to_another_agency",
            ),
            models.CheckConstraint(
                condition=Q(status="pending")
                | Q(responded_at__isnull=False)
                | Q(revoked_at__isnull=False),
                name="referral_answer_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted", kind="share") | Q(share__isnull=False),
                name="referral_accepted_share_has_share",
            ),
        ]

    def __str__(self) -> str:
        return f"referral {self.pk} of case {self.case_id} to agency {self.to_agency_id}"


class ReferralNotice(models.Model):
    """In-app notice about a referral (received, answered, revoked). Ids only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="referral_notices")
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16)  # received, accepted, declined, revoked
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "referral", "kind"], name="referral_notice_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "read_at", "created_at"], name="referral_notice_unread_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} notice of referral {self.referral_id} for user {self.user_id}"
