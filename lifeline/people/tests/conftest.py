"""People fixtures: principals in two agencies and a helper that creates records through the
real service. Names are invented from common Khmer name parts; numbers are synthetic."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lifeline.accounts.models import Agency, User
from lifeline.accounts.principal import Principal, principal_for
from lifeline.core import clock
from lifeline.people import services
from lifeline.people.models import PersonRecord, PersonToken


@pytest.fixture
def officer(case_worker: User) -> Principal:
    return principal_for(case_worker)


@pytest.fixture
def reviewer(supervisor: User) -> Principal:
    return principal_for(supervisor)


@pytest.fixture
def other_officer(other_agency_user: User) -> Principal:
    return principal_for(other_agency_user)


@pytest.fixture
def make_record(db: None) -> Callable[..., PersonRecord]:
    """make_record(agency_or_principal, name_latin=..., ...) through the service."""

    def make(who: Principal | Agency, **data: Any) -> PersonRecord:
        if isinstance(who, Principal):
            return services.person_record_create(principal=who, data=data)
        return services.person_record_create_system(actor=services.SYSTEM, agency=who, data=data)

    return make


def bulk_register(agency: Agency, n: int, *, seed: int, profile: str = "standard") -> None:
    """n synthetic records written directly (encrypted, tokenised), without per-record attach."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from benchmarks.khlink import generate

    frame = generate(profile, n, seed=seed).fillna("")
    now = clock.now()
    rows = []
    for row in frame.to_dict("records"):
        data = {
            "name_latin": row["name_latin"],
            "name_khmer": row["name_khmer"],
            "date_of_birth": row["dob"],
            "sex": {"F": "female", "M": "male"}.get(row["sex"], ""),
            "phone": row["phone"],
            "id_number": row["id_number"],
            "province": row["province"],
            "destination_country": row["destination_country"],
        }
        try:
            cleaned = services.person_input_clean(data)
        except Exception:  # noqa: S112 - a generator row our validation refuses is skipped
            continue
        rows.append(PersonRecord(agency=agency, created_at=now, updated_at=now, **cleaned))
    records = PersonRecord.objects.bulk_create(rows, batch_size=1000)
    tokens = []
    for record in records:
        for kind, digest in services.probe_tokens(
            name_latin=record.name_latin,
            name_khmer=record.name_khmer,
            phone=record.phone,
            dob=record.date_of_birth,
            id_number=record.id_number,
        ):
            tokens.append(PersonToken(record=record, kind=kind, digest=digest))
    PersonToken.objects.bulk_create(tokens, batch_size=5000)
