"""Writes for help requests: create (idempotent), acknowledge, assign, respond; the deadline
sweeper; outbox delivery; public-form throttling.

Every write is one transaction with its audit event. Nothing is sent outward directly: an
OutboxMessage row is written in the same transaction and delivered by the worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext

from lifeline.accounts.models import Agency, Membership, Role, User
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal
from lifeline.accounts.selectors import active_member_ids
from lifeline.audit.models import AuditAction
from lifeline.audit.services import (
    AuditActor,
    AuditEntry,
    SystemActor,
    audit_record,
    audit_record_many,
)
from lifeline.core import clock
from lifeline.core.crypto import blind_index
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import deadlines, policies, reference, selectors, validation
from .models import (
    LADDER,
    Channel,
    Escalation,
    EscalationLevel,
    HelpRequest,
    IntakeSettings,
    Notification,
    OutboxMessage,
    ReporterType,
    RequestStatus,
    SearchToken,
    ThrottleBucket,
)
from .validation import InvalidInput

logger = logging.getLogger(__name__)
SWEEPER = SystemActor("sweeper")


@dataclass(frozen=True)
class RequestInput:
    """A cleaned, validated help request as it arrives from any channel."""

    channel: str
    reporter_type: str
    reporter_name: str = ""
    reporter_phone: str = ""
    person_name: str = ""
    person_phone: str = ""
    country: str = ""
    place_abroad: str = ""
    narrative: str = ""
    safe_contact: str = ""
    do_not_call_back: bool = False
    is_child: bool = False
    is_medical: bool = False
    is_confined: bool = False
    is_transfer_imminent: bool = False
    language: str = "km"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def urgent(self) -> bool:
        return self.is_child or self.is_medical or self.is_confined or self.is_transfer_imminent

    def fingerprint(self) -> str:
        body = json.dumps(asdict(self), sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(body.encode()).hexdigest()


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "on", "yes"}


def request_input_clean(raw: Mapping[str, Any], *, channel: str) -> RequestInput:
    """Validate every field; collect all errors so the person sees them at once."""
    errors: dict[str, list[str]] = {}

    def take(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidInput as exc:
            errors.setdefault(name, []).append(str(exc.message))
            return ""

    def text(name: str) -> str:
        return str(raw.get(name) or "")

    reporter_type = text("reporter_type").strip()
    if reporter_type not in ReporterType.values:
        errors["reporter_type"] = [gettext("Choose who is asking for help.")]
    if channel not in Channel.values:
        errors["channel"] = ["unknown channel"]
    country = take("country", validation.clean_country, text("country"))
    region = country or "KH"
    data = RequestInput(
        channel=channel,
        reporter_type=reporter_type,
        reporter_name=take("reporter_name", validation.clean_name, text("reporter_name")),
        reporter_phone=take(
            "reporter_phone", validation.clean_phone, text("reporter_phone"), region="KH"
        ),
        person_name=take("person_name", validation.clean_name, text("person_name")),
        person_phone=take(
            "person_phone", validation.clean_phone, text("person_phone"), region=region
        ),
        country=country,
        place_abroad=take(
            "place_abroad", validation.clean_text, text("place_abroad"),
            max_length=validation.SHORT_MAX, multiline=False,
        ),
        narrative=take(
            "narrative", validation.clean_text, text("narrative"),
            max_length=validation.NARRATIVE_MAX, multiline=True,
        ),
        safe_contact=take(
            "safe_contact", validation.clean_text, text("safe_contact"),
            max_length=validation.SHORT_MAX, multiline=False,
        ),
        do_not_call_back=_bool(raw.get("do_not_call_back", False)),
        is_child=_bool(raw.get("is_child", False)),
        is_medical=_bool(raw.get("is_medical", False)),
        is_confined=_bool(raw.get("is_confined", False)),
        is_transfer_imminent=_bool(raw.get("is_transfer_imminent", False)),
        language=str(raw.get("language") or "km") if raw.get("language") in ("km", "en") else "km",
    )  # fmt: skip
    if not data.narrative and not errors.get("narrative"):
        errors["narrative"] = [gettext("Tell us briefly what happened.")]
    no_contact = not (
        data.reporter_phone or data.person_phone or data.do_not_call_back or data.safe_contact
    )
    # A number that failed its own check already says so; "give a number" on top would confuse.
    if no_contact and not (errors.get("reporter_phone") or errors.get("person_phone")):
        errors.setdefault("reporter_phone", []).append(
            gettext("Give a phone number or a safe way to contact you, or tick “do not call back”.")
        )
    if errors:
        raise ValidationFailed(errors)
    return data


def intake_policy(agency: Agency) -> tuple[IntakeSettings, deadlines.DeadlinePolicy]:
    conf = IntakeSettings.objects.filter(agency_id=agency.pk)[:1]
    found = conf[0] if conf else IntakeSettings.objects.get_or_create(agency=agency)[0]
    return found, _policy_of(found)


def default_intake_agency() -> Agency:
    """Where public web-form requests go: LIFELINE_INTAKE_AGENCY, else the first hotline."""
    code = getattr(settings, "LIFELINE_INTAKE_AGENCY", "")
    agencies = Agency.objects.filter(is_active=True)
    agency = agencies.filter(code=code).first() if code else agencies.filter(kind="hotline").first()
    if agency is None:
        raise NotFound("no agency receives public help requests")
    return agency


@dataclass(frozen=True)
class CreateResult:
    request: HelpRequest
    created: bool
    status_code: str


def _tokens(data: RequestInput) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in (data.reporter_name, data.person_name):
        for token in validation.name_tokens(name):
            out.append(("name", blind_index(token, purpose="name-token")))
    for phone in (data.reporter_phone, data.person_phone):
        if phone:
            out.append(("phone", blind_index(phone, purpose="phone")))
    return sorted(set(out))


REFERENCE_ATTEMPTS = 5


def help_request_create(
    *,
    actor: AuditActor,
    data: RequestInput,
    assigned_agency: Agency,
    idempotency_key: str | None = None,
    source: str = "web",
    created_by: User | None = None,
) -> CreateResult:
    """Store a help request, or return the one already stored under the same idempotency key.

    The caller answers "received" only after this returns, i.e. after COMMIT. The same key with a
    different body is a client error (Conflict), never a second request.
    """
    key = f"{source}:{idempotency_key}" if idempotency_key else None
    fingerprint = data.fingerprint()
    if key is not None:
        existing = _existing(key, fingerprint)
        if existing is not None:
            return existing
    # The reference is random (~39 bits); its unique constraint, not a lookup before every
    # insert, catches the rare collision, and the insert is then tried again with a new one.
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                return _insert(actor, data, assigned_agency, key, fingerprint, source, created_by)
        except IntegrityError:
            if key is not None:
                # A concurrent retry with the same key committed first: answer with that one.
                existing = _existing(key, fingerprint)
                if existing is not None:
                    return existing
    raise IntegrityError("no free reference after several attempts")


def _existing(key: str, fingerprint: str) -> CreateResult | None:
    # Nearly every key is new: ask for two columns first, and load (and decrypt) the whole row
    # only for a real retry.
    hit = list(
        HelpRequest.objects.filter(idempotency_key=key).values_list("pk", "idempotency_fingerprint")
    )
    if not hit:
        return None
    if hit[0][1] != fingerprint:
        raise Conflict("this Idempotency-Key was already used with a different request body")
    found = HelpRequest.objects.get(pk=hit[0][0])
    return CreateResult(found, False, found.status_code)


def _insert(
    actor: AuditActor,
    data: RequestInput,
    agency: Agency,
    key: str | None,
    fingerprint: str,
    source: str,
    created_by: User | None,
) -> CreateResult:
    now = clock.now()
    _conf, policy = intake_policy(agency)
    deadline = deadlines.first_response_deadline(now, urgent=data.urgent, policy=policy)
    code = reference.new_status_code()
    source_agency = None
    if source.isdigit():
        # API clients send for their own agency, which the caller has already loaded.
        source_agency = (
            agency if agency.pk == int(source) else Agency.objects.filter(pk=int(source)).first()
        )
    request = HelpRequest.objects.create(
        reference=reference.new_reference(),
        status_code=code,
        channel=data.channel,
        reporter_type=data.reporter_type,
        language=data.language,
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        person_name=data.person_name,
        person_phone=data.person_phone,
        country=data.country,
        place_abroad=data.place_abroad,
        narrative=data.narrative,
        safe_contact=data.safe_contact,
        do_not_call_back=data.do_not_call_back,
        is_child=data.is_child,
        is_medical=data.is_medical,
        is_confined=data.is_confined,
        is_transfer_imminent=data.is_transfer_imminent,
        is_urgent=data.urgent,
        received_at=now,
        deadline_at=deadline,
        next_escalation_at=deadline,
        assigned_agency=agency,
        created_by=created_by,
        source_agency=source_agency,
        idempotency_key=key,
        idempotency_fingerprint=fingerprint,
    )
    SearchToken.objects.bulk_create(
        [SearchToken(request=request, kind=kind, digest=digest) for kind, digest in _tokens(data)]
    )
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_CREATED,
        target_type="help_request",
        target_id=request.pk,
        agency_id=agency.pk,
        metadata={"channel": data.channel, "urgent": data.urgent},
    )
    if data.urgent:
        recipients = active_member_ids(agency.pk, [Role.INTAKE_OFFICER, Role.SUPERVISOR])
        _outbox("urgent_request", f"urgent:{request.pk}", request.pk, recipients, now)
    return CreateResult(request, True, code)


def _outbox(kind: str, dedupe: str, request_id: int, user_ids: list[int], now: datetime) -> None:
    OutboxMessage.objects.get_or_create(
        dedupe_key=dedupe,
        defaults={
            "kind": kind,
            "payload": {"request_id": request_id, "user_ids": user_ids},
            "created_at": now,
            "available_at": now,
        },
    )


def _locked_request(actor: Principal, request_id: int) -> HelpRequest:
    """The request, row-locked, if the actor may act on it (its agency's staff, or a partner
    agency it was escalated to); NotFound otherwise, the same as for a request that is not."""
    if not actor.has(Capability.REQUEST_ACT) or actor.agency is None:
        raise NotFound
    found = selectors.visible_to(actor).select_for_update().filter(pk=request_id).first()
    if found is None or not policies.can_act_on_request(actor, found):
        raise NotFound
    return found


@transaction.atomic
def help_request_acknowledge(*, actor: Principal, request_id: int) -> HelpRequest:
    """Mark a request as seen by a person. Does not stop the first-response deadline."""
    request = _locked_request(actor, request_id)
    if request.acknowledged_at is None:
        request.acknowledged_at = clock.now()
        if request.status == RequestStatus.RECEIVED:
            request.status = RequestStatus.ACKNOWLEDGED
        request.version += 1
        request.save(update_fields=["acknowledged_at", "status", "version"])
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_ACKNOWLEDGED,
            target_type="help_request",
            target_id=request.pk,
            metadata=selectors.access_via(actor, request),
        )
    return request


@transaction.atomic
def help_request_assign(*, actor: Principal, request_id: int, user_id: int) -> HelpRequest:
    """Assign to a member of the agency holding the request who can act on requests. A partner
    agency that was alerted may answer the request but not hand it to someone."""
    request = _locked_request(actor, request_id)
    if not policies.can_assign_request(actor, request):
        raise ValidationFailed({"user": ["Only the agency holding this request assigns it."]})
    allowed_roles = [Role.INTAKE_OFFICER, Role.CASE_WORKER, Role.SUPERVISOR]
    if user_id not in active_member_ids(request.assigned_agency_id, allowed_roles):
        raise ValidationFailed({"user": ["This person cannot take requests in your agency."]})
    request.assigned_user_id = user_id
    if request.acknowledged_at is None:
        request.acknowledged_at = clock.now()
        request.status = RequestStatus.ACKNOWLEDGED
    request.version += 1
    request.save(update_fields=["assigned_user", "acknowledged_at", "status", "version"])
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_ASSIGNED,
        target_type="help_request",
        target_id=request.pk,
        metadata={"user": user_id},
    )
    return request


@transaction.atomic
def help_request_respond(*, actor: Principal, request_id: int) -> HelpRequest:
    """Record the first response (a call back, a message, a visit). Stops escalation."""
    request = _locked_request(actor, request_id)
    if request.first_response_at is None:
        now = clock.now()
        request.first_response_at = now
        request.acknowledged_at = request.acknowledged_at or now
        request.status = RequestStatus.RESPONDED
        request.next_escalation_at = None
        request.version += 1
        request.save(
            update_fields=[
                "first_response_at",
                "acknowledged_at",
                "status",
                "next_escalation_at",
                "version",
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_RESPONDED,
            target_type="help_request",
            target_id=request.pk,
            metadata=selectors.access_via(actor, request),
        )
    return request


# --- the sweeper --------------------------------------------------------------------------

SWEEP_BATCH = 500
_LADDER_ROLES = (Role.INTAKE_OFFICER, Role.SUPERVISOR, Role.AGENCY_ADMIN)
_Policies = dict[int, tuple[IntakeSettings, deadlines.DeadlinePolicy]]
_Members = dict[tuple[int, str], list[int]]


def sweep(*, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Escalate every request past its deadline with no first response.

    Reads only rows whose `next_escalation_at` has passed (an index range), so the cost follows
    the number of requests due, not the number open. Each batch is one transaction of a fixed
    number of queries: the due rows (locked, skipping rows another sweeper holds), settings and
    members of their agencies, the levels already recorded, then one bulk insert each of
    escalations, outbox messages and audit events and one bulk update of the requests. Each
    level is a unique row and the request's level moves in the same transaction: running the
    sweep twice, or two sweepers at once, records it once.
    """
    now = clock.now()
    escalated = 0
    looked_at = 0
    # Settings and members change rarely; one read per agency per sweep, not per request.
    by_agency: _Policies = {}
    members: _Members = {}
    last_id = 0
    while True:
        with transaction.atomic():
            due = (
                HelpRequest.objects.filter(
                    next_escalation_at__lte=now, first_response_at__isnull=True, pk__gt=last_id
                )
                .order_by("pk")
                .only(
                    "id", "assigned_agency_id", "assigned_user_id", "deadline_at",
                    "escalation_level", "next_escalation_at", "is_urgent",
                )
            )  # fmt: skip
            if connection.vendor == "postgresql":
                due = due.select_for_update(skip_locked=True)
            rows = list(due[:batch])
            if rows:
                escalated += _escalate_batch(rows, now, by_agency, members)
        looked_at += len(rows)
        if len(rows) < batch:
            break
        last_id = rows[-1].pk
    return {"looked_at": looked_at, "escalated": escalated}


