"""The deadline sweeper and the outbox: unanswered requests climb the escalation ladder once per
level, notifications arrive once however often delivery is retried, and /health shows a stalled
sweeper. Time moves through the one clock; nothing sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.core import clock, periodic
from lifeline.core.models import Heartbeat
from lifeline.intake import services
from lifeline.intake.models import (
    Escalation,
    EscalationLevel,
    HelpRequest,
    IntakeSettings,
    Notification,
    OutboxMessage,
)

T0 = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)  # 10:00 in Phnom Penh, a Tuesday


@pytest.fixture
def frozen() -> Iterator[None]:
    with clock.freeze(T0):
        yield


@pytest.fixture
def staffed(hotline, intake_officer, supervisor, agency_admin, other_agency_user):
    """Agency A with one person per ladder rung; agency B (a supervisor) as the partner."""
    IntakeSettings.objects.update_or_create(
        agency=hotline, defaults={"partner_agency": other_agency_user.memberships.get().agency}
    )
    return hotline


def levels(request: HelpRequest) -> list[tuple[int, str, int, list[int]]]:
    return [
        (e.level, e.target, e.target_agency_id, e.notified_user_ids)
        for e in Escalation.objects.filter(request=request).order_by("level")
    ]


def test_request_past_its_deadline_gets_a_level_1_escalation(
    frozen, staffed, intake_officer, make_request
):
    request = make_request(staffed, is_child="1")  # urgent: due in 15 minutes

    clock.advance(timedelta(minutes=14, seconds=59))
    assert services.sweep()["escalated"] == 0
    clock.advance(timedelta(seconds=1))
    result = services.sweep()

    assert result == {"looked_at": 1, "escalated": 1}
    assert levels(request) == [
        (1, EscalationLevel.ASSIGNED_OFFICER, staffed.pk, [intake_officer.pk])
    ]
    request.refresh_from_db()
    assert request.escalation_level == 1
    assert request.next_escalation_at == T0 + timedelta(minutes=30)
    event = AuditEvent.objects.get(action=AuditAction.REQUEST_ESCALATED)
    assert (event.target_id, event.metadata) == (
        str(request.pk),
        {"level": 1, "target": "assigned_officer"},
    )


def test_sweeping_again_at_the_same_time_records_nothing_new(frozen, staffed, make_request):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))
    services.sweep()

    repeats = [services.sweep()["escalated"] for _ in range(3)]

    assert repeats == [0, 0, 0]
    assert Escalation.objects.filter(request=request).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.REQUEST_ESCALATED).count() == 1
    assert OutboxMessage.objects.filter(kind="escalation").count() == 1


def test_unanswered_request_climbs_officer_supervisors_admin_partner_then_stops(
    frozen, staffed, intake_officer, supervisor, agency_admin, other_agency_user, make_request
):
    request = make_request(staffed, is_medical="1")
    partner = other_agency_user.memberships.get().agency
    clock.advance(timedelta(minutes=15))

    per_step = []
    for _ in range(6):
        per_step.append(services.sweep()["escalated"])
        clock.advance(timedelta(minutes=15))

    assert per_step == [1, 1, 1, 1, 0, 0]
    assert levels(request) == [
        (1, EscalationLevel.ASSIGNED_OFFICER, staffed.pk, [intake_officer.pk]),
        (2, EscalationLevel.SUPERVISORS, staffed.pk, [supervisor.pk]),
        (3, EscalationLevel.AGENCY_ADMIN, staffed.pk, [agency_admin.pk]),
        (4, EscalationLevel.PARTNER_AGENCY, partner.pk, [other_agency_user.pk]),
    ]
    request.refresh_from_db()
    assert (request.escalation_level, request.next_escalation_at) == (4, None)


def test_a_long_outage_catches_up_every_missed_level_in_one_sweep(frozen, staffed, make_request):
    request = make_request(staffed, is_confined="1")

    clock.advance(timedelta(hours=3))
    result = services.sweep()

    assert result["escalated"] == 4
    assert [level for level, *_ in levels(request)] == [1, 2, 3, 4]


def test_without_a_partner_agency_the_ladder_stops_at_the_agency_admin(
    frozen, hotline, intake_officer, agency_admin, make_request
):
    request = make_request(hotline, is_child="1")

    clock.advance(timedelta(hours=3))
    services.sweep()

    assert [level for level, *_ in levels(request)] == [1, 2, 3]
    request.refresh_from_db()
    assert request.next_escalation_at is None


def test_normal_requests_escalate_after_4_hours_then_hourly(frozen, staffed, make_request):
    request = make_request(staffed)

    clock.advance(timedelta(hours=3, minutes=59))
    assert services.sweep()["escalated"] == 0
    clock.advance(timedelta(minutes=1))
    assert services.sweep()["escalated"] == 1
    clock.advance(timedelta(minutes=59))
    assert services.sweep()["escalated"] == 0
    clock.advance(timedelta(minutes=1))
    assert services.sweep()["escalated"] == 1
    assert [level for level, *_ in levels(request)] == [1, 2]


def test_level_1_goes_to_the_assigned_officer_when_there_is_one(
    frozen, staffed, intake_officer, case_worker, as_principal, make_request
):
    request = make_request(staffed, is_child="1")
    services.help_request_assign(
        actor=as_principal(intake_officer), request_id=request.pk, user_id=case_worker.pk
    )

    clock.advance(timedelta(minutes=15))
    services.sweep()

    assert levels(request)[0][3] == [case_worker.pk]


def test_a_responded_request_never_escalates(
    frozen, staffed, intake_officer, as_principal, make_request
):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=5))
    services.help_request_respond(actor=as_principal(intake_officer), request_id=request.pk)

    clock.advance(timedelta(days=2))
    result = services.sweep()

    assert result == {"looked_at": 0, "escalated": 0}
    assert Escalation.objects.count() == 0


def test_responding_after_an_escalation_stops_the_climb(
    frozen, staffed, intake_officer, as_principal, make_request
):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))
    services.sweep()
    services.help_request_respond(actor=as_principal(intake_officer), request_id=request.pk)

    clock.advance(timedelta(hours=3))
    services.sweep()

    assert [level for level, *_ in levels(request)] == [1]


def test_acknowledging_does_not_stop_escalation(
    frozen, staffed, intake_officer, as_principal, make_request
):
    request = make_request(staffed, is_child="1")
    services.help_request_acknowledge(actor=as_principal(intake_officer), request_id=request.pk)

    clock.advance(timedelta(minutes=15))

    assert services.sweep()["escalated"] == 1


def test_escalations_are_shown_on_the_detail_page(
    frozen, staffed, supervisor, staff_client, make_request
):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=30))
    services.sweep()

    html = staff_client(supervisor).get(f"/intake/r/{request.reference}/").content.decode()

    assert "Level 1: Assigned officer (Agency A (synthetic)) · 2025-03-04 03:30 UTC" in html
    assert "Level 2: Agency supervisors (Agency A (synthetic)) · 2025-03-04 03:30 UTC" in html


# --- the outbox ------------------------------------------------------------------------------


def test_escalation_notifies_the_right_people_in_app_and_by_email(
    frozen, staffed, intake_officer, supervisor, agency_admin, make_request
):
    request = make_request(staffed)  # not urgent: no "urgent" alert, only escalations
    clock.advance(timedelta(hours=5))  # levels 1 and 2 are due
    services.sweep()

    result = services.outbox_deliver()

    assert result == {"delivered": 2, "failed": 0}
    notes = sorted(Notification.objects.values_list("user_id", "kind", "request_id", "dedupe_key"))
    assert notes == sorted(
        [
            (
                intake_officer.pk,
                "escalation",
                request.pk,
                f"esc:{request.pk}:1:{intake_officer.pk}",
            ),
            (supervisor.pk, "escalation", request.pk, f"esc:{request.pk}:2:{supervisor.pk}"),
        ]
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted([intake_officer.email, supervisor.email])
    for message in mail.outbox:
        assert request.reference not in message.body
        assert request.narrative not in message.body


def test_urgent_request_alerts_intake_officers_and_supervisors_at_once(
    frozen, staffed, intake_officer, supervisor, agency_admin, make_request
):
    request = make_request(staffed, is_transfer_imminent="1")

    services.outbox_deliver()

    assert sorted(Notification.objects.values_list("user_id", "kind")) == sorted(
        [(intake_officer.pk, "urgent_request"), (supervisor.pk, "urgent_request")]
    )
    assert set(Notification.objects.values_list("request_id", flat=True)) == {request.pk}


def test_redelivering_an_outbox_message_creates_no_duplicate_notification_or_email(
    frozen, staffed, intake_officer, make_request
):
    make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))
    services.sweep()
    services.outbox_deliver()
    notes_before = Notification.objects.count()
    mails_before = len(mail.outbox)

    # A crash after handling but before marking delivered: the message comes round again.
    OutboxMessage.objects.update(delivered_at=None)
    again = services.outbox_deliver()
    message = OutboxMessage.objects.filter(kind="escalation").get()
    services._handle(message, clock.now())

    assert again["delivered"] == OutboxMessage.objects.count()
    assert Notification.objects.count() == notes_before
    assert len(mail.outbox) == mails_before


def test_a_failing_delivery_is_retried_later_not_lost(frozen, staffed, make_request, monkeypatch):
    make_request(staffed, is_child="1")

    def broken(message: OutboxMessage, now: datetime) -> None:
        raise ConnectionError("mail relay down")

    monkeypatch.setattr(services, "_handle", broken)
    assert services.outbox_deliver() == {"delivered": 0, "failed": 1}
    message = OutboxMessage.objects.get()
    assert (message.delivered_at, message.attempts, message.last_error) == (
        None,
        1,
        "ConnectionError",
    )
    assert message.available_at == T0 + timedelta(seconds=2)

    monkeypatch.undo()
    assert services.outbox_deliver() == {"delivered": 0, "failed": 0}  # not due yet
    clock.advance(timedelta(seconds=2))
    assert services.outbox_deliver() == {"delivered": 1, "failed": 0}
    assert Notification.objects.count() == 2


def test_users_without_email_get_only_the_in_app_notification(
    frozen, staffed, intake_officer, make_request
):
    type(intake_officer).objects.filter(pk=intake_officer.pk).update(email="")
    make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))
    services.sweep()
    OutboxMessage.objects.filter(kind="urgent_request").update(delivered_at=T0)

    services.outbox_deliver()

    assert list(Notification.objects.values_list("user_id", flat=True)) == [intake_officer.pk]
    assert mail.outbox == []


def test_the_queue_shows_the_users_notifications(
    frozen, staffed, intake_officer, staff_client, make_request
):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))
    services.sweep()
    services.outbox_deliver()

    html = staff_client(intake_officer).get("/intake/").content.decode()

    assert "Escalated to you:" in html
    assert f'<a href="/intake/r/{request.reference}/">{request.reference}</a>' in html


# --- heartbeat and health --------------------------------------------------------------------


def test_sweep_command_escalates_delivers_and_writes_the_heartbeat(frozen, staffed, make_request):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))

    call_command("sweep", stdout=open("/dev/null", "w"))  # noqa: SIM115

    beat = Heartbeat.objects.get(name="sweeper")
    assert beat.beat_at == T0 + timedelta(minutes=15)
    assert beat.detail == {"looked_at": 1, "escalated": 1}
    assert Escalation.objects.filter(request=request).count() == 1
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()
    # Linked too, for sites that run only cron: the creation and the escalation events.
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()
    assert Heartbeat.objects.get(name="audit-linker").detail == {"linked": 2}


def test_health_is_green_while_the_sweeper_beats_and_red_when_it_is_over_60_seconds_old(
    db, frozen, client
):
    for name in ["worker", *periodic.JOBS]:
        periodic.beat(name)
    clock.advance(timedelta(seconds=60))

    fresh = client.get("/health")

    assert fresh.status_code == 200
    assert fresh.json()["checks"]["sweeper"] == {"ok": True, "seconds_since_beat": 60.0}

    for name in ["worker", *periodic.JOBS]:
        if name != "sweeper":
            periodic.beat(name)
    clock.advance(timedelta(seconds=1))
    stale = client.get("/health")

    assert stale.status_code == 503
    assert stale.json()["status"] == "red"
    assert stale.json()["checks"]["sweeper"] == {"ok": False, "seconds_since_beat": 61.0}
    assert [name for name, check in stale.json()["checks"].items() if not check["ok"]] == [
        "sweeper"
    ]


@pytest.mark.django_db
def test_health_is_red_when_the_sweeper_never_ran(client):
    periodic.beat("worker")

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["sweeper"] == {"ok": False, "error": "sweeper has never run"}


# --- bulk escalation -------------------------------------------------------------------------


def _sweep_queries() -> tuple[dict[str, int], int]:
    with CaptureQueriesContext(connection) as queries:
        result = services.sweep()
    return result, len(queries)


def test_a_sweep_costs_the_same_number_of_queries_for_3_or_30_due_requests(
    frozen, staffed, make_request
):
    for _ in range(3):
        make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))
    small, small_queries = _sweep_queries()
    for _ in range(30):
        make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=15))  # the first 3 reach level 2, the 30 new ones level 1

    large, large_queries = _sweep_queries()

    assert (small["escalated"], large["escalated"]) == (3, 33)
    assert large_queries == small_queries
    assert Escalation.objects.count() == 36
    assert AuditEvent.objects.filter(action=AuditAction.REQUEST_ESCALATED).count() == 36
    assert OutboxMessage.objects.filter(kind="escalation").count() == 36


def test_a_sweep_in_small_batches_escalates_every_due_request_once(frozen, staffed, make_request):
    requests = [make_request(staffed, is_child="1") for _ in range(5)]
    clock.advance(timedelta(minutes=15))

    assert services.sweep(batch=2) == {"looked_at": 5, "escalated": 5}
    assert services.sweep(batch=2) == {"looked_at": 0, "escalated": 0}
    assert sorted(Escalation.objects.values_list("request_id", "level")) == sorted(
        (r.pk, 1) for r in requests
    )


def test_a_request_whose_level_fell_behind_its_escalations_is_not_escalated_twice(
    frozen, staffed, make_request
):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=30))
    services.sweep()
    # As if the level update had been lost: the request says 0, levels 1 and 2 exist.
    HelpRequest.objects.filter(pk=request.pk).update(
        escalation_level=0, next_escalation_at=T0 + timedelta(minutes=15)
    )

    result = services.sweep()

    assert result == {"looked_at": 1, "escalated": 0}
    assert [level for level, *_ in levels(request)] == [1, 2]
    request.refresh_from_db()
    assert (request.escalation_level, request.next_escalation_at) == (
        2,
        T0 + timedelta(minutes=45),
    )
    assert AuditEvent.objects.filter(action=AuditAction.REQUEST_ESCALATED).count() == 2


def test_one_sweep_over_two_agencies_notifies_each_agencys_own_staff(
    frozen, staffed, intake_officer, other_agency_user, make_request
):
    here = make_request(staffed, is_child="1")
    there = make_request(other_agency_user.memberships.get().agency, is_child="1")
    clock.advance(timedelta(minutes=30))

    services.sweep()

    assert levels(there) == [
        (1, EscalationLevel.ASSIGNED_OFFICER, there.assigned_agency_id, []),
        (2, EscalationLevel.SUPERVISORS, there.assigned_agency_id, [other_agency_user.pk]),
    ]
    assert levels(here)[0][3] == [intake_officer.pk]
    agencies = dict(
        AuditEvent.objects.filter(
            action=AuditAction.REQUEST_ESCALATED, metadata__level=2
        ).values_list("target_id", "agency_id")
    )
    assert agencies == {
        str(here.pk): here.assigned_agency_id,
        str(there.pk): there.assigned_agency_id,
    }
