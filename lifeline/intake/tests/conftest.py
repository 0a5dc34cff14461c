"""Intake fixtures: a hotline agency, requests made through the real services, principals,
logged-in staff clients and API clients. Synthetic data only: names are invented and phone
numbers come from ranges used for examples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from lifeline.accounts.models import Agency, AgencyKind, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.accounts.services import api_client_create
from lifeline.audit.services import SystemActor
from lifeline.intake import services
from lifeline.intake.models import Channel, HelpRequest

# A complete, valid public-form submission (a family member reporting a confined relative).
VALID_FORM: dict[str, str] = {
    "reporter_type": "family",
    "reporter_name": "Sok Dara",
    "reporter_phone": "012 345 678",
    "person_name": "Chan Sopheap",
    "country": "TH",
    "place_abroad": "a compound near the border (synthetic)",
    "narrative": "My sister went to work abroad and cannot leave. (synthetic test text)",
}


@pytest.fixture
def hotline(agency_a: Agency) -> Agency:
    """Agency A as the national hotline: public web-form requests are assigned to it."""
    agency_a.kind = AgencyKind.HOTLINE
    agency_a.save(update_fields=["kind"])
    return agency_a


@pytest.fixture
def as_principal() -> Callable[[User], Principal]:
    """The principal a fully verified session of `user` acts as."""

    def make(user: User) -> Principal:
        return principal_for(user, verified=True)

    return make


@pytest.fixture
def make_request(db: None) -> Callable[..., HelpRequest]:
    """make_request(agency, **overrides) -> a help request stored by the real create service."""

    def make(
        agency: Agency, *, channel: str = Channel.HOTLINE_CALL, **overrides: Any
    ) -> HelpRequest:
        raw = {**VALID_FORM, **overrides}
        data = services.request_input_clean(raw, channel=channel)
        result = services.help_request_create(
            actor=SystemActor("test"), data=data, assigned_agency=agency
        )
        return result.request

    return make


@pytest.fixture
def staff_client(login_fully: Callable[..., object]) -> Callable[[User], Client]:
    """staff_client(user) -> a test client logged in with password and TOTP, reading English.

    Pages follow the user's preferred language, which is English for factory-made users.
    """

    def make(user: User) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        login_fully(client, user)
        return client

    return make


@pytest.fixture
def api_token(db: None) -> Callable[[Agency], str]:
    """api_token(agency) -> a bearer token of a new API client of that agency."""

    def make(agency: Agency) -> str:
        _client, token = api_client_create(
            actor=SystemActor("test"), agency=agency, name=f"gateway of {agency.code}"
        )
        return token

    return make
