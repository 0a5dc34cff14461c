"""Screens, through the test client: who may open and change what, what a refused request
leaves behind (nothing but an access-denied event), and the stale-page case."""

from __future__ import annotations

import re

import pytest

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.screening.models import (
    IndicatorResponse,
    InterviewStatus,
    OfficialDetermination,
    ScreeningInterview,
)

from .conftest import SAFE_GATE, actions, audit_count

pytestmark = pytest.mark.django_db


def gate_form(**changes: str) -> dict[str, str]:
    return {**SAFE_GATE, "callback_plan": "WhatsApp, evenings (synthetic)", **changes}


def write_actions() -> set[str]:
    return {AuditAction.RECORD_CREATED, AuditAction.RECORD_UPDATED, AuditAction.RECORD_TRANSITIONED}


# --- start ------------------------------------------------------------------------------------


def test_start_page_shows_the_gate_first(case_worker, person_a, staff_client):
    client = staff_client(case_worker)

    response = client.get(f"/screening/start/{person_a.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index('data-item="a_safe_now"') < html.index('data-item="a_consent_interview"')
    assert "Is this a safe moment for you to talk?" in html
    assert 'data-item="c_recruited"' not in html  # nothing else before the gate


def test_start_page_follows_the_language(case_worker, person_a, staff_client):
    client = staff_client(case_worker)
    client.cookies["django_language"] = "km"

    html = client.get(
        f"/screening/start/{person_a.pk}/", HTTP_ACCEPT_LANGUAGE="km"
    ).content.decode()

    assert "តើពេលនេះជាពេលដែលមានសុវត្ថិភាពសម្រាប់អ្នកក្នុងការនិយាយដែរឬទេ?" in html


def test_safe_gate_leads_to_the_interview(case_worker, person_a, staff_client):
    client = staff_client(case_worker)

    response = client.post(f"/screening/start/{person_a.pk}/", gate_form())

    interview = ScreeningInterview.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/screening/{interview.pk}/"
    assert interview.status == InterviewStatus.IN_PROGRESS
    assert interview.callback_plan == "WhatsApp, evenings (synthetic)"


def test_unsafe_gate_stops_and_shows_only_the_callback_plan(case_worker, person_a, staff_client):
    client = staff_client(case_worker)

    response = client.post(
        f"/screening/start/{person_a.pk}/",
        {
            "a_safe_now": "no",
            "callback_plan": "Call back at 22:00 (synthetic)",
            "item_c_recruited": "yes",
        },
        follow=True,
    )

    interview = ScreeningInterview.objects.get()
    html = response.content.decode()
    assert interview.status == InterviewStatus.STOPPED_UNSAFE
    assert interview.responses.count() == 0
    assert "Call back at 22:00 (synthetic)" in html
    assert 'id="suggested-outcome"' not in html
    # The interview page of a stopped interview only redirects to this summary.
    again = client.post(
        f"/screening/{interview.pk}/", {"version": "1", "item_c_recruited": "yes", "action": "save"}
    )
    assert again.status_code == 302
    assert IndicatorResponse.objects.count() == 0


def test_gate_missing_answers_shows_errors_and_saves_nothing(case_worker, person_a, staff_client):
    client = staff_client(case_worker)

    response = client.post(f"/screening/start/{person_a.pk}/", {"callback_plan": "x"})

    assert response.status_code == 422
    assert "Answer yes or no." in response.content.decode()
    assert ScreeningInterview.objects.count() == 0


@pytest.mark.parametrize("role_fixture", ["analyst", "liaison_officer", "agency_admin"])
def test_roles_without_screening_conduct_get_404_and_nothing_is_written(
    request, role_fixture, person_a, staff_client
):
    user = request.getfixturevalue(role_fixture)
    client = staff_client(user)
    before = audit_count()

    got = client.get(f"/screening/start/{person_a.pk}/")
    posted = client.post(f"/screening/start/{person_a.pk}/", gate_form())

    assert (got.status_code, posted.status_code) == (404, 404)
    assert ScreeningInterview.objects.count() == 0
    new = set(
        AuditEvent.objects.filter(pk__gt=0).order_by("pk").values_list("action", flat=True)[before:]
    )
    assert new == {AuditAction.ACCESS_DENIED}


def test_other_agency_cannot_start_a_screening_of_our_person(
    other_agency_user, person_a, staff_client
):
    client = staff_client(other_agency_user)

    got = client.get(f"/screening/start/{person_a.pk}/")
    posted = client.post(f"/screening/start/{person_a.pk}/", gate_form())

    assert (got.status_code, posted.status_code) == (404, 404)
    assert ScreeningInterview.objects.count() == 0
    assert not write_actions() & set(actions(actor_id=other_agency_user.pk))


# --- answering --------------------------------------------------------------------------------


def form_of(interview: ScreeningInterview, **answers: str) -> dict[str, str]:
    data = {"version": str(interview.version)}
    data.update({f"item_{k}": v for k, v in answers.items()})
    return data


def test_interview_page_lists_sections_with_four_answers_per_indicator(
    case_worker, person_a, start, staff_client
):
    interview = start(case_worker, person_a)
    client = staff_client(case_worker)

    html = client.get(f"/screening/{interview.pk}/").content.decode()

    assert [m for m in re.findall(r'id="section-(\w)"', html)] == list("BCDEFGHIK")
    values = re.findall(r'name="item_c_threats" value="(\w*)"', html)
    assert values == ["", "yes", "no", "unknown", "refused"]
    assert "ILO 6" in html


def test_save_and_continue_later_then_finish(case_worker, person_a, start, staff_client):
    interview = start(case_worker, person_a)
    client = staff_client(case_worker)

    saved = client.post(
        f"/screening/{interview.pk}/",
        {
            **form_of(interview, c_recruited="yes", c_deceived_job="yes", b_age="24"),
            "note_c_recruited": "Online advert (synthetic)",
            "action": "save",
        },
    )
    interview.refresh_from_db()
    resumed = client.get(f"/screening/{interview.pk}/").content.decode()
    finished = client.post(
        f"/screening/{interview.pk}/",
        {
            **form_of(
                interview,
                c_recruited="yes",
                c_deceived_job="yes",
                b_age="24",
                c_deceived_wages="yes",
                e_excessive_hours="yes",
                e_low_pay="yes",
                f_documents="yes",
                f_confinement="yes",
            ),
            "action": "finish",
        },
    )

    assert saved.status_code == 302 and saved["Location"] == f"/screening/{interview.pk}/"
    assert 'name="item_c_recruited" value="yes" checked' in resumed
    assert "Online advert (synthetic)" in resumed
    assert finished.status_code == 302
    assert finished["Location"] == f"/screening/{interview.pk}/summary/"
    interview.refresh_from_db()
    assert (interview.status, interview.suggested_outcome) == ("complete", "POSSIBLE_VOT")
    # Saving the form again left the note where it was.
    assert IndicatorResponse.objects.get(item_id="c_recruited").note == "Online advert (synthetic)"


def test_stale_page_is_refused_with_a_message_and_nothing_is_overwritten(
    case_worker, supervisor, person_a, start, staff_client
):
    interview = start(case_worker, person_a)
    stale = form_of(interview, c_recruited="no")
    first = staff_client(supervisor)
    first.post(
        f"/screening/{interview.pk}/", {**form_of(interview, c_recruited="yes"), "action": "save"}
    )
    before = audit_count()

    response = staff_client(case_worker).post(
        f"/screening/{interview.pk}/", {**stale, "action": "save"}
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "changed by someone else" in html
    assert 'name="item_c_recruited" value="yes" checked' in html  # the current answer
    assert IndicatorResponse.objects.get(item_id="c_recruited").value == "yes"
    assert not write_actions() & set(
        AuditEvent.objects.order_by("pk").values_list("action", flat=True)[before:]
    )


def test_invalid_answer_is_shown_and_nothing_saved(case_worker, person_a, start, staff_client):
    interview = start(case_worker, person_a)

    response = staff_client(case_worker).post(
        f"/screening/{interview.pk}/",
        {**form_of(interview, c_recruited="yes", b_age="300"), "action": "save"},
    )

    assert response.status_code == 422
    assert "This answer is not one of the allowed answers." in response.content.decode()
    assert IndicatorResponse.objects.count() == 0


def test_other_agency_cannot_open_or_answer_the_interview(
    case_worker, other_agency_user, person_a, start, staff_client
):
    interview = start(case_worker, person_a)
    client = staff_client(other_agency_user)

    got = client.get(f"/screening/{interview.pk}/")
    posted = client.post(
        f"/screening/{interview.pk}/", {**form_of(interview, c_recruited="yes"), "action": "save"}
    )
    summary = client.get(f"/screening/{interview.pk}/summary/")

    assert (got.status_code, posted.status_code, summary.status_code) == (404, 404, 404)
    assert IndicatorResponse.objects.count() == 0
    assert set(actions(actor_id=other_agency_user.pk)) <= {
        AuditAction.ACCESS_DENIED,
        AuditAction.LOGIN,
        AuditAction.OTP_VERIFIED,
    }


def test_liaison_may_read_the_summary_but_not_answer(
    case_worker, liaison_officer, person_a, finished, start, staff_client
):
    done = finished(case_worker, person_a)
    open_one = start(case_worker, person_a)
    client = staff_client(liaison_officer)

    summary = client.get(f"/screening/{done.pk}/summary/")
    posted = client.post(
        f"/screening/{open_one.pk}/", {**form_of(open_one, c_recruited="yes"), "action": "save"}
    )

    assert summary.status_code == 200
    assert 'action="/screening/' not in summary.content.decode()  # no override form
    assert posted.status_code == 404
    assert IndicatorResponse.objects.filter(interview=open_one).count() == 0


# --- summary and override ---------------------------------------------------------------------


def test_summary_shows_outcome_flags_and_reasons(case_worker, person_a, start, staff_client):
    interview = start(case_worker, person_a)
    client = staff_client(case_worker)
    client.post(
        f"/screening/{interview.pk}/",
        {
            **form_of(
                interview, b_age="16", c_recruited="yes", h_scam_work="yes", i_confined_now="yes"
            ),
            "action": "finish",
        },
    )

    html = client.get(f"/screening/{interview.pk}/summary/").content.decode()

    assert 'data-code="POSSIBLE_VOT"' in html
    assert "Possible victim of trafficking" in html
    assert "A child was recruited, moved or received, and exploited" in html
    assert "Urgent: still confined and in danger" in html
    assert "Non-punishment: made to take part in crimes" in html
    assert "Child (under 18): the child rule applies" in html
    assert "offender" not in html.lower()
    assert AuditEvent.objects.filter(
        action=AuditAction.RECORD_VIEWED, target_id=str(interview.pk)
    ).exists()


def test_summary_lists_indicators_with_ilo_numbers_and_dimensions(
    case_worker, person_a, finished, staff_client
):
    interview = finished(case_worker, person_a)

    html = staff_client(case_worker).get(f"/screening/{interview.pk}/summary/").content.decode()

    assert 'data-item="f_documents"' in html
    assert "ILO 7 · Coercion at destination · strong" in html
    assert "two strong indicators" in html
    assert "Means at recruitment, exploitation, and means at destination are all present." in html


def test_override_needs_a_reason(case_worker, person_a, finished, staff_client):
    interview = finished(case_worker, person_a)
    client = staff_client(case_worker)

    refused = client.post(
        f"/screening/{interview.pk}/override/",
        {"version": interview.version, "outcome": "NO_INDICATORS", "reason": ""},
    )
    accepted = client.post(
        f"/screening/{interview.pk}/override/",
        {
            "version": interview.version,
            "outcome": "NO_INDICATORS",
            "reason": "Person withdrew the account (synthetic)",
        },
        follow=True,
    )

    assert refused.status_code == 422
    assert "Write why you override the suggestion." in refused.content.decode()
    html = accepted.content.decode()
    assert 'id="override-outcome" data-code="NO_INDICATORS"' in html
    assert "Person withdrew the account (synthetic)" in html
    interview.refresh_from_db()
    assert (interview.suggested_outcome, interview.override_outcome) == (
        "POSSIBLE_VOT",
        "NO_INDICATORS",
    )


def test_override_with_stale_version_is_refused(case_worker, person_a, finished, staff_client):
    interview = finished(case_worker, person_a)
    client = staff_client(case_worker)
    client.post(
        f"/screening/{interview.pk}/override/",
        {"version": interview.version, "outcome": "NO_INDICATORS", "reason": "first"},
    )

    response = client.post(
        f"/screening/{interview.pk}/override/",
        {"version": interview.version, "outcome": "EXPLOITED_MIGRANT", "reason": "second"},
    )

    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    interview.refresh_from_db()
    assert (interview.override_outcome, interview.override_reason) == ("NO_INDICATORS", "first")


def test_override_refused_for_viewers(
    case_worker, liaison_officer, person_a, finished, staff_client
):
    interview = finished(case_worker, person_a)

    response = staff_client(liaison_officer).post(
        f"/screening/{interview.pk}/override/",
        {"version": interview.version, "outcome": "NO_INDICATORS", "reason": "no"},
    )

    assert response.status_code == 404
    interview.refresh_from_db()
    assert interview.override_outcome == ""


# --- official determinations ------------------------------------------------------------------

DETERMINATION_FORM = {
    "value": "NOT_VICTIM",
    "authority_name": "Ministry of Interior (synthetic)",
    "country": "KH",
    "decision_date": "2025-01-15",
    "reference_number": "MOI-SYN-7",
    "person_informed": "no",
    "reason": "irregular_migration",
}


def test_record_and_list_official_determinations(case_worker, person_a, staff_client):
    client = staff_client(case_worker)

    form = client.get(f"/screening/person/{person_a.pk}/determinations/new/")
    response = client.post(
        f"/screening/person/{person_a.pk}/determinations/new/", DETERMINATION_FORM, follow=True
    )

    assert form.status_code == 200
    row = OfficialDetermination.objects.get()
    assert (row.value, row.reason, row.reference_number) == (
        "NOT_VICTIM",
        "irregular_migration",
        "MOI-SYN-7",
    )
    html = response.content.decode()
    assert 'data-value="NOT_VICTIM"' in html
    assert "Irregular migration" in html and "MOI-SYN-7" in html


def test_invalid_determination_shows_errors(case_worker, person_a, staff_client):
    response = staff_client(case_worker).post(
        f"/screening/person/{person_a.pk}/determinations/new/",
        {**DETERMINATION_FORM, "decision_date": "2999-01-01", "value": "PENDING"},
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "The decision date cannot be in the future." in html
    assert "Only a “not a victim” decision carries a reason." in html
    assert OfficialDetermination.objects.count() == 0


@pytest.mark.parametrize("role_fixture", ["intake_officer", "analyst"])
def test_determination_form_refused_without_the_capability(
    request, role_fixture, person_a, staff_client
):
    client = staff_client(request.getfixturevalue(role_fixture))

    got = client.get(f"/screening/person/{person_a.pk}/determinations/new/")
    posted = client.post(f"/screening/person/{person_a.pk}/determinations/new/", DETERMINATION_FORM)

    assert (got.status_code, posted.status_code) == (404, 404)
    assert OfficialDetermination.objects.count() == 0


def test_other_agency_cannot_list_or_record_determinations(
    other_agency_user, person_a, staff_client
):
    client = staff_client(other_agency_user)

    listed = client.get(f"/screening/person/{person_a.pk}/determinations/")
    posted = client.post(f"/screening/person/{person_a.pk}/determinations/new/", DETERMINATION_FORM)

    assert (listed.status_code, posted.status_code) == (404, 404)
    assert OfficialDetermination.objects.count() == 0
