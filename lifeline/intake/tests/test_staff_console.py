"""The operator console: log a call after searching, the work queue, the detail page and its
one-click actions. Every read and write is scoped to the officer's agency and audited."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.core import clock
from lifeline.intake.models import Channel, HelpRequest, RequestStatus

REFERENCE_LINK = re.compile(r'href="/intake/r/(LL-[0-9A-Z-]+)/"')


def audit_actions(**filters: object) -> list[str]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True)
    )


def linked_references(html: str) -> set[str]:
    return set(REFERENCE_LINK.findall(html))


# --- logging a call --------------------------------------------------------------------------


def test_intake_officer_logs_a_call_and_lands_on_its_detail_page(
    hotline, intake_officer, staff_client
):
    client = staff_client(intake_officer)
    form = {
        "submission_id": uuid.uuid4().hex,
        "channel": "hotline_call",
        "reporter_type": "family",
        "reporter_name": "Sok Dara",
        "reporter_phone": "012 345 678",
        "person_name": "Chan Sopheap",
        "country": "MY",
        "narrative": "Called from a market; brother held in a compound. (synthetic)",
        "is_transfer_imminent": "1",
    }

    response = client.post("/intake/new/", form)

    request = HelpRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/intake/r/{request.reference}/"
    assert (request.channel, request.assigned_agency, request.created_by) == (
        Channel.HOTLINE_CALL,
        hotline,
        intake_officer,
    )
    assert (request.is_urgent, request.country, request.reporter_phone) == (
        True,
        "MY",
        "+85512345678",
    )
    created = AuditEvent.objects.get(action=AuditAction.RECORD_CREATED, target_type="help_request")
    assert (created.actor_id, created.target_id) == (intake_officer.pk, str(request.pk))


def test_logging_the_same_call_twice_keeps_one_request(hotline, intake_officer, staff_client):
    client = staff_client(intake_officer)
    form = {
        "submission_id": "call-" + uuid.uuid4().hex,
        "reporter_type": "self",
        "reporter_phone": "012 345 678",
        "narrative": "Double click (synthetic).",
    }

    first = client.post("/intake/new/", form)
    second = client.post("/intake/new/", form)

    assert first["Location"] == second["Location"]
    assert HelpRequest.objects.count() == 1


def test_invalid_call_is_refused_with_messages_and_nothing_stored(
    hotline, intake_officer, staff_client
):
    client = staff_client(intake_officer)
    events_before = AuditEvent.objects.count()

    response = client.post("/intake/new/", {"reporter_type": "", "narrative": ""})

    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose who is asking for help." in html
    assert "Tell us briefly what happened." in html
    assert HelpRequest.objects.count() == 0
    assert not AuditEvent.objects.filter(
        action=AuditAction.RECORD_CREATED, seq__gt=events_before
    ).exists()


@pytest.mark.parametrize(
    "typed", ["012 345 678", "+855 12 345 678", "(012) 345-678", "85512345678"]
)
def test_search_by_phone_in_any_format_finds_the_existing_request(
    hotline, intake_officer, staff_client, make_request, typed
):
    existing = make_request(hotline, reporter_phone="+85512345678")
    make_request(hotline, reporter_phone="+85592000111", reporter_name="Keo Vanna")

    response = staff_client(intake_officer).get("/intake/new/", {"q": typed})

    assert linked_references(response.content.decode()) == {existing.reference}


@pytest.mark.parametrize("typed", ["Chan Sopheap", "sopheap chan", "SOPHEAP", "Sok"])
def test_search_by_name_tokens_in_any_order_finds_the_existing_request(
    hotline, intake_officer, staff_client, make_request, typed
):
    existing = make_request(hotline, reporter_name="Sok Dara", person_name="Chan Sopheap")
    make_request(
        hotline, reporter_name="Keo Vanna", person_name="Chan Thida", reporter_phone="+85592000111"
    )

    response = staff_client(intake_officer).get("/intake/new/", {"q": typed})

    assert linked_references(response.content.decode()) == {existing.reference}


def test_search_by_khmer_name_finds_the_existing_request(
    hotline, intake_officer, staff_client, make_request
):
    existing = make_request(hotline, person_name="ចាន់ សុភាព")

    response = staff_client(intake_officer).get("/intake/new/", {"q": "សុភាព ចាន់"})

    assert linked_references(response.content.decode()) == {existing.reference}


def test_search_never_finds_another_agencys_request(
    hotline, agency_b, intake_officer, staff_client, make_request
):
    make_request(agency_b, reporter_phone="+85512345678", person_name="Chan Sopheap")

    client = staff_client(intake_officer)
    by_phone = client.get("/intake/new/", {"q": "012 345 678"}).content.decode()
    by_name = client.get("/intake/new/", {"q": "Chan Sopheap"}).content.decode()

    assert linked_references(by_phone) == set()
    assert linked_references(by_name) == set()
    assert 'id="no-matches"' in by_name


def test_search_is_audited_with_ids_not_the_query(
    hotline, intake_officer, staff_client, make_request
):
    existing = make_request(hotline)

    staff_client(intake_officer).get("/intake/new/", {"q": "Chan Sopheap"})

    event = AuditEvent.objects.get(action=AuditAction.RECORD_SEARCHED)
    assert event.metadata == {"count": 1, "ids": [existing.pk]}
    assert "Sopheap" not in str(event.metadata).lower()


# --- the queue -------------------------------------------------------------------------------


def test_queue_lists_only_the_agencys_own_open_requests(
    hotline, agency_b, intake_officer, staff_client, make_request
):
    own = make_request(hotline)
    answered = make_request(hotline)
    HelpRequest.objects.filter(pk=answered.pk).update(status=RequestStatus.RESPONDED)
    make_request(agency_b)

    response = staff_client(intake_officer).get("/intake/")

    assert response.status_code == 200
    assert linked_references(response.content.decode()) == {own.reference}


def test_queue_marks_requests_past_their_deadline_as_overdue(
    hotline, intake_officer, staff_client, make_request
):
    client = staff_client(intake_officer)
    urgent = make_request(hotline, is_child="1")  # due in 15 minutes
    normal = make_request(hotline)  # due in 4 hours

    clock.advance(timedelta(minutes=20))
    html = client.get("/intake/").content.decode()

    overdue = set(re.findall(r'<tr class="overdue-row" data-reference="([^"]+)"', html))
    assert overdue == {urgent.reference}
    assert "overdue by 5 min" in html
    assert normal.reference in html


def test_queue_filters_urgent_and_country(hotline, intake_officer, staff_client, make_request):
    urgent_th = make_request(hotline, is_medical="1", country="TH")
    normal_th = make_request(hotline, country="TH")
    urgent_my = make_request(hotline, is_child="1", country="MY")
    client = staff_client(intake_officer)

    urgent = linked_references(client.get("/intake/", {"urgent": "1"}).content.decode())
    thai = linked_references(client.get("/intake/", {"country": "TH"}).content.decode())
    both = linked_references(
        client.get("/intake/", {"urgent": "1", "country": "th"}).content.decode()
    )

    assert urgent == {urgent_th.reference, urgent_my.reference}
    assert thai == {urgent_th.reference, normal_th.reference}
    assert both == {urgent_th.reference}


def test_queue_listing_is_audited(hotline, intake_officer, staff_client, make_request):
    request = make_request(hotline)

    staff_client(intake_officer).get("/intake/")

    event = AuditEvent.objects.get(action=AuditAction.RECORD_LISTED)
    assert (event.actor_id, event.metadata) == (
        intake_officer.pk,
        {"count": 1, "ids": [request.pk]},
    )


# --- detail and actions ----------------------------------------------------------------------


def test_detail_shows_the_request_and_writes_a_record_viewed_event(
    hotline, intake_officer, staff_client, make_request
):
    request = make_request(hotline)

    response = staff_client(intake_officer).get(f"/intake/r/{request.reference}/")

    assert response.status_code == 200
    assert request.narrative in response.content.decode()
    viewed = AuditEvent.objects.get(action=AuditAction.RECORD_VIEWED)
    assert (viewed.actor_id, viewed.target_type, viewed.target_id) == (
        intake_officer.pk,
        "help_request",
        str(request.pk),
    )


@pytest.mark.parametrize(
    ("action", "audit_action", "status"),
    [
        ("acknowledge", AuditAction.REQUEST_ACKNOWLEDGED, RequestStatus.ACKNOWLEDGED),
        ("assign", AuditAction.REQUEST_ASSIGNED, RequestStatus.ACKNOWLEDGED),
        ("respond", AuditAction.REQUEST_RESPONDED, RequestStatus.RESPONDED),
    ],
)
def test_each_action_is_one_post_and_is_audited(
    hotline, intake_officer, staff_client, make_request, action, audit_action, status
):
    request = make_request(hotline)
    client = staff_client(intake_officer)

    response = client.post(f"/intake/r/{request.reference}/{action}/")

    assert response.status_code == 302
    assert response["Location"] == f"/intake/r/{request.reference}/"
    request.refresh_from_db()
    assert request.status == status
    event = AuditEvent.objects.get(action=audit_action)
    assert (event.actor_id, event.target_id) == (intake_officer.pk, str(request.pk))


def test_assign_to_a_colleague_and_respond_stops_the_deadline(
    hotline, intake_officer, case_worker, staff_client, make_request
):
    request = make_request(hotline)
    client = staff_client(intake_officer)

    client.post(f"/intake/r/{request.reference}/assign/", {"user_id": case_worker.pk})
    client.post(f"/intake/r/{request.reference}/respond/")

    request.refresh_from_db()
    assert request.assigned_user == case_worker
    assert request.first_response_at is not None
    assert request.next_escalation_at is None
    assert audit_actions(target_id=str(request.pk), actor_id=intake_officer.pk) == [
        AuditAction.REQUEST_ASSIGNED,
        AuditAction.REQUEST_RESPONDED,
    ]


def test_assigning_someone_from_another_agency_is_refused(
    hotline, intake_officer, other_agency_user, staff_client, make_request
):
    request = make_request(hotline)

    staff_client(intake_officer).post(
        f"/intake/r/{request.reference}/assign/", {"user_id": other_agency_user.pk}
    )

    request.refresh_from_db()
    assert request.assigned_user is None
    assert not AuditEvent.objects.filter(action=AuditAction.REQUEST_ASSIGNED).exists()


def test_acknowledging_twice_records_it_once(hotline, intake_officer, staff_client, make_request):
    request = make_request(hotline)
    client = staff_client(intake_officer)

    client.post(f"/intake/r/{request.reference}/acknowledge/")
    client.post(f"/intake/r/{request.reference}/acknowledge/")

    assert AuditEvent.objects.filter(action=AuditAction.REQUEST_ACKNOWLEDGED).count() == 1


def test_unknown_action_answers_404(hotline, intake_officer, staff_client, make_request):
    request = make_request(hotline)

    response = staff_client(intake_officer).post(f"/intake/r/{request.reference}/close/")

    assert response.status_code == 404


def test_actions_need_post(hotline, intake_officer, staff_client, make_request):
    request = make_request(hotline)

    response = staff_client(intake_officer).get(f"/intake/r/{request.reference}/respond/")

    assert response.status_code == 405
    request.refresh_from_db()
    assert request.first_response_at is None


@pytest.mark.parametrize("who", ["other_agency_user", "analyst"])
def test_refused_staff_get_404_on_detail_and_actions_and_nothing_changes(
    request, hotline, staff_client, make_request, who
):
    user = request.getfixturevalue(who)
    help_request = make_request(hotline)
    client = staff_client(user)

    detail = client.get(f"/intake/r/{help_request.reference}/")
    actions = [
        client.post(f"/intake/r/{help_request.reference}/{action}/", {"user_id": user.pk})
        for action in ("acknowledge", "assign", "respond")
    ]

    assert detail.status_code == 404
    assert [r.status_code for r in actions] == [404, 404, 404]
    assert help_request.narrative not in detail.content.decode()
    help_request.refresh_from_db()
    assert (help_request.status, help_request.assigned_user_id) == (RequestStatus.RECEIVED, None)
    assert not AuditEvent.objects.filter(
        action__in=[
            AuditAction.RECORD_VIEWED,
            AuditAction.REQUEST_ACKNOWLEDGED,
            AuditAction.REQUEST_ASSIGNED,
            AuditAction.REQUEST_RESPONDED,
        ]
    ).exists()


@pytest.mark.parametrize("who", ["analyst", "agency_admin", "data_protection_officer"])
def test_staff_without_request_view_get_404_on_the_queue(request, hotline, staff_client, who):
    client = staff_client(request.getfixturevalue(who))

    assert client.get("/intake/").status_code == 404
    assert client.get("/intake/new/").status_code == 404


def test_liaison_officer_may_read_but_not_act(hotline, liaison_officer, staff_client, make_request):
    help_request = make_request(hotline)
    client = staff_client(liaison_officer)

    assert client.get(f"/intake/r/{help_request.reference}/").status_code == 200
    assert client.post(f"/intake/r/{help_request.reference}/respond/").status_code == 404
    help_request.refresh_from_db()
    assert help_request.first_response_at is None


def test_no_data_is_shown_when_the_read_cannot_be_audited(
    hotline, intake_officer, staff_client, make_request, monkeypatch
):
    canary = "CANARY-narrative-7f3a (synthetic)"
    help_request = make_request(hotline, narrative=canary)
    client = staff_client(intake_officer)
    client.raise_request_exception = False

    def audit_down(**kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("lifeline.intake.selectors.audit_record", audit_down)
    response = client.get(f"/intake/r/{help_request.reference}/")

    assert response.status_code in (500, 503)
    assert canary not in response.content.decode()
    assert help_request.reference not in response.content.decode()


def test_queue_query_count_does_not_grow_with_the_number_of_requests(
    hotline, intake_officer, staff_client, make_request
):
    client = staff_client(intake_officer)
    make_request(hotline)
    with CaptureQueriesContext(connection) as few:
        client.get("/intake/")
    for _ in range(8):
        make_request(hotline, is_child="1")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/intake/")

    assert len(linked_references(response.content.decode())) == 9
    assert len(many.captured_queries) == len(few.captured_queries)
