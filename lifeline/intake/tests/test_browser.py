"""End to end in a real Chromium (Playwright) against pytest-django's live server.

The live server runs in a thread of this process, so `lifeline.core.clock` moves its time too.
Skipped when Playwright or /usr/bin/chromium is missing, except under CI=true, where a missing
browser is a failure: a green CI run must have driven the browser.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from lifeline.accounts.models import User
from lifeline.accounts.tests.factories import PASSWORD
from lifeline.core import clock
from lifeline.intake import services
from lifeline.intake.models import Escalation, HelpRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
REFERENCE = re.compile(r"^LL-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")


def _missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}"
    return ""


@pytest.fixture(scope="module")
def _orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API keeps an event loop on this thread for the whole module; our ORM calls
    # (including the live server's flush at each test's teardown) are still plain synchronous
    # calls, so Django's async-context guard does not apply to them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(_orm_beside_playwright: None) -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as engine:
        chromium = engine.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fill_public_form(page: Any) -> None:
    page.check("input[name=reporter_type][value=family]")
    page.fill("#person_name", "ចាន់ សុភាព")
    page.select_option("#country", "TH")
    page.fill("#narrative", "បងស្រីខ្ញុំមិនអាចចាកចេញបានទេ (synthetic test text)")
    page.check("input[name=is_confined]")
    page.fill("#reporter_phone", "012 345 678")


@pytest.mark.parametrize(
    ("lang", "javascript", "heading"),
    [
        ("km", True, None),
        ("en", True, "We have received your request"),
        ("km", False, None),
    ],
    ids=["khmer", "english", "khmer-without-javascript"],
)
def test_person_submits_the_public_form_and_sees_a_reference(
    live_server, hotline, open_page, lang, javascript, heading
):
    page = open_page(java_script_enabled=javascript, locale="km-KH")
    page.goto(f"{live_server.url}/help/" + ("?lang=en" if lang == "en" else ""))
    assert page.get_attribute("html", "lang") == lang

    fill_public_form(page)
    page.click("button[type=submit]")

    reference = page.text_content("#reference").strip()
    assert REFERENCE.match(reference)
    assert len(page.text_content("#status-code").strip()) == 6
    if heading:
        assert page.text_content("h1") == heading
    stored = HelpRequest.objects.get()
    assert (stored.reference, stored.language, stored.is_urgent) == (reference, lang, True)
    assert stored.person_name == "ចាន់ សុភាព"
    shot(page, f"help-form-{lang}-{'js' if javascript else 'nojs'}")


def current_code(device: TOTPDevice) -> str:
    """What the person's authenticator app shows now."""
    code = totp(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift
    )
    return f"{code:0{device.digits}d}"


def log_in(page: Any, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("form:has(#id_password) button[type=submit]")
    page.fill("#id_token", current_code(TOTPDevice.objects.get(user=user, confirmed=True)))
    page.click("form:has(#id_token) button[type=submit]")
    page.wait_for_url(f"{base_url}/")  # the start page: both factors passed


def test_intake_officer_logs_a_call(live_server, hotline, intake_officer, open_page):
    page = open_page(extra_http_headers={"Accept-Language": "en"})
    log_in(page, live_server.url, intake_officer)

    page.goto(f"{live_server.url}/intake/new/?q=012345678")
    assert page.is_visible("#no-matches")
    page.select_option("#reporter_type", "family")
    page.fill("#reporter_name", "Sok Dara")
    page.fill("#reporter_phone", "+855 12 345 678")
    page.select_option("#country", "MY")
    page.fill("#narrative", "Caller's brother is held in a compound (synthetic).")
    page.check("input[name=is_transfer_imminent]")
    shot(page, "log-call-form")
    page.click("form.card button[type=submit]")

    stored = HelpRequest.objects.get()
    page.wait_for_url(f"**/intake/r/{stored.reference}/")
    assert stored.reporter_phone == "+85512345678"
    assert stored.created_by_id == intake_officer.pk
    assert "Caller's brother is held" in page.text_content(".narrative")
    shot(page, "log-call-detail")


def test_supervisor_sees_an_unanswered_request_turn_red_and_escalate(
    live_server, hotline, intake_officer, supervisor, make_request, open_page
):
    request = make_request(hotline, is_child="1")  # due in 15 minutes
    page = open_page(extra_http_headers={"Accept-Language": "en"})
    log_in(page, live_server.url, supervisor)

    page.goto(f"{live_server.url}/intake/")
    row = page.locator(f"tr[data-reference='{request.reference}']")
    assert row.get_attribute("class") == ""
    shot(page, "queue-before-deadline")

    # 20 minutes: past the 15-minute deadline, within the 30-minute idle limit of the session.
    clock.advance(timedelta(minutes=20))
    services.sweep()
    services.outbox_deliver()
    page.reload()

    assert row.get_attribute("class") == "overdue-row"
    background = row.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(253, 236, 234)"
    overdue = row.locator(".overdue").first
    assert overdue.text_content().startswith("overdue by 5 min")
    assert row.locator("td").nth(6).text_content().strip() == "level 1"
    assert Escalation.objects.filter(request=request).count() == 1
    shot(page, "queue-overdue-escalated")

    page.click(f"a[href='/intake/r/{request.reference}/'] >> nth=0")
    escalations = page.locator("ol.escalations li").all_text_contents()
    assert [e.split(":")[0] for e in escalations] == ["Level 1"]
    shot(page, "detail-escalated")
