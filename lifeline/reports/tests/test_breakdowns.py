# ruff: noqa: RUF001  (en dashes in age bands and half-year labels are meant)
"""Breakdowns and comparisons (reports.breakdowns) against hand-computed numbers: the shared
fixture plus the attributes below, a larger world for public suppression, and the dashboard, PDF
text, JSON and CSV showing the same numbers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from lifeline.accounts.models import Agency
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.cases.tests.factories import CaseFactory, PersonRecordFactory
from lifeline.intake.models import HelpRequest
from lifeline.people.models import PersonRecord
from lifeline.people.names import parse_dob
from lifeline.reports import breakdowns, stats
from lifeline.reports.data import Figure, Unit, public_problems, values_by_position
from lifeline.reports.exports import report_csv, report_json
from lifeline.reports.pdf import report_pdf
from lifeline.screening import instruments
from lifeline.screening.models import IndicatorResponse, ScreeningInterview

from .fixture import CANARY_NAME, NOW, World, at, build
from .test_outputs import csv_values, html_values, json_values

pytestmark = pytest.mark.django_db

KEYS = (
    "form",
    "sex",
    "age",
    "province",
    "recruitment",
    "platform",
    "reporter",
    "channel",
    "compare-cases",
    "compare-requests",
)


def _screening(
    agency: Agency,
    person: PersonRecord,
    when: datetime,
    answers: dict[str, str],
    *,
    status: str = "complete",
    age: int | None = None,
    version: str = "kh-screen-1",
) -> ScreeningInterview:
    interview = ScreeningInterview.objects.create(
        agency=agency,
        person=person,
        instrument_version=version,
        status=status,
        started_at=when,
        updated_at=when,
        completed_at=when if status != "in_progress" else None,
        safe_to_talk=True,
        private=True,
        consent_interview=True,
        age_years=age,
    )
    _answer(interview, answers)
    return interview


def _answer(interview: ScreeningInterview, answers: dict[str, str]) -> None:
    for item, value in answers.items():
        IndicatorResponse.objects.create(
            interview=interview, item_id=item, value=value, answered_at=interview.started_at
        )


def _person(record: PersonRecord, **fields: object) -> None:
    for name, value in fields.items():
        setattr(record, name, value)
    record.save()


def add_breakdown_rows(world: World, agency_a: Agency, agency_b: Agency) -> None:
    """Attributes for the fixture's four victim records (P0 and P1 are one person)."""
    p0, p1, p2, p3 = world.persons
    # P0 is the person's first case (C1, opened 10 Jan 2022): 16 then, so under 18 (9-17).
    _person(p0, sex="female", date_of_birth="2005-03-04", province="Prey Veng")
    # P1 (same cluster, C2 later) has other values: they must not count.
    _person(p1, sex="male", date_of_birth="1980", province="Kandal")
    # P2: birth month only (taken as 15 July 1990), 31 on 5 March 2022; province in lower case.
    _person(p2, sex="male", date_of_birth="1990-07", province="kampong cham")
    # P3: no birth date (age from screening: 22); a commune is not a province.
    _person(p3, sex="female", date_of_birth="", province="Sangkat Boeung Keng Kang")

    # P0's finished screening (fixture, 7 Feb, before the platform question): scam, online.
    # P1's later one (1 Mar, kh-screen-2) is the person's latest: fishing, broker, Telegram.
    # P0's unfinished one (1 Apr) does not count, nor does its platform.
    _answer(
        ScreeningInterview.objects.get(person=p0),
        {"e_sector": "scam", "c_recruiter": "online"},
    )
    _screening(
        agency_a, p1, at(2022, 3, 1),
        {"e_sector": "fishing", "c_recruiter": "broker", "c_platform": "telegram"},
        version="kh-screen-2",
    )  # fmt: skip
    _screening(
        agency_a, p0, at(2022, 4, 1), {"e_sector": "marriage", "c_platform": "facebook"},
        status="in_progress", version="kh-screen-2",
    )  # fmt: skip
    # P2: only another agency screened this record; agency A's figures ignore it.
    _screening(
        agency_b, p2, at(2022, 5, 1),
        {"e_sector": "scam", "c_recruiter": "agency", "c_platform": "tiktok"},
        version="kh-screen-2",
    )  # fmt: skip
    # P3 (fixture screening, 11 Mar, kh-screen-1 only): other work but forced marriage;
    # recruited by family; the platform was never asked.
    interview = ScreeningInterview.objects.get(person=p3, agency=agency_a)
    interview.age_years = 22
    interview.instrument_version = "kh-screen-1"
    interview.save(update_fields=["age_years", "instrument_version"])
    _answer(interview, {"e_sector": "other", "e_forced_marriage": "yes", "c_recruiter": "family"})

    # Requests: 1 and 4 stay a family member's hotline calls.
    HelpRequest.objects.filter(reference="HR-FIX-0002").update(
        channel="web_form", reporter_type="self"
    )
    HelpRequest.objects.filter(reference="HR-FIX-0003").update(
        channel="walk_in", reporter_type="friend"
    )


