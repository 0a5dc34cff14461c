"""Synthetic cases for the demo, walked through the real services as the demo staff would.

ngo-mekong holds three cases: one being located, with consent to share with the embassy in
Bangkok; one at repatriation; one closed after reintegration. Invented people only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.core import clock

from . import services
from .models import Case

OWNER = "ngo-mekong"


def _principal(username: str, agency: Agency) -> Principal | None:
    user = User.objects.filter(username=username, is_active=True).first()
    return principal_for(user, agency_id=agency.pk, verified=True) if user else None


def _walk(case: Case, who: Principal, *targets: str, reason: str = "") -> Case:
    for target in targets:
        case.refresh_from_db()
        case = services.case_transition(
            principal=who,
            reference=case.reference,
            target=target,
            expected_version=case.version,
            closure_reason=reason if target == "closed" else "",
        )
    return case


def _consent(case: Case, who: Principal, recipient: Agency, purpose: str) -> None:
    person_id = case.persons.get(role="victim").person_id
    services.consent_record(
        principal=who,
        reference=case.reference,
        person_id=person_id,
        raw={"scope": "share", "recipient_agency": recipient.pk, "purpose": purpose,
             "given_by": "self", "method": "verbal", "given_on": clock.now().date().isoformat()},
    )  # fmt: skip


def _open(who: Principal, victim: dict[str, Any], country: str) -> Case:
    data = services.CaseOpenInput(summary="Demo case (synthetic)", destination_country=country)
    return services.case_open(principal=who, data=data, victim=victim)


def load() -> str:
    owner = Agency.objects.filter(code=OWNER).first()
    embassy = Agency.objects.filter(code="embassy-bkk").first()
    if owner is None or embassy is None:
        return "cases: demo agencies missing, skipped"
    if Case.objects.filter(owner_agency=owner).exists():
        return f"cases: {Case.objects.filter(owner_agency=owner).count()} already there"
    worker = _principal(f"{OWNER}.caseworker", owner)
    supervisor = _principal(f"{OWNER}.supervisor", owner)
    liaison = _principal(f"{OWNER}.liaison", owner)
    if worker is None or supervisor is None or liaison is None:
        return "cases: demo staff missing, skipped"
    today = clock.now().date()

    locating = _open(worker, {"name_khmer": "ស៊ាង សុភាព", "name_latin": "Seang Sopheap",
                              "date_of_birth": "1998", "sex": "female"}, "TH")  # fmt: skip
    _walk(locating, worker, "triaged", "verifying", "locating")
    _consent(locating, worker, embassy, "rescue")
    services.task_create(
        principal=worker, reference=locating.reference, title="Call the family back (demo)",
        due_at=clock.now() - timedelta(hours=2),
    )  # fmt: skip

    returning = _open(supervisor, {"name_latin": "Phan Rotha", "date_of_birth": "1995-07-02",
                                   "sex": "male"}, "MM")  # fmt: skip
    _walk(returning, worker, "triaged", "verifying", "locating")
    _consent(returning, worker, embassy, "repatriation")
    _walk(returning, liaison, "referred")
    services.authority_request_create(
        principal=liaison, reference=returning.reference,
        raw={"recipient_agency": embassy.pk, "channel": "letter", "purpose": "repatriation",
             "content": "Request for travel document (demo)"},
    )  # fmt: skip
    _walk(returning, liaison, "awaiting_action")
    services.case_record_add(principal=worker, reference=returning.reference, kind="removal",
                             raw={"mode": "rescue", "date": (today - timedelta(days=20)),
                                  "country": "MM", "group_size": 12})  # fmt: skip
    _walk(returning, worker, "removed")
    services.case_record_add(principal=worker, reference=returning.reference, kind="custody",
                             raw={"facility_type": "immigration",
                                  "start_date": today - timedelta(days=18)})  # fmt: skip
    _walk(returning, worker, "held_abroad")
    travel = {"travel_document_type": "travel document", "route": "land",
              "travel_document_issuer": "Embassy in Bangkok"}  # fmt: skip
    services.case_record_add(
        principal=worker, reference=returning.reference, kind="repatriation", raw=travel
    )
    _walk(returning, worker, "repatriation_prep")

    closed = _open(worker, {"name_khmer": "ម៉ៅ ចាន់ធី", "date_of_birth": "2001", "sex": "female"},
                   "MY")  # fmt: skip
    _walk(closed, worker, "reception_screening", "reintegration_planning")
    plan = services.case_record_add(principal=worker, reference=closed.reference,
                                    kind="service_plan", raw={"needs": "Livelihood (demo)",
                                    "goals": "Vocational course (demo)"})  # fmt: skip
    services.service_plan_approve(principal=supervisor, reference=closed.reference, plan_id=plan.pk)
    _walk(closed, worker, "reintegration", "follow_up")
    _walk(closed, supervisor, "closed", reason="reintegrated")
    return "cases: 3 (locating, repatriation, closed)"
