"""Writes to cases. Each service checks access, validates, saves, records the timeline event and
the audit event in one transaction. Refusals raise NotFound (no access looks like not-found),
ValidationFailed (bad input, named per field) or Conflict (stale version, illegal move)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from lifeline.accounts.models import Agency, Membership, Role
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal
from lifeline.accounts.selectors import active_member_ids
from lifeline.audit.models import AuditAction
from lifeline.audit.services import SYSTEM, AuditActor, audit_record
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.intake import deadlines
from lifeline.intake.reference import new_reference
from lifeline.people.models import PersonRecord

from . import forms, selectors, workflow
from .models import (
    AuthorityRequest,
    Case,
    CaseEvent,
    CaseNotice,
    CasePerson,
    CaseShare,
    Consent,
    ConsentScope,
    LifeThreatOverride,
    PersonRole,
    Section,
    ServicePlan,
    Task,
)
from .selectors import Access
from .workflow import State

MAX_OVERRIDE_HOURS = 24


def _errors(form: Any) -> dict[str, list[str]]:
    return {field: [str(m) for m in msgs] for field, msgs in form.errors.items()}


def _event(
    case: Case,
    actor: Principal | None,
    kind: str,
    *,
    section: str = Section.SUMMARY,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    now: datetime | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        at=now or clock.now(),
        actor_id=actor.user_id if actor else None,
        agency_id=actor.agency_id if actor else None,
        kind=kind,
        section=section,
        from_state=from_state,
        to_state=to_state,
        note=note[:2000],
    )


def _touch(case: Case, now: datetime) -> None:
    case.version += 1
    case.updated_at = now
    case.save(
        update_fields=[
            "version",
            "updated_at",
            "state",
            "paused_from",
            "closed_at",
            "closure_reason",
            "owner_agency",
            "primary_worker",
        ]
    )


def _agency_id(principal: Principal) -> int:
    if principal.agency_id is None:
        raise NotFound
    return principal.agency_id


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise NotFound
    return principal.user_id


def case_write_allowed(
    principal: Principal,
    reference: str,
    *,
    section: str,
    capability: Capability = Capability.CASE_EDIT,
    owner_only: bool = False,
) -> bool:
    """Read-only twin of the check in `_case_for_write`, for views that validate a form before
    calling the service: a refusal must look the same (404) whatever the body was."""
    if not principal.has(capability):
        return False
    case = selectors.visible_to(principal).filter(reference=reference).first()
    if case is None:
        return False
    access = selectors.case_access(principal, case)
    return access.can_see(section) and (access.is_owner or not owner_only)


def _case_for_write(
    principal: Principal,
    reference: str,
    *,
    section: str,
    expected_version: int | None = None,
    capability: Capability = Capability.CASE_EDIT,
) -> tuple[Case, Access]:
    """Lock the case for this change, or refuse as not-found when the principal may not make it."""
    if not principal.has(capability):
        raise NotFound
    case = selectors.visible_to(principal).select_for_update().filter(reference=reference).first()
    if case is None:
        raise NotFound
    access = selectors.case_access(principal, case)
    if not access.can_see(section):
        raise NotFound
    if expected_version is not None and case.version != expected_version:
        raise Conflict(
            "This case was changed by someone else since you opened it. Reload to see the "
            "change, then try again."
        )
    return case, access


def _audit(
    principal: AuditActor,
    action: str,
    target_type: str,
    target_id: Any,
    agency_id: int | None = None,
    **metadata: Any,
) -> None:
    audit_record(
        actor=principal,
        action=action,
        target_type=target_type,
        target_id=target_id,
        metadata=metadata,
        agency_id=agency_id,
    )


def _notify(case: Case, user_ids: Sequence[int], kind: str, key: str, now: datetime) -> None:
    for user_id in user_ids:
        CaseNotice.objects.get_or_create(
            dedupe_key=f"{kind}:{key}:{user_id}"[:128],
            defaults={"user_id": user_id, "kind": kind, "case": case, "created_at": now},
        )


# --- opening a case -----------------------------------------------------------------------


@dataclass(frozen=True)
class CaseOpenInput:
    summary: str = ""
    destination_country: str = ""
    is_urgent: bool = False


def case_open_input_clean(raw: Mapping[str, Any]) -> CaseOpenInput:
    form = forms.CaseOpenForm(data=raw)
    if not form.is_valid():
        raise ValidationFailed(_errors(form))
    return CaseOpenInput(**form.cleaned_data)


@transaction.atomic
def case_open(
    *,
    principal: Principal,
    data: CaseOpenInput,
    victim_person_id: int | None = None,
    victim: Mapping[str, Any] | None = None,
    help_request_reference: str = "",
) -> Case:
    """Open a case for a person, from a help request or directly (walk-in).

    The victim is an existing person record of the principal's own agency, or a new one created
    here from `victim`. Opening is for intake officers, case workers and supervisors.
    """
    if (
        not principal.has(Capability.CASE_VIEW)
        or principal.agency is None
        or not principal.roles & workflow.OPENING_ROLES
    ):
        raise NotFound
    from lifeline.people import services as people_services

    now = clock.now()
    help_request = None
    if help_request_reference:
        from lifeline.intake.selectors import visible_to as requests_visible_to

        help_request = (
            requests_visible_to(principal).filter(reference=help_request_reference).first()
        )
        if help_request is None:
            raise NotFound
    if victim_person_id is not None:
        person = PersonRecord.objects.filter(pk=victim_person_id, agency=principal.agency).first()
        if person is None:
            raise NotFound
    elif victim is not None:
        person = people_services.person_record_create(principal=principal, data=dict(victim))
    else:
        raise ValidationFailed({"person": ["Choose an existing person or enter a new one."]})
    case = Case.objects.create(
        reference=new_reference("CS"),
        owner_agency=principal.agency,
        state=workflow.INITIAL,
        primary_worker=principal.user if Role.CASE_WORKER in principal.roles else None,
        opened_at=now,
        opened_by=principal.user,
        updated_at=now,
        help_request=help_request,
        destination_country=data.destination_country,
        is_urgent=data.is_urgent,
        summary=data.summary,
    )
    CasePerson.objects.create(case=case, person=person, role=PersonRole.VICTIM)
    _event(case, principal, "opened", to_state=workflow.INITIAL, now=now)
    _audit(
        principal,
        AuditAction.RECORD_CREATED,
        "case",
        case.pk,
        person=person.pk,
        help_request=help_request.pk if help_request else None,
    )
    return case


@transaction.atomic
def case_person_add(
    *,
    principal: Principal,
    reference: str,
    role: str,
    person_id: int | None = None,
    person: Mapping[str, Any] | None = None,
) -> CasePerson:
    """Link a co-victim or the reporter: an existing person record of the principal's agency,
    or a new one entered here. A second victim is a co-victim."""
    from lifeline.people import services as people_services

    case, _ = _case_for_write(principal, reference, section=Section.PERSONS)
    if role not in (PersonRole.CO_VICTIM, PersonRole.REPORTER):
        raise ValidationFailed({"role": ["Choose co-victim or reporter."]})
    if person_id is not None:
        record = PersonRecord.objects.filter(pk=person_id, agency_id=_agency_id(principal)).first()
        if record is None:
            raise NotFound
    elif person is not None:
        record = people_services.person_record_create(principal=principal, data=dict(person))
    else:
        raise ValidationFailed({"person": ["Choose an existing person or enter a new one."]})
    if case.persons.filter(person=record).exists():
        raise Conflict("This person is already linked to the case.")
    link = CasePerson.objects.create(case=case, person=record, role=role)
    _touch(case, clock.now())
    _event(case, principal, "person_added", section=Section.PERSONS)
    _audit(principal, AuditAction.RECORD_UPDATED, "case", case.pk, person=record.pk, role=role)
    return link


# --- the lifecycle ------------------------------------------------------------------------


def case_facts(case: Case, now: datetime) -> workflow.CaseFacts:
    victims = selectors.victim_person_ids(case)
    share_consent = Consent.objects.filter(
        selectors.consent_live_q("", now), person_id__in=victims, scope=ConsentScope.SHARE
    ).exists()
    override = case.overrides.filter(expires_at__gt=now).exists()
    removal = case.removals.order_by("-date", "-pk").first()
    repatriation = case.repatriations.order_by("-pk").first()
    return workflow.CaseFacts(
        has_share_consent=share_consent,
        has_life_threat_override=override,
        authority_requests_sent=case.authority_requests.count(),
        removal_recorded=removal is not None,
        removal_mode=removal.mode if removal else "",
        custody_recorded=case.custody_stays.exists(),
        repatriation_started=repatriation is not None,
        handover_recorded=bool(
            repatriation and repatriation.handover_date and repatriation.crossing_point
        ),
        service_plan_approved=case.service_plans.filter(approved_at__isnull=False).exists(),
        closure_reason=case.closure_reason,
        paused_from=case.paused_from,
    )


@transaction.atomic
def case_transition(
    *,
    principal: Principal,
    reference: str,
    target: str,
    expected_version: int,
    note: str = "",
    closure_reason: str = "",
) -> Case:
    """Move a case to its next stage, as `workflow.TRANSITIONS` allows for the principal's roles.

    A shared agency may move the case only if the workflow section was shared with it. An
    illegal move is refused with the allowed next states; a stale version is a Conflict.
    """
    # The table says which roles make which move; case.view is enough to reach the case.
    case, _ = _case_for_write(
        principal,
        reference,
        section=Section.WORKFLOW,
        expected_version=expected_version,
        capability=Capability.CASE_VIEW,
    )
    try:
        goal = State(target)
    except ValueError:
        raise ValidationFailed({"target": ["Unknown state."]}) from None
    now = clock.now()
    facts = case_facts(case, now)
    if closure_reason:
        facts = workflow.CaseFacts(**{**facts.__dict__, "closure_reason": closure_reason})
    decision = workflow.decide(State(case.state), goal, principal.roles, facts)
    if not decision.allowed:
        raise Conflict(" ".join(decision.reasons))
    previous = case.state
    if goal in workflow.PAUSED:
        case.paused_from = previous if previous not in workflow.PAUSED else case.paused_from
    elif previous in workflow.PAUSED:
        case.paused_from = ""
    case.state = goal
    if goal == State.CLOSED:
        case.closed_at = now
        case.closure_reason = closure_reason
    elif goal == State.REOPENED:
        case.closed_at = None
        case.closure_reason = ""
    _touch(case, now)
    _event(
        case,
        principal,
        "transition",
        section=Section.WORKFLOW,
        from_state=previous,
        to_state=goal,
        note=note,
        now=now,
    )
    _audit(
        principal,
        AuditAction.RECORD_TRANSITIONED,
        "case",
        case.pk,
        from_state=previous,
        to_state=str(goal),
        transition=decision.transition.number if decision.transition else "",
    )
    return case


# --- tasks --------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    principal: Principal,
    reference: str,
    title: str,
    due_at: datetime,
    assigned_to_id: int | None = None,
) -> Task:
    """A task with a due date for someone in the principal's agency."""
    case, _ = _case_for_write(principal, reference, section=Section.TASKS)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed({"title": ["This field is required."]})
    if (
        assigned_to_id is not None
        and not Membership.objects.filter(
            user_id=assigned_to_id, agency_id=_agency_id(principal), is_active=True
        ).exists()
    ):
        raise ValidationFailed({"assigned_to": ["Choose someone in your agency."]})
    now = clock.now()
    task = Task.objects.create(
        case=case,
        title=title[:300],
        due_at=due_at,
        assigned_to_id=assigned_to_id or principal.user_id,
        created_by=principal.user,
        created_at=now,
    )
    _event(case, principal, "task_created", section=Section.TASKS, now=now)
    _audit(principal, AuditAction.RECORD_CREATED, "case_task", task.pk)
    return task


