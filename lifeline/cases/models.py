"""Cases: the record that follows a person from the call for help to closure, across agencies.

A case is owned by one agency. Other agencies see it only through a `CaseShare`, which exists
because a referral was accepted (or a supervisor's time-boxed life-threat override), covers
chosen sections, and is live only while the consent behind it is. Withdrawing consent ends
access at the next request: visibility is computed from the consent row on every query.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from lifeline.accounts.models import Agency, User
from lifeline.core.fields import EncryptedTextField
from lifeline.intake.models import HelpRequest
from lifeline.people.models import PersonRecord

from .workflow import ClosureReason, State

STATE_LABELS = {
    State.REQUEST_RECEIVED: _("Request received"),
    State.TRIAGED: _("Triaged"),
    State.VERIFYING: _("Verifying"),
    State.LOCATING: _("Locating"),
    State.REFERRED: _("Referred to an authority"),
    State.AWAITING_ACTION: _("Awaiting action"),
    State.REMOVED: _("Removed from exploitation"),
    State.HELD_ABROAD: _("Held abroad"),
    State.IDENTIFICATION: _("Identification"),
    State.REPATRIATION_PREP: _("Preparing repatriation"),
    State.RETURNED: _("Returned"),
    State.RECEPTION_SCREENING: _("Reception screening"),
    State.REINTEGRATION_PLANNING: _("Reintegration planning"),
    State.REINTEGRATION: _("Reintegration"),
    State.FOLLOW_UP: _("Follow-up"),
    State.CLOSED: _("Closed"),
    State.ON_HOLD: _("On hold"),
    State.UNREACHABLE: _("Unreachable"),
    State.REOPENED: _("Reopened"),
}
STATE_CHOICES = [(s.value, STATE_LABELS[s]) for s in State]

CLOSURE_LABELS = {
    ClosureReason.REINTEGRATED: _("Reintegrated (goals met)"),
    ClosureReason.LOST_CONTACT: _("Lost contact"),
    ClosureReason.DECLINED_SERVICES: _("Declined services"),
    ClosureReason.REFERRED_OUT: _("Referred to another organisation"),
    ClosureReason.NOT_VICTIM_NO_NEED: _("Officially not a victim, no other need"),
    ClosureReason.DECEASED: _("Deceased"),
    ClosureReason.DUPLICATE: _("Duplicate"),
    ClosureReason.MOVED_ABROAD_AGAIN: _("Moved abroad again"),
}
CLOSURE_CHOICES = [(r.value, CLOSURE_LABELS[r]) for r in ClosureReason]


class Section(models.TextChoices):
    """Parts of a case that a referral can share. The summary goes with every share."""

    SUMMARY = "summary", _("Summary and status")
    PERSONS = "persons", _("Persons and identity")
    SCREENING = "screening", _("Screening and determinations")
    AUTHORITY = "authority", _("Requests to authorities")
    REMOVAL = "removal", _("Removal and custody abroad")
    REPATRIATION = "repatriation", _("Repatriation")
    FAMILY = "family", _("Family assessment")
    SERVICES = "services", _("Services and follow-up")
    TASKS = "tasks", _("Tasks and timeline")
    WORKFLOW = "workflow", _("May move the case through its stages")


class Case(models.Model):
    reference = models.CharField(max_length=16, unique=True)
    owner_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="cases")
    state = models.CharField(max_length=24, choices=STATE_CHOICES, default=State.REQUEST_RECEIVED)
    paused_from = models.CharField(max_length=24, blank=True, default="")
    primary_worker = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closure_reason = models.CharField(
        max_length=24, blank=True, default="", choices=CLOSURE_CHOICES
    )
    help_request = models.ForeignKey(
        HelpRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    reopened_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    destination_country = models.CharField(max_length=2, blank=True, default="")
    is_urgent = models.BooleanField(default=False)
    summary = EncryptedTextField(blank=True, default="")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["owner_agency", "state"])]

    def __str__(self) -> str:
        return self.reference


class PersonRole(models.TextChoices):
    VICTIM = "victim", _("Victim")
    CO_VICTIM = "co_victim", _("Co-victim")
    REPORTER = "reporter", _("Reporter")


class CasePerson(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="persons")
    person = models.ForeignKey(PersonRecord, on_delete=models.PROTECT, related_name="case_links")
    role = models.CharField(max_length=10, choices=PersonRole.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="case_person_once"),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.person_id} on case {self.case_id}"


class CaseEvent(models.Model):
    """The case timeline: every transition and every record added, in order."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey(Agency, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=32)
    section = models.CharField(max_length=16, choices=Section.choices, default=Section.SUMMARY)
    from_state = models.CharField(max_length=24, blank=True, default="")
    to_state = models.CharField(max_length=24, blank=True, default="")
    note = EncryptedTextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"


