"""Shared fixtures: agencies, staff in every role (each with a confirmed authenticator), and
helpers that log a test client in the way a person does — password, then a real TOTP code."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from lifeline.accounts.models import Agency, Role, User
from lifeline.accounts.tests.factories import (
    PASSWORD,
    AgencyFactory,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from lifeline.accounts.tests.helpers import english_client, totp_code
from lifeline.core import clock


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    """Every test starts (and leaves) the one clock at real time."""
    clock.reset()
    yield
    clock.reset()


# --- agencies and staff ---------------------------------------------------------------------


@pytest.fixture
def agency_a(db: None) -> Agency:
    return AgencyFactory(name="Agency A (synthetic)", code="agency-a")


@pytest.fixture
def agency_b(db: None) -> Agency:
    return AgencyFactory(name="Agency B (synthetic)", code="agency-b")


@pytest.fixture
def make_staff(db: None) -> Callable[..., User]:
    """make_staff("name", Role.X, agency) -> a user with that role and a confirmed authenticator.
    Pass role=None for a user with no membership at all."""

    def make(
        username: str,
        role: str | None = None,
        agency: Agency | None = None,
        *,
        superuser: bool = False,
        device: bool = True,
    ) -> User:
        user = UserFactory(username=username, is_superuser=superuser, is_staff=superuser)
        if role is not None:
            MembershipFactory(user=user, agency=agency, role=role)
        if device:
            TOTPDeviceFactory(user=user)
        return user

    return make


@pytest.fixture
def intake_officer(make_staff: Callable[..., User], agency_a: Agency) -> User:
    return make_staff("a.intake", Role.INTAKE_OFFICER, agency_a)


@pytest.fixture
def case_worker(make_staff: Callable[..., User], agency_a: Agency) -> User:
    return make_staff("a.caseworker", Role.CASE_WORKER, agency_a)


@pytest.fixture
def supervisor(make_staff: Callable[..., User], agency_a: Agency) -> User:
    return make_staff("a.supervisor", Role.SUPERVISOR, agency_a)


@pytest.fixture
def liaison_officer(make_staff: Callable[..., User], agency_a: Agency) -> User:
    return make_staff("a.liaison", Role.LIAISON_OFFICER, agency_a)


@pytest.fixture
def data_protection_officer(make_staff: Callable[..., User], agency_a: Agency) -> User:
    return make_staff("a.dpo", Role.DATA_PROTECTION_OFFICER, agency_a)


@pytest.fixture
def analyst(make_staff: Callable[..., User], agency_a: Agency) -> User:
    return make_staff("a.analyst", Role.ANALYST, agency_a)


@pytest.fixture
def agency_admin(make_staff: Callable[..., User], agency_a: Agency) -> User:
    return make_staff("a.admin", Role.AGENCY_ADMIN, agency_a)


@pytest.fixture
def other_agency_user(make_staff: Callable[..., User], agency_b: Agency) -> User:
    """A supervisor at agency B: broad rights, but in the wrong agency."""
    return make_staff("b.supervisor", Role.SUPERVISOR, agency_b)


@pytest.fixture
def platform_admin(make_staff: Callable[..., User]) -> User:
    """A platform operator: superuser, member of no agency."""
    return make_staff("platform.op", superuser=True)


@pytest.fixture
def user_without_membership(make_staff: Callable[..., User]) -> User:
    return make_staff("nobody.member")


# --- logging in -----------------------------------------------------------------------------


@pytest.fixture
def client() -> Client:
    """pytest-django's client, asking for English pages (see `english_client`)."""
    return english_client()


@pytest.fixture
def login_password_only() -> Callable[..., object]:
    """Password step only: a session that has not passed the second factor."""

    def login(client: Client, user: User, password: str = PASSWORD) -> object:
        response = client.post("/login/", {"username": user.username, "password": password})
        if response.status_code != 302 or client.session.get("_auth_user_id") != str(user.pk):
            pytest.fail(f"password log-in of {user.username} was refused")
        return response

    return login


@pytest.fixture
def login_fully(login_password_only: Callable[..., object]) -> Callable[..., object]:
    """Password, then the current TOTP code from the user's confirmed authenticator."""

    def login(client: Client, user: User, password: str = PASSWORD) -> object:
        login_password_only(client, user, password)
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        response = client.post("/2fa/", {"token": totp_code(device)})
        if client.session.get("otp_device_id") != device.persistent_id:
            pytest.fail(f"second factor of {user.username} was refused")
        return response

    return login