@transaction.atomic
def task_complete(*, principal: Principal, reference: str, task_id: int) -> Task:
    case, _ = _case_for_write(principal, reference, section=Section.TASKS)
    task = case.tasks.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise NotFound
    if task.done_at is None:
        task.done_at = clock.now()
        task.save(update_fields=["done_at"])
        _event(case, principal, "task_done", section=Section.TASKS)
        _audit(principal, AuditAction.RECORD_UPDATED, "case_task", task.pk)
    return task


# --- consent ------------------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *, principal: Principal, reference: str, person_id: int, raw: Mapping[str, Any]
) -> Consent:
    """Record a consent given by a person of the case (or their guardian)."""
    case, access = _case_for_write(
        principal, reference, section=Section.PERSONS, capability=Capability.CONSENT_MANAGE
    )
    if not access.is_owner:  # consent is the owner agency's record of the person
        raise NotFound
    if not case.persons.filter(person_id=person_id).exists():
        raise NotFound
    form = forms.ConsentForm(data=raw)
    if not form.is_valid():
        raise ValidationFailed(_errors(form))
    consent: Consent = form.save(commit=False)
    consent.person_id = person_id
    consent.agency_id = _agency_id(principal)
    consent.recorded_by = principal.user
    consent.recorded_at = clock.now()
    consent.save()
    _event(case, principal, "consent_recorded", section=Section.PERSONS)
    _audit(
        principal,
        AuditAction.RECORD_CREATED,
        "consent",
        consent.pk,
        scope=consent.scope,
        recipient=consent.recipient_agency_id,
        purpose=consent.purpose,
    )
    return consent


