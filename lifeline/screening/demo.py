"""Synthetic screenings for the demo: two persons of the demo NGO "ngo-mekong", screened by its
case worker through the real services, and one official determination still pending.

Everything is invented. If the people demo has loaded persons for ngo-mekong, the first two are
screened; otherwise two synthetic person records are created here.
"""

from __future__ import annotations

from typing import IO, Any

from django.db import transaction

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import principal_for
from lifeline.audit.services import SystemActor
from lifeline.people import services as people_services
from lifeline.people.models import PersonRecord

from . import services
from .models import OfficialDetermination, ScreeningInterview

DEMO = SystemActor("demo")
AGENCY = "ngo-mekong"
INTERVIEWER = "ngo-mekong.caseworker"

GATE = {
    "a_safe_now": "yes", "a_private": "yes", "a_consent_interview": "yes",
    "a_consent_recording": "no", "a_right_to_stop": "yes", "a_interpreter": "no",
    "a_language": "km",
}  # fmt: skip

# Lured by a job advert for "customer service" seen on Facebook, held in a scam compound: a
# possible victim of trafficking, with the non-punishment flag.
SCAM_COMPOUND = {
    "b_age": "23", "b_sex": "male", "c_recruited": "yes", "c_recruiter": "online",
    "c_platform": "facebook",
    "c_deceived_job": "yes", "c_deceived_wages": "yes", "c_vuln_economic": "yes",
    "d_transported": "yes", "d_border_irregular": "yes", "d_transferred": "yes",
    "e_sector": "scam", "e_excessive_hours": "yes", "e_low_pay": "no",
    "f_documents": "yes", "f_debt_bondage": "yes", "f_confinement": "yes", "f_phone": "yes",
    "f_violence": "refused", "h_scam_work": "yes", "h_targets": "yes", "h_punished": "yes",
    "i_confined_now": "no", "i_embassy_contact": "no",
}  # fmt: skip

# Plantation work found through a neighbour, pay withheld and a growing debt: exploitation with
# coercion at destination but no means at recruitment -> possible forced labour, to review.
PLANTATION = {
    "b_age": "34", "b_sex": "female", "c_recruited": "yes", "c_recruiter": "friend",
    "c_platform": "not_online",
    "c_deceived_job": "no", "c_deceived_wages": "no", "c_threats": "no",
    "e_sector": "agriculture", "e_excessive_hours": "yes", "e_deductions": "yes",
    "e_living": "yes", "f_debt_bondage": "yes", "f_wages_withheld": "yes",
    "f_documents": "unknown", "g_dependency": "yes", "g_status_fear": "yes",
    "i_confined_now": "no",
}  # fmt: skip

PERSONS = [
    {"name_latin": "Vannak Demo", "name_khmer": "វណ្ណៈ ដេម៉ូ", "sex": "male",
     "date_of_birth": "2002", "destination_country": "MM", "province": "Kampong Cham"},
    {"name_latin": "Sreymom Demo", "name_khmer": "ស្រីមុំ ដេម៉ូ", "sex": "female",
     "date_of_birth": "1991", "destination_country": "MY", "province": "Prey Veng"},
]  # fmt: skip


def _persons(agency: Agency) -> list[PersonRecord]:
    found = list(PersonRecord.objects.filter(agency=agency).order_by("pk")[:2])
    for data in PERSONS[len(found) :]:
        found.append(
            people_services.person_record_create_system(actor=DEMO, agency=agency, data=data)
        )
    return found


def load(stdout: IO[str] | None = None) -> str:
    """Idempotent: persons already screened by ngo-mekong are left as they are."""
    agency = Agency.objects.filter(code=AGENCY).first()
    user = User.objects.filter(username=INTERVIEWER).first()
    if agency is None or user is None:
        summary = "screenings: skipped (no ngo-mekong case worker)"
    else:
        summary = _load(agency, user)
    if stdout is not None:
        stdout.write(summary + "\n")
    return summary


@transaction.atomic
def _load(agency: Agency, user: User) -> str:
    actor = principal_for(user, agency_id=agency.pk, verified=True)
    made = 0
    persons = _persons(agency)
    for person, answers in zip(persons, (SCAM_COMPOUND, PLANTATION), strict=False):
        if ScreeningInterview.objects.filter(agency=agency, person=person).exists():
            continue
        interview = services.interview_start(
            actor=actor, person_id=person.pk, gate=GATE,
            callback_plan="Telegram, after 20:00 Phnom Penh time (demo)",
        )  # fmt: skip
        services.interview_complete(
            actor=actor, interview_id=interview.pk, expected_version=interview.version,
            answers=answers,
        )  # fmt: skip
        made += 1
    first = persons[0]
    if not OfficialDetermination.objects.filter(person=first).exists():
        data: dict[str, Any] = {
            "value": "PENDING",
            "authority_name": "Ministry of Interior (demo)",
            "country": "KH",
            "person_informed": True,
            "reference_number": "DEMO-MOI-0001",
        }
        ncct = Agency.objects.filter(code="ncct").first()
        if ncct is not None:
            data["authority_id"] = ncct.pk
            data["authority_name"] = ncct.name
        services.determination_record(actor=actor, person_id=first.pk, data=data)
    total = ScreeningInterview.objects.filter(agency=agency).count()
    return f"screenings: {total} at {AGENCY} ({made} new), one official determination pending"