def _policy_of(conf: IntakeSettings) -> deadlines.DeadlinePolicy:
    return deadlines.DeadlinePolicy(
        urgent_minutes=conf.urgent_minutes,
        normal_minutes=conf.normal_minutes,
        urgent_step_minutes=conf.urgent_step_minutes,
        normal_step_minutes=conf.normal_step_minutes,
        timezone=conf.timezone,
        opens_at=conf.opens_at,
        closes_at=conf.closes_at,
        working_days=conf.working_days,
    )


def _load_policies(agency_ids: set[int], by_agency: _Policies) -> None:
    missing = agency_ids - by_agency.keys()
    if not missing:
        return
    for conf in IntakeSettings.objects.filter(agency_id__in=missing):
        by_agency[conf.agency_id] = (conf, _policy_of(conf))
    for agency_id in missing - by_agency.keys():  # an agency that never saved its settings
        conf, _ = IntakeSettings.objects.get_or_create(agency_id=agency_id)
        by_agency[agency_id] = (conf, _policy_of(conf))


def _load_members(agency_ids: set[int], members: _Members, loaded: set[int]) -> None:
    missing = agency_ids - loaded
    if not missing:
        return
    found: dict[tuple[int, str], set[int]] = {}
    for agency_id, role, user_id in Membership.objects.filter(
        agency_id__in=missing, role__in=_LADDER_ROLES, is_active=True, user__is_active=True
    ).values_list("agency_id", "role", "user_id"):
        found.setdefault((agency_id, role), set()).add(user_id)
    for agency_id in missing:
        for role in _LADDER_ROLES:
            members[(agency_id, role)] = sorted(found.get((agency_id, role), set()))
    loaded |= missing


