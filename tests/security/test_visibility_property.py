"""Property test (issue 7, battery A7): `visible_to` and `case_access` against a pure model.

A hypothesis state machine opens cases in three agencies, records share consents (some expiring),
grants shares through `case_share_grant` on a consent or on a supervisor's life-threat override,
withdraws consents and revokes shares through the services, and moves the one clock forward so
consents and overrides expire. After every step, for every agency, the selectors must agree
with the reference model below, which knows nothing of querysets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from lifeline.accounts.models import Agency, Membership, Role, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.cases import selectors, services
from lifeline.cases.models import (
    Case,
    CasePerson,
    CaseShare,
    Consent,
    ConsentScope,
    PersonRole,
    Purpose,
    Section,
)
from lifeline.core import clock
from lifeline.people.models import PersonRecord

from .conftest import CHECKED

ZONE = ZoneInfo("Asia/Phnom_Penh")
ALL = frozenset(Section.values)
EXAMPLES = int(__import__("os").environ.get("LIFELINE_PROPERTY_EXAMPLES", "2000"))
STEPS = 10


# --- the reference model: plain data, a few lines of rules ------------------------------------


@dataclass
class MConsent:
    withdrawn: bool = False
    expires_on: date | None = None


@dataclass
class MShare:
    agency: int
    sections: frozenset[str]
    consent: int | None = None  # consent pk
    override_expires: datetime | None = None
    revoked: bool = False


@dataclass
class Model:
    owner: dict[int, int] = field(default_factory=dict)  # case pk -> owner agency pk
    consents: dict[int, MConsent] = field(default_factory=dict)
    shares: dict[int, tuple[int, MShare]] = field(default_factory=dict)  # pk -> (case, share)

    def live(self, share: MShare, now: datetime) -> bool:
        if share.revoked:
            return False
        if share.consent is not None:
            c = self.consents[share.consent]
            today = now.astimezone(ZONE).date()
            if not c.withdrawn and (c.expires_on is None or c.expires_on >= today):
                return True
        return share.override_expires is not None and share.override_expires > now

    def access(self, agency: int, case: int, now: datetime) -> tuple[bool, frozenset[str]]:
        if self.owner[case] == agency:
            return True, ALL
        held: set[str] = set()
        for c, s in self.shares.values():
            if c == case and s.agency == agency and self.live(s, now):
                held |= s.sections
        return False, frozenset(held | {Section.SUMMARY.value}) if held else frozenset()

    def visible(self, agency: int, now: datetime) -> set[int]:
        return {c for c in self.owner if self.access(agency, c, now)[1]}


# --- the machine ------------------------------------------------------------------------------

SECTIONS = st.frozensets(st.sampled_from(sorted(Section.values)), max_size=4)


class VisibilityMachine(RuleBasedStateMachine):
    agencies: list[Agency] = []
    # One supervisor per agency and an analyst (no case.view), resolved once per run: a
    # principal is a frozen snapshot of memberships, which no rule changes.
    principals: list[Principal] = []
    analyst: Principal | None = None
    examples = 0
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        clock.reset()
        self.savepoint = transaction.savepoint()
        self.model = Model()
        self.cases: list[Case] = []
        self.victims: dict[int, PersonRecord] = {}
        self.consent_case: dict[int, Case] = {}  # consent pk -> its case
        type(self).examples += 1

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)
        clock.reset()

    # -- rules --

    @rule(owner=st.integers(0, 2))
    def open_case(self, owner: int) -> None:
        agency = self.agencies[owner]
        now = clock.now()
        case = Case.objects.create(
            reference=f"PT-{len(self.cases):04d}-{type(self).examples % 10000:04d}",
            owner_agency=agency,
            opened_at=now,
            updated_at=now,
        )
        person = PersonRecord.objects.create(
            agency=agency, created_at=now, updated_at=now, name_latin="Synthetic Property"
        )
        CasePerson.objects.create(case=case, person=person, role=PersonRole.VICTIM)
        self.cases.append(case)
        self.victims[case.pk] = person
        self.model.owner[case.pk] = agency.pk

    @precondition(lambda self: self.cases)
    @rule(
        data=st.data(),
        recipient=st.integers(1, 2),
        expires_in=st.one_of(st.none(), st.integers(-1, 3)),
        sections=SECTIONS,
    )
    def share_on_consent(
        self, data: st.DataObject, recipient: int, expires_in: int | None, sections: frozenset[str]
    ) -> None:
        case = data.draw(st.sampled_from(self.cases))
        agency = self._other_agency(case, recipient)
        now = clock.now()
        today = now.astimezone(ZONE).date()
        expires_on = None if expires_in is None else today + timedelta(days=expires_in)
        consent = Consent.objects.create(
            person=self.victims[case.pk],
            agency_id=case.owner_agency_id,
            scope=ConsentScope.SHARE,
            recipient_agency=agency,
            purpose=Purpose.SERVICES,
            given_by="self",
            method="verbal",
            given_on=today,
            expires_on=expires_on,
            recorded_at=now,
        )
        self.model.consents[consent.pk] = MConsent(expires_on=expires_on)
        self.consent_case[consent.pk] = case
        share = services.case_share_grant(
            actor=self._owner(case), case=case, agency=agency, sections=sorted(sections),
            consent=consent, override=None,
        )  # fmt: skip
        granted = frozenset(sections | {Section.SUMMARY.value})
        self.model.shares[share.pk] = (case.pk, MShare(agency.pk, granted, consent=consent.pk))

    @precondition(lambda self: self.cases)
    @rule(
        data=st.data(),
        recipient=st.integers(1, 2),
        hours=st.integers(1, 24),
        any_recipient=st.booleans(),
        sections=SECTIONS,
    )
    def share_on_override(
        self,
        data: st.DataObject,
        recipient: int,
        hours: int,
        any_recipient: bool,
        sections: frozenset[str],
    ) -> None:
        case = data.draw(st.sampled_from(self.cases))
        agency = self._other_agency(case, recipient)
        override = services.override_approve(
            principal=self._owner(case),
            reference=case.reference,
            reason="Synthetic: a life is at risk tonight.",
            hours=hours,
            recipient_agency_id=None if any_recipient else agency.pk,
        )
        share = services.case_share_grant(
            actor=self._owner(case), case=case, agency=agency, sections=sorted(sections),
            consent=None, override=override,
        )  # fmt: skip
        granted = frozenset(sections | {Section.SUMMARY.value})
        self.model.shares[share.pk] = (
            case.pk,
            MShare(agency.pk, granted, override_expires=override.expires_at),
        )

    @precondition(lambda self: self.model.consents)
    @rule(data=st.data())
    def withdraw_consent(self, data: st.DataObject) -> None:
        pk = data.draw(st.sampled_from(sorted(self.model.consents)))
        case = self.consent_case[pk]
        services.consent_withdraw(
            principal=self._owner(case), reference=case.reference, consent_id=pk
        )
        self.model.consents[pk].withdrawn = True
        for _case, share in self.model.shares.values():
            if share.consent == pk:
                share.revoked = True

    @precondition(lambda self: self.model.shares)
    @rule(data=st.data())
    def revoke_share(self, data: st.DataObject) -> None:
        pk = data.draw(st.sampled_from(sorted(self.model.shares)))
        share = CaseShare.objects.select_related("case").get(pk=pk)
        services.case_share_revoke(actor=self._owner(share.case), share=share)
        self.model.shares[pk][1].revoked = True

    @rule(hours=st.sampled_from([1, 6, 12, 23, 25, 49]))
    def move_clock(self, hours: int) -> None:
        clock.advance(timedelta(hours=hours))

    # -- the property --

    @invariant()
    def selectors_agree_with_the_model(self) -> None:
        type(self).steps += 1
        now = clock.now()
        for principal in self.principals:
            agency = principal.agency_id
            assert agency is not None
            got = set(selectors.visible_to(principal).values_list("pk", flat=True))
            assert got == self.model.visible(agency, now), (agency, now)
            for case in self.cases:
                access = selectors.case_access(principal, case)
                is_owner, sections = self.model.access(agency, case.pk, now)
                assert (access.is_owner, access.sections) == (is_owner, sections), (
                    agency,
                    case.pk,
                    now,
                )
        nobody = self.analyst  # no case.view: nothing, whatever is shared
        assert nobody is not None
        assert not selectors.visible_to(nobody).exists()
        assert all(selectors.case_access(nobody, c) is selectors.NO_ACCESS for c in self.cases)

    def _owner(self, case: Case) -> Principal:
        return next(p for p in self.principals if p.agency_id == case.owner_agency_id)

    def _other_agency(self, case: Case, offset: int) -> Agency:
        """One of the two agencies that do not own `case` (sharing with oneself is no step)."""
        owner = next(i for i, a in enumerate(self.agencies) if a.pk == case.owner_agency_id)
        return self.agencies[(owner + offset) % len(self.agencies)]


@pytest.mark.slow
@pytest.mark.django_db
def test_visible_to_matches_the_reference_model() -> None:
    # The world in three INSERTs: three agencies, a supervisor in each, an analyst in the first.
    # The users never log in, so no password is hashed.
    agencies = [
        cast(Agency, AgencyFactory(name=f"Property {i} (synthetic)", code=f"prop-{i}"))
        for i in range(3)
    ]
    users = User.objects.bulk_create(
        [User(username=f"prop.sup{i}", password="!") for i in range(3)]
        + [User(username="prop.analyst", password="!")]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=u, agency=a, role=Role.SUPERVISOR)
            for u, a in zip(users[:3], agencies, strict=True)
        ]
        + [Membership(user=users[3], agency=agencies[0], role=Role.ANALYST)]
    )
    VisibilityMachine.agencies = agencies
    VisibilityMachine.principals = [principal_for(u, verified=True) for u in users[:3]]
    VisibilityMachine.analyst = principal_for(users[3], verified=True)
    assert [p.agency_id for p in VisibilityMachine.principals] == [a.pk for a in agencies]
    VisibilityMachine.examples = VisibilityMachine.steps = 0
    started, cpu = time.monotonic(), time.process_time()

    case_class = VisibilityMachine.TestCase
    case_class.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    case_class("runTest").runTest()

    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    CHECKED["property-examples"] += VisibilityMachine.examples
    print(
        f"visibility property: {VisibilityMachine.examples} examples, "
        f"{VisibilityMachine.steps} checked states in {elapsed:.0f} s ({cpu:.0f} s CPU)"
    )
    assert VisibilityMachine.examples >= EXAMPLES