@transaction.atomic
def consent_withdraw(*, principal: Principal, reference: str, consent_id: int) -> list[Agency]:
    """Withdraw a consent at once. Shares resting on it end now; returns the agencies that had
    already received the case under it, so the person can be told (domain-model E3)."""
    case, access = _case_for_write(
        principal, reference, section=Section.PERSONS, capability=Capability.CONSENT_MANAGE
    )
    if not access.is_owner:  # consent is the owner agency's record of the person
        raise NotFound
    person_ids = list(case.persons.values_list("person_id", flat=True))
    consent = (
        Consent.objects.select_for_update().filter(pk=consent_id, person_id__in=person_ids).first()
    )
    if consent is None:
        raise NotFound
    now = clock.now()
    if consent.withdrawn_at is None:
        consent.withdrawn_at = now
        consent.withdrawn_by = principal.user
        consent.save(update_fields=["withdrawn_at", "withdrawn_by"])
    shares = list(CaseShare.objects.select_related("agency").filter(consent=consent))
    recipients = sorted({s.agency for s in shares}, key=lambda a: a.pk)
    CaseShare.objects.filter(consent=consent, revoked_at__isnull=True).update(revoked_at=now)
    _event(case, principal, "consent_withdrawn", section=Section.PERSONS, now=now)
    _audit(
        principal,
        AuditAction.RECORD_UPDATED,
        "consent",
        consent.pk,
        change="withdrawn",
        shares_ended=[s.pk for s in shares],
    )
    return recipients