@pytest.fixture
def world(agency_a: Agency, agency_b: Agency) -> World:
    w = build(agency_a, agency_b)
    add_breakdown_rows(w, agency_a, agency_b)
    return w


@pytest.fixture
def scope(world: World, agency_a: Agency) -> stats.Scope:
    return stats.Scope(period=stats.year_period(2022), agency=agency_a)


@pytest.fixture(autouse=True)
def _english() -> object:
    with translation.override("en"):
        yield


def one_way(figure: Figure) -> list[tuple[str, int | float | None]]:
    return [(str(label), row[0]) for label, row in zip(figure.rows, figure.cells, strict=True)]


# --- hand-computed values -------------------------------------------------------------------


def test_form_of_exploitation_uses_the_latest_finished_screening(scope: stats.Scope) -> None:
    figure = breakdowns.victims_by_form_of_exploitation(scope)
    assert figure.unit is Unit.PERSONS
    assert one_way(figure) == [
        ("Forced marriage", 1),  # P3: marriage comes before the sector "other"
        ("Labour exploitation: fishing", 1),  # P0/P1: P1's screening is the latest
        ("Not recorded", 1),  # P2: only agency B screened the record
    ]
    assert figure.total == 3 == stats.persons_in_scope(scope).point


def test_sex_counts_each_person_once_from_their_first_case(scope: stats.Scope) -> None:
    figure = breakdowns.victims_by_sex(scope)
    assert figure.unit is Unit.PERSONS
    assert one_way(figure) == [
        ("Female", 2),
        ("Male", 1),
        ("Transgender or non-conforming", 0),
        ("Unknown", 0),
    ]
    assert figure.total == 3


def test_age_under_18_and_ctdc_bands(scope: stats.Scope) -> None:
    figure = breakdowns.victims_by_age(scope)
    assert [str(r) for r in figure.rows] == ["Under 18", "18 and over", "Not recorded"]
    assert [str(c) for c in figure.columns] == [
        "0–8",
        "9–17",
        "18–20",
        "21–23",
        "24–26",
        "27–29",
        "30–38",
        "39–47",
        "48+",
        "unknown",
    ]
    assert figure.cells == (
        (0, 1, 0, 0, 0, 0, 0, 0, 0, 0),  # P0, 16
        (0, 0, 0, 1, 0, 0, 1, 0, 0, 0),  # P3 22 (screening), P2 31
        (0,) * 10,
    )
    assert figure.row_totals == (1, 2, 0)
    assert figure.total == 3


