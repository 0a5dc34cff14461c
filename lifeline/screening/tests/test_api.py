"""The staff JSON API for screenings and official determinations: each operation allowed and
refused, with refused calls leaving nothing behind."""

from __future__ import annotations

import json

import pytest

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.screening.models import (
    IndicatorResponse,
    OfficialDetermination,
    ScreeningInterview,
)

from .conftest import POSSIBLE_VICTIM, SAFE_GATE

pytestmark = pytest.mark.django_db
API = "/api/v1"


def post(client, url, body, headers, method="post"):
    return getattr(client, method)(
        url, json.dumps(body), content_type="application/json", **headers
    )


def writes() -> int:
    return AuditEvent.objects.exclude(action=AuditAction.ACCESS_DENIED).count()


@pytest.fixture
def cw_headers(case_worker, agency_a, bearer):
    return bearer(case_worker, agency_a)


def test_start_screening(client, cw_headers, person_a):
    response = post(
        client,
        f"{API}/screenings",
        {"person_id": person_a.pk, "gate": SAFE_GATE, "callback_plan": "Line app after 20:00"},
        cw_headers,
    )

    body = response.json()
    assert response.status_code == 201
    assert (body["status"], body["version"], body["answers"]) == ("in_progress", 1, {})
    assert body["gate"]["callback_plan"] == "Line app after 20:00"
    assert ScreeningInterview.objects.get().pk == body["id"]


def test_start_unsafe_stores_only_callback(client, cw_headers, person_a):
    response = post(
        client,
        f"{API}/screenings",
        {
            "person_id": person_a.pk,
            "gate": {"a_safe_now": "no"},
            "callback_plan": "Do not call; wait for SMS",
        },
        cw_headers,
    )

    assert response.status_code == 201
    assert response.json()["status"] == "stopped_unsafe"
    interview_id = response.json()["id"]
    refused = post(
        client,
        f"{API}/screenings/{interview_id}/answers",
        {"version": 1, "answers": {"c_recruited": "yes"}},
        cw_headers,
        "put",
    )
    assert refused.status_code == 409
    assert IndicatorResponse.objects.count() == 0


def test_start_with_bad_gate_is_422(client, cw_headers, person_a):
    response = post(client, f"{API}/screenings", {"person_id": person_a.pk, "gate": {}}, cw_headers)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "a_safe_now"]
    assert ScreeningInterview.objects.count() == 0


def test_save_complete_get_and_override(client, cw_headers, person_a):
    started = post(
        client, f"{API}/screenings", {"person_id": person_a.pk, "gate": SAFE_GATE}, cw_headers
    ).json()
    url = f"{API}/screenings/{started['id']}"

    saved = post(
        client,
        f"{url}/answers",
        {
            "version": 1,
            "answers": {"c_recruited": "yes", "b_age": "24"},
            "notes": {"c_recruited": "Facebook advert"},
        },
        cw_headers,
        "put",
    )
    done = post(
        client,
        f"{url}/complete",
        {"version": saved.json()["version"], "answers": POSSIBLE_VICTIM},
        cw_headers,
    )
    got = client.get(url, **cw_headers)
    overridden = post(
        client,
        f"{url}/override",
        {
            "version": done.json()["version"],
            "outcome": "POSSIBLE_FORCED_LABOUR",
            "reason": "Reviewed with supervisor (synthetic)",
        },
        cw_headers,
    )

    assert saved.status_code == 200
    assert saved.json()["answers"] == {"c_recruited": "yes", "b_age": "24"}
    assert done.status_code == 200
    body = got.json()
    assert got.status_code == 200
    assert (body["status"], body["suggested_outcome"]) == ("complete", "POSSIBLE_VOT")
    assert body["reasons"]["step"] == "recruitment_exploitation_destination"
    assert body["reasons"]["yes_items"][:2] == ["c_recruited", "c_deceived_job"]
    assert body["dimensions"]["coercion_at_destination"]["threshold"] == "2_strong"
    assert overridden.status_code == 200
    assert (overridden.json()["outcome"], overridden.json()["suggested_outcome"]) == (
        "POSSIBLE_FORCED_LABOUR",
        "POSSIBLE_VOT",
    )


def test_stale_version_is_409(client, cw_headers, person_a):
    started = post(
        client, f"{API}/screenings", {"person_id": person_a.pk, "gate": SAFE_GATE}, cw_headers
    ).json()
    url = f"{API}/screenings/{started['id']}/answers"
    post(client, url, {"version": 1, "answers": {"c_recruited": "yes"}}, cw_headers, "put")

    response = post(
        client, url, {"version": 1, "answers": {"c_recruited": "no"}}, cw_headers, "put"
    )

    assert response.status_code == 409
    assert "changed by someone else" in response.json()["detail"]
    assert IndicatorResponse.objects.get().value == "yes"


def test_invalid_answer_is_422(client, cw_headers, start, case_worker, person_a):
    interview = start(case_worker, person_a)

    response = post(
        client,
        f"{API}/screenings/{interview.pk}/answers",
        {"version": 1, "answers": {"c_recruited": "perhaps"}},
        cw_headers,
        "put",
    )

    assert response.status_code == 422
    assert IndicatorResponse.objects.count() == 0


