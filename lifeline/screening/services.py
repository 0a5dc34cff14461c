"""Writes for screening: start (behind the safety and consent gate), save answers, finish with
the computed suggestion, override with a reason; and recording official determinations.

Every write is one transaction with its audit event: either all of it is stored, or none.
Interviews carry a version; a save with a stale version is refused (Conflict), never merged.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from lifeline.accounts.models import Agency
from lifeline.accounts.principal import Principal
from lifeline.audit.models import AuditAction
from lifeline.audit.services import audit_record
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.intake.models import HelpRequest
from lifeline.intake.validation import COUNTRIES
from lifeline.people.models import PersonRecord

from . import instruments, policies
from .instrument import Answer, Instrument, Role
from .models import (
    DeterminationValue,
    IndicatorResponse,
    InterviewStatus,
    NotVictimReason,
    OfficialDetermination,
    ScreeningInterview,
    SuggestedOutcome,
)
from .rule import Completeness, Suggestion, suggest

NOTE_MAX = 1000
CALLBACK_MAX = 500
REASON_MAX = 2000
REFERENCE_MAX = 100
AUTHORITY_MAX = 200


def _text(value: Any, *, max_length: int, field: str, errors: dict[str, list[str]]) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        errors.setdefault(field, []).append(_("Remove the invisible control characters."))
    if len(text) > max_length:
        errors.setdefault(field, []).append(
            _("This text is too long: keep it under %(max)d characters.") % {"max": max_length}
        )
    return text


# --- starting: the gate -----------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """Section A as answered. `proceed` is False when it is not safe to talk, someone may be
    listening, or the person did not agree to the interview."""

    safe_to_talk: bool
    private: bool
    consent_interview: bool
    consent_recording: bool
    right_to_stop_explained: bool
    interpreter_used: bool
    language: str

    @property
    def proceed(self) -> bool:
        return self.safe_to_talk and self.private and self.consent_interview


def gate_clean(instrument: Instrument, answers: Mapping[str, Any]) -> Gate:
    """Read section A. Safety comes first: once an answer says stop, later ones are not needed
    (the interviewer may have had to end the call)."""
    errors: dict[str, list[str]] = {}

    def answer(role: Role, *, needed: bool) -> bool:
        item = instrument.with_role(role)[0]
        value = str(answers.get(item.id) or "")
        if value not in (Answer.YES, Answer.NO):
            if needed:
                errors[item.id] = [_("Answer yes or no.")]
            return False
        return value == Answer.YES

    safe = answer(Role.GATE_SAFE, needed=True)
    private = answer(Role.GATE_PRIVATE, needed=safe)
    consent = answer(Role.GATE_CONSENT_INTERVIEW, needed=safe and private)
    proceed = safe and private and consent
    recording = answer(Role.GATE_CONSENT_RECORDING, needed=False)
    right_to_stop = answer(Role.GATE_RIGHT_TO_STOP, needed=False)
    interpreter = answer(Role.GATE_INTERPRETER, needed=False)
    if proceed and not right_to_stop:
        item = instrument.with_role(Role.GATE_RIGHT_TO_STOP)[0]
        errors[item.id] = [
            _("Explain that the person may stop at any time before the interview starts.")
        ]
    language = str(answers.get("a_language") or "")
    if language and not (instrument.has("a_language") and
                         instrument.item("a_language").accepts(language)):  # fmt: skip
        errors["a_language"] = [_("Choose one of the listed options.")]
    if errors:
        raise ValidationFailed(errors)
    return Gate(
        safe_to_talk=safe,
        private=private if safe else False,
        consent_interview=consent if proceed else False,
        consent_recording=recording if proceed else False,
        right_to_stop_explained=right_to_stop if proceed else False,
        interpreter_used=interpreter if proceed else False,
        language=language if proceed else "",
    )


def _person_for(
    actor: Principal, person_id: int, owner_agency_id: int | None, *, check: Any
) -> PersonRecord:
    person = PersonRecord.objects.filter(pk=person_id).first()
    if person is None or not check(actor, person, owner_agency_id):
        raise NotFound
    return person


def _same_question(earlier: Instrument, current: Instrument, item_id: str) -> bool:
    """Whether an answer to `item_id` under `earlier` answers the same question under `current`
    (same wording, options and meaning to the rule), so that it may be copied over."""
    return (
        earlier.has(item_id)
        and current.has(item_id)
        and earlier.item(item_id) == current.item(item_id)
    )


@transaction.atomic
def interview_start(
    *,
    actor: Principal,
    person_id: int,
    gate: Mapping[str, Any],
    callback_plan: str = "",
    help_request_id: int | None = None,
    reuse_previous: bool = False,
    owner_agency_id: int | None = None,
) -> ScreeningInterview:
    """Open an interview with a person, gate first.

    If it is not safe to talk, someone may be listening, or the person does not agree, the
    interview is recorded as stopped and holds only the gate answers and the callback plan: no
    other answer can ever be added to it (WHO principles 1 and 6; domain-model E1).
    With `reuse_previous`, the answers of this agency's last finished interview of the person
    are copied in, so nobody is asked the same painful questions twice (E7). That interview may
    be of an earlier instrument version: only answers to items the current version asks the
    same way are copied, and new items are left to ask.
    """
    person = _person_for(actor, person_id, owner_agency_id, check=policies.can_screen_person)
    assert actor.agency is not None  # noqa: S101 — can_screen_person implies an agency
    instrument = instruments.current()
    checked = gate_clean(instrument, gate)
    errors: dict[str, list[str]] = {}
    plan = _text(callback_plan, max_length=CALLBACK_MAX, field="callback_plan", errors=errors)
    request = None
    if help_request_id is not None:
        request = HelpRequest.objects.filter(
            pk=help_request_id, assigned_agency=actor.agency
        ).first()
        if request is None:
            errors["help_request"] = [_("There is no such help request in your agency.")]
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    previous = None
    if checked.proceed and reuse_previous:
        previous = (
            ScreeningInterview.objects.filter(
                agency=actor.agency, person=person,
                instrument_version__in=list(instruments.INSTRUMENTS),
                status__in=(InterviewStatus.COMPLETE, InterviewStatus.PARTIAL),
            ).order_by("-completed_at", "-pk").first()
        )  # fmt: skip
    interview = ScreeningInterview.objects.create(
        agency=actor.agency,
        person=person,
        help_request=request,
        interviewer=actor.user,
        instrument_version=instrument.version,
        status=InterviewStatus.IN_PROGRESS if checked.proceed else InterviewStatus.STOPPED_UNSAFE,
        started_at=now,
        updated_at=now,
        completed_at=None if checked.proceed else now,
        safe_to_talk=checked.safe_to_talk,
        private=checked.private,
        consent_interview=checked.consent_interview,
        consent_recording=checked.consent_recording,
        right_to_stop_explained=checked.right_to_stop_explained,
        interpreter_used=checked.interpreter_used,
        language=checked.language,
        callback_plan=plan,
        reused_from=previous,
    )
    if previous is not None:
        asked = instruments.get(previous.instrument_version)
        IndicatorResponse.objects.bulk_create(
            IndicatorResponse(
                interview=interview, item_id=r.item_id, value=r.value, note=r.note,
                answered_at=r.answered_at, answered_by_id=r.answered_by_id,
            )
            for r in previous.responses.all()
            if _same_question(asked, instrument, r.item_id)
        )  # fmt: skip
    if checked.proceed:
        interview.age_years = _age(interview)
        interview.save(update_fields=["age_years"])
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_CREATED,
        target_type="screening_interview",
        target_id=interview.pk,
        agency_id=actor.agency.pk,
        metadata={
            "person": person.pk,
            "status": interview.status,
            "instrument": instrument.version,
            "reused_from": previous.pk if previous is not None else None,
            "help_request": request.pk if request is not None else None,
        },
    )
    return interview


# --- answering --------------------------------------------------------------------------------


def _locked_interview(
    actor: Principal, interview_id: int, expected_version: int
) -> ScreeningInterview:
    if actor.agency is None:
        raise NotFound
    interview = (
        ScreeningInterview.objects.select_for_update()
        .filter(pk=interview_id, agency=actor.agency)
        .first()
    )
    if interview is None or not policies.can_edit_interview(actor, interview):
        raise NotFound
    if interview.version != expected_version:
        raise Conflict(
            _("This interview was changed by someone else since you opened it. Nothing was saved.")
        )
    return interview


def _ensure_open(interview: ScreeningInterview) -> None:
    if interview.status == InterviewStatus.STOPPED_UNSAFE:
        raise Conflict(
            _("This interview was stopped because it was not safe to talk; start a new one.")
        )
    if interview.status != InterviewStatus.IN_PROGRESS:
        raise Conflict(_("This interview is finished; its answers can no longer change."))


@dataclass(frozen=True)
class _Changes:
    answers: dict[str, str | None]  # None clears the answer
    notes: dict[str, str]
    assessment_note: str | None


def _clean_changes(
    instrument: Instrument,
    answers: Mapping[str, Any] | None,
    notes: Mapping[str, Any] | None,
    assessment_note: str | None,
) -> _Changes:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str | None] = {}
    for item_id, raw in (answers or {}).items():
        if not instrument.has(item_id) or instrument.item(item_id).section == "A":
            errors[item_id] = [_("This question is not part of the interview.")]
            continue
        value = None if raw is None else str(raw).strip()
        if not value:
            cleaned[item_id] = None
        elif instrument.item(item_id).accepts(value):
            cleaned[item_id] = value
        else:
            errors[item_id] = [_("This answer is not one of the allowed answers.")]
    cleaned_notes: dict[str, str] = {}
    for item_id, raw in (notes or {}).items():
        if not instrument.has(item_id) or instrument.item(item_id).section == "A":
            errors[f"note_{item_id}"] = [_("This question is not part of the interview.")]
            continue
        cleaned_notes[item_id] = _text(
            raw, max_length=NOTE_MAX, field=f"note_{item_id}", errors=errors
        )
    note = None
    if assessment_note is not None:
        note = _text(assessment_note, max_length=REASON_MAX, field="assessment_note", errors=errors)
    if errors:
        raise ValidationFailed(errors)
    return _Changes(cleaned, cleaned_notes, note)


def _apply(actor: Principal, interview: ScreeningInterview, changes: _Changes) -> list[str]:
    """Write the answers; returns the ids of the items that changed."""
    now = clock.now()
    existing = {r.item_id: r for r in interview.responses.all()}
    changed: list[str] = []
    for item_id in sorted(set(changes.answers) | set(changes.notes)):
        value = changes.answers.get(
            item_id, existing[item_id].value if item_id in existing else None
        )
        note = changes.notes.get(item_id, existing[item_id].note if item_id in existing else "")
        row = existing.get(item_id)
        if value is None and not note:
            if row is not None:
                row.delete()
                changed.append(item_id)
            continue
        if row is not None and row.value == (value or "") and row.note == note:
            continue
        IndicatorResponse.objects.update_or_create(
            interview=interview,
            item_id=item_id,
            defaults={"value": value or "", "note": note, "answered_at": now,
                      "answered_by": actor.user},
        )  # fmt: skip
        changed.append(item_id)
    if changes.assessment_note is not None:
        interview.assessment_note = changes.assessment_note
    interview.age_years = _age(interview)
    interview.updated_at = now
    interview.version += 1
    return changed


def _age(interview: ScreeningInterview) -> int | None:
    """Age in years: what the person said, else from the date of birth on their record.

    With only a year of birth we take the younger of the two possible ages, so a person who may
    be 17 is treated as a child (presumption of minority, domain-model E10).
    """
    instrument = instruments.get(interview.instrument_version)
    age_item = instrument.with_role(Role.AGE)[0]
    said = interview.responses.filter(item_id=age_item.id).values_list("value", flat=True).first()
    if said and said.isdigit():
        return int(said)
    return age_from_date_of_birth(interview.person.date_of_birth, clock.now().date())


def age_from_date_of_birth(dob: str, today: date) -> int | None:
    """Completed years on `today` for "YYYY-MM-DD", "YYYY-MM" or "YYYY"; the youngest possible
    age when the day or month is unknown."""
    parts = [int(p) for p in dob.split("-") if p.isdigit()] if dob else []
    if not parts:
        return None
    year = parts[0]
    if len(parts) == 1:
        had_birthday = False  # it may still be ahead this year
    elif len(parts) == 2:
        had_birthday = today.month > parts[1]
    else:
        had_birthday = (today.month, today.day) >= (parts[1], parts[2])
    return max(0, today.year - year - (0 if had_birthday else 1))


@transaction.atomic
def interview_save(
    *,
    actor: Principal,
    interview_id: int,
    expected_version: int,
    answers: Mapping[str, Any] | None = None,
    notes: Mapping[str, Any] | None = None,
    assessment_note: str | None = None,
) -> ScreeningInterview:
    """Save any subset of answers ("save and continue later"). Items not mentioned keep their
    answers; an empty answer clears one. A stale `expected_version` changes nothing."""
    interview = _locked_interview(actor, interview_id, expected_version)
    _ensure_open(interview)
    instrument = instruments.get(interview.instrument_version)
    changes = _clean_changes(instrument, answers, notes, assessment_note)
    changed = _apply(actor, interview, changes)
    interview.save()
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_UPDATED,
        target_type="screening_interview",
        target_id=interview.pk,
        metadata={"items": changed, "version": interview.version},
    )
    return interview


def interview_suggestion(interview: ScreeningInterview, *, completeness: str) -> Suggestion:
    """Run the rule on the stored answers of `interview` (no writes, no audit)."""
    answers = dict(interview.responses.values_list("item_id", "value"))
    instrument = instruments.get(interview.instrument_version)
    return suggest(instrument, answers, age=interview.age_years, completeness=completeness)


@transaction.atomic
def interview_complete(
    *,
    actor: Principal,
    interview_id: int,
    expected_version: int,
    partial: bool = False,
    answers: Mapping[str, Any] | None = None,
    notes: Mapping[str, Any] | None = None,
    assessment_note: str | None = None,
) -> ScreeningInterview:
    """Finish the interview: save the last answers, compute the suggestion and store it with
    its reasons. `partial` when the conversation ended before every section was asked."""
    interview = _locked_interview(actor, interview_id, expected_version)
    _ensure_open(interview)
    instrument = instruments.get(interview.instrument_version)
    changes = _clean_changes(instrument, answers, notes, assessment_note)
    changed = _apply(actor, interview, changes)
    completeness = Completeness.PARTIAL if partial else Completeness.COMPLETE
    result = interview_suggestion(interview, completeness=completeness)
    now = clock.now()
    interview.status = InterviewStatus.PARTIAL if partial else InterviewStatus.COMPLETE
    interview.completed_at = now
    interview.suggested_outcome = result.outcome.value
    interview.suggested_flags = [f.value for f in result.flags]
    interview.suggestion_reasons = result.as_dict()
    interview.dimension_scores = result.dimensions_dict()
    interview.suggested_at = now
    interview.save()
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_TRANSITIONED,
        target_type="screening_interview",
        target_id=interview.pk,
        metadata={"status": interview.status, "outcome": result.outcome.value,
                  "flags": interview.suggested_flags, "items": changed,
                  "version": interview.version},
    )  # fmt: skip
    return interview


@transaction.atomic
def interview_override(
    *,
    actor: Principal,
    interview_id: int,
    expected_version: int,
    outcome: str,
    reason: str,
) -> ScreeningInterview:
    """Replace the suggested outcome with the interviewer's own, giving a written reason. The
    computed suggestion and its reasons stay stored beside it; nothing is overwritten."""
    interview = _locked_interview(actor, interview_id, expected_version)
    if not interview.is_finished:
        raise Conflict(_("Finish the interview before overriding its suggestion."))
    errors: dict[str, list[str]] = {}
    if outcome not in SuggestedOutcome.values:
        errors["outcome"] = [_("Choose one of the listed outcomes.")]
    text = _text(reason, max_length=REASON_MAX, field="reason", errors=errors)
    if not text and "reason" not in errors:
        errors["reason"] = [_("Write why you override the suggestion.")]
    if errors:
        raise ValidationFailed(errors)
    previous = interview.outcome
    now = clock.now()
    interview.override_outcome = outcome
    interview.override_reason = text
    interview.overridden_by = actor.user
    interview.overridden_at = now
    interview.updated_at = now
    interview.version += 1
    interview.save()
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_UPDATED,
        target_type="screening_interview",
        target_id=interview.pk,
        metadata={"change": "override", "from": previous, "to": outcome,
                  "suggested": interview.suggested_outcome, "version": interview.version},
    )  # fmt: skip
    return interview


# --- official determinations ------------------------------------------------------------------


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    return None


def determination_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an official determination as transcribed from the authority's decision."""
    errors: dict[str, list[str]] = {}
    value = str(data.get("value") or "")
    if value not in DeterminationValue.values:
        errors["value"] = [_("Choose one of the listed decisions.")]
    authority = None
    authority_id = str(data.get("authority_id") or "").strip()
    if authority_id:
        authority = (
            Agency.objects.filter(pk=int(authority_id)).first() if authority_id.isdigit() else None
        )
        if authority is None:
            errors["authority_id"] = [_("There is no such agency.")]
    name = _text(data.get("authority_name"), max_length=AUTHORITY_MAX, field="authority_name",
                 errors=errors)  # fmt: skip
    if not name and authority is not None:
        name = authority.name
    if not name and "authority_name" not in errors:
        errors["authority_name"] = [_("Name the authority that decided.")]
    country = str(data.get("country") or "").strip().upper()
    if country not in COUNTRIES:
        errors["country"] = [_("Use a two-letter country code such as KH or TH.")]
    decision_date = None
    raw_date = data.get("decision_date")
    if isinstance(raw_date, date):
        decision_date = raw_date
    elif raw_date:
        try:
            decision_date = date.fromisoformat(str(raw_date).strip())
        except ValueError:
            errors["decision_date"] = [_("Give the date as YYYY-MM-DD.")]
    if decision_date is not None and decision_date > clock.now().date():
        errors["decision_date"] = [_("The decision date cannot be in the future.")]
    if decision_date is None and value and value != DeterminationValue.PENDING:
        errors.setdefault("decision_date", [_("Give the date of the decision.")])
    informed = _bool(data.get("person_informed"))
    if informed is None:
        errors["person_informed"] = [_("Say whether the person was told of the decision.")]
    reason = str(data.get("reason") or "")
    reason_note = _text(data.get("reason_note"), max_length=REASON_MAX, field="reason_note",
                        errors=errors)  # fmt: skip
    if value != DeterminationValue.NOT_VICTIM and (reason or reason_note):
        errors["reason"] = [_("Only a “not a victim” decision carries a reason.")]
    elif reason and reason not in NotVictimReason.values:
        errors["reason"] = [_("Choose one of the listed reasons.")]
    reference = _text(data.get("reference_number"), max_length=REFERENCE_MAX,
                      field="reference_number", errors=errors)  # fmt: skip
    if errors:
        raise ValidationFailed(errors)
    return {
        "value": value,
        "authority": authority,
        "authority_name": name,
        "country": country,
        "decision_date": decision_date,
        "reference_number": reference,
        "person_informed": bool(informed),
        "reason": reason,
        "reason_note": reason_note,
    }


@transaction.atomic
def determination_record(
    *,
    actor: Principal,
    person_id: int,
    data: Mapping[str, Any],
    owner_agency_id: int | None = None,
) -> OfficialDetermination:
    """Record what an authority decided about a person. It is kept apart from any suggestion
    and never changes one; a later decision is a new record, so the history stays visible."""
    person = _person_for(actor, person_id, owner_agency_id, check=policies.can_record_determination)
    assert actor.agency is not None  # noqa: S101 — the policy implies an agency
    cleaned = determination_clean(data)
    determination = OfficialDetermination.objects.create(
        person=person,
        recording_agency=actor.agency,
        recorded_by=actor.user,
        recorded_at=clock.now(),
        **cleaned,
    )
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_CREATED,
        target_type="official_determination",
        target_id=determination.pk,
        agency_id=actor.agency.pk,
        metadata={"person": person.pk, "value": determination.value,
                  "country": determination.country,
                  "authority": determination.authority_id},
    )  # fmt: skip
    return determination
