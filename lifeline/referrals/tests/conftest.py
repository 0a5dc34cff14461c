"""Referral fixtures: agency A owns a case of a synthetic person; agency B receives; agency C is
a bystander. Cases, overrides and withdrawals go through the real cases services; consents are
stored directly (the consent form is the cases app's to test). Synthetic data only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from lifeline.accounts.models import Agency, Role, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.accounts.services import staff_token_create
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SystemActor
from lifeline.cases import services as case_services
from lifeline.cases.models import Case, Consent, ConsentScope, Purpose
from lifeline.core import clock
from lifeline.people.models import PersonRecord
from lifeline.referrals import services
from lifeline.referrals.models import Referral, ReferralNotice


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Service messages are translated (Khmer is the site default); assert on the English."""
    from django.utils import translation

    with translation.override("en"):
        yield


WRITE_ACTIONS = (
    AuditAction.RECORD_CREATED,
    AuditAction.RECORD_UPDATED,
    AuditAction.RECORD_TRANSITIONED,
)


def as_principal(user: User) -> Principal:
    return principal_for(user, verified=True)


def write_events() -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(action__in=WRITE_ACTIONS)
        .order_by("pk")
        .values_list("action", "target_type")
    )


class Snapshot:
    """Counts of everything a referral write could leave behind."""

    def __init__(self) -> None:
        self.values = self._take()

    @staticmethod
    def _take() -> dict[str, Any]:
        from lifeline.cases.models import CaseEvent, CaseShare

        return {
            "referrals": list(Referral.objects.values_list("pk", "status")),
            "notices": ReferralNotice.objects.count(),
            "shares": list(CaseShare.objects.values_list("pk", "revoked_at")),
            "events": CaseEvent.objects.count(),
            "writes": write_events(),
            "owners": list(Case.objects.values_list("pk", "owner_agency_id")),
        }

    def unchanged(self) -> bool:
        return self._take() == self.values


@pytest.fixture
def agency_c(db: None) -> Agency:
    return AgencyFactory(name="Agency C (synthetic)", code="agency-c")


@pytest.fixture
def b_case_worker(make_staff: Callable[..., User], agency_b: Agency) -> User:
    return make_staff("b.caseworker", Role.CASE_WORKER, agency_b)


@pytest.fixture
def b_liaison(make_staff: Callable[..., User], agency_b: Agency) -> User:
    return make_staff("b.liaison", Role.LIAISON_OFFICER, agency_b)


@pytest.fixture
def b_analyst(make_staff: Callable[..., User], agency_b: Agency) -> User:
    return make_staff("b.analyst", Role.ANALYST, agency_b)


@pytest.fixture
def c_supervisor(make_staff: Callable[..., User], agency_c: Agency) -> User:
    return make_staff("c.supervisor", Role.SUPERVISOR, agency_c)


@pytest.fixture
def case(agency_a: Agency, supervisor: User) -> Case:
    """A walk-in case at agency A for a synthetic person."""
    now = clock.now()
    person = PersonRecord.objects.create(
        agency=agency_a,
        created_at=now,
        updated_at=now,
        name_latin="Sok Synthetic",
        name_khmer="សុខ សាកល្បង",
        phone="+85512000001",
    )
    return case_services.case_open(
        principal=as_principal(supervisor),
        data=case_services.CaseOpenInput(summary="Held at a compound (synthetic)."),
        victim_person_id=person.pk,
    )


@pytest.fixture
def make_consent(case: Case, supervisor: User) -> Callable[..., Consent]:
    """make_consent(recipient, purpose=..., expires_on=None) -> a share consent of the victim."""

    def make(
        recipient: Agency, purpose: str = Purpose.REPATRIATION, expires_on: date | None = None
    ) -> Consent:
        person_id = case.persons.get(role="victim").person_id
        return Consent.objects.create(
            person_id=person_id,
            agency=case.owner_agency,
            scope=ConsentScope.SHARE,
            recipient_agency=recipient,
            purpose=purpose,
            given_by="self",
            method="written",
            given_on=clock.now().date(),
            expires_on=expires_on,
            recorded_by=supervisor,
            recorded_at=clock.now(),
        )

    return make


@pytest.fixture
def make_override(case: Case, supervisor: User) -> Callable[..., Any]:
    def make(hours: int = 6, recipient: Agency | None = None) -> Any:
        return case_services.override_approve(
            principal=as_principal(supervisor),
            reference=case.reference,
            reason="Beaten in the compound, may be moved tonight (synthetic).",
            hours=hours,
            recipient_agency_id=recipient.pk if recipient else None,
        )

    return make


@pytest.fixture
def send(case: Case, agency_b: Agency) -> Callable[..., Referral]:
    """send(user, **overrides) -> a referral sent through the real service."""

    def make(user: User, **overrides: Any) -> Referral:
        fields: dict[str, Any] = {
            "case_reference": case.reference,
            "to_agency_id": agency_b.pk,
            "kind": "share",
            "purpose": Purpose.REPATRIATION,
            "sections": ("persons", "repatriation"),
            "note": "Sister of the caller; prefers calls after 6 pm (synthetic).",
        }
        fields.update(overrides)
        return services.referral_send(
            principal=as_principal(user), data=services.ReferralInput(**fields)
        )

    return make


@pytest.fixture
def staff_client(login_fully: Callable[..., object]) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        login_fully(client, user)
        return client

    return make


@pytest.fixture
def api(db: None) -> Callable[[User], Client]:
    """api(user) -> a client sending that user's personal bearer token (their only agency)."""

    def make(user: User) -> Client:
        membership = user.memberships.get()
        _token, secret = staff_token_create(
            actor=SystemActor("test"), user=user, agency=membership.agency, name="test"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return make


HOUR = timedelta(hours=1)