def test_override_without_reason_is_422(client, cw_headers, finished, case_worker, person_a):
    interview = finished(case_worker, person_a)

    response = post(
        client,
        f"{API}/screenings/{interview.pk}/override",
        {"version": interview.version, "outcome": "NO_INDICATORS", "reason": " "},
        cw_headers,
    )

    assert response.status_code == 422
    interview.refresh_from_db()
    assert interview.override_outcome == ""


@pytest.mark.parametrize("role_fixture", ["analyst", "liaison_officer"])
def test_writes_refused_without_screening_conduct(
    request, role_fixture, agency_a, bearer, client, start, case_worker, person_a
):
    interview = start(case_worker, person_a)
    headers = bearer(request.getfixturevalue(role_fixture), agency_a)
    before = writes()

    responses = [
        post(client, f"{API}/screenings", {"person_id": person_a.pk, "gate": SAFE_GATE}, headers),
        post(
            client,
            f"{API}/screenings/{interview.pk}/answers",
            {"version": 1, "answers": {"c_recruited": "yes"}},
            headers,
            "put",
        ),
        post(client, f"{API}/screenings/{interview.pk}/complete", {"version": 1}, headers),
        post(
            client,
            f"{API}/screenings/{interview.pk}/override",
            {"version": 1, "outcome": "NO_INDICATORS", "reason": "x"},
            headers,
        ),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert ScreeningInterview.objects.count() == 1
    assert IndicatorResponse.objects.count() == 0
    assert writes() == before
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).count() == 4


def test_other_agency_gets_404_for_everything(
    client, other_agency_user, agency_b, bearer, finished, case_worker, person_a
):
    interview = finished(case_worker, person_a)
    headers = bearer(other_agency_user, agency_b)
    before = writes()

    responses = [
        client.get(f"{API}/screenings/{interview.pk}", **headers),
        post(client, f"{API}/screenings", {"person_id": person_a.pk, "gate": SAFE_GATE}, headers),
        post(
            client,
            f"{API}/screenings/{interview.pk}/override",
            {"version": interview.version, "outcome": "NO_INDICATORS", "reason": "x"},
            headers,
        ),
        client.get(f"{API}/persons/{person_a.pk}/determinations", **headers),
        post(
            client,
            f"{API}/determinations",
            {
                "person_id": person_a.pk,
                "value": "PENDING",
                "authority_name": "MDT (synthetic)",
                "country": "TH",
                "person_informed": False,
            },
            headers,
        ),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert ScreeningInterview.objects.count() == 1
    assert OfficialDetermination.objects.count() == 0
    assert writes() == before


def test_analyst_cannot_read_a_screening(
    client, analyst, agency_a, bearer, finished, case_worker, person_a
):
    interview = finished(case_worker, person_a)

    response = client.get(f"{API}/screenings/{interview.pk}", **bearer(analyst, agency_a))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.RECORD_VIEWED).exists()


def test_missing_token_is_401(client, person_a):
    response = client.get(f"{API}/persons/{person_a.pk}/determinations")

    assert response.status_code == 401


DECISION = {
    "value": "VICTIM_OF_FORCED_LABOUR",
    "authority_name": "Multidisciplinary team, Songkhla (synthetic)",
    "country": "TH",
    "decision_date": "2025-02-10",
    "reference_number": "MDT-SYN-42",
    "person_informed": True,
}


def test_record_and_list_determinations(client, case_worker, agency_a, bearer, person_a):
    headers = bearer(case_worker, agency_a)

    created = post(client, f"{API}/determinations", {"person_id": person_a.pk, **DECISION}, headers)
    listed = client.get(f"{API}/persons/{person_a.pk}/determinations", **headers)

    assert created.status_code == 201
    body = created.json()
    assert (body["value"], body["country"], body["decision_date"], body["person_informed"]) == (
        "VICTIM_OF_FORCED_LABOUR",
        "TH",
        "2025-02-10",
        True,
    )
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()] == [body["id"]]
    assert listed.json()[0]["reference_number"] == "MDT-SYN-42"


def test_determination_validation_is_422(client, case_worker, agency_a, bearer, person_a):
    response = post(
        client,
        f"{API}/determinations",
        {
            "person_id": person_a.pk,
            **DECISION,
            "decision_date": "2999-01-01",
            "reason": "labour_dispute",
        },
        bearer(case_worker, agency_a),
    )

    fields = {d["loc"][1] for d in response.json()["detail"]}
    assert response.status_code == 422
    assert fields == {"decision_date", "reason"}
    assert OfficialDetermination.objects.count() == 0


def test_determination_refused_without_the_capability(
    client, intake_officer, agency_a, bearer, person_a
):
    headers = bearer(intake_officer, agency_a)

    response = post(
        client, f"{API}/determinations", {"person_id": person_a.pk, **DECISION}, headers
    )

    assert response.status_code == 404
    assert OfficialDetermination.objects.count() == 0
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).count() == 1