def test_age_at_takes_the_middle_of_an_imprecise_birth_date() -> None:
    def age(raw: str, when: date) -> int:
        dob = parse_dob(raw)
        assert dob is not None
        return breakdowns.age_at(dob, when)

    assert age("2004-03-05", date(2022, 3, 4)) == 17
    assert age("2004-03-05", date(2022, 3, 5)) == 18
    assert age("2004", date(2022, 6, 30)) == 17  # taken as 1 July 2004
    assert age("2004", date(2022, 7, 1)) == 18
    assert age("2004-03", date(2022, 3, 14)) == 17  # taken as 15 March 2004
    assert age("2004-03", date(2022, 3, 15)) == 18


def test_province_is_matched_to_the_list_and_never_shown_as_typed(scope: stats.Scope) -> None:
    figure = breakdowns.victims_by_province(scope)
    assert one_way(figure) == [
        ("Kampong Cham", 1),
        ("Prey Veng", 1),
        ("Other or not recognised", 1),
    ]
    assert "Sangkat" not in " ".join(figure.labels())
    assert breakdowns.province_index("ខេត្តព្រៃវែង") == breakdowns.province_index("Prey Veng")
    assert breakdowns.province_index("Sihanoukville") == breakdowns.province_index("Preah Sihanouk")
    assert breakdowns.province_index("") is None
    assert breakdowns.province_index("Phum Thmei") == -1


def test_recruitment_method(scope: stats.Scope) -> None:
    figure = breakdowns.victims_by_recruitment(scope)
    assert one_way(figure) == [("A broker", 1), ("A family member", 1), ("Not recorded", 1)]


def test_recruitment_platform_from_the_latest_screening_that_asked_it(scope: stats.Scope) -> None:
    figure = breakdowns.recruitment_platforms(scope)
    assert (figure.key, figure.unit) == ("platform", Unit.PERSONS)
    assert one_way(figure) == [
        ("Telegram", 1),  # P0/P1: the later screening (P1's) asked it
        ("Not recorded", 2),  # P2: only agency B screened; P3: kh-screen-1 only
    ]
    assert figure.total == 3 == stats.persons_in_scope(scope).point


def test_recruitment_platform_skips_later_screenings_that_did_not_ask_it(
    world: World, scope: stats.Scope, agency_a: Agency
) -> None:
    p0, _p1, p2, p3 = world.persons
    # A kh-screen-1 screening after P1's: the person's latest (it gives the recruitment method),
    # but it did not ask the platform, so Telegram from 1 March still counts.
    _screening(agency_a, p0, at(2022, 6, 1), {"c_recruiter": "friend"})
    # P2, now screened by agency A too, declined to say; P3's later kh-screen-2 screening was
    # never answered on the platform.
    _screening(agency_a, p2, at(2022, 6, 2), {"c_platform": "refused"}, version="kh-screen-2")
    _screening(agency_a, p3, at(2022, 6, 3), {"c_recruiter": "family"}, version="kh-screen-2")

    assert one_way(breakdowns.recruitment_platforms(scope)) == [
        ("Telegram", 1),
        ("Not known or declined to say", 1),
        ("Not recorded", 1),
    ]
    assert one_way(breakdowns.victims_by_recruitment(scope)) == [
        ("A family member", 1),
        ("A friend or neighbour", 1),
        ("Not recorded", 1),
    ]


def test_platform_labels_follow_the_instrument_codes() -> None:
    options = instruments.get("kh-screen-2").item(breakdowns.PLATFORM_ITEM).options
    assert [o.code for o in options] + ["not_recorded"] == list(breakdowns.PLATFORM_LABELS)
    assert [o.text_en for o in options] == [
        str(breakdowns.PLATFORM_LABELS[o.code]) for o in options
    ]
    assert breakdowns.recruitment_platform({"answer_c_platform": "unknown"}) == "not_known"
    assert breakdowns.recruitment_platform({"answer_c_platform": "myspace"}) == "not_recorded"
    assert breakdowns.recruitment_platform(None) == "not_recorded"


