"""The partner agency at the top of the ladder (e.g. the national committee) can open and answer
the requests escalated to it, and only those; each such read and act is audited as reached
through the escalation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from lifeline.accounts.models import Role
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.core import clock
from lifeline.intake import selectors, services
from lifeline.intake.models import Escalation, HelpRequest, IntakeSettings, RequestStatus

T0 = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)
VIA = {"via": "partner_escalation"}


@pytest.fixture
def frozen() -> Iterator[None]:
    with clock.freeze(T0):
        yield


@pytest.fixture
def partner(other_agency_user):
    """Agency B, where `other_agency_user` is a supervisor."""
    return other_agency_user.memberships.get().agency


@pytest.fixture
def staffed(hotline, intake_officer, supervisor, agency_admin, partner):
    IntakeSettings.objects.update_or_create(agency=hotline, defaults={"partner_agency": partner})
    return hotline


@pytest.fixture
def escalated(frozen, staffed, make_request) -> HelpRequest:
    """An urgent request left unanswered for 2 hours: all four levels, the last to agency B."""
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(hours=2))
    services.sweep()
    assert Escalation.objects.filter(request=request).count() == 4
    return request


def _events(user, action):
    return list(
        AuditEvent.objects.filter(actor_id=user.pk, action=action).values_list(
            "target_id", "metadata"
        )
    )


def test_partner_supervisor_opens_a_request_escalated_to_the_partner(
    escalated, other_agency_user, staff_client
):
    response = staff_client(other_agency_user).get(f"/intake/r/{escalated.reference}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert escalated.narrative in html
    assert "Escalated to your agency as the partner agency. It is held by Agency A" in html
    assert 'action="/intake/r/' + escalated.reference + '/respond/"' in html
    assert "/assign/" not in html  # assigning stays with the agency holding the request
    assert _events(other_agency_user, AuditAction.RECORD_VIEWED) == [(str(escalated.pk), VIA)]


def test_holding_agency_reads_are_audited_without_the_partner_marker(
    escalated, supervisor, staff_client
):
    assert staff_client(supervisor).get(f"/intake/r/{escalated.reference}/").status_code == 200

    assert _events(supervisor, AuditAction.RECORD_VIEWED) == [(str(escalated.pk), {})]


def test_partner_cannot_open_a_request_before_it_reaches_the_partner_level(
    frozen, staffed, other_agency_user, staff_client, make_request
):
    request = make_request(staffed, is_child="1")
    clock.advance(timedelta(minutes=45))  # levels 1-3: still inside agency A
    services.sweep()

    response = staff_client(other_agency_user).get(f"/intake/r/{request.reference}/")

    assert response.status_code == 404
    assert _events(other_agency_user, AuditAction.RECORD_VIEWED) == []


def test_partner_sees_only_the_escalated_requests_of_the_holding_agency(
    escalated, staffed, other_agency_user, staff_client, make_request
):
    quiet = make_request(staffed)  # not urgent, not yet due: never escalated
    client = staff_client(other_agency_user)

    queue = client.get("/intake/").content.decode()

    assert escalated.reference in queue
    assert quiet.reference not in queue
    assert client.get(f"/intake/r/{quiet.reference}/").status_code == 404
    assert client.post(f"/intake/r/{quiet.reference}/respond/").status_code == 404
    quiet.refresh_from_db()
    assert quiet.first_response_at is None


def test_partner_records_the_first_response_which_stops_the_climb(
    escalated, other_agency_user, staff_client
):
    response = staff_client(other_agency_user).post(f"/intake/r/{escalated.reference}/respond/")

    assert response.status_code == 302
    escalated.refresh_from_db()
    assert (escalated.status, escalated.first_response_at, escalated.next_escalation_at) == (
        RequestStatus.RESPONDED,
        clock.now(),
        None,
    )
    assert _events(other_agency_user, AuditAction.REQUEST_RESPONDED) == [(str(escalated.pk), VIA)]


def test_partner_acknowledges_an_escalated_request(escalated, other_agency_user, staff_client):
    staff_client(other_agency_user).post(f"/intake/r/{escalated.reference}/acknowledge/")

    escalated.refresh_from_db()
    assert escalated.acknowledged_at == clock.now()
    assert _events(other_agency_user, AuditAction.REQUEST_ACKNOWLEDGED) == [
        (str(escalated.pk), VIA)
    ]


def test_partner_cannot_assign_an_escalated_request(escalated, other_agency_user, staff_client):
    staff_client(other_agency_user).post(
        f"/intake/r/{escalated.reference}/assign/", {"user_id": other_agency_user.pk}
    )

    escalated.refresh_from_db()
    assert escalated.assigned_user_id is None
    assert _events(other_agency_user, AuditAction.REQUEST_ASSIGNED) == []


def test_a_third_agency_cannot_open_a_request_escalated_to_the_partner(
    escalated, make_staff, staff_client
):
    outsider = make_staff("c.supervisor", Role.SUPERVISOR, AgencyFactory(code="agency-c"))
    client = staff_client(outsider)

    assert client.get(f"/intake/r/{escalated.reference}/").status_code == 404
    assert client.post(f"/intake/r/{escalated.reference}/respond/").status_code == 404
    escalated.refresh_from_db()
    assert escalated.first_response_at is None
    assert _events(outsider, AuditAction.RECORD_VIEWED) == []


def test_partner_staff_without_request_view_cannot_open_it(
    escalated, partner, make_staff, staff_client
):
    analyst = make_staff("b.analyst", Role.ANALYST, partner)

    assert staff_client(analyst).get(f"/intake/r/{escalated.reference}/").status_code == 404


def test_visible_to_adds_the_partner_branch_only_for_agencies_that_are_partners(
    escalated, intake_officer, other_agency_user, as_principal
):
    holding = selectors.visible_to(as_principal(intake_officer))
    partner = selectors.visible_to(as_principal(other_agency_user))

    assert "intake_escalation" not in str(holding.query)
    assert list(holding) == [escalated]
    assert list(partner) == [escalated]
