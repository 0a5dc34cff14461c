"""Screening fixtures: synthetic person records, principals, interviews made by the real
services, logged-in staff clients and staff API tokens. No real people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.accounts.services import staff_token_create
from lifeline.audit.models import AuditEvent
from lifeline.audit.services import SystemActor
from lifeline.core import clock
from lifeline.people.models import PersonRecord
from lifeline.screening import services
from lifeline.screening.models import ScreeningInterview

SAFE_GATE = {
    "a_safe_now": "yes",
    "a_private": "yes",
    "a_consent_interview": "yes",
    "a_consent_recording": "no",
    "a_right_to_stop": "yes",
    "a_interpreter": "no",
    "a_language": "km",
}
UNSAFE_GATE = {"a_safe_now": "no"}

# Deceived about the job, long hours without pay, passport kept and locked in.
POSSIBLE_VICTIM = {
    "b_age": "24",
    "c_recruited": "yes",
    "c_deceived_job": "yes",
    "c_deceived_wages": "yes",
    "e_excessive_hours": "yes",
    "e_low_pay": "yes",
    "f_documents": "yes",
    "f_confinement": "yes",
    "f_violence": "refused",
}


def make_person(agency: Agency, **fields: Any) -> PersonRecord:
    now = clock.now()
    defaults = {"name_latin": "Synthetic Person", "sex": "female"}
    return PersonRecord.objects.create(
        agency=agency, created_at=now, updated_at=now, **{**defaults, **fields}
    )


@pytest.fixture
def person_a(agency_a: Agency) -> PersonRecord:
    return make_person(agency_a, name_latin="Sok Synthetic")


@pytest.fixture
def person_b(agency_b: Agency) -> PersonRecord:
    return make_person(agency_b, name_latin="Chan Synthetic")


@pytest.fixture
def as_principal() -> Callable[[User], Principal]:
    def make(user: User) -> Principal:
        return principal_for(user, verified=True)

    return make


@pytest.fixture
def start(as_principal: Callable[[User], Principal]) -> Callable[..., ScreeningInterview]:
    """start(user, person, gate=SAFE_GATE, **kwargs) -> an interview started by the service."""

    def make(
        user: User, person: PersonRecord, gate: dict[str, str] | None = None, **kwargs: Any
    ) -> ScreeningInterview:
        return services.interview_start(
            actor=as_principal(user), person_id=person.pk, gate=gate or SAFE_GATE, **kwargs
        )

    return make


@pytest.fixture
def finished(
    start: Callable[..., ScreeningInterview], as_principal: Callable[[User], Principal]
) -> Callable[..., ScreeningInterview]:
    """finished(user, person, answers=POSSIBLE_VICTIM) -> a completed interview."""

    def make(
        user: User, person: PersonRecord, answers: dict[str, str] | None = None
    ) -> ScreeningInterview:
        interview = start(user, person)
        return services.interview_complete(
            actor=as_principal(user), interview_id=interview.pk,
            expected_version=interview.version, answers=answers or POSSIBLE_VICTIM,
        )  # fmt: skip

    return make


@pytest.fixture
def staff_client(login_fully: Callable[..., object]) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        login_fully(client, user)
        return client

    return make


@pytest.fixture
def bearer(db: None) -> Callable[[User, Agency], dict[str, str]]:
    """bearer(user, agency) -> headers for the test client with a fresh staff API token."""

    def make(user: User, agency: Agency) -> dict[str, str]:
        _token, secret = staff_token_create(
            actor=SystemActor("test"), user=user, agency=agency, name="test token"
        )
        return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    return make


def audit_count() -> int:
    return AuditEvent.objects.count()


def actions(**filters: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("pk").values_list("action", flat=True)
    )