class Task(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    title = EncryptedTextField()
    due_at = models.DateTimeField()
    assigned_to = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="case_tasks"
    )
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["assigned_to", "done_at", "due_at"])]

    def __str__(self) -> str:
        return f"task {self.pk} of case {self.case_id}"


class ConsentScope(models.TextChoices):
    COLLECT = "collect", _("Collect information")
    STORE = "store", _("Store information")
    SHARE = "share", _("Share with an agency for a purpose")
    CONTACT_FAMILY = "contact_family", _("Contact family")
    MEDIA = "media", _("Photos and media")
    RESEARCH = "research", _("Research and statistics")


class Purpose(models.TextChoices):
    RESCUE = "rescue", _("Locating and rescue")
    REPATRIATION = "repatriation", _("Repatriation")
    IDENTIFICATION = "identification", _("Formal identification")
    SERVICES = "services", _("Services and reintegration")
    LEGAL = "legal", _("Legal action")


class Consent(models.Model):
    """HTCDS consent checklist: per person, per scope; sharing names a recipient and a purpose."""

    person = models.ForeignKey(PersonRecord, on_delete=models.PROTECT, related_name="consents")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=16, choices=ConsentScope.choices)
    recipient_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(max_length=16, blank=True, default="", choices=Purpose.choices)
    given_by = models.CharField(
        max_length=8, choices=[("self", _("The person")), ("guardian", _("Guardian"))]
    )
    guardian_name = EncryptedTextField(blank=True, default="")
    method = models.CharField(
        max_length=8, choices=[("verbal", _("Verbal")), ("written", _("Written"))]
    )
    witness = EncryptedTextField(blank=True, default="")
    given_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(scope="share")
                | (models.Q(recipient_agency__isnull=False) & ~models.Q(purpose="")),
                name="consent_share_names_recipient_and_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"consent {self.pk} ({self.scope}) of person {self.person_id}"


class LifeThreatOverride(models.Model):
    """A supervisor's documented exception to consent when a life is at risk: at most 24 hours."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="overrides")
    recipient_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = EncryptedTextField()
    approved_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    dpo_reviewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"life-threat override {self.pk} on case {self.case_id}"


class CaseShare(models.Model):
    """Another agency's access to chosen sections of a case. Live while its basis is live."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="case_shares")
    sections = models.JSONField(default=list)
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="shares"
    )
    override = models.ForeignKey(
        LifeThreatOverride, null=True, blank=True, on_delete=models.PROTECT, related_name="shares"
    )
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(consent__isnull=False) | models.Q(override__isnull=False),
                name="share_has_consent_or_override",
            )
        ]

    def __str__(self) -> str:
        return f"share of case {self.case_id} with agency {self.agency_id}"