def _recipients(
    request: HelpRequest, code: str, conf: IntakeSettings, members: _Members
) -> tuple[int, list[int]]:
    """(agency notified, users notified) at one rung of the ladder."""
    agency_id = request.assigned_agency_id
    if code == EscalationLevel.ASSIGNED_OFFICER:
        if request.assigned_user_id:
            return agency_id, [request.assigned_user_id]
        return agency_id, members[(agency_id, Role.INTAKE_OFFICER)]
    if code == EscalationLevel.SUPERVISORS:
        return agency_id, members[(agency_id, Role.SUPERVISOR)]
    if code == EscalationLevel.AGENCY_ADMIN:
        return agency_id, members[(agency_id, Role.AGENCY_ADMIN)]
    partner_id = conf.partner_agency_id or agency_id
    users = members[(partner_id, Role.SUPERVISOR)] + members[(partner_id, Role.AGENCY_ADMIN)]
    return partner_id, sorted(set(users))


def _escalate_batch(
    rows: list[HelpRequest], now: datetime, by_agency: _Policies, members: _Members
) -> int:
    """Record every level now due on each (locked) request; return how many were recorded."""
    _load_policies({r.assigned_agency_id for r in rows}, by_agency)
    partners = {conf.partner_agency_id for conf, _ in by_agency.values() if conf.partner_agency_id}
    loaded = {agency_id for agency_id, _role in members}
    _load_members({r.assigned_agency_id for r in rows} | partners, members, loaded)
    # Normally empty: a level exists only if the request's own level already counts it. Read
    # anyway, so a request whose level fell behind its escalations heals instead of failing.
    recorded = set(
        Escalation.objects.filter(request_id__in=[r.pk for r in rows]).values_list(
            "request_id", "level"
        )
    )
    escalations: list[Escalation] = []
    messages: list[OutboxMessage] = []
    events: list[AuditEntry] = []
    for request in rows:
        conf, policy = by_agency[request.assigned_agency_id]
        max_level = len(LADDER) if conf.partner_agency_id else len(LADDER) - 1
        levels = deadlines.levels_due(
            now, request.deadline_at, request.escalation_level, max_level,
            urgent=request.is_urgent, policy=policy,
        )  # fmt: skip
        for level in levels:
            if (request.pk, level) in recorded:
                continue
            code = LADDER[level - 1]
            target_agency_id, users = _recipients(request, code, conf, members)
            escalations.append(
                Escalation(request_id=request.pk, level=level, target=code,
                           target_agency_id=target_agency_id, notified_user_ids=users,
                           created_at=now)
            )  # fmt: skip
            messages.append(
                OutboxMessage(kind="escalation", dedupe_key=f"esc:{request.pk}:{level}",
                              payload={"request_id": request.pk, "user_ids": users},
                              created_at=now, available_at=now)
            )  # fmt: skip
            events.append(
                AuditEntry(AuditAction.REQUEST_ESCALATED, "help_request", request.pk,
                           {"level": level, "target": str(code)}, request.assigned_agency_id)
            )  # fmt: skip
        top = max(levels) if levels else request.escalation_level
        following = top + 1
        request.escalation_level = top
        request.next_escalation_at = (
            deadlines.escalation_due_at(request.deadline_at, following,
                                        urgent=request.is_urgent, policy=policy)
            if following <= max_level
            else None
        )  # fmt: skip
    Escalation.objects.bulk_create(escalations)
    OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
    audit_record_many(actor=SWEEPER, entries=events)
    _save_levels(rows)
    return len(escalations)