# --- sharing (used by referrals) ----------------------------------------------------------


def sharing_basis(
    case: Case, *, recipient_agency_id: int, purpose: str, now: datetime
) -> tuple[Consent | None, LifeThreatOverride | None]:
    """The live consent covering this recipient and purpose, else a live override for the case
    (for this recipient or any). Both None means sharing must be refused."""
    consent = selectors.share_consent_for(
        person_ids=selectors.victim_person_ids(case),
        recipient_agency_id=recipient_agency_id,
        purpose=purpose,
        now=now,
    )
    if consent is not None:
        return consent, None
    override = (
        case.overrides.filter(expires_at__gt=now)
        .filter(Q(recipient_agency_id=recipient_agency_id) | Q(recipient_agency__isnull=True))
        .order_by("-expires_at")
        .first()
    )
    return None, override


def case_share_grant(
    *,
    actor: Principal,
    case: Case,
    agency: Agency,
    sections: Sequence[str],
    consent: Consent | None,
    override: LifeThreatOverride | None,
) -> CaseShare:
    """Give `agency` access to `sections` of `case` (caller holds the case lock and checked the
    basis). Must run inside the caller's transaction."""
    clean = sorted({s for s in sections if s in Section.values} | {Section.SUMMARY})
    now = clock.now()
    share = CaseShare.objects.create(
        case=case, agency=agency, sections=clean, consent=consent, override=override, granted_at=now
    )
    _event(case, actor, "shared", section=Section.SUMMARY, now=now)
    _audit(
        actor,
        AuditAction.RECORD_CREATED,
        "case_share",
        share.pk,
        case=case.pk,
        agency=agency.pk,
        sections=clean,
    )
    return share


