"""The security battery's world: two NGOs (A, B), a third party (C), an embassy, a ministry and a
police agency; four kinds of case seen from agency A, each with a help request; canary strings
planted in every record; and a counter of checked combinations printed at the end.

Synthetic data only: every name and story here is invented.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction

from lifeline.accounts.models import Agency, AgencyKind, Role, User
from lifeline.accounts.principal import principal_for
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.cases import services as case_services
from lifeline.cases.models import (
    AuthorityRequest,
    Case,
    Consent,
    ConsentScope,
    Purpose,
    Section,
    ServicePlan,
    Task,
)
from lifeline.cases.tests.factories import CaseFactory, PersonRecordFactory, victim_of
from lifeline.core import clock
from lifeline.intake import services as intake_services
from lifeline.intake.models import Channel
from lifeline.people.models import (
    ClusterMembership,
    MembershipSource,
    PersonCluster,
    PersonRecord,
    ReviewPair,
)
from lifeline.referrals.models import Referral, ReferralKind
from lifeline.reports.models import ExportShape, ExportStatus, RecordExport
from lifeline.screening import services as screening_services
from lifeline.screening.models import ScreeningInterview
from lifeline.screening.tests.conftest import SAFE_GATE

# Sections agency A receives of the shared case. PERSONS and SCREENING are deliberately absent.
SHARED_SECTIONS = (Section.SUMMARY.value, Section.TASKS.value)


# Checked combinations, summed over the session and printed by `pytest_terminal_summary`.
CHECKED: Counter[str] = Counter()
# Audit and log checks made along the way (B1 exposures, B3 refusals, B6 log records, D5 routes).
AUDITED: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CHECKED:
        total = sum(CHECKED.values())
        parts = ", ".join(f"{k}={v}" for k, v in sorted(CHECKED.items()))
        terminalreporter.write_line(f"security battery: {total} checked combinations ({parts})")
    if AUDITED:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(AUDITED.items()))
        terminalreporter.write_line(f"security battery, audit/log/CSRF checks: {parts}")


@dataclass
class CaseObject:
    """One case of the matrix and the ids of the records hanging off it."""

    label: str
    case: Case
    person_id: int
    interview_id: int
    task_id: int
    consent_id: int
    plan_id: int
    request_id: int
    referral_id: int
    pair_id: int
    cluster_id: int
    twin_id: int
    canaries: tuple[str, ...] = ()
    # The help request assigned to the case's owner agency (never shared or escalated here).
    help_request_id: int = 0
    help_request_reference: str = ""
    request_canaries: tuple[str, ...] = ()
    # A record export of the owner agency waiting for its second person (battery A10).
    export_id: int = 0

    @property
    def all_canaries(self) -> tuple[str, ...]:
        return self.canaries + self.request_canaries

    def audit_targets(self) -> set[tuple[str, str]]:
        """(target_type, target_id) of every record of the case: an audit row naming any of them
        accounts for showing the case's canaries (the victim's name is on all their pages)."""
        ids = {
            "case": [self.case.pk],
            "person_record": [self.person_id, self.twin_id],
            "screening_interview": [self.interview_id],
            "review_pair": [self.pair_id],
            "person_cluster": [self.cluster_id],
            "referral": [self.referral_id],
            "authority_request": [self.request_id],
        }
        return {(kind, str(pk)) for kind, pks in ids.items() for pk in pks}

    def path_values(self) -> dict[str, str]:
        return {
            "reference": self.case.reference,
            "person_id": str(self.person_id),
            "interview_id": str(self.interview_id),
            "task_id": str(self.task_id),
            "consent_id": str(self.consent_id),
            "plan_id": str(self.plan_id),
            "request_id": str(self.request_id),
            "referral_id": str(self.referral_id),
            "pair_id": str(self.pair_id),
            "cluster_id": str(self.cluster_id),
            "kind": "follow_up",
            "action": "split",
            "request_reference": self.help_request_reference,
            "request_action": "acknowledge",
            "agency_code": self.case.owner_agency.code,
            "export_id": str(self.export_id),
        }


@dataclass
class World:
    agency_a: Agency
    agency_b: Agency
    agency_c: Agency
    objects: dict[str, CaseObject] = field(default_factory=dict)
    # The embassy, ministry and police agency, keyed by AgencyKind value.
    extra: dict[str, Agency] = field(default_factory=dict)
    # Agencies holding a live share (summary + tasks) of B's "shared" case: A and the embassy.
    shared_with: set[int] = field(default_factory=set)

    def agency(self, side: str) -> Agency:
        return {"a": self.agency_a, "b": self.agency_b, "c": self.agency_c}.get(side) or (
            self.extra[side]
        )

    def canaries_hidden_from(self, agency_id: int | None) -> list[str]:
        """Canaries of every case this agency does not own. Shares give agency A only the
        summary status and tasks, which carry no canary, so none of these may ever reach it."""
        return [
            c
            for obj in self.objects.values()
            if obj.case.owner_agency_id != agency_id
            for c in obj.all_canaries
        ]

    def all_canaries(self) -> list[str]:
        return [c for obj in self.objects.values() for c in obj.all_canaries]


def _canary(label: str, what: str) -> str:
    return f"CANARY{label.upper()}{what.upper()}ZQX"


def _build_case(
    label: str, owner: Agency, owner_user: User, third: Agency, *, canary_tasks: bool = True
) -> CaseObject:
    now = clock.now()
    name = _canary(label, "name")
    summary = _canary(label, "summary")
    note = _canary(label, "screeningnote")
    victim = PersonRecordFactory(agency=owner, name_latin=f"Synthetic {name}")
    case = CaseFactory(owner_agency=owner, victim=victim, summary=f"Synthetic story {summary}")
    principal = principal_for(owner_user, verified=True)
    interview = screening_services.interview_start(
        actor=principal, person_id=victim.pk, gate=SAFE_GATE
    )
    interview = ScreeningInterview.objects.get(pk=interview.pk)
    interview.assessment_note = f"Synthetic note {note}"
    interview.save(update_fields=["assessment_note"])
    task = Task.objects.create(
        case=case,
        title=f"Synthetic task {_canary(label, 'task')}" if canary_tasks else "Synthetic task",
        due_at=now + timedelta(days=2),
        created_at=now,
    )
    consent = _share_consent(victim, owner, third, Purpose.RESCUE)
    plan = ServicePlan.objects.create(
        case=case, needs=f"Synthetic needs {_canary(label, 'needs')}", goals="Synthetic goals",
        created_at=now,
    )  # fmt: skip
    authority = AuthorityRequest.objects.create(
        case=case,
        recipient_agency=third,
        channel="letter",
        purpose=Purpose.RESCUE,
        sent_at=now,
        content=f"Synthetic letter {_canary(label, 'letter')}",
        content_hash="0" * 64,
        ack_deadline_at=now + timedelta(days=2),
        response_deadline_at=now + timedelta(days=7),
    )
    referral = Referral.objects.create(
        case=case,
        from_agency=owner,
        to_agency=third,
        kind=ReferralKind.SHARE,
        sections=[Section.SUMMARY.value],
        purpose=Purpose.RESCUE,
        note=f"Synthetic referral note {_canary(label, 'referral')}",
        consent=consent,
        sent_by=owner_user,
        sent_at=now,
    )
    other = PersonRecordFactory(agency=owner, name_latin=f"Synthetic {_canary(label, 'twin')}")
    pair = ReviewPair.objects.create(
        record_a=victim, record_b=other, match_probability=0.7, created_at=now
    )
    cluster = PersonCluster.objects.create(created_at=now)
    ClusterMembership.objects.create(
        record=victim, cluster=cluster, source=MembershipSource.values[0], started_at=now
    )
    canaries = [name, summary, note, _canary(label, "needs"), _canary(label, "letter")]
    canaries += [_canary(label, "referral"), _canary(label, "twin")]
    if canary_tasks:
        canaries.append(_canary(label, "task"))
    request_canaries = (
        _canary(label, "reqperson"),
        _canary(label, "reqreporter"),
        _canary(label, "reqstory"),
    )
    help_request = intake_services.help_request_create(
        actor=intake_services.SystemActor("security-battery"),
        data=intake_services.request_input_clean(
            {
                "reporter_type": "family",
                "reporter_name": f"Synthetic {request_canaries[1]}",
                "reporter_phone": "012 345 678",
                "person_name": f"Synthetic {request_canaries[0]}",
                "country": "TH",
                "place_abroad": "a synthetic compound",
                "narrative": f"Synthetic story {request_canaries[2]}",
            },
            channel=Channel.HOTLINE_CALL,
        ),
        assigned_agency=owner,
    ).request
    export = RecordExport.objects.create(
        agency=owner,
        shape=ExportShape.HTCDS,
        year=now.year,
        purpose="Synthetic purpose: the annual submission to the statistics office",
        case_count=25,
        person_count=20,
        withheld_count=5,
        needs_approval=True,
        status=ExportStatus.PENDING,
        requested_by=owner_user,
        requested_at=now,
    )
    return CaseObject(
        label=label,
        case=case,
        person_id=victim.pk,
        interview_id=interview.pk,
        task_id=task.pk,
        consent_id=consent.pk,
        plan_id=plan.pk,
        request_id=authority.pk,
        referral_id=referral.pk,
        pair_id=pair.pk,
        cluster_id=cluster.pk,
        twin_id=other.pk,
        canaries=tuple(canaries),
        help_request_id=help_request.pk,
        help_request_reference=help_request.reference,
        request_canaries=request_canaries,
        export_id=export.pk,
    )


def _share_consent(
    person: PersonRecord, owner: Agency, recipient: Agency, purpose: Purpose
) -> Consent:
    """A written consent by the person to share their case with `recipient`."""
    now = clock.now()
    return Consent.objects.create(
        person=person,
        agency=owner,
        scope=ConsentScope.SHARE,
        recipient_agency=recipient,
        purpose=purpose,
        given_by="self",
        method="written",
        given_on=now.date(),
        recorded_at=now,
    )


def _share(obj: CaseObject, owner_user: User, recipient: Agency) -> Consent:
    victim: PersonRecord = victim_of(obj.case)
    consent = _share_consent(victim, obj.case.owner_agency, recipient, Purpose.SERVICES)
    with transaction.atomic():
        case_services.case_share_grant(
            actor=principal_for(owner_user, verified=True),
            case=obj.case,
            agency=recipient,
            sections=list(SHARED_SECTIONS),
            consent=consent,
            override=None,
        )
    return consent


@pytest.fixture
def world(make_staff: Any) -> World:
    """Agency A (the viewer), B (owns the other, shared and revoked cases), C (a third party);
    an embassy (also holds the share of B's shared case), a ministry and a police agency."""
    a = AgencyFactory(name="Agency A (synthetic)", code="sec-a")
    b = AgencyFactory(name="Agency B (synthetic)", code="sec-b")
    c = AgencyFactory(name="Agency C (synthetic)", code="sec-c")
    extra = {
        kind: AgencyFactory(name=f"{label} (synthetic)", code=f"sec-{kind}", kind=kind)
        for kind, label in (
            (AgencyKind.EMBASSY.value, "Embassy E"),
            (AgencyKind.MINISTRY.value, "Ministry M"),
            (AgencyKind.POLICE.value, "Police P"),
        )
    }
    a_owner = make_staff("sec.a.owner", Role.SUPERVISOR, a)
    b_owner = make_staff("sec.b.owner", Role.SUPERVISOR, b)
    w = World(agency_a=a, agency_b=b, agency_c=c, extra=extra)
    w.objects["own"] = _build_case("own", a, a_owner, c)
    w.objects["other"] = _build_case("other", b, b_owner, c)
    w.objects["shared"] = _build_case("shared", b, b_owner, c, canary_tasks=False)
    _share(w.objects["shared"], b_owner, a)
    _share(w.objects["shared"], b_owner, extra[AgencyKind.EMBASSY.value])
    w.shared_with = {a.pk, extra[AgencyKind.EMBASSY.value].pk}
    w.objects["revoked"] = _build_case("revoked", b, b_owner, c)
    consent = _share(w.objects["revoked"], b_owner, a)
    case_services.consent_withdraw(
        principal=principal_for(b_owner, verified=True),
        reference=w.objects["revoked"].case.reference,
        consent_id=consent.pk,
    )
    return w
