"""Log-in safety: second factor, lockout, enumeration, passwords, session limits, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from lifeline.accounts import services
from lifeline.accounts.tests.factories import PASSWORD
from lifeline.accounts.tests.helpers import english_client, totp_code
from lifeline.accounts.tests.routes import iter_routes
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SYSTEM
from lifeline.core import clock
from lifeline.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def _protected_paths() -> list[str]:
    return [r.path for r in iter_routes() if r.capability is not None]


def _is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- second factor ----------------------------------------------------------------------------


def test_password_only_session_is_sent_to_2fa_from_every_protected_route(
    client, supervisor, login_password_only
):
    login_password_only(client, supervisor)
    paths = _protected_paths()
    assert "/agency/members/" in paths and "/admin/" in paths

    for path in paths:
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"/2fa/?next={path}"), path
        assert response.content == b"", path


def test_anonymous_is_sent_to_login_from_every_protected_route(client):
    for path in _protected_paths():
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"/login/?next={path}"), path


def test_password_only_session_reaches_no_data_by_post_either(
    client, supervisor, login_password_only
):
    login_password_only(client, supervisor)

    response = client.post("/agency/members/", {})

    assert (response.status_code, response["Location"]) == (302, "/2fa/?next=/agency/members/")


def test_totp_enrolment_confirms_a_new_device(client, make_staff, login_password_only):
    newcomer = make_staff("a.newcomer", device=False)
    login_password_only(client, newcomer)

    page = client.get("/2fa/")

    assert page.status_code == 200
    assert page.context["enrolling"] is True
    device = TOTPDevice.objects.get(user=newcomer)
    assert device.confirmed is False
    assert page.context["secret"] == device.bin_key.hex()
    assert b"<svg" in page.content

    response = client.post("/2fa/", {"token": totp_code(device)})

    assert (response.status_code, response["Location"]) == (302, "/")
    device.refresh_from_db()
    assert device.confirmed is True
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1
    event = AuditEvent.objects.get(action=AuditAction.OTP_DEVICE_CONFIRMED)
    assert event.actor_id == newcomer.pk
    assert client.get("/").status_code == 200


def test_enrolment_page_reuses_the_same_unconfirmed_device(client, make_staff, login_password_only):
    newcomer = make_staff("a.newcomer", device=False)
    login_password_only(client, newcomer)

    first = client.get("/2fa/").context["secret"]
    second = client.get("/2fa/").context["secret"]

    assert first == second
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1


def test_wrong_totp_code_is_refused_and_audited(client, supervisor, login_password_only):
    login_password_only(client, supervisor)
    device = TOTPDevice.objects.get(user=supervisor)
    right = totp_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = client.post("/2fa/", {"token": wrong})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "token": ["That code is not valid. Wait for a new code and try again."]
    }
    event = AuditEvent.objects.get(action=AuditAction.OTP_FAILED)
    assert event.actor_id == supervisor.pk
    assert "otp_device_id" not in client.session
    assert client.get("/")["Location"] == "/2fa/?next=/"


def test_totp_code_cannot_be_replayed(client, supervisor, login_password_only):
    login_password_only(client, supervisor)
    device = TOTPDevice.objects.get(user=supervisor)
    code = totp_code(device)
    assert client.post("/2fa/", {"token": code}).status_code == 302
    client.post("/logout/")

    second = english_client()
    login_password_only(second, supervisor)
    response = second.post("/2fa/", {"token": code})

    assert response.status_code == 200
    assert "otp_device_id" not in second.session
    assert AuditEvent.objects.filter(action=AuditAction.OTP_FAILED).count() == 1


def test_non_numeric_totp_code_is_refused_by_the_form(client, supervisor, login_password_only):
    login_password_only(client, supervisor)

    response = client.post("/2fa/", {"token": "abcdef"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "token": ["Enter the 6 digits shown in your authenticator app."]
    }
    assert "otp_device_id" not in client.session


def test_2fa_next_parameter_refuses_another_host(client, supervisor, login_password_only):
    login_password_only(client, supervisor)
    device = TOTPDevice.objects.get(user=supervisor)

    response = client.post("/2fa/?next=https://evil.example/", {"token": totp_code(device)})

    assert response["Location"] == "/"


# --- brute force and enumeration -------------------------------------------------------------


def test_lockout_after_five_failures_refuses_the_right_password(client, supervisor):
    statuses = [
        client.post(
            "/login/", {"username": "a.supervisor", "password": "wrong-password-1"}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks

    sixth = client.post("/login/", {"username": "a.supervisor", "password": PASSWORD})

    assert sixth.status_code == 429
    assert "accounts/locked.html" in [t.name for t in sixth.templates]
    assert b"Account locked" in sixth.content
    assert not _is_logged_in(client)
    assert AccessAttempt.objects.get(username="a.supervisor").failures_since_start == 6
    # The refused sixth attempt counts as a failure too.
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 6
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN).count() == 0


def test_four_failures_do_not_lock_the_account(client, supervisor, login_password_only):
    for _ in range(4):
        client.post("/login/", {"username": "a.supervisor", "password": "wrong-password-1"})

    login_password_only(client, supervisor)

    assert _is_logged_in(client)


def test_lockout_by_address_covers_other_usernames(client, supervisor):
    for i in range(5):
        client.post("/login/", {"username": f"guess{i}", "password": "wrong-password-1"})

    response = client.post("/login/", {"username": "a.supervisor", "password": PASSWORD})

    assert response.status_code == 429
    assert not _is_logged_in(client)


def _login_page_without_token(body: bytes, username: str) -> bytes:
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)
    return body.replace(username.encode(), b"USERNAME")


def test_unknown_user_and_wrong_password_get_the_same_answer(client, supervisor):
    unknown = client.post("/login/", {"username": "no.such.user", "password": "wrong-password-1"})
    wrong = english_client().post(
        "/login/", {"username": "a.supervisor", "password": "wrong-password-1"}
    )

    assert unknown.status_code == wrong.status_code == 200
    assert _login_page_without_token(unknown.content, "no.such.user") == _login_page_without_token(
        wrong.content, "a.supervisor"
    )
    assert b"Please enter a correct" in wrong.content or b'role="alert"' in wrong.content


def test_failed_login_audit_records_no_username(client, supervisor):
    client.post("/login/", {"username": "Sokha Canary-Name", "password": "x"})

    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (event.actor_id, event.role, event.metadata) == (None, "anonymous", {})
    assert "Canary" not in str(AuditEvent.objects.values_list().get())


# --- passwords --------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2(supervisor):
    assert supervisor.password.startswith("argon2$argon2id$")


def test_user_create_rejects_an_11_character_password():
    with translation.override("en"), pytest.raises(ValidationFailed) as excinfo:
        services.user_create(actor=SYSTEM, username="a.short", password="kq7-vx2-mp9")

    assert excinfo.value.errors == {
        "password": ["This password is too short. It must contain at least 12 characters."]
    }
    assert not AuditEvent.objects.filter(action=AuditAction.USER_CREATED).exists()


def test_user_create_rejects_a_common_password():
    with translation.override("en"), pytest.raises(ValidationFailed) as excinfo:
        services.user_create(actor=SYSTEM, username="a.common", password="password1234")

    assert "This password is too common." in excinfo.value.errors["password"]


def test_user_create_accepts_a_12_character_password_and_audits(django_user_model):
    user = services.user_create(actor=SYSTEM, username="a.twelve", password="kq7-vx2-mp9-")

    assert user.check_password("kq7-vx2-mp9-")
    assert user.password.startswith("argon2$")
    event = AuditEvent.objects.get(action=AuditAction.USER_CREATED)
    assert (event.target_type, event.target_id) == ("user", str(user.pk))


# --- sessions ---------------------------------------------------------------------------------


def test_idle_session_is_logged_out_after_30_minutes(client, supervisor, login_fully):
    login_fully(client, supervisor)
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200  # activity pushes the idle limit forward
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200

    clock.advance(timedelta(minutes=31))
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/")
    assert not _is_logged_in(client)


def test_session_is_logged_out_after_12_hours_despite_activity(client, supervisor, login_fully):
    login_fully(client, supervisor)
    for _ in range(28):  # 28 x 25 min = 11 h 40 min, always active
        clock.advance(timedelta(minutes=25))
        assert client.get("/").status_code == 200

    clock.advance(timedelta(minutes=21))  # 12 h 01 min after log-in
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/")
    assert not _is_logged_in(client)


def test_session_key_rotates_at_login(client, supervisor, login_fully):
    session = client.session
    session["pre_login"] = "planted"
    session.save()
    planted = session.session_key
    client.cookies["sessionid"] = planted

    login_fully(client, supervisor)

    assert client.cookies["sessionid"].value != planted
    assert not Session.objects.filter(session_key=planted).exists()


def test_logout_kills_the_session(client, supervisor, login_fully):
    login_fully(client, supervisor)
    old_key = client.cookies["sessionid"].value

    response = client.post("/logout/")

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert not Session.objects.filter(session_key=old_key).exists()
    replay = english_client()
    replay.cookies["sessionid"] = old_key
    assert replay.get("/")["Location"] == "/login/?next=/"
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor_id=supervisor.pk).count() == 1


def test_logout_refuses_get(client, supervisor, login_fully):
    login_fully(client, supervisor)

    assert client.get("/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_deactivated_user_is_anonymous_on_the_next_request(client, supervisor, login_fully):
    login_fully(client, supervisor)
    assert client.get("/").status_code == 200

    services.user_deactivate(actor=SYSTEM, user=supervisor)
    response = client.get("/agency/members/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/agency/members/")


def test_deactivated_user_cannot_log_in(client, supervisor):
    services.user_deactivate(actor=SYSTEM, user=supervisor)

    response = client.post("/login/", {"username": "a.supervisor", "password": PASSWORD})

    assert response.status_code == 200
    assert not _is_logged_in(client)


@pytest.mark.parametrize("path", ["/", "/agency/members/", "/no-such-page/"])
def test_authenticated_responses_carry_no_store(client, supervisor, login_fully, path):
    login_fully(client, supervisor)

    response = client.get(path)

    assert response["Cache-Control"] == "no-store"


def test_password_only_responses_carry_no_store(client, supervisor, login_password_only):
    login_password_only(client, supervisor)

    assert client.get("/2fa/")["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite_lax(client, supervisor, login_fully):
    login_fully(client, supervisor)

    cookie = client.cookies["sessionid"]

    assert (cookie["httponly"], cookie["samesite"]) == (True, "Lax")


def test_login_records_login_time_on_the_one_clock(client, supervisor, login_fully):
    with clock.freeze(clock.now()):
        at = clock.now()
        login_fully(client, supervisor)

        assert client.session["lifeline_login_at"] == at.isoformat()


# --- CSRF -------------------------------------------------------------------------------------


def test_login_post_without_csrf_token_is_refused():
    client = english_client(enforce_csrf_checks=True)

    response = client.post("/login/", {"username": "a.supervisor", "password": PASSWORD})

    assert response.status_code == 403
    assert not _is_logged_in(client)


def test_login_post_with_csrf_token_is_accepted(supervisor):
    client = english_client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)

    response = client.post(
        "/login/",
        {"username": "a.supervisor", "password": PASSWORD, "csrfmiddlewaretoken": token.decode()},
    )

    assert response.status_code == 302
    assert _is_logged_in(client)


def test_2fa_post_without_csrf_token_is_refused(supervisor):
    client = english_client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    client.post(
        "/login/",
        {"username": "a.supervisor", "password": PASSWORD, "csrfmiddlewaretoken": token.decode()},
    )

    response = client.post("/2fa/", {"token": totp_code(TOTPDevice.objects.get(user=supervisor))})

    assert response.status_code == 403
    assert "otp_device_id" not in client.session