def test_reporter_type_and_channel(scope: stats.Scope) -> None:
    reporter = breakdowns.requests_by_reporter(scope)
    assert reporter.unit is Unit.REQUESTS
    assert one_way(reporter) == [
        ("The person themselves", 1),
        ("Family member", 2),
        ("Friend", 1),
        ("Other", 0),
    ]
    channel = breakdowns.requests_by_channel(scope)
    assert one_way(channel) == [
        ("Web form", 1),
        ("Hotline call", 2),
        ("API", 0),
        ("Walk-in", 1),
        ("Partner referral", 0),
    ]
    assert reporter.total == channel.total == 4


def test_year_on_year_and_half_year_comparisons(scope: stats.Scope) -> None:
    cases = breakdowns.cases_year_on_year(scope)
    assert cases.unit is Unit.CASES
    assert (cases.period.start, cases.period.end) == (date(2021, 1, 1), date(2022, 12, 31))
    assert [str(r) for r in cases.rows] == ["2021", "2022"]
    assert [str(c) for c in cases.columns] == ["January–June", "July–December"]
    # A's case of 31 Dec 2021; its four cases of Jan-Mar 2022 (B's case never).
    assert cases.cells == ((0, 1), (4, 0))
    assert (cases.row_totals, cases.column_totals, cases.total) == ((1, 4), (4, 1), 5)
    requests = breakdowns.requests_year_on_year(scope)
    assert requests.unit is Unit.REQUESTS
    # 1 Jun 2021; 10 Jan, 1 Feb, 1 Mar and 30 Dec 2022.
    assert requests.cells == ((1, 0), (3, 1))
    assert (requests.row_totals, requests.total) == ((1, 4), 5)


def test_a_month_range_compares_the_whole_years(world: World, agency_a: Agency) -> None:
    scope = stats.Scope(period=stats.Period(date(2022, 2, 1), date(2022, 3, 31)), agency=agency_a)
    assert breakdowns.cases_year_on_year(scope).cells == ((0, 1), (4, 0))
    # The victim breakdowns follow the period: C3 and C4 (P2 and P3) only.
    assert breakdowns.victims_by_sex(scope).cells == ((1,), (1,), (0,), (0,))


def test_country_filter(world: World, agency_a: Agency) -> None:
    scope = stats.Scope(period=stats.year_period(2022), agency=agency_a, country="TH")
    assert breakdowns.victims_by_sex(scope).cells == ((1,), (0,), (0,), (0,))  # P0 only
    assert one_way(breakdowns.victims_by_form_of_exploitation(scope)) == [
        ("Labour exploitation: fishing", 1)
    ]
    assert breakdowns.cases_year_on_year(scope).cells == ((0, 0), (2, 0))
    assert breakdowns.requests_by_channel(scope).total == 4  # all four are about Thailand


def test_other_agency_counts_only_its_own(world: World, agency_b: Agency) -> None:
    scope = stats.Scope(period=stats.year_period(2022), agency=agency_b)
    assert breakdowns.victims_by_sex(scope).cells == ((0,), (0,), (0,), (1,))
    assert breakdowns.requests_by_reporter(scope).total == 1
    assert breakdowns.cases_year_on_year(scope).cells == ((0, 0), (1, 0))
    # B's screening is of A's record (P2), which is not a victim of B's cases.
    assert one_way(breakdowns.victims_by_form_of_exploitation(scope)) == [("Not recorded", 1)]


def test_build_report_includes_every_breakdown(scope: stats.Scope) -> None:
    report = stats.build_report(scope, year=2022, language="en", public=False, now=NOW)
    keys = [f.key for f in report.figures]
    assert keys[: -len(KEYS)][0] == "funnel"
    assert tuple(keys[-len(KEYS) :]) == KEYS
    for key in KEYS:
        figure = report.figure(key)
        assert figure.unit in (Unit.PERSONS, Unit.CASES, Unit.REQUESTS)
        assert figure.svg().startswith("<svg")


# --- public suppression ---------------------------------------------------------------------


