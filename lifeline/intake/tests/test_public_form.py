"""The public help form and status check: Khmer first, tiny, script-free, idempotent, throttled."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client, override_settings
from django.utils import translation

from lifeline.audit.models import AuditEvent
from lifeline.intake.models import (
    Channel,
    HelpRequest,
    OutboxMessage,
    RequestStatus,
    ThrottleBucket,
)

from .conftest import VALID_FORM

REFERENCE = re.compile(r"LL-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")
PAGE_BUDGET_BYTES = 30 * 1024


def submit(client: Client, lang: str = "en", **fields: str) -> object:
    data = {"submission_id": uuid.uuid4().hex, **VALID_FORM, **fields}
    return client.post(f"/help/?lang={lang}", data)


def stored() -> tuple[int, int, int]:
    return HelpRequest.objects.count(), AuditEvent.objects.count(), OutboxMessage.objects.count()


def test_help_form_defaults_to_khmer(client, hotline):
    response = client.get("/help/")

    assert response.status_code == 200
    assert response["Content-Language"] == "km"
    html = response.content.decode()
    assert '<html lang="km">' in html
    with translation.override("km"):
        khmer_title = translation.gettext("Ask for help")
    if khmer_title != "Ask for help":  # the Khmer catalogue is compiled
        assert khmer_title in html
        assert "Ask for help" not in html


def test_help_form_in_english_when_chosen(client, hotline):
    response = client.get("/help/?lang=en")

    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Ask for help</h1>" in html


@pytest.mark.parametrize("lang", ["km", "en"])
def test_help_form_is_small_script_free_and_has_no_third_party_urls(client, hotline, lang):
    response = client.get(f"/help/?lang={lang}")
    html = response.content.decode()
    stylesheets = re.findall(r"""<link[^>]+href=["']([^"']+)["']""", html)

    total = len(response.content) + sum(len(b"".join(client.get(href))) for href in stylesheets)

    assert total <= PAGE_BUDGET_BYTES, f"{total} bytes"
    assert "<script" not in html.lower()
    assert re.findall(r"""(?:src|href|action)=["'](?:https?:)?//""", html) == []
    assert "@import" not in html and "url(" not in html


def test_valid_submission_answers_201_with_reference_and_status_code(client, hotline):
    response = submit(client)

    assert response.status_code == 201
    html = response.content.decode()
    request = HelpRequest.objects.get()
    assert f'<p class="ref" id="reference">{request.reference}</p>' in html
    assert f'<b id="status-code">{request.status_code}</b>' in html
    assert (request.channel, request.assigned_agency, request.language) == (
        Channel.WEB_FORM,
        hotline,
        "en",
    )
    assert (request.reporter_phone, request.country) == ("+85512345678", "TH")


def test_urgent_submission_says_staff_are_alerted(client, hotline):
    response = submit(client, is_confined="1")

    assert response.status_code == 201
    assert "You marked this as urgent" in response.content.decode()
    assert HelpRequest.objects.get().is_urgent is True


def test_double_submit_with_the_same_submission_id_gives_the_same_reference(client, hotline):
    data = {"submission_id": "form-" + uuid.uuid4().hex, **VALID_FORM}

    first = client.post("/help/?lang=en", data)
    second = client.post("/help/?lang=en", data)

    assert (first.status_code, second.status_code) == (201, 200)
    references = [REFERENCE.search(r.content.decode()).group(0) for r in (first, second)]
    assert references[0] == references[1]
    assert HelpRequest.objects.count() == 1


def test_invalid_submission_is_shown_again_with_messages_and_nothing_is_stored(client, hotline):
    before = stored()

    response = submit(client, person_name="Dara 🙂", reporter_phone="12")

    assert response.status_code == 422
    html = response.content.decode()
    assert "A name can contain only letters, spaces, dots and hyphens." in html
    assert "This phone number is not valid." in html
    assert 'value="Dara 🙂"' in html  # what they typed is kept
    assert stored() == before


def test_filled_honeypot_stores_nothing(client, hotline):
    before = stored()

    response = submit(client, website="http://spam.example")

    assert response.status_code == 400
    assert REFERENCE.search(response.content.decode()) is None
    assert stored() == before


@override_settings(LIFELINE_HELP_THROTTLE=(3, 600))
def test_submission_over_the_limit_answers_429_and_stores_nothing(client, hotline):
    for _ in range(3):
        assert submit(client).status_code == 201
    before = stored()

    response = submit(client)

    assert response.status_code == 429
    assert REFERENCE.search(response.content.decode()) is None
    assert stored() == before
    assert HelpRequest.objects.count() == 3


@override_settings(LIFELINE_HELP_THROTTLE=(1, 600))
def test_throttle_counts_per_client_address(hotline):
    first = Client(REMOTE_ADDR="192.0.2.1")
    second = Client(REMOTE_ADDR="192.0.2.2")

    assert submit(first).status_code == 201
    assert submit(first).status_code == 429
    assert submit(second).status_code == 201


@override_settings(LIFELINE_HELP_THROTTLE=(1, 600))
def test_throttle_stores_a_hash_never_the_client_address(hotline):
    submit(Client(REMOTE_ADDR="192.0.2.77"))

    keys = list(ThrottleBucket.objects.values_list("key", flat=True))
    assert len(keys) == 1
    assert "192.0.2.77" not in keys[0]
    assert len(keys[0]) == 64


def test_form_answers_503_not_a_crash_when_no_agency_takes_public_requests(client, agency_b):
    response = submit(client)

    assert response.status_code == 503
    assert HelpRequest.objects.count() == 0


# --- status check ----------------------------------------------------------------------------


def check(client: Client, reference: str, code: str) -> str:
    response = client.post("/help/status/?lang=en", {"reference": reference, "code": code})
    assert response.status_code == 200
    return response.content.decode()


NOT_FOUND = "We could not find a request with that reference and code."


def test_status_with_reference_and_code_shows_where_the_request_stands(
    client, hotline, make_request
):
    request = make_request(hotline)

    html = check(client, request.reference.lower().replace("-", " "), request.status_code)

    assert "Received. It is waiting for a staff member." in html
    assert request.reference in html
    assert request.narrative not in html

    HelpRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.RESPONDED, first_response_at=request.received_at
    )
    assert "A staff member has responded to this request." in check(
        client, request.reference, request.status_code
    )


def test_status_with_wrong_code_looks_exactly_like_an_unknown_reference(
    client, hotline, make_request
):
    request = make_request(hotline)
    wrong_code = "222222" if request.status_code != "222222" else "333333"

    wrong = check(client, request.reference, wrong_code)
    unknown = check(client, "LL-2222-2222", wrong_code)

    assert NOT_FOUND in wrong
    assert request.reference not in wrong.replace(f'value="{request.reference}"', "")
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|value="LL-[^"]*"')
    assert strip.sub("", wrong) == strip.sub("", unknown)


@pytest.mark.parametrize("code", ["ស្វាគមន៍", "é", "\x00"])
def test_status_with_a_non_ascii_code_answers_not_found_not_a_crash(
    client, hotline, make_request, code
):
    request = make_request(hotline)

    assert NOT_FOUND in check(client, request.reference, code)
    assert NOT_FOUND in check(client, "LL-2222-2222", code)
