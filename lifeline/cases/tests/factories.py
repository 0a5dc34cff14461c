"""Synthetic persons, cases, consents, shares and overrides for case tests.

Rows made here bypass the services: use them to set up a situation, and the services to act on it.
Names are invented; no real people.
"""

from __future__ import annotations

from datetime import timedelta

import factory

from lifeline.accounts.tests.factories import AgencyFactory, UserFactory
from lifeline.cases.models import (
    Case,
    CasePerson,
    CaseShare,
    Consent,
    ConsentScope,
    LifeThreatOverride,
    PersonRole,
    Purpose,
    Section,
)
from lifeline.cases.workflow import State
from lifeline.core import clock
from lifeline.people.models import PersonRecord


class PersonRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonRecord

    agency = factory.SubFactory(AgencyFactory)
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)
    name_latin = factory.Sequence(lambda n: f"Synthetic Person {n}")
    name_khmer = "សុខ សុភា"
    nationality = "KH"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"CS-TEST-{n:04d}")
    owner_agency = factory.SubFactory(AgencyFactory)
    state = State.REQUEST_RECEIVED
    opened_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)
    summary = "Synthetic case summary."

    @factory.post_generation
    def victim(self, create: bool, extracted: PersonRecord | None, **kwargs: object) -> None:
        """Every case has a victim: the one given, or a new person record of the owner."""
        if not create:
            return
        person = extracted or PersonRecordFactory(agency=self.owner_agency)
        CasePerson.objects.create(case=self, person=person, role=PersonRole.VICTIM)


class ConsentFactory(factory.django.DjangoModelFactory):
    """A live consent to share with `recipient_agency` for `purpose`."""

    class Meta:
        model = Consent

    person = factory.SubFactory(PersonRecordFactory)
    agency = factory.SelfAttribute("person.agency")
    scope = ConsentScope.SHARE
    recipient_agency = factory.SubFactory(AgencyFactory)
    purpose = Purpose.RESCUE
    given_by = "self"
    method = "written"
    given_on = factory.LazyFunction(lambda: clock.now().date())
    recorded_at = factory.LazyFunction(clock.now)


class LifeThreatOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LifeThreatOverride

    case = factory.SubFactory(CaseFactory)
    reason = "Synthetic: the person reports being beaten tonight."
    approved_by = factory.SubFactory(UserFactory)
    approved_at = factory.LazyFunction(clock.now)
    expires_at = factory.LazyAttribute(lambda o: o.approved_at + timedelta(hours=24))


class CaseShareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseShare

    case = factory.SubFactory(CaseFactory)
    agency = factory.SubFactory(AgencyFactory)
    sections = factory.LazyFunction(lambda: [Section.SUMMARY.value])
    consent = None
    override = None
    granted_at = factory.LazyFunction(clock.now)


def victim_of(case: Case) -> PersonRecord:
    return case.persons.get(role=PersonRole.VICTIM).person
