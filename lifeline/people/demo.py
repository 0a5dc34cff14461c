"""Synthetic person records for the demo: the same women and men reaching several agencies under
different spellings, in Khmer and Latin script, then one linkage run. Invented names, dates and
numbers only; they match no real person on purpose."""

from __future__ import annotations

from typing import Any, TextIO

from lifeline.accounts.models import Agency
from lifeline.audit.services import SystemActor

from . import selectors, services
from .models import PersonRecord

DEMO = SystemActor("demo")

# (agency code, fields). Comments say who is who; the linker is not told.
RECORDS: list[tuple[str, dict[str, Any]]] = [
    # Sok Heang: hotline call, embassy in Bangkok, consular department.
    ("hotline", {"name_latin": "Sok Heang", "sex": "female", "date_of_birth": "1998",
                 "phone": "+66812000102", "province": "Prey Veng", "destination_country": "MM"}),
    ("embassy-bkk", {"name_latin": "HEANG Sok", "name_khmer": "សុខ ហៀង", "sex": "female",
                     "date_of_birth": "1998-03-04", "phone": "+66 81 200 0102",
                     "id_number": "N0000102", "province": "Prey Veng",
                     "destination_country": "MM"}),
    ("mfaic-consular", {"name_latin": "Sokheang", "name_khmer": "សុខ ហៀង", "sex": "female",
                        "date_of_birth": "1998-03-04", "id_number": "N0000102",
                        "destination_country": "MM"}),
    # Meas Sreyneang: hotline (from her brother's call) and an NGO.
    ("hotline", {"name_latin": "Meas Sreyneang", "sex": "female", "date_of_birth": "2000",
                 "province": "Kampong Cham", "destination_country": "CN"}),
    ("ngo-mekong", {"name_latin": "Mias Srey Neang", "sex": "female", "date_of_birth": "2000-07",
                    "phone": "+85597000103", "province": "Kampong Cham",
                    "destination_country": "CN"}),
    # Ly Chenda (a boy of 16): NGO and the national committee; uncertain, goes to review.
    ("ngo-mekong", {"name_latin": "Ly Chenda", "sex": "male", "date_of_birth": "2008",
                    "province": "Svay Rieng", "destination_country": "VN"}),
    ("ncct", {"name_latin": "Lee Chenda", "name_khmer": "លី ចិន្តា", "sex": "male",
              "province": "Svay Rieng"}),
    # Different persons, including a namesake who shares the family name Sok.
    ("hotline", {"name_latin": "Heng Pisey", "sex": "female", "date_of_birth": "1995",
                 "province": "Kandal", "destination_country": "LA"}),
    ("ngo-tonle", {"name_latin": "Sar Bopha", "sex": "female", "date_of_birth": "1993",
                   "province": "Siem Reap", "destination_country": "SG"}),
    ("embassy-bkk", {"name_latin": "Kim Vuthy", "sex": "male", "date_of_birth": "1987",
                     "province": "Takeo", "destination_country": "TH"}),
    ("ngo-tonle", {"name_latin": "Sok Dara", "sex": "male", "date_of_birth": "1990",
                   "province": "Prey Veng", "destination_country": "TH"}),
]  # fmt: skip


def load(stdout: TextIO | None = None) -> str:
    """Create the demo records once (skipped when the demo agencies already hold records), link
    them, and return a one-line summary (also written to `stdout` when given)."""
    codes = {code for code, _fields in RECORDS}
    agencies = {a.code: a for a in Agency.objects.filter(code__in=codes)}
    made = 0
    if not PersonRecord.objects.filter(agency__code__in=codes).exists():
        for code, fields in RECORDS:
            agency = agencies.get(code)
            if agency is None:
                continue
            services.person_record_create_system(actor=DEMO, agency=agency, data=fields)
            made += 1
        if made:
            services.linkage_run(actor=DEMO)
    count = selectors.person_count()
    summary = (
        f"person records: {count.records} ({made} new); persons: {count.point} "
        f"(range {count.lower}-{count.upper}); pairs waiting for review: {count.pending_review}"
    )
    if stdout is not None:
        stdout.write(summary + "\n")
    return summary
