"""The Django admin: platform operators only, behind the second factor; audit rows read-only."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from lifeline.accounts.admin import AuditEventAdmin, site
from lifeline.accounts.models import Agency
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SYSTEM, audit_record

pytestmark = pytest.mark.django_db


def test_verified_platform_admin_reaches_the_admin(client, platform_admin, login_fully):
    login_fully(client, platform_admin)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert response.context["site_header"] == "Lifeline administration"


def test_platform_admin_without_second_factor_is_sent_to_2fa(
    client, platform_admin, login_password_only
):
    login_password_only(client, platform_admin)

    response = client.get("/admin/")

    assert (response.status_code, response["Location"]) == (302, "/2fa/?next=/admin/")


def test_platform_admin_lands_on_home_after_login(client, platform_admin, login_fully):
    response = login_fully(client, platform_admin)

    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/audit/auditevent/"])
def test_verified_non_superuser_gets_404_from_the_admin(client, agency_admin, login_fully, path):
    login_fully(client, agency_admin)

    response = client.get(path)

    assert response.status_code == 404
    event = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).get()
    assert event.metadata["capability"] == "platform.admin"


def test_staff_flag_alone_does_not_open_the_admin(client, make_staff, login_fully):
    staff = make_staff("staff.only")
    staff.is_staff = True
    staff.save()
    login_fully(client, staff)

    assert client.get("/admin/").status_code == 404


def test_audit_event_admin_has_no_add_change_or_delete(platform_admin):
    request = RequestFactory().get("/admin/")
    request.user = platform_admin
    model_admin = AuditEventAdmin(AuditEvent, site)

    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False


def test_audit_event_admin_pages_refuse_writes(client, platform_admin, login_fully):
    login_fully(client, platform_admin)
    event = audit_record(actor=SYSTEM, action=AuditAction.RECORD_VIEWED)
    count = AuditEvent.objects.count()

    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/change/", {}).status_code == 403
    assert (
        client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    change = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert b'name="_save"' not in change.content
    assert AuditEvent.objects.count() == count


def test_agency_created_in_admin_is_audited(client, platform_admin, login_fully):
    login_fully(client, platform_admin)

    response = client.post(
        "/admin/accounts/agency/add/",
        {
            "name": "Admin Made (synthetic)",
            "code": "admin-made",
            "kind": "ngo",
            "country": "KH",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    agency = Agency.objects.get(code="admin-made")
    event = AuditEvent.objects.get(action=AuditAction.RECORD_CREATED)
    assert (event.actor_id, event.target_type, event.target_id, event.metadata) == (
        platform_admin.pk,
        "agency",
        str(agency.pk),
        {"via": "admin"},
    )


def test_agencies_cannot_be_deleted_in_admin(client, platform_admin, agency_a, login_fully):
    login_fully(client, platform_admin)

    response = client.post(f"/admin/accounts/agency/{agency_a.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Agency.objects.filter(pk=agency_a.pk).exists()