@pytest.fixture
def big_agency(db: None) -> Agency:
    """28 victims in 2022 (13 women, 12 men, 3 unknown) and 19 cases in 2021."""
    agency = AgencyFactory(name="Agency C (synthetic)", code="agency-c")
    sexes = ["female"] * 13 + ["male"] * 12 + ["unknown"] * 3
    for n, sex in enumerate(sexes):
        person = PersonRecordFactory(agency=agency, sex=sex)
        # 20 in the first half of 2022, 8 in the second.
        opened = at(2022, 1 + n % 6, 3) if n < 20 else at(2022, 7 + n % 6, 3)
        CaseFactory(owner_agency=agency, opened_at=opened, victim=person)
    for n in range(19):  # 15 in the first half of 2021, 4 in the second
        CaseFactory(owner_agency=agency, opened_at=at(2021, 2 if n < 15 else 9, 1))
    return agency


def test_public_breakdowns_are_suppressed_and_audited(big_agency: Agency) -> None:
    scope = stats.Scope(period=stats.year_period(2022), agency=big_agency)
    sex = breakdowns.victims_by_sex(scope, public=True)
    # 3 is below 11; alone it would be total - 13 - 12, so the smaller other count (12) goes.
    assert sex.cells == ((13,), (None,), (0,), (None,))
    assert sex.total == 28
    compare = breakdowns.cases_year_on_year(scope, public=True)
    # [[15, 4], [20, 8]]: 4 and 8 are small; 4 is pinned by its row (19 - 15), 15 then by its
    # column (35 - 20): every cell goes, the margins stay (each cell has a range of 10).
    assert compare.cells == ((None, None), (None, None))
    assert (compare.row_totals, compare.column_totals, compare.total) == ((19, 28), (35, 12), 47)
    internal = breakdowns.cases_year_on_year(scope)
    assert internal.cells == ((15, 4), (20, 8))

    report = stats.build_report(scope, year=2022, language="en", public=True, now=NOW)
    assert public_problems(report) == []
    data = json.loads(report_json(report))
    by_key = {f["key"]: f for f in data["figures"]}
    assert set(KEYS) <= set(by_key)
    assert by_key["sex"]["cells"] == [[13], [None], [0], [None]]
    # No province, screening or birth date recorded: one row or column of 28 each.
    assert by_key["province"]["rows"] == ["Not recorded"] and by_key["province"]["total"] == 28
    assert by_key["form"]["cells"] == [[28]]
    assert by_key["platform"]["rows"] == ["Not recorded"] and by_key["platform"]["cells"] == [[28]]
    assert by_key["age"]["row_totals"] == [0, 0, 28]


def test_public_platform_breakdown_is_suppressed_and_audited(big_agency: Agency) -> None:
    # 13 first reached through Telegram, 12 through Facebook, 3 through TikTok (kh-screen-2).
    records = PersonRecord.objects.filter(
        case_links__case__owner_agency=big_agency, case_links__case__opened_at__year=2022
    ).order_by("pk")
    platforms = ["telegram"] * 13 + ["facebook"] * 12 + ["tiktok"] * 3
    for record, platform in zip(records, platforms, strict=True):
        _screening(big_agency, record, at(2022, 12, 1), {"c_platform": platform},
                   version="kh-screen-2")  # fmt: skip
    scope = stats.Scope(period=stats.year_period(2022), agency=big_agency)

    internal = breakdowns.recruitment_platforms(scope)
    assert one_way(internal) == [("Telegram", 13), ("Facebook", 12), ("TikTok", 3)]
    public = breakdowns.recruitment_platforms(scope, public=True)
    # 3 is below 11 and would be total - 13 - 12, so the smaller other count (12) goes too.
    assert public.cells == ((13,), (None,), (None,))
    assert public.total == 28

    report = stats.build_report(scope, year=2022, language="en", public=True, now=NOW)
    assert public_problems(report) == []
    platform = next(f for f in json.loads(report_json(report))["figures"] if f["key"] == "platform")
    assert platform["cells"] == [[13], [None], [None]]