class AuthorityRequest(models.Model):
    """A request to an embassy, police or ministry to act; it has an acknowledgement deadline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="authority_requests")
    recipient_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient_name = models.CharField(max_length=200, blank=True, default="")
    channel = models.CharField(max_length=16)  # letter, email, phone, platform, in_person
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    reference_number = EncryptedTextField(blank=True, default="")
    content = EncryptedTextField(blank=True, default="")
    content_hash = models.CharField(max_length=64)
    consent = models.ForeignKey(Consent, null=True, blank=True, on_delete=models.PROTECT)
    override = models.ForeignKey(
        LifeThreatOverride, null=True, blank=True, on_delete=models.PROTECT
    )
    # Urgent when sent (life at risk, or the case was urgent): short deadline and short steps.
    is_urgent = models.BooleanField(default=False)
    ack_deadline_at = models.DateTimeField()
    response_deadline_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True, default="")
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    escalation_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["next_escalation_at"], name="authreq_escalation_idx")]

    def __str__(self) -> str:
        return f"authority request {self.pk} of case {self.case_id}"


class RemovalMode(models.TextChoices):
    RESCUE = "rescue", _("Rescue")
    ESCAPE = "escape", _("Escape")
    RELEASE = "release", _("Release")
    DEPORTATION = "deportation", _("Deportation")
    SELF_RETURN = "self_return", _("Self-return")


class RemovalEvent(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="removals")
    mode = models.CharField(max_length=12, choices=RemovalMode.choices)
    date = models.DateField()
    acting_agency = models.CharField(max_length=200, blank=True, default="")
    country = models.CharField(max_length=2)
    group_size = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"removal {self.pk} of case {self.case_id}"


class FacilityType(models.TextChoices):
    GOVERNMENT_SHELTER = "gov_shelter", _("Foreign government shelter")
    NGO_SHELTER = "ngo_shelter", _("NGO shelter")
    IMMIGRATION = "immigration", _("Immigration detention")
    POLICE = "police", _("Police custody")
    EMBASSY = "embassy", _("Embassy care")


class CustodyStay(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="custody_stays")
    facility_type = models.CharField(max_length=12, choices=FacilityType.choices)
    facility_name = EncryptedTextField(blank=True, default="")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    contact_allowed = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"custody {self.pk} of case {self.case_id}"


class Repatriation(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="repatriations")
    travel_document_type = models.CharField(
        max_length=32
    )  # passport, travel document, laissez-passer
    travel_document_issuer = models.CharField(max_length=100, blank=True, default="")
    travel_document_number = EncryptedTextField(blank=True, default="")
    route = models.CharField(max_length=200, blank=True, default="")
    crossing_point = models.CharField(max_length=64, blank=True, default="")  # Poipet, Bavet...
    handover_date = models.DateField(null=True, blank=True)
    receiving_officer = EncryptedTextField(blank=True, default="")
    escort = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return f"repatriation {self.pk} of case {self.case_id}"


class FamilyAssessment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="family_assessments")
    assessor = models.CharField(max_length=200)
    date = models.DateField()
    safe_to_return = models.CharField(
        max_length=12,
        choices=[("yes", _("Yes")), ("no", _("No")), ("conditions", _("With conditions"))],
    )
    notes = EncryptedTextField(blank=True, default="")

    def __str__(self) -> str:
        return f"family assessment {self.pk} of case {self.case_id}"


class ServicePlan(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="service_plans")
    needs = EncryptedTextField()
    goals = EncryptedTextField()
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"service plan {self.pk} of case {self.case_id}"


class ServiceType(models.TextChoices):
    MEDICAL = "medical", _("Medical")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial")
    LEGAL = "legal", _("Legal aid")
    SHELTER = "shelter", _("Shelter")
    EDUCATION = "education", _("Education")
    VOCATIONAL = "vocational", _("Vocational training")
    CASH = "cash", _("Cash support")
    LIVELIHOOD = "livelihood", _("Livelihood")
    FAMILY_MEDIATION = "family", _("Family mediation")


class ServiceDelivery(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="service_deliveries")
    service_type = models.CharField(max_length=16, choices=ServiceType.choices)
    provider = models.CharField(max_length=200)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=12,
        choices=[
            ("planned", _("Planned")),
            ("ongoing", _("Ongoing")),
            ("done", _("Done")),
            ("stopped", _("Stopped")),
        ],
    )

    def __str__(self) -> str:
        return f"service {self.pk} of case {self.case_id}"


class FollowUp(models.Model):
    RISK = [("low", _("Low")), ("medium", _("Medium")), ("high", _("High"))]

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    date = models.DateField()
    mode = models.CharField(
        max_length=8, choices=[("visit", _("Visit")), ("call", _("Call")), ("other", _("Other"))]
    )
    risk_individual = models.CharField(max_length=8, choices=RISK)
    risk_household = models.CharField(max_length=8, choices=RISK)
    risk_community = models.CharField(max_length=8, choices=RISK)
    outcome = EncryptedTextField(blank=True, default="")

    def __str__(self) -> str:
        return f"follow-up {self.pk} of case {self.case_id}"


class CaseNotice(models.Model):
    """In-app notice about a case (overdue authority request, override, referral). Ids only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="case_notices")
    kind = models.CharField(max_length=32)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    dedupe_key = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}"
