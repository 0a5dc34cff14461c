"""Deny by default: every route declares its access; refusals look like "not found"."""

from __future__ import annotations

import re

import pytest
from django.urls import resolve

from lifeline.accounts import services
from lifeline.accounts.access import API_ATTR, declared_access
from lifeline.accounts.models import Membership, Role
from lifeline.accounts.policies import Capability
from lifeline.accounts.tests import urls_undeclared
from lifeline.accounts.tests.helpers import english_client
from lifeline.accounts.tests.routes import iter_routes, undeclared_routes
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SYSTEM

# --- the route inventory (no database) -------------------------------------------------------


def test_every_route_is_public_or_declares_a_capability():
    assert undeclared_routes() == []


def test_route_walk_finds_a_view_that_forgot_to_declare_access():
    """The inventory check itself can fail: one undeclared view in a URL conf is reported."""
    assert undeclared_routes("lifeline.accounts.tests.urls_undeclared") == ["forgotten/"]


def test_route_walk_reaches_every_route_with_a_resolvable_path():
    routes = list(iter_routes())

    assert len(routes) > 20
    seen: set[str] = set()
    for route in routes:
        # django-ninja emits one pattern per operation; GET and POST on one path share a
        # PathView that dispatches on the method, and the first pattern is the one resolved.
        if route.template in seen and route.template.startswith("api/"):
            continue
        seen.add(route.template)
        assert resolve(route.path).func is route.callback, route.template


def test_public_routes_are_the_reviewed_few():
    public = sorted(
        r.template
        for r in iter_routes()
        if declared_access(r.callback)[0] and not getattr(r.callback, API_ATTR, False)
    )

    assert public == [
        "2fa/",
        "health",
        "help/",
        "help/status/",
        "i18n/setlang/",
        "login/",
        "logout/",
    ]


def test_admin_routes_all_need_platform_admin():
    admin = [r for r in iter_routes() if r.template.startswith("admin/")]

    assert admin
    assert {r.capability for r in admin} == {Capability.PLATFORM_ADMIN}


# --- refusals at request time ----------------------------------------------------------------


def _normalised(body: bytes, path: str) -> bytes:
    """Remove what differs per response by design: the masked CSRF token (random per render)
    and the current path echoed into the language switcher."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b'name="csrfmiddlewaretoken"', body)
    return body.replace(f'value="{path}"'.encode(), b'value="PATH"')


@pytest.mark.django_db
@pytest.mark.urls("lifeline.accounts.tests.urls_undeclared")
def test_view_without_declaration_answers_404_even_to_a_verified_supervisor(
    client, supervisor, login_fully
):
    login_fully(client, supervisor)
    urls_undeclared.SERVED.clear()

    response = client.get("/forgotten/")

    assert response.status_code == 404
    assert b"SECRET-SHOULD-NEVER-BE-SERVED" not in response.content
    assert urls_undeclared.SERVED == []


@pytest.mark.django_db
@pytest.mark.urls("lifeline.accounts.tests.urls_undeclared")
def test_view_without_declaration_answers_404_to_anonymous(client):
    response = client.get("/forgotten/")

    assert response.status_code == 404
    assert urls_undeclared.SERVED == []


@pytest.mark.django_db
def test_missing_capability_404_is_identical_to_missing_page_404(
    client, intake_officer, login_fully
):
    login_fully(client, intake_officer)

    denied = client.get("/agency/members/")
    missing = client.get("/no-such-page/")

    assert (denied.status_code, missing.status_code) == (404, 404)
    assert denied["Content-Type"] == missing["Content-Type"]
    assert _normalised(denied.content, "/agency/members/") == _normalised(
        missing.content, "/no-such-page/"
    )
    assert b"Members" not in denied.content


@pytest.mark.django_db
def test_missing_capability_writes_an_access_denied_event(client, intake_officer, login_fully):
    login_fully(client, intake_officer)
    before = AuditEvent.objects.count()

    client.get("/agency/audit/")

    event = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED)
    assert AuditEvent.objects.count() == before + 1
    assert (event.actor_id, event.agency_id, event.role) == (
        intake_officer.pk,
        intake_officer.memberships.get().agency_id,
        "intake_officer",
    )
    assert event.metadata == {"capability": "audit.view", "route": "accounts:audit"}


@pytest.mark.django_db
def test_missing_page_writes_no_audit_event(client, intake_officer, login_fully):
    login_fully(client, intake_officer)
    before = AuditEvent.objects.count()

    client.get("/no-such-page/")

    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_user_without_membership_sees_no_agency_data(client, user_without_membership, login_fully):
    login_fully(client, user_without_membership)

    home = client.get("/")

    assert home.status_code == 200
    assert home.context["principal"].agency is None
    assert home.context["capabilities"] == [Capability.HOME_VIEW]
    assert b"You have no active role in any agency" in home.content
    assert client.get("/agency/members/").status_code == 404
    assert client.get("/agency/audit/").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).count() == 2


@pytest.mark.django_db
def test_supervisor_sees_only_own_agency_members(
    client,
    supervisor,
    case_worker,
    intake_officer,
    other_agency_user,
    make_staff,
    agency_b,
    login_fully,
):
    make_staff("b.caseworker", Role.CASE_WORKER, agency_b)
    login_fully(client, supervisor)

    response = client.get("/agency/members/")

    assert response.status_code == 200
    assert sorted(m.user.username for m in response.context["memberships"]) == [
        "a.caseworker",
        "a.intake",
        "a.supervisor",
    ]
    assert b"b.supervisor" not in response.content
    assert b"b.caseworker" not in response.content
    assert b"Agency B" not in response.content


@pytest.mark.django_db
def test_members_page_query_count_does_not_grow_with_members(
    client, supervisor, agency_a, make_staff, login_fully, django_assert_max_num_queries
):
    login_fully(client, supervisor)
    with django_assert_max_num_queries(100) as few:
        client.get("/agency/members/")
    for i in range(8):
        make_staff(f"a.extra{i}", Role.CASE_WORKER, agency_a, device=False)

    with django_assert_max_num_queries(100) as many:
        client.get("/agency/members/")

    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_other_agency_supervisor_sees_only_their_agency(
    client, supervisor, other_agency_user, login_fully
):
    login_fully(client, other_agency_user)

    response = client.get("/agency/members/")

    assert [m.user.username for m in response.context["memberships"]] == ["b.supervisor"]


@pytest.mark.django_db
def test_audit_page_shows_only_own_agency_events(
    client, agency_admin, other_agency_user, login_fully
):
    other = english_client()
    login_fully(other, other_agency_user)
    login_fully(client, agency_admin)

    response = client.get("/agency/audit/")

    events = response.context["events"]
    assert events
    assert {e.agency_id for e in events} == {agency_admin.memberships.get().agency_id}
    assert other_agency_user.pk not in {e.actor_id for e in events}


@pytest.mark.django_db
def test_revoked_membership_takes_effect_on_the_next_request(client, supervisor, login_fully):
    login_fully(client, supervisor)
    assert client.get("/agency/members/").status_code == 200

    services.membership_revoke(actor=SYSTEM, membership=Membership.objects.get(user=supervisor))

    assert client.get("/agency/members/").status_code == 404
