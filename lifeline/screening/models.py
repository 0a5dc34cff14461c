"""Screening interviews and their answers (the platform's *suggested* determination), and
official determinations made by authorities. The two are separate tables and are never merged:
a suggestion belongs to the agency that screened; an official determination records what an
authority decided, who it was, and whether the person was told."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lifeline.accounts.models import Agency, User
from lifeline.core.fields import EncryptedTextField
from lifeline.intake.models import HelpRequest
from lifeline.people.models import PersonRecord

from .rule import Outcome


class InterviewStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")
    PARTIAL = "partial", _("Ended early (partial)")
    STOPPED_UNSAFE = "stopped_unsafe", _("Stopped: not safe to talk")


FINISHED_STATUSES = (InterviewStatus.COMPLETE, InterviewStatus.PARTIAL)


class SuggestedOutcome(models.TextChoices):
    POSSIBLE_VOT = Outcome.POSSIBLE_VOT.value, _("Possible victim of trafficking")
    POSSIBLE_FORCED_LABOUR = Outcome.POSSIBLE_FORCED_LABOUR.value, _("Possible forced labour")
    DECEIVED_AND_EXPLOITED = Outcome.DECEIVED_AND_EXPLOITED.value, _("Deceived and exploited")
    EXPLOITED_MIGRANT = Outcome.EXPLOITED_MIGRANT.value, _("Exploited migrant")
    NO_INDICATORS = Outcome.NO_INDICATORS.value, _("No indicators")
    UNDETERMINED = Outcome.UNDETERMINED.value, _("Undetermined")


class ScreeningInterview(models.Model):
    """One conversation with one person, by one agency, against one instrument version."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        PersonRecord, on_delete=models.PROTECT, related_name="screening_interviews"
    )
    help_request = models.ForeignKey(
        HelpRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    interviewer = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="screening_interviews"
    )
    instrument_version = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=InterviewStatus.choices, default=InterviewStatus.IN_PROGRESS
    )
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    # Section A, the safety and consent gate (asked before anything else).
    safe_to_talk = models.BooleanField()
    private = models.BooleanField()  # nobody else can hear
    consent_interview = models.BooleanField()
    consent_recording = models.BooleanField(default=False)
    right_to_stop_explained = models.BooleanField(default=False)
    interpreter_used = models.BooleanField(default=False)
    language = models.CharField(max_length=8, blank=True, default="")
    # When it is not safe to talk, this is the only thing recorded: how and when to call back.
    callback_plan = EncryptedTextField(blank=True, default="")
    # Section K: the interviewer's own notes.
    assessment_note = EncryptedTextField(blank=True, default="")
    age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    # Reused answers from an earlier interview of the same person (no re-traumatisation, E7).
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The computed suggestion, stored when the interview is finished (recomputable from answers).
    suggested_outcome = models.CharField(
        max_length=32, choices=SuggestedOutcome.choices, blank=True, default=""
    )
    suggested_flags = models.JSONField(default=list, blank=True)
    suggestion_reasons = models.JSONField(default=dict, blank=True)
    dimension_scores = models.JSONField(default=dict, blank=True)
    suggested_at = models.DateTimeField(null=True, blank=True)

    # The interviewer's override of the suggestion, always with a written reason.
    override_outcome = models.CharField(
        max_length=32, choices=SuggestedOutcome.choices, blank=True, default=""
    )
    override_reason = EncryptedTextField(blank=True, default="")
    overridden_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)

    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["agency", "person", "started_at"]),
            models.Index(fields=["agency", "suggested_outcome"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="screening_override_has_author",
                condition=Q(override_outcome="")
                | (Q(overridden_by__isnull=False) & Q(overridden_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="screening_unsafe_when_stopped",
                condition=~Q(status="stopped_unsafe")
                | Q(safe_to_talk=False)
                | Q(private=False)
                | Q(consent_interview=False),
            ),
        ]

    def __str__(self) -> str:
        return f"screening interview {self.pk}"

    @property
    def outcome(self) -> str:
        """What the agency works with: the override when there is one, else the suggestion."""
        return self.override_outcome or self.suggested_outcome

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_open(self) -> bool:
        return self.status == InterviewStatus.IN_PROGRESS


class IndicatorResponse(models.Model):
    """One answer to one item of the instrument: a code (yes/no/unknown/refused, a number or an
    option code), never free text; anything said in the person's words goes in the encrypted
    note."""

    interview = models.ForeignKey(
        ScreeningInterview, on_delete=models.CASCADE, related_name="responses"
    )
    item_id = models.CharField(max_length=40)
    value = models.CharField(max_length=16)
    note = EncryptedTextField(blank=True, default="")
    answered_at = models.DateTimeField()
    answered_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["interview", "item_id"], name="screening_one_answer_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_id} of interview {self.interview_id}"


class DeterminationValue(models.TextChoices):
    VICTIM_OF_TRAFFICKING = "VICTIM_OF_TRAFFICKING", _("Victim of trafficking")
    VICTIM_OF_FORCED_LABOUR = "VICTIM_OF_FORCED_LABOUR", _("Victim of forced labour")
    NOT_VICTIM = "NOT_VICTIM", _("Not a victim")
    PENDING = "PENDING", _("Pending")
    DECLINED_BY_PERSON = "DECLINED_BY_PERSON", _("Declined by the person")


class NotVictimReason(models.TextChoices):
    LABOUR_DISPUTE = "labour_dispute", _("Labour dispute")
    IRREGULAR_MIGRATION = "irregular_migration", _("Irregular migration")
    INSUFFICIENT_EVIDENCE = "insufficient_evidence", _("Insufficient evidence")
    OTHER = "other", _("Other reason")


class OfficialDetermination(models.Model):
    """What an authority decided about a person. Recorded, never computed."""

    person = models.ForeignKey(
        PersonRecord, on_delete=models.PROTECT, related_name="official_determinations"
    )
    recording_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    authority = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    authority_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    decision_date = models.DateField(null=True, blank=True)  # none while PENDING
    reference_number = EncryptedTextField(blank=True, default="")
    person_informed = models.BooleanField()
    value = models.CharField(max_length=32, choices=DeterminationValue.choices)
    reason = models.CharField(
        max_length=32, choices=NotVictimReason.choices, blank=True, default=""
    )
    reason_note = EncryptedTextField(blank=True, default="")
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["person", "recorded_at"])]
        constraints = [
            models.CheckConstraint(
                name="determination_reason_only_when_not_victim",
                condition=Q(reason="") | Q(value="NOT_VICTIM"),
            ),
            models.CheckConstraint(
                name="determination_decided_has_date",
                condition=Q(value="PENDING") | Q(decision_date__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"official determination {self.pk}"
