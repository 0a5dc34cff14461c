"""Person records: validation, blind tokens, audit, versions, incremental attach to persons."""

from __future__ import annotations

import pytest

from lifeline.audit.models import AuditEvent
from lifeline.core.crypto import blind_index
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.people import services
from lifeline.people.models import (
    ClusterMembership,
    PersonRecord,
    PersonToken,
    ReviewPair,
    ReviewStatus,
)

pytestmark = pytest.mark.django_db

SOK_HEANG = {
    "name_latin": "Sok Heang",
    "date_of_birth": "1998-03-04",
    "sex": "female",
    "phone": "012 345 678",
    "province": "Prey Veng",
    "destination_country": "th",
}


def cluster_of(record: PersonRecord) -> int:
    return ClusterMembership.objects.get(record=record, is_current=True).cluster_id


def test_create_stores_normalised_values_tokens_and_audit(officer, agency_a):
    record = services.person_record_create(principal=officer, data=SOK_HEANG)
    record.refresh_from_db()
    assert record.agency_id == agency_a.pk
    assert record.phone == "+85512345678"
    assert record.destination_country == "TH"
    assert record.dob_precision == "day"
    assert record.version == 1
    kinds = set(PersonToken.objects.filter(record=record).values_list("kind", flat=True))
    assert kinds == {"name", "nbag", "ncat", "nskel", "phone", "dob"}
    phone_digest = blind_index("+85512345678", purpose="person-phone")
    assert PersonToken.objects.filter(record=record, kind="phone", digest=phone_digest).exists()
    # No plaintext in the token table.
    assert not PersonToken.objects.filter(digest__icontains="heang").exists()
    event = AuditEvent.objects.get(action="record.created", target_type="person_record")
    assert event.target_id == str(record.pk)
    assert event.metadata == {"cluster": cluster_of(record)}


def test_create_collects_every_error_and_writes_nothing(officer):
    bad = {
        "name_latin": "",
        "name_khmer": "Sok",
        "date_of_birth": "1998-02-30",
        "phone": "12",
        "destination_country": "XX",
        "nationality": "Cambodia",
        "sex": "x",
        "id_number": "A" * 40,
    }
    with pytest.raises(ValidationFailed) as exc:
        services.person_record_create(principal=officer, data=bad)
    assert set(exc.value.errors) == {
        "name_khmer",
        "date_of_birth",
        "phone",
        "destination_country",
        "nationality",
        "sex",
        "id_number",
    }
    assert PersonRecord.objects.count() == 0
    assert not AuditEvent.objects.filter(action="record.created").exists()


def test_a_name_is_required(officer):
    with pytest.raises(ValidationFailed) as exc:
        services.person_record_create(principal=officer, data={"phone": "012345678"})
    assert list(exc.value.errors) == ["name_latin"]


def test_latin_name_with_khmer_script_is_refused(officer):
    with pytest.raises(ValidationFailed) as exc:
        services.person_record_create(principal=officer, data={"name_latin": "សុខ ហៀង"})
    assert list(exc.value.errors) == ["name_latin"]


def test_roles_without_identity_access_cannot_create(analyst, make_staff):
    from lifeline.accounts.principal import principal_for

    with pytest.raises(NotFound):
        services.person_record_create(principal=principal_for(analyst), data=SOK_HEANG)
    assert PersonRecord.objects.count() == 0


def test_the_same_person_from_two_agencies_joins_one_cluster(officer, other_officer):
    first = services.person_record_create(principal=officer, data=SOK_HEANG)
    second = services.person_record_create(
        principal=other_officer,
        data={
            "name_latin": "HEANG Sok",
            "name_khmer": "សុខ ហៀង",
            "date_of_birth": "1998",
            "sex": "female",
            "phone": "+855 12 345 678",
            "province": "Prey Veng",
        },
    )
    assert cluster_of(first) == cluster_of(second)
    membership = ClusterMembership.objects.get(record=second, is_current=True)
    assert membership.source == "incremental"


def test_a_different_person_starts_a_new_cluster(officer):
    first = services.person_record_create(principal=officer, data=SOK_HEANG)
    other = services.person_record_create(
        principal=officer,
        data={
            "name_latin": "Meas Dara",
            "date_of_birth": "1990",
            "sex": "male",
            "province": "Kandal",
        },
    )
    assert cluster_of(first) != cluster_of(other)


def test_an_uncertain_match_joins_and_waits_for_review(officer, other_officer):
    services.person_record_create(principal=officer, data=SOK_HEANG)
    # Same name under the romanisation table and province, nothing else: plausible only.
    services.person_record_create(
        principal=other_officer, data={"name_latin": "Sok Hieng", "province": "Prey Veng"}
    )
    pairs = list(ReviewPair.objects.filter(status=ReviewStatus.PENDING))
    assert len(pairs) == 1
    assert 0.5 <= pairs[0].match_probability < 0.99
    assert pairs[0].evidence["name"]["status"] == "agree"
    assert pairs[0].evidence["phone"]["status"] == "missing"


def test_update_with_stale_version_is_a_conflict(officer):
    record = services.person_record_create(principal=officer, data=SOK_HEANG)
    updated = services.person_record_update(
        principal=officer, record_id=record.pk, expected_version=1, data={"province": "Takeo"}
    )
    assert updated.version == 2
    with pytest.raises(Conflict):
        services.person_record_update(
            principal=officer, record_id=record.pk, expected_version=1, data={"province": "Kampot"}
        )
    record.refresh_from_db()
    assert record.province == "Takeo"
    event = AuditEvent.objects.get(action="record.updated", target_id=str(record.pk))
    assert event.metadata == {"fields": ["province"], "version": 2}


def test_update_rewrites_tokens(officer):
    record = services.person_record_create(principal=officer, data=SOK_HEANG)
    services.person_record_update(
        principal=officer, record_id=record.pk, expected_version=1, data={"phone": "097 111 2222"}
    )
    new = blind_index("+855971112222", purpose="person-phone")
    old = blind_index("+85512345678", purpose="person-phone")
    assert PersonToken.objects.filter(record=record, kind="phone", digest=new).exists()
    assert not PersonToken.objects.filter(record=record, kind="phone", digest=old).exists()


def test_other_agency_cannot_update(officer, other_officer):
    record = services.person_record_create(principal=officer, data=SOK_HEANG)
    with pytest.raises(NotFound):
        services.person_record_update(
            principal=other_officer,
            record_id=record.pk,
            expected_version=1,
            data={"province": "Takeo"},
        )
    record.refresh_from_db()
    assert record.version == 1 and record.province == "Prey Veng"


def test_update_refuses_unknown_fields(officer):
    record = services.person_record_create(principal=officer, data=SOK_HEANG)
    with pytest.raises(ValidationFailed):
        services.person_record_update(
            principal=officer, record_id=record.pk, expected_version=1, data={"agency": 9}
        )
