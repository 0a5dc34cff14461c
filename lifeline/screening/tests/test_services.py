"""Screening services: the gate, partial saves with version checks, finishing with the stored
suggestion, overrides with reasons, official determinations; scoping and audit of each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.intake.models import HelpRequest
from lifeline.screening import instruments, selectors, services
from lifeline.screening.instrument import build
from lifeline.screening.instruments import kh_screen_1
from lifeline.screening.models import (
    IndicatorResponse,
    InterviewStatus,
    OfficialDetermination,
    ScreeningInterview,
)
from lifeline.screening.services import age_from_date_of_birth

from .conftest import POSSIBLE_VICTIM, SAFE_GATE, UNSAFE_GATE, actions, audit_count, make_person

pytestmark = pytest.mark.django_db


# --- the gate ---------------------------------------------------------------------------------


def test_safe_gate_opens_an_interview_in_progress(case_worker, person_a, start):
    interview = start(case_worker, person_a, callback_plan="Signal after 21:00, code word 'rice'")

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.IN_PROGRESS
    assert (interview.safe_to_talk, interview.private, interview.consent_interview) == (
        True, True, True,
    )  # fmt: skip
    assert (interview.instrument_version, interview.language, interview.version) == (
        instruments.CURRENT_VERSION, "km", 1,
    )  # fmt: skip
    assert interview.interviewer == case_worker
    event = AuditEvent.objects.get(action=AuditAction.RECORD_CREATED,
                                   target_type="screening_interview")  # fmt: skip
    assert event.target_id == str(interview.pk)
    assert event.metadata["status"] == "in_progress"


@pytest.mark.parametrize(
    "gate",
    [
        UNSAFE_GATE,
        {**SAFE_GATE, "a_private": "no"},
        {**SAFE_GATE, "a_consent_interview": "no"},
    ],
    ids=["not-safe", "overheard", "no-consent"],
)
def test_unsafe_or_unconsented_gate_stores_only_a_callback_plan(case_worker, person_a, start, gate):
    interview = start(case_worker, person_a, gate=gate, callback_plan="Call Tuesday 10:00")

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.STOPPED_UNSAFE
    assert interview.callback_plan == "Call Tuesday 10:00"
    assert interview.completed_at is not None
    assert (interview.consent_recording, interview.interpreter_used, interview.language) == (
        False, False, "",
    )  # fmt: skip
    assert interview.responses.count() == 0
    assert interview.age_years is None


def test_stopped_interview_refuses_answers(case_worker, person_a, start, as_principal):
    interview = start(case_worker, person_a, gate=UNSAFE_GATE)
    before = audit_count()

    with pytest.raises(Conflict, match="not safe"):
        services.interview_save(
            actor=as_principal(case_worker), interview_id=interview.pk,
            expected_version=interview.version, answers={"c_recruited": "yes"},
        )  # fmt: skip

    assert IndicatorResponse.objects.count() == 0
    assert audit_count() == before


def test_gate_needs_the_safety_answer(case_worker, person_a, start):
    with pytest.raises(ValidationFailed) as refused:
        start(case_worker, person_a, gate={"a_private": "yes"})

    assert "a_safe_now" in refused.value.errors
    assert ScreeningInterview.objects.count() == 0


def test_gate_needs_the_right_to_stop_explained(case_worker, person_a, start):
    with pytest.raises(ValidationFailed) as refused:
        start(case_worker, person_a, gate={**SAFE_GATE, "a_right_to_stop": "no"})

    assert list(refused.value.errors) == ["a_right_to_stop"]
    assert ScreeningInterview.objects.count() == 0


def test_screening_a_person_of_another_agency_is_not_found(case_worker, person_b, start):
    before = audit_count()

    with pytest.raises(NotFound):
        start(case_worker, person_b)

    assert ScreeningInterview.objects.count() == 0
    assert audit_count() == before


def test_cases_layer_may_vouch_for_the_owner_agency(case_worker, person_b, agency_b, start):
    interview = start(case_worker, person_b, owner_agency_id=agency_b.pk)

    assert interview.agency_id == case_worker.memberships.get().agency_id
    assert interview.person == person_b


@pytest.mark.parametrize("role_fixture", ["liaison_officer", "analyst", "data_protection_officer"])
def test_roles_without_screening_conduct_cannot_start(request, role_fixture, person_a, start):
    user = request.getfixturevalue(role_fixture)

    with pytest.raises(NotFound):
        start(user, person_a)

    assert ScreeningInterview.objects.count() == 0


def test_help_request_must_belong_to_the_agency(case_worker, person_a, agency_b, start):
    other = HelpRequest.objects.create(
        reference="LL-TEST-0001", status_code="ABC123", channel="web_form", reporter_type="self",
        received_at=clock.now(), deadline_at=clock.now(), assigned_agency=agency_b,
    )  # fmt: skip

    with pytest.raises(ValidationFailed) as refused:
        start(case_worker, person_a, help_request_id=other.pk)

    assert list(refused.value.errors) == ["help_request"]
    assert ScreeningInterview.objects.count() == 0


# --- saving and resuming ----------------------------------------------------------------------


def test_partial_save_keeps_other_answers_and_bumps_the_version(
    case_worker, person_a, start, as_principal
):
    actor = as_principal(case_worker)
    interview = start(case_worker, person_a)
    first = services.interview_save(
        actor=actor, interview_id=interview.pk, expected_version=1,
        answers={"c_recruited": "yes", "c_threats": "refused", "b_age": "16"},
        notes={"c_recruited": "Met the broker at the market (synthetic)"},
    )  # fmt: skip
    second = services.interview_save(
        actor=actor, interview_id=interview.pk, expected_version=first.version,
        answers={"c_threats": "no", "b_age": None},
    )  # fmt: skip

    stored = dict(IndicatorResponse.objects.filter(interview=interview)
                  .values_list("item_id", "value"))  # fmt: skip
    assert stored == {"c_recruited": "yes", "c_threats": "no"}
    assert IndicatorResponse.objects.get(item_id="c_recruited").note.startswith("Met the broker")
    assert (first.version, second.version) == (2, 3)
    assert first.age_years == 16
    assert second.age_years is None
    updates = AuditEvent.objects.filter(action=AuditAction.RECORD_UPDATED).order_by("pk")
    assert [e.metadata["items"] for e in updates] == [
        ["b_age", "c_recruited", "c_threats"],
        ["b_age", "c_threats"],
    ]


def test_stale_version_is_a_conflict_and_changes_nothing(
    case_worker, supervisor, person_a, start, as_principal
):
    interview = start(case_worker, person_a)
    services.interview_save(
        actor=as_principal(supervisor), interview_id=interview.pk, expected_version=1,
        answers={"c_recruited": "yes"},
    )  # fmt: skip
    before = audit_count()

    with pytest.raises(Conflict, match="changed by someone else"):
        services.interview_save(
            actor=as_principal(case_worker), interview_id=interview.pk, expected_version=1,
            answers={"c_recruited": "no"},
        )  # fmt: skip

    assert IndicatorResponse.objects.get(interview=interview).value == "yes"
    assert ScreeningInterview.objects.get().version == 2
    assert audit_count() == before


def test_invalid_answers_are_refused_all_at_once_and_nothing_is_saved(
    case_worker, person_a, start, as_principal
):
    interview = start(case_worker, person_a)

    with pytest.raises(ValidationFailed) as refused:
        services.interview_save(
            actor=as_principal(case_worker), interview_id=interview.pk, expected_version=1,
            answers={"c_recruited": "yes", "c_threats": "maybe", "b_age": "200",
                     "z_unknown": "yes", "a_safe_now": "no"},
        )  # fmt: skip

    assert set(refused.value.errors) == {"c_threats", "b_age", "z_unknown", "a_safe_now"}
    assert IndicatorResponse.objects.count() == 0
    assert ScreeningInterview.objects.get().version == 1


def test_another_agency_cannot_save(case_worker, other_agency_user, person_a, start, as_principal):
    interview = start(case_worker, person_a)

    with pytest.raises(NotFound):
        services.interview_save(
            actor=as_principal(other_agency_user), interview_id=interview.pk,
            expected_version=1, answers={"c_recruited": "yes"},
        )  # fmt: skip

    assert IndicatorResponse.objects.count() == 0


def test_reuse_copies_the_last_finished_answers(case_worker, person_a, start, finished):
    earlier = finished(case_worker, person_a)

    again = start(case_worker, person_a, reuse_previous=True)

    copied = dict(again.responses.values_list("item_id", "value"))
    assert copied == POSSIBLE_VICTIM
    assert (again.reused_from, again.age_years) == (earlier, 24)
    event = AuditEvent.objects.filter(action=AuditAction.RECORD_CREATED).order_by("pk").last()
    assert event.metadata["reused_from"] == earlier.pk


def test_reuse_copies_answers_from_an_earlier_instrument_version(
    case_worker, person_a, start, finished, monkeypatch
):
    with monkeypatch.context() as old:
        old.setattr(instruments, "CURRENT_VERSION", "kh-screen-1")
        earlier = finished(case_worker, person_a)
    assert earlier.instrument_version == "kh-screen-1"

    again = start(case_worker, person_a, reuse_previous=True)

    assert (again.instrument_version, again.reused_from) == ("kh-screen-2", earlier)
    # Every kh-screen-1 question is asked the same way in kh-screen-2; the platform is new and
    # is left to ask.
    assert dict(again.responses.values_list("item_id", "value")) == POSSIBLE_VICTIM


def test_reuse_leaves_out_a_question_that_was_asked_differently(
    case_worker, person_a, start, finished, monkeypatch
):
    data = {**kh_screen_1.DATA, "version": "test-reworded"}
    data["sections"] = [dict(s, items=[dict(i) for i in s["items"]]) for s in data["sections"]]
    reworded = next(i for s in data["sections"] for i in s["items"] if i["id"] == "c_deceived_job")
    reworded["en"] = "Was the job itself different from the one you were promised?"
    monkeypatch.setitem(instruments.INSTRUMENTS, "test-reworded", build(data))
    with monkeypatch.context() as old:
        old.setattr(instruments, "CURRENT_VERSION", "test-reworded")
        earlier = finished(case_worker, person_a)

    again = start(case_worker, person_a, reuse_previous=True)

    assert again.reused_from == earlier
    copied = dict(again.responses.values_list("item_id", "value"))
    assert copied == {k: v for k, v in POSSIBLE_VICTIM.items() if k != "c_deceived_job"}


# --- finishing and overriding -----------------------------------------------------------------


def test_complete_stores_the_suggestion_with_its_reasons(case_worker, person_a, finished):
    interview = finished(case_worker, person_a)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETE
    assert interview.suggested_outcome == "POSSIBLE_VOT"
    assert interview.outcome == "POSSIBLE_VOT"
    assert interview.suggested_flags == []
    assert interview.suggestion_reasons["step"] == "recruitment_exploitation_destination"
    assert interview.suggestion_reasons["age"] == 24
    assert interview.dimension_scores["coercion_at_destination"]["strong"] == [
        "f_documents", "f_confinement",
    ]  # fmt: skip
    event = AuditEvent.objects.get(action=AuditAction.RECORD_TRANSITIONED)
    assert (event.metadata["status"], event.metadata["outcome"]) == ("complete", "POSSIBLE_VOT")


def test_partial_interview_below_threshold_is_undetermined(
    case_worker, person_a, start, as_principal
):
    interview = start(case_worker, person_a)

    done = services.interview_complete(
        actor=as_principal(case_worker), interview_id=interview.pk, expected_version=1,
        partial=True, answers={"h_scam_work": "yes", "i_confined_now": "yes", "b_age": "15"},
    )  # fmt: skip

    assert done.status == InterviewStatus.PARTIAL
    assert done.suggested_outcome == "UNDETERMINED"
    assert done.suggested_flags == [
        "URGENT_SAFETY", "CHILD", "NON_PUNISHMENT", "REPORTED_CRIMINAL_INVOLVEMENT",
    ]  # fmt: skip


def test_child_age_comes_from_the_record_when_not_asked(case_worker, agency_a, start, as_principal):
    with clock.freeze(datetime(2025, 6, 1, tzinfo=UTC)):
        child = make_person(agency_a, date_of_birth="2008-09-10", dob_precision="day")
        interview = start(case_worker, child)
        done = services.interview_complete(
            actor=as_principal(case_worker), interview_id=interview.pk, expected_version=1,
            answers={"c_recruited": "yes", "e_excessive_hours": "yes", "e_low_pay": "yes"},
        )  # fmt: skip

    assert done.age_years == 16
    assert done.suggested_outcome == "POSSIBLE_VOT"
    assert "CHILD" in done.suggested_flags


@pytest.mark.parametrize(
    ("dob", "today", "age"),
    [
        ("2007-06-01", date(2025, 6, 1), 18),
        ("2007-06-02", date(2025, 6, 1), 17),
        ("2007-06", date(2025, 6, 30), 17),
        ("2007-05", date(2025, 6, 1), 18),
        ("2007", date(2025, 12, 1), 17),
        ("", date(2025, 1, 1), None),
    ],
)
def test_age_from_date_of_birth_takes_the_youngest_possible_age(dob, today, age):
    assert age_from_date_of_birth(dob, today) == age


def test_finished_interview_cannot_be_changed(case_worker, person_a, finished, as_principal):
    interview = finished(case_worker, person_a)

    with pytest.raises(Conflict, match="finished"):
        services.interview_save(
            actor=as_principal(case_worker), interview_id=interview.pk,
            expected_version=interview.version, answers={"c_recruited": "no"},
        )  # fmt: skip

    assert IndicatorResponse.objects.get(item_id="c_recruited").value == "yes"


def test_override_needs_a_reason_and_keeps_the_suggestion(
    case_worker, person_a, finished, as_principal
):
    interview = finished(case_worker, person_a)
    actor = as_principal(case_worker)

    with pytest.raises(ValidationFailed) as refused:
        services.interview_override(
            actor=actor, interview_id=interview.pk, expected_version=interview.version,
            outcome="POSSIBLE_FORCED_LABOUR", reason="   ",
        )  # fmt: skip
    assert list(refused.value.errors) == ["reason"]
    assert ScreeningInterview.objects.get().override_outcome == ""

    done = services.interview_override(
        actor=actor, interview_id=interview.pk, expected_version=interview.version,
        outcome="POSSIBLE_FORCED_LABOUR", reason="Recruitment was by a relative, no deception.",
    )  # fmt: skip

    done.refresh_from_db()
    assert (done.suggested_outcome, done.override_outcome, done.outcome) == (
        "POSSIBLE_VOT", "POSSIBLE_FORCED_LABOUR", "POSSIBLE_FORCED_LABOUR",
    )  # fmt: skip
    assert done.override_reason == "Recruitment was by a relative, no deception."
    assert done.overridden_by == case_worker
    event = AuditEvent.objects.filter(action=AuditAction.RECORD_UPDATED).last()
    assert event.metadata == {"change": "override", "from": "POSSIBLE_VOT",
                              "to": "POSSIBLE_FORCED_LABOUR", "suggested": "POSSIBLE_VOT",
                              "version": done.version}  # fmt: skip


def test_override_of_an_unfinished_interview_is_refused(case_worker, person_a, start, as_principal):
    interview = start(case_worker, person_a)

    with pytest.raises(Conflict):
        services.interview_override(
            actor=as_principal(case_worker), interview_id=interview.pk, expected_version=1,
            outcome="NO_INDICATORS", reason="Too early",
        )  # fmt: skip

    assert ScreeningInterview.objects.get().override_outcome == ""


def test_override_with_unknown_outcome_is_refused(case_worker, person_a, finished, as_principal):
    interview = finished(case_worker, person_a)

    with pytest.raises(ValidationFailed) as refused:
        services.interview_override(
            actor=as_principal(case_worker), interview_id=interview.pk,
            expected_version=interview.version, outcome="OFFENDER", reason="x",
        )  # fmt: skip

    assert list(refused.value.errors) == ["outcome"]


# --- reading ----------------------------------------------------------------------------------


def test_interview_get_is_audited(case_worker, person_a, finished, as_principal):
    interview = finished(case_worker, person_a)

    found = selectors.interview_get(principal=as_principal(case_worker), interview_id=interview.pk)

    assert found == interview
    viewed = AuditEvent.objects.get(action=AuditAction.RECORD_VIEWED)
    assert (viewed.actor_id, viewed.target_type, viewed.target_id) == (
        case_worker.pk, "screening_interview", str(interview.pk),
    )  # fmt: skip


def test_other_agency_does_not_find_the_interview_and_is_audited_as_denied(
    case_worker, other_agency_user, person_a, finished, as_principal
):
    interview = finished(case_worker, person_a)

    with pytest.raises(NotFound):
        selectors.interview_get(principal=as_principal(other_agency_user),
                                interview_id=interview.pk)  # fmt: skip

    assert actions(actor_id=other_agency_user.pk) == [AuditAction.ACCESS_DENIED]


def test_owner_agency_vouched_by_the_cases_layer_sees_the_interview(
    case_worker, other_agency_user, person_a, agency_a, finished, as_principal
):
    interview = finished(case_worker, person_a)
    principal = as_principal(other_agency_user)

    found = selectors.interview_get(
        principal=principal, interview_id=interview.pk, owner_agency_id=agency_a.pk
    )
    listed = selectors.interview_list_for_person(
        principal=principal, person_id=person_a.pk, owner_agency_id=agency_a.pk
    )

    assert found == interview
    assert listed == [interview]


def test_list_for_person_shows_only_own_agency_interviews(
    case_worker, other_agency_user, person_b, agency_b, start, as_principal
):
    theirs = start(other_agency_user, person_b)
    ours = start(case_worker, person_b, owner_agency_id=agency_b.pk)

    mine = selectors.interview_list_for_person(
        principal=as_principal(case_worker), person_id=person_b.pk, owner_agency_id=agency_b.pk
    )
    their_view = selectors.interview_list_for_person(
        principal=as_principal(other_agency_user), person_id=person_b.pk
    )

    assert mine == [ours, theirs]
    assert their_view == [theirs]
    listed = AuditEvent.objects.filter(action=AuditAction.RECORD_LISTED).order_by("pk")
    assert [e.metadata["count"] for e in listed] == [2, 1]


# --- official determinations ------------------------------------------------------------------

DECISION = {
    "value": "VICTIM_OF_TRAFFICKING",
    "authority_name": "Ministry of Interior (synthetic)",
    "country": "kh",
    "decision_date": "2025-03-01",
    "reference_number": "MOI-2025-0001",
    "person_informed": "yes",
}


def test_determination_is_recorded_apart_from_the_suggestion(
    case_worker, person_a, finished, as_principal
):
    interview = finished(case_worker, person_a)

    determination = services.determination_record(
        actor=as_principal(case_worker), person_id=person_a.pk, data=DECISION
    )

    determination.refresh_from_db()
    assert (determination.value, determination.country, determination.person_informed) == (
        "VICTIM_OF_TRAFFICKING", "KH", True,
    )  # fmt: skip
    assert determination.reference_number == "MOI-2025-0001"
    assert determination.decision_date == date(2025, 3, 1)
    interview.refresh_from_db()
    assert (interview.suggested_outcome, interview.override_outcome) == ("POSSIBLE_VOT", "")
    event = AuditEvent.objects.get(target_type="official_determination")
    assert event.metadata["value"] == "VICTIM_OF_TRAFFICKING"


def test_not_victim_may_carry_a_reason(case_worker, person_a, as_principal):
    determination = services.determination_record(
        actor=as_principal(case_worker), person_id=person_a.pk,
        data={**DECISION, "value": "NOT_VICTIM", "reason": "labour_dispute",
              "reason_note": "Wage dispute only (synthetic)"},
    )  # fmt: skip

    assert (determination.reason, determination.reason_note) == (
        "labour_dispute", "Wage dispute only (synthetic)",
    )  # fmt: skip


def test_pending_needs_no_decision_date(case_worker, person_a, as_principal):
    determination = services.determination_record(
        actor=as_principal(case_worker), person_id=person_a.pk,
        data={**DECISION, "value": "PENDING", "decision_date": ""},
    )  # fmt: skip

    assert determination.decision_date is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": "VICTIM"}, "value"),
        ({"country": "XX"}, "country"),
        ({"country": "KHM"}, "country"),
        ({"decision_date": "2099-01-01"}, "decision_date"),
        ({"decision_date": "01/03/2025"}, "decision_date"),
        ({"decision_date": ""}, "decision_date"),
        ({"person_informed": ""}, "person_informed"),
        ({"authority_name": ""}, "authority_name"),
        ({"authority_id": "999999"}, "authority_id"),
        ({"reason": "labour_dispute"}, "reason"),
        ({"value": "NOT_VICTIM", "reason": "bad"}, "reason"),
        ({"reference_number": "x" * 101}, "reference_number"),
    ],
)
def test_invalid_determination_is_refused_and_nothing_is_stored(
    case_worker, person_a, as_principal, change, field
):
    before = audit_count()

    with pytest.raises(ValidationFailed) as refused:
        services.determination_record(
            actor=as_principal(case_worker), person_id=person_a.pk, data={**DECISION, **change}
        )

    assert field in refused.value.errors
    assert OfficialDetermination.objects.count() == 0
    assert audit_count() == before


def test_future_date_is_judged_on_the_one_clock(case_worker, person_a, as_principal):
    with clock.freeze(datetime(2025, 2, 28, 23, 0, tzinfo=UTC)), pytest.raises(ValidationFailed):
        services.determination_record(
            actor=as_principal(case_worker), person_id=person_a.pk, data=DECISION
        )
    clock.advance(timedelta(0))

    assert OfficialDetermination.objects.count() == 0


def test_authority_agency_names_the_authority(case_worker, person_a, agency_b, as_principal):
    determination = services.determination_record(
        actor=as_principal(case_worker), person_id=person_a.pk,
        data={**DECISION, "authority_name": "", "authority_id": str(agency_b.pk)},
    )  # fmt: skip

    assert (determination.authority, determination.authority_name) == (agency_b, agency_b.name)


@pytest.mark.parametrize("role_fixture", ["intake_officer", "analyst", "other_agency_user"])
def test_determination_refused_without_capability_or_in_another_agency(
    request, role_fixture, person_a, as_principal
):
    user = request.getfixturevalue(role_fixture)

    with pytest.raises(NotFound):
        services.determination_record(
            actor=as_principal(user), person_id=person_a.pk, data=DECISION
        )

    assert OfficialDetermination.objects.count() == 0


def test_determinations_are_listed_with_the_person_and_audited(
    case_worker, liaison_officer, other_agency_user, person_a, as_principal
):
    first = services.determination_record(
        actor=as_principal(case_worker), person_id=person_a.pk,
        data={**DECISION, "value": "PENDING", "decision_date": ""},
    )  # fmt: skip
    second = services.determination_record(
        actor=as_principal(liaison_officer), person_id=person_a.pk, data=DECISION
    )

    listed = selectors.determination_list_for_person(
        principal=as_principal(case_worker), person_id=person_a.pk
    )
    with pytest.raises(NotFound):
        selectors.determination_list_for_person(
            principal=as_principal(other_agency_user), person_id=person_a.pk
        )

    assert listed == [second, first]
    event = AuditEvent.objects.get(action=AuditAction.RECORD_LISTED)
    assert event.metadata["ids"] == [second.pk, first.pk]
