"""The journey of issue 4 in a real Chromium: an NGO screens a synthetic person, opens a case,
refers it to an embassy with the person's consent; the embassy accepts and walks it to the
person's return home. Screenshots go to test-artifacts/.

Uses the browser fixtures of the intake browser tests (skipped without Chromium, except CI).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from lifeline.accounts.models import Agency, Role, User
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.cases.forms import local_today
from lifeline.cases.models import Case, CaseShare
from lifeline.intake.tests.test_browser import (  # noqa: F401 (fixtures)
    _orm_beside_playwright,
    browser,
    log_in,
    open_page,
    shot,
)
from lifeline.screening.models import ScreeningInterview

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YES = ("c_recruited", "c_deceived_job", "c_deceived_wages", "d_transported", "e_excessive_hours",
       "e_low_pay", "f_documents", "f_confinement")  # fmt: skip


def _move(page: Any, target: str) -> None:
    page.click(f"#move button[value={target}]")
    page.wait_for_load_state()
    error = page.locator("#general-error")
    assert not error.count(), error.text_content()


def _record(page: Any, kind: str, fields: dict[str, str]) -> None:
    form = page.locator(f"#form-{kind}")
    form.locator("xpath=..").locator("summary").click()
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert not page.locator(".error").count(), page.locator(".error").first.text_content()


def test_screen_open_refer_accept_and_walk_to_return(
    live_server: Any,
    make_staff: Any,
    agency_a: Agency,
    agency_b: Agency,
    open_page: Any,  # noqa: F811
) -> None:
    worker: User = make_staff("ngo.caseworker", Role.CASE_WORKER, agency_a)
    supervisor: User = make_staff("ngo.supervisor", Role.SUPERVISOR, agency_a)
    embassy: User = make_staff("embassy.officer", Role.SUPERVISOR, agency_b)
    today = local_today().isoformat()
    english = {"extra_http_headers": {"Accept-Language": "en"}}

    # 1. The NGO case worker searches, finds nobody, and opens a case for a new person.
    page = open_page(**english)
    log_in(page, live_server.url, worker)
    page.goto(f"{live_server.url}/cases/new/?q_name=Sok+Heang")
    assert page.is_visible("#no-matches")
    page.fill("#id_name_latin", "Sok Heang")
    page.fill("#id_name_khmer", "សុខ ហៀង")
    page.fill("#id_date_of_birth", "1999")
    page.select_option("#id_sex", "female")
    page.fill("#id_destination_country", "TH")
    page.click("#open-case button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/CS-[A-Z0-9]{4}-[A-Z0-9]{4}/$"))
    reference = page.text_content("#case-ref").strip()
    case_url = f"{live_server.url}/cases/{reference}/"

    # 2. Screening: the safety and consent gate first, then the interview, then the reasons.
    page.click("#persons a:has-text('Screen')")
    for item in ("a_safe_now", "a_private", "a_consent_interview", "a_consent_recording",
                 "a_right_to_stop"):  # fmt: skip
        page.check(f"input[name={item}][value=yes]")
    page.check("input[name=a_interpreter][value=no]")
    page.select_option("select[name=a_language]", "km")
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/screening/\d+/$"))
    page.fill("input[name=item_b_age]", "24")
    for item in YES:
        page.check(f"input[name=item_{item}][value=yes]")
    shot(page, "journey-screening-interview")
    page.click("button[name=action][value=finish]")
    page.wait_for_url(re.compile(r".*/screening/\d+/summary/$"))
    assert page.get_attribute("#suggested-outcome", "data-code") == "POSSIBLE_VOT"
    reasons = page.text_content("#reasons")
    assert "deceptive" in reasons.lower() or "Deceptive" in reasons
    shot(page, "journey-screening-summary")
    assert ScreeningInterview.objects.get().suggested_outcome == "POSSIBLE_VOT"

    # 3. Consent to share with the embassy for rescue; the case moves to locating.
    page.goto(case_url)
    page.click("#consent summary")
    page.select_option("#consent_scope", "share")
    page.select_option("#consent_recipient_agency", str(agency_b.pk))
    page.select_option("#consent_purpose", "rescue")
    page.select_option("#consent_given_by", "self")
    page.select_option("#consent_method", "verbal")
    page.fill("#consent_given_on", today)
    page.click("#consent-form button[type=submit]")
    page.wait_for_load_state()
    assert "In force" in page.text_content("#consent")
    for target in ("triaged", "verifying", "locating"):
        _move(page, target)
    assert page.text_content("#state") == "Locating"

    # 4. The NGO supervisor refers it (persons, removal, repatriation, workflow) and records the
    # request to the embassy; the case waits for action.
    page2 = open_page(**english)
    log_in(page2, live_server.url, supervisor)
    page2.goto(case_url)
    page2.click("#refer-link")
    page2.select_option("#to_agency", str(agency_b.pk))
    page2.check("input[name=kind][value=share]")
    page2.select_option("#purpose", "rescue")
    for section in ("persons", "removal", "repatriation", "workflow"):
        page2.check(f"input[name=sections][value={section}]")
    page2.click("main button:has-text('Send referral')")
    page2.wait_for_load_state()
    assert not page2.locator("#refusal").count()
    shot(page2, "journey-referral-sent")
    page2.goto(case_url)
    _move(page2, "referred")
    page2.click("#authority summary")
    page2.select_option("#authority_recipient_agency", str(agency_b.pk))
    page2.select_option("#authority_channel", "letter")
    page2.select_option("#authority_purpose", "rescue")
    page2.click("#authority-form button[type=submit]")
    page2.wait_for_load_state()
    _move(page2, "awaiting_action")

    # 5. The embassy accepts the referral and sees only what was shared.
    page3 = open_page(**english)
    log_in(page3, live_server.url, embassy)
    page3.goto(f"{live_server.url}/referrals/")
    page3.click(f"a:has-text('{reference}')")
    shot(page3, "journey-referral-inbox")
    page3.click("button:has-text('Accept')")
    page3.wait_for_load_state()
    share = CaseShare.objects.get(agency=agency_b)
    assert set(share.sections) == {"summary", "persons", "removal", "repatriation", "workflow"}
    page3.goto(case_url)
    assert "Shared with you by" in page3.text_content("main")
    assert "សុខ ហៀង" in page3.text_content("#persons")
    for hidden in ("#consent", "#authority", "#services", "#timeline", "#shares"):
        assert not page3.locator(hidden).count(), hidden

    # 6. The embassy walks it: removal, custody, repatriation through Poipet, return.
    _record(page3, "removal", {"mode": "rescue", "date": today, "country": "TH"})
    _move(page3, "removed")
    _record(page3, "custody", {"facility_type": "immigration", "start_date": today})
    _move(page3, "held_abroad")
    _record(page3, "repatriation", {"travel_document_type": "travel document",
                                    "route": "Bangkok - Aranyaprathet - Poipet"})  # fmt: skip
    _move(page3, "repatriation_prep")
    _record(page3, "repatriation", {"crossing_point": "Poipet", "handover_date": today})
    _move(page3, "returned")
    assert page3.text_content("#state") == "Returned"
    shot(page3, "journey-embassy-returned")

    case = Case.objects.get(reference=reference)
    assert (case.state, case.owner_agency_id) == ("returned", agency_a.pk)
    transitions = list(case.events.filter(kind="transition").values_list("to_state", flat=True))
    assert transitions == ["triaged", "verifying", "locating", "referred", "awaiting_action",
                           "removed", "held_abroad", "repatriation_prep", "returned"]  # fmt: skip
    embassy_moves = AuditEvent.objects.filter(
        action=AuditAction.RECORD_TRANSITIONED, agency_id=agency_b.pk, target_id=str(case.pk)
    )
    assert embassy_moves.count() == 4
    page.goto(case_url)
    assert page.text_content("#state") == "Returned"
    assert agency_b.name in page.text_content("#shares")
    shot(page, "journey-owner-sees-return")