def test_public_report_of_the_small_fixture_shows_no_small_count(scope: stats.Scope) -> None:
    report = stats.build_report(scope, year=2022, language="en", public=True, now=NOW)
    assert public_problems(report) == []
    for key in KEYS:
        values = values_by_position(report.figure(key))
        assert all(v is None or v == 0 or v >= 11 for v in values.values()), key


# --- the outputs agree ----------------------------------------------------------------------


def test_dashboard_json_and_csv_show_the_same_numbers(
    world: World, agency_a: Agency, analyst, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    html = client.get("/reports/?year=2022").content.decode()
    assert CANARY_NAME not in html
    scope = stats.Scope(period=stats.year_period(2022), agency=agency_a)
    report = stats.build_report(scope, year=2022, language="en", public=False, now=NOW)
    expected = {key: values_by_position(report.figure(key)) for key in KEYS}
    assert expected["sex"][("Female", "")] == 2
    from_html = html_values(html)
    from_json = json_values(json.loads(report_json(report)))
    from_csv = csv_values(report_csv(report))
    for key in KEYS:
        figure = report.figure(key)
        values = from_html[key]
        if figure.row_totals is None:
            values = {(r, "total" if r == "total" else c): v for (r, c), v in values.items()}
        assert values == expected[key], key
        assert from_json[key] == expected[key], key
        assert from_csv[key] == expected[key], key


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs Debian's poppler-utils")
def test_pdf_text_shows_the_same_rows(scope: stats.Scope, tmp_path: Path) -> None:
    report = stats.build_report(scope, year=2022, language="en", public=False, now=NOW)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report_pdf(report))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    titles = [str(f.title) for f in report.figures]
    for key in KEYS:
        figure = report.figure(key)
        # This figure's part of the text: from its heading to the next figure's.
        title = str(figure.title)
        after = titles.index(title) + 1
        section = text.split(title, 1)[1]
        if after < len(titles):
            section = section.split(titles[after], 1)[0]
        for n, label in enumerate(figure.rows):
            expected = [*figure.cells[n]]
            if figure.row_totals is not None:
                expected.append(figure.row_totals[n])
            pattern = rf"^[ \t\f]*{re.escape(str(label))}((?:[ \t]+[\d,]+)+)[ \t]*$"
            rows = [m.group(1).split() for m in re.finditer(pattern, section, re.MULTILINE)]
            assert rows, (key, label)
            assert [int(t.replace(",", "")) for t in rows[-1]] == expected, (key, label)


def test_khmer_labels_for_every_new_figure(scope: stats.Scope) -> None:
    reports = {
        lang: stats.build_report(scope, year=2022, language=lang, public=False, now=NOW)
        for lang in ("en", "km")
    }
    labels = {}
    for lang, report in reports.items():
        with translation.override(lang):
            labels[lang] = {key: report.figure(key).labels() for key in KEYS}
    for key in KEYS:
        for english, khmer in zip(labels["en"][key], labels["km"][key], strict=True):
            if re.search(r"[a-z]", english):  # words; an acronym such as API may stay
                assert khmer != english, (key, english)
                assert re.search("[\u1780-\u17ff]", khmer), (key, khmer)
    assert labels["km"]["sex"][1] == "ស្រី"  # labels(): title, then rows
    assert "ព្រៃវែង" in labels["km"]["province"]


def test_selectors_take_a_fixed_number_of_queries(
    world: World, agency_a: Agency, django_assert_max_num_queries
) -> None:
    scope = stats.Scope(period=stats.year_period(2022), agency=agency_a)
    for _n in range(5):
        CaseFactory(owner_agency=agency_a, opened_at=at(2022, 5, 1))
    with django_assert_max_num_queries(2 * 6 + 4):
        breakdowns.breakdown_figures(scope)