def case_share_revoke(*, actor: Principal, share: CaseShare) -> None:
    if share.revoked_at is None:
        share.revoked_at = clock.now()
        share.save(update_fields=["revoked_at"])
        _event(share.case, actor, "share_revoked", section=Section.SUMMARY)
        _audit(actor, AuditAction.RECORD_UPDATED, "case_share", share.pk, change="revoked")


def case_transfer_owner(*, actor: Principal, case: Case, agency: Agency) -> None:
    """The receiving agency becomes the owner; the sender keeps nothing unless shared back."""
    previous = case.owner_agency_id
    case.owner_agency = agency
    case.primary_worker = None
    _touch(case, clock.now())
    _event(case, actor, "transferred", section=Section.SUMMARY)
    _audit(
        actor,
        AuditAction.RECORD_UPDATED,
        "case",
        case.pk,
        change="owner",
        from_agency=previous,
        to_agency=agency.pk,
    )


@transaction.atomic
def override_approve(
    *,
    principal: Principal,
    reference: str,
    reason: str,
    hours: int = MAX_OVERRIDE_HOURS,
    recipient_agency_id: int | None = None,
) -> LifeThreatOverride:
    """A supervisor documents that a life is at risk and sharing cannot wait for consent.

    Time-boxed to at most 24 hours, audited, and notified to the agency's supervisors and
    data protection officers, who review it (domain-model E2).
    """
    case, access = _case_for_write(
        principal, reference, section=Section.WORKFLOW, capability=Capability.CASE_APPROVE
    )
    if not access.is_owner:
        raise NotFound
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if len(reason) < 10:
        errors["reason"] = ["Write why a life is at risk (at least 10 characters)."]
    if not 1 <= hours <= MAX_OVERRIDE_HOURS:
        errors["hours"] = [f"Between 1 and {MAX_OVERRIDE_HOURS} hours."]
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    override = LifeThreatOverride.objects.create(
        case=case,
        recipient_agency_id=recipient_agency_id,
        reason=reason,
        approved_by_id=_user_id(principal),
        approved_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    _event(case, principal, "life_threat_override", section=Section.WORKFLOW, now=now)
    _audit(
        principal,
        AuditAction.RECORD_CREATED,
        "life_threat_override",
        override.pk,
        case=case.pk,
        hours=hours,
    )
    assert principal.agency_id is not None  # noqa: S101
    recipients = active_member_ids(
        principal.agency_id, [Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER]
    )
    _notify(case, recipients, "life_threat_override", str(override.pk), now)
    return override


# --- linked records -----------------------------------------------------------------------


def _authority_policy() -> deadlines.DeadlinePolicy:
    conf = getattr(settings, "LIFELINE_AUTHORITY_SLA", {})
    return deadlines.DeadlinePolicy(
        urgent_minutes=conf.get("urgent_ack_minutes", 4 * 60),
        normal_minutes=conf.get("ack_minutes", 48 * 60),
        urgent_step_minutes=conf.get("urgent_step_minutes", 4 * 60),
        normal_step_minutes=conf.get("step_minutes", 24 * 60),
    )


AUTHORITY_LADDER = (Role.LIAISON_OFFICER, Role.SUPERVISOR, Role.AGENCY_ADMIN)
RESPONSE_DAYS = 14


@transaction.atomic
def authority_request_create(
    *, principal: Principal, reference: str, raw: Mapping[str, Any]
) -> AuthorityRequest:
    """Send a request to an authority. Needs consent covering that recipient and purpose, or a
    live life-threat override (domain-model E2); it starts the acknowledgement deadline."""
    case, _ = _case_for_write(principal, reference, section=Section.AUTHORITY)
    form = forms.AuthorityRequestForm(data=raw)
    if not form.is_valid():
        raise ValidationFailed(_errors(form))
    data = form.cleaned_data
    now = clock.now()
    recipient = data.get("recipient_agency")
    consent, override = (None, None)
    if recipient is not None:
        consent, override = sharing_basis(
            case, recipient_agency_id=recipient.pk, purpose=data["purpose"], now=now
        )
    else:
        # A consent names its recipient agency, so none covers an authority outside Lifeline:
        # only a live life-threat override for any recipient does.
        override = case.overrides.filter(expires_at__gt=now, recipient_agency__isnull=True).first()
    if consent is None and override is None:
        raise ValidationFailed(
            {
                "recipient_agency": [
                    "No consent covers this recipient and purpose, and no "
                    "life-threat exception is in force."
                ]
            }
        )
    policy = _authority_policy()
    urgent = bool(data.get("urgent")) or case.is_urgent
    ack_deadline = deadlines.first_response_deadline(now, urgent=urgent, policy=policy)
    content = data.get("content", "")
    request = AuthorityRequest.objects.create(
        case=case,
        recipient_agency=recipient,
        recipient_name=data.get("recipient_name", "") or (recipient.name if recipient else ""),
        channel=data["channel"],
        purpose=data["purpose"],
        sent_at=now,
        sent_by=principal.user,
        reference_number=data.get("reference_number", ""),
        content=content,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
        consent=consent,
        override=override,
        is_urgent=urgent,
        ack_deadline_at=ack_deadline,
        response_deadline_at=now + timedelta(days=RESPONSE_DAYS),
        next_escalation_at=ack_deadline,
    )
    _touch(case, now)
    _event(case, principal, "authority_request_sent", section=Section.AUTHORITY, now=now)
    _audit(
        principal,
        AuditAction.RECORD_CREATED,
        "authority_request",
        request.pk,
        case=case.pk,
        recipient=recipient.pk if recipient else None,
        consent=consent.pk if consent else None,
        override=override.pk if override else None,
    )
    return request


@transaction.atomic
def authority_request_update(
    *,
    principal: Principal,
    reference: str,
    request_id: int,
    acknowledged: bool = False,
    responded: bool = False,
    outcome: str = "",
) -> AuthorityRequest:
    """Record the authority's acknowledgement or response; either stops its escalation."""
    case, _ = _case_for_write(principal, reference, section=Section.AUTHORITY)
    request = case.authority_requests.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound
    now = clock.now()
    if acknowledged and request.acknowledged_at is None:
        request.acknowledged_at = now
    if responded and request.responded_at is None:
        request.responded_at = now
        request.acknowledged_at = request.acknowledged_at or now
    if outcome:
        request.outcome = outcome.strip()[:200]
    if request.acknowledged_at is not None:
        request.next_escalation_at = None
    request.save()
    _touch(case, now)
    _event(case, principal, "authority_request_updated", section=Section.AUTHORITY, now=now)
    _audit(
        principal,
        AuditAction.RECORD_UPDATED,
        "authority_request",
        request.pk,
        acknowledged=request.acknowledged_at is not None,
        responded=request.responded_at is not None,
    )
    return request


@transaction.atomic
def case_record_add(
    *, principal: Principal, reference: str, kind: str, raw: Mapping[str, Any]
) -> Any:
    """Add a linked record (removal, custody, repatriation, family assessment, service plan,
    service delivery, follow-up). Repatriation is one record per case, updated in place."""
    if kind not in forms.RECORD_FORMS:
        raise NotFound
    form_class, section = forms.RECORD_FORMS[kind]
    case, _ = _case_for_write(principal, reference, section=section)
    instance = None
    if kind == "repatriation":
        instance = case.repatriations.order_by("-pk").first()
    form = form_class(data=raw, instance=instance)  # type: ignore[call-arg]
    if not form.is_valid():
        raise ValidationFailed(_errors(form))
    record = form.save(commit=False)  # type: ignore[attr-defined]
    record.case = case
    now = clock.now()
    if kind == "service_plan":
        record.created_at = now
    record.save()
    _touch(case, now)
    _event(case, principal, f"{kind}_recorded", section=section, now=now)
    _audit(
        principal,
        AuditAction.RECORD_CREATED if instance is None else AuditAction.RECORD_UPDATED,
        f"case_{kind}",
        record.pk,
        case=case.pk,
    )
    return record


@transaction.atomic
def service_plan_approve(*, principal: Principal, reference: str, plan_id: int) -> ServicePlan:
    """A supervisor approves the reintegration plan (guard of transition 15)."""
    case, _ = _case_for_write(
        principal, reference, section=Section.SERVICES, capability=Capability.CASE_APPROVE
    )
    plan = case.service_plans.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound
    if plan.approved_at is None:
        plan.approved_at = clock.now()
        plan.approved_by = principal.user
        plan.save(update_fields=["approved_at", "approved_by"])
        _touch(case, plan.approved_at)
        _event(case, principal, "service_plan_approved", section=Section.SERVICES)
        _audit(
            principal, AuditAction.RECORD_UPDATED, "case_service_plan", plan.pk, change="approved"
        )
    return plan


# --- authority deadlines (worker) ---------------------------------------------------------


def authority_sweep(*, batch: int = 200) -> dict[str, int]:
    """Escalate requests to authorities that were not acknowledged in time, one level at a time
    up the sending agency's ladder (liaison officers, supervisors, agency admin). Idempotent."""
    now = clock.now()
    policy = _authority_policy()
    escalated = 0
    due_ids = list(
        AuthorityRequest.objects.filter(
            next_escalation_at__lte=now, acknowledged_at__isnull=True
        ).values_list("pk", flat=True)[:batch]
    )
    for request_id in due_ids:
        with transaction.atomic():
            request = (
                AuthorityRequest.objects.select_for_update()
                .select_related("case")
                .filter(pk=request_id, acknowledged_at__isnull=True, next_escalation_at__lte=now)
                .first()
            )
            if request is None:
                continue
            case = request.case
            urgent = request.is_urgent
            levels = deadlines.levels_due(
                now,
                request.ack_deadline_at,
                request.escalation_level,
                len(AUTHORITY_LADDER),
                urgent=urgent,
                policy=policy,
            )
            for level in levels:
                role = AUTHORITY_LADDER[level - 1]
                recipients = active_member_ids(case.owner_agency_id, [role])
                _notify(case, recipients, "authority_overdue", f"{request.pk}:{level}", now)
                _event(
                    case,
                    None,
                    "authority_request_overdue",
                    section=Section.AUTHORITY,
                    note=f"level {level}",
                    now=now,
                )
                audit_record(
                    actor=SYSTEM,
                    action=AuditAction.REQUEST_ESCALATED,
                    target_type="authority_request",
                    target_id=request.pk,
                    agency_id=case.owner_agency_id,
                    metadata={"level": level},
                )
                escalated += 1
            if levels:
                request.escalation_level = levels[-1]
            nxt = request.escalation_level + 1
            request.next_escalation_at = (
                deadlines.escalation_due_at(
                    request.ack_deadline_at, nxt, urgent=urgent, policy=policy
                )
                if nxt <= len(AUTHORITY_LADDER)
                else None
            )
            request.save(update_fields=["escalation_level", "next_escalation_at"])
    return {"due": len(due_ids), "escalated": escalated}


def authority_sweep_job() -> dict[str, Any]:
    return authority_sweep()


def is_overdue(request: AuthorityRequest, now: datetime) -> bool:
    return request.acknowledged_at is None and request.ack_deadline_at <= now
