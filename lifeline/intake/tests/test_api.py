"""The JSON API: idempotent creation, validation that stores nothing, client scoping, docs."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from lifeline.accounts.models import Agency
from lifeline.audit.models import AuditEvent
from lifeline.intake.models import HelpRequest, OutboxMessage, SearchToken

URL = "/api/v1/requests"
REFERENCE = re.compile(r"^LL-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")

BODY: dict[str, Any] = {
    "reporter_type": "self",
    "reporter_phone": "+855 12 345 678",
    "person_name": "Sok Dara",
    "country": "TH",
    "narrative": "I am held in a compound and my passport was taken. (synthetic)",
    "is_confined": True,
}


def post(client: Client, token: str, body: dict[str, Any], key: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(URL, body, content_type="application/json", **headers)


def stored() -> tuple[int, int, int, int]:
    """Rows a create writes: requests, search tokens, audit events, outbox messages."""
    return (
        HelpRequest.objects.count(),
        SearchToken.objects.count(),
        AuditEvent.objects.count(),
        OutboxMessage.objects.count(),
    )


@pytest.fixture
def token(agency_a: Agency, api_token: Callable[[Agency], str]) -> str:
    return api_token(agency_a)


def test_create_answers_201_with_a_reference_once_stored(client, token, agency_a):
    response = post(client, token, BODY, "key-0001-aaaa")

    assert response.status_code == 201
    body = response.json()
    assert REFERENCE.match(body["reference"])
    assert (body["status"], body["urgent"]) == ("received", True)
    stored_request = HelpRequest.objects.get()
    assert stored_request.reference == body["reference"]
    assert stored_request.assigned_agency == agency_a
    assert stored_request.source_agency == agency_a
    assert (stored_request.channel, stored_request.reporter_phone) == ("api", "+85512345678")


def test_retry_with_the_same_key_and_body_answers_200_with_the_same_reference(client, token):
    first = post(client, token, BODY, "key-0002-bbbb")
    before = stored()

    again = post(client, token, BODY, "key-0002-bbbb")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["reference"] == first.json()["reference"]
    assert HelpRequest.objects.count() == 1
    assert stored() == before


def test_a_reference_collision_is_retried_with_a_new_reference_and_stores_one_request(
    client, token, monkeypatch
):
    from lifeline.intake import reference

    taken = post(client, token, BODY, "key-0003-cccc").json()["reference"]
    fresh = iter([taken, taken, "LL-2345-6789"])
    monkeypatch.setattr(reference, "new_reference", lambda prefix="LL": next(fresh))
    before = stored()

    response = post(client, token, {**BODY, "person_name": "Chan Vanna"}, "key-0004-dddd")

    assert response.status_code == 201
    assert response.json()["reference"] == "LL-2345-6789"
    # One request, its tokens, one audit row and one outbox message; nothing of the two attempts
    # that collided.
    after = stored()
    assert after[0] == before[0] + 1 and after[2] == before[2] + 1 and after[3] == before[3] + 1
    assert HelpRequest.objects.filter(reference=taken).count() == 1


def test_same_key_with_a_different_body_is_refused_and_stores_nothing(client, token):
    post(client, token, BODY, "key-0003-cccc")
    before = stored()

    response = post(
        client, token, {**BODY, "narrative": "something else (synthetic)"}, "key-0003-cccc"
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert stored() == before


def test_the_same_key_from_two_agencies_makes_two_requests(client, token, agency_b, api_token):
    other = api_token(agency_b)

    first = post(client, token, BODY, "key-shared-0001")
    second = post(client, other, BODY, "key-shared-0001")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["reference"] != second.json()["reference"]


def test_missing_idempotency_key_is_refused_and_stores_nothing(client, token):
    before = stored()

    response = post(client, token, BODY, None)

    assert response.status_code == 422
    assert stored() == before


def test_invalid_input_answers_422_with_each_field_message_and_stores_nothing(client, token):
    before = stored()
    bad = {
        **BODY,
        "person_name": "Sok 99",
        "reporter_phone": "12",
        "country": "XX",
        "narrative": "held\x07 (synthetic)",
    }

    response = post(client, token, bad, "key-0004-dddd")

    assert response.status_code == 422
    fields = sorted(item["loc"][1] for item in response.json()["detail"])
    assert fields == ["country", "narrative", "person_name", "reporter_phone"]  # one each
    assert all(item["msg"] for item in response.json()["detail"])
    assert stored() == before


def test_unknown_channel_is_refused(client, token):
    response = post(client, token, {**BODY, "channel": "carrier_pigeon"}, "key-0005-eeee")

    assert response.status_code == 422
    assert HelpRequest.objects.count() == 0


@pytest.mark.parametrize("authorization", [None, "Bearer ll_not-a-real-token", "Basic abc"])
def test_create_without_a_valid_bearer_token_answers_401(client, agency_a, authorization):
    headers = {"HTTP_IDEMPOTENCY_KEY": "key-0006-ffff"}
    if authorization:
        headers["HTTP_AUTHORIZATION"] = authorization

    response = client.post(URL, BODY, content_type="application/json", **headers)

    assert response.status_code == 401
    assert HelpRequest.objects.count() == 0


def test_a_client_reads_the_status_of_its_own_request(client, token):
    reference = post(client, token, BODY, "key-0007-gggg").json()["reference"]

    response = client.get(f"{URL}/{reference}", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert response.json()["reference"] == reference
    assert response.json()["status"] == "received"


def test_another_agencys_client_cannot_read_the_request(client, token, agency_b, api_token):
    reference = post(client, token, BODY, "key-0008-hhhh").json()["reference"]
    other = api_token(agency_b)

    response = client.get(f"{URL}/{reference}", HTTP_AUTHORIZATION=f"Bearer {other}")

    assert response.status_code == 404
    assert reference not in response.content.decode()


def test_reading_without_a_token_answers_401(client, token):
    reference = post(client, token, BODY, "key-0009-iiii").json()["reference"]

    assert client.get(f"{URL}/{reference}").status_code == 401


def test_openapi_schema_is_served_and_documents_the_create_operation(client):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/requests" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/requests"]


def test_api_docs_render_from_local_files_without_any_cdn(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    external = re.findall(r"""(?:src|href)=["'](?:https?:)?//[^"']+""", html)
    assert external == []
    assert "cdn" not in html.lower()


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_every_answer_is_built_without_deprecated_tuple_returns(client, token, agency_a):
    """django-ninja warns (and will refuse) when a view returns (status, body) tuples."""
    created = post(client, token, BODY, "key-dep-0001")
    again = post(client, token, BODY, "key-dep-0001")
    other = {**BODY, "narrative": "Another text (synthetic)."}
    conflict = post(client, token, other, "key-dep-0001")
    invalid = post(client, token, {**BODY, "reporter_type": "robot"}, "key-dep-0002")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    found = client.get(f"{URL}/{created.json()['reference']}", **headers)
    missing = client.get(f"{URL}/LL-2222-2222", **headers)

    assert [r.status_code for r in (created, again, conflict, invalid, found, missing)] == [
        201, 200, 422, 422, 200, 404,
    ]  # fmt: skip


# --- concurrency (PostgreSQL only: SQLite serialises writers) ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_posts_with_one_key_store_one_request(agency_a, api_token):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent writers are the point of this test")
    token = api_token(agency_a)
    key = f"key-{uuid.uuid4().hex}"
    barrier = threading.Barrier(50)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            response = post(Client(), token, BODY, key)
            with lock:
                results.append((response.status_code, response.json().get("reference", "")))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 50
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 49 + [201]
    assert len({reference for _, reference in results}) == 1
    assert HelpRequest.objects.filter(idempotency_key__endswith=key).count() == 1
