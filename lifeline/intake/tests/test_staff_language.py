"""Staff pages follow the user's preferred language unless they picked one with the language
switch; the browser's Accept-Language decides only for people who are not logged in."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from lifeline.accounts.models import Role


@pytest.fixture
def khmer_officer(make_staff, hotline):
    user = make_staff("a.khmer", Role.INTAKE_OFFICER, hotline)
    user.preferred_language = "km"
    user.save(update_fields=["preferred_language"])
    return user


def _language(response) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    lang = html.split('<html lang="', 1)[1].split('"', 1)[0]
    assert response["Content-Language"] == lang
    return lang


def test_staff_page_uses_the_preferred_language_over_the_browsers(khmer_officer, staff_client):
    client = staff_client(khmer_officer)  # the browser asks for English

    response = client.get("/intake/")

    assert _language(response) == "km"
    assert "<h1>សំណើជំនួយដែលកំពុងបើក</h1>" in response.content.decode()  # "Open help requests"


def test_english_preference_wins_over_a_khmer_browser(intake_officer, login_fully):
    client = Client(HTTP_ACCEPT_LANGUAGE="km")
    login_fully(client, intake_officer)  # factory users prefer English

    response = client.get("/intake/")

    assert _language(response) == "en"
    assert "<h1>Open help requests</h1>" in response.content.decode()


def test_an_explicit_choice_with_the_language_switch_wins(khmer_officer, staff_client):
    client = staff_client(khmer_officer)

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/intake/"})

    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert _language(client.get("/intake/")) == "en"


def test_people_not_logged_in_get_the_browsers_language(db):
    assert _language(Client(HTTP_ACCEPT_LANGUAGE="en").get("/login/")) == "en"
    assert _language(Client(HTTP_ACCEPT_LANGUAGE="km").get("/login/")) == "km"


def test_the_preferred_language_does_not_outlive_the_request(khmer_officer, staff_client):
    client = staff_client(khmer_officer)

    with translation.override("en"):
        client.get("/intake/")
        after = translation.get_language()

    assert after == "en"