def _save_levels(rows: list[HelpRequest]) -> None:
    """Write each request's level and next sweep time in one statement."""
    if connection.vendor != "postgresql":
        HelpRequest.objects.bulk_update(rows, ["escalation_level", "next_escalation_at"])
        return
    # bulk_update builds a CASE branch per row, which costs more Python time than the whole
    # rest of a 500-row batch; three arrays cost the same for any batch size.
    # nosemgrep: lifeline-raw-sql -- sweeper: escalation columns by id, values bound
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE intake_helprequest AS r "
            "SET escalation_level = v.level, next_escalation_at = v.next_at "
            "FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[]) AS v(id, level, next_at) "
            "WHERE r.id = v.id",
            [
                [r.pk for r in rows],
                [r.escalation_level for r in rows],
                [r.next_escalation_at for r in rows],
            ],
        )


def sweep_job() -> dict[str, Any]:
    return dict(sweep())


# --- the outbox ---------------------------------------------------------------------------

OUTBOX_BATCH = 100


def outbox_deliver(*, limit: int = OUTBOX_BATCH) -> dict[str, int]:
    """Deliver due outbox rows: at least once (a crash before COMMIT redelivers), handled once
    (each notification has a unique dedupe key, so a redelivery creates nothing new)."""
    now = clock.now()
    delivered = failed = 0
    ids = list(
        OutboxMessage.objects.filter(delivered_at__isnull=True, available_at__lte=now)
        .order_by("available_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            rows = OutboxMessage.objects.filter(pk=pk, delivered_at__isnull=True)
            if connection.vendor == "postgresql":
                rows = rows.select_for_update(skip_locked=True)
            message = rows.first()
            if message is None:
                continue
            try:
                with transaction.atomic():
                    _handle(message, now)
                message.delivered_at = now
                delivered += 1
            except Exception as exc:  # delivery failures are retried with back-off, not lost
                message.attempts += 1
                message.last_error = type(exc).__name__[:200]
                message.available_at = now + timedelta(seconds=min(3600, 2**message.attempts))
                failed += 1
                logger.warning("outbox %s failed: %s", message.pk, type(exc).__name__)
            message.save(update_fields=["delivered_at", "attempts", "last_error", "available_at"])
    return {"delivered": delivered, "failed": failed}


def _handle(message: OutboxMessage, now: datetime) -> None:
    payload = message.payload
    request_id = payload.get("request_id")
    emails: list[str] = []
    for user_id in payload.get("user_ids", []):
        _note, created = Notification.objects.get_or_create(
            dedupe_key=f"{message.dedupe_key}:{user_id}",
            defaults={"user_id": user_id, "kind": message.kind, "request_id": request_id,
                      "created_at": now},
        )  # fmt: skip
        if created:
            email = User.objects.filter(pk=user_id).values_list("email", flat=True).first()
            if email:
                emails.append(email)
    if emails and getattr(settings, "LIFELINE_SEND_EMAIL", True):
        # No person's details in email: only that something needs attention, and where.
        send_mail(
            subject="Lifeline: a help request needs attention",
            message="A help request in your agency needs attention. Open Lifeline to see it.",
            from_email=None,
            recipient_list=emails,
            fail_silently=False,
        )


def outbox_job() -> dict[str, Any]:
    return dict(outbox_deliver())


# --- public form throttle -----------------------------------------------------------------


def throttle_allow(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit for `key` in the current window; False once `limit` is exceeded.

    Called before anything is stored, so a throttled submission is refused (429), never half
    accepted. Keys are hashed client addresses, never the address itself.
    """
    now = clock.now()
    epoch = int(now.timestamp()) // window_seconds * window_seconds
    window_start = datetime.fromtimestamp(epoch, tz=now.tzinfo)
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{key}".encode()).hexdigest()
    with transaction.atomic():
        bucket, _ = ThrottleBucket.objects.get_or_create(key=digest, window_start=window_start)
        ThrottleBucket.objects.filter(pk=bucket.pk).update(count=F("count") + 1)
        count = ThrottleBucket.objects.values_list("count", flat=True).get(pk=bucket.pk)
    return count <= limit


def status_check(*, reference_text: str, code: str) -> HelpRequest | None:
    """The request for this reference *and* code, or None (same answer for either mismatch)."""
    ref = reference.normalise_reference(reference_text)
    found = HelpRequest.objects.filter(reference=ref).first() if ref else None
    # Bytes, not str: compare_digest refuses non-ASCII str, and a Khmer keyboard types just that.
    given = (code or "").strip().upper().encode()
    if found is None:
        secrets.compare_digest(b"x" * 6, given.ljust(6)[:6])
        return None
    if not secrets.compare_digest(found.status_code.encode(), given):
        return None
    return found
