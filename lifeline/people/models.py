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


# ---------------------------------------------------------------------------------------------
# Linkage: runs, versioned clusters, decisions made by people, and the review queue


class RunKind(models.TextChoices):
    MODEL = "model", _("Trained model")
    RULES = "rules", _("Default weights (register too small to train)")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class LinkageRun(models.Model):
    """One full linkage of every record: the version that memberships and pairs point back to."""

    model_version = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=RunKind.choices, default=RunKind.MODEL)
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    threshold = models.FloatField()
    lower_threshold = models.FloatField()
    upper_threshold = models.FloatField()
    records = models.PositiveIntegerField(default=0)
    clusters = models.PositiveIntegerField(default=0)
    persons_at_lower = models.PositiveIntegerField(default=0)
    persons_at_upper = models.PositiveIntegerField(default=0)
    review_pairs = models.PositiveIntegerField(default=0)
    decisions_applied = models.PositiveIntegerField(default=0)
    # Trained Splink settings (m/u per level, prior): weights only, no record values. Kept so
    # every link of this run can be explained and new records scored with the same model.
    model_settings = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"linkage run {self.pk}"


class PersonCluster(models.Model):
    """One person as linkage sees them: the group of records currently pointing here."""

    created_at = models.DateTimeField()
    created_in_run = models.ForeignKey(
        LinkageRun, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # False once no record is a current member (merged away or re-clustered); kept for history.
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"person cluster {self.pk}"


class MembershipSource(models.TextChoices):
    RUN = "run", _("Linkage run")
    INCREMENTAL = "incremental", _("New record matched")
    MANUAL = "manual", _("Merged or split by a person")


class ClusterMembership(models.Model):
    """Record R belonged to cluster C from one change to the next. Rows are closed, never edited
    back, so the cluster history of any record can be replayed."""

    record = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="memberships")
    cluster = models.ForeignKey(PersonCluster, on_delete=models.PROTECT, related_name="memberships")
    source = models.CharField(max_length=12, choices=MembershipSource.choices)
    from_run = models.ForeignKey(LinkageRun, null=True, on_delete=models.PROTECT, related_name="+")
    to_run = models.ForeignKey(LinkageRun, null=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    is_current = models.BooleanField(default=True)
    confidence = models.FloatField(default=1.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record"],
                condition=models.Q(is_current=True),
                name="people_one_current_cluster_per_record",
            )
        ]
        indexes = [models.Index(fields=["cluster", "is_current"])]

    def __str__(self) -> str:
        return f"record {self.record_id} in cluster {self.cluster_id}"


class Decision(models.TextChoices):
    SAME_PERSON = "same", _("Same person")
    NOT_SAME_PERSON = "different", _("Not the same person")


class ManualDecision(models.Model):
    """A person's ruling on two records. It binds every later run until someone rules again.

    Stored with the lower record id first. Only one decision per pair is active; a new ruling
    deactivates the old one, which stays for the record of who decided what.
    """

    record_a = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField()
    reason = EncryptedTextField(blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record_a", "record_b"],
                condition=models.Q(is_active=True),
                name="people_one_active_decision_per_pair",
            ),
            models.CheckConstraint(
                condition=models.Q(record_a__lt=models.F("record_b")),
                name="people_decision_pair_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision}: records {self.record_a_id} and {self.record_b_id}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    CONFIRMED = "confirmed", _("Confirmed: same person")
    REJECTED = "rejected", _("Rejected: different persons")
    SUPERSEDED = "superseded", _("Replaced by a later run")


class ReviewPair(models.Model):
    """Two records the model could not decide on (0.5 <= p < 0.99), waiting for a person."""

    run = models.ForeignKey(LinkageRun, null=True, on_delete=models.CASCADE, related_name="pairs")
    record_a = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="+")
    match_probability = models.FloatField()
    # Per field: {"level": label, "status": agree/partial/disagree/missing, "weight": bits}.
    # Labels and weights only; never record values.
    evidence = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True)
    decision = models.ForeignKey(
        ManualDecision, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record_a", "record_b"],
                condition=models.Q(status="pending"),
                name="people_one_pending_review_per_pair",
            ),
            models.CheckConstraint(
                condition=models.Q(record_a__lt=models.F("record_b")),
                name="people_review_pair_ordered",
            ),
        ]
        indexes = [models.Index(fields=["status", "match_probability"])]

    def __str__(self) -> str:
        return f"review pair {self.pk}"


class LinkEdge(models.Model):
    """A scored pair at p >= 0.5 from the current run or a later incremental match.

    Derived data: a full run replaces every edge. The counts at 0.5 and 0.99 (the published
    range) are recomputed from these plus the decisions, so they stay honest between runs.
    """

    run = models.ForeignKey(LinkageRun, null=True, on_delete=models.CASCADE, related_name="+")
    record_a = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(PersonRecord, on_delete=models.CASCADE, related_name="+")
    match_probability = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["match_probability"])]

    def __str__(self) -> str:
        return f"edge {self.record_a_id}-{self.record_b_id}"
