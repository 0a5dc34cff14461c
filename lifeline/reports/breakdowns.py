"""Breakdowns of the victims and help requests of a scope, and year and half-year comparisons.

Domain-model §6.3 asks for counts by form of exploitation, sex, age band (under 18 or not, and
CTDC's broad bands), province of origin, recruitment method, reporter type and channel, and for
comparisons between periods. Each selector takes a `stats.Scope` and returns a `Figure` that
states its unit and period; with `public=True` the counts go through the same suppression and
audit as every other published table.

Where the data lives:

- sex, date of birth (encrypted, decrypted here in Python) and province of origin on
  `people.PersonRecord`; the victims of a case through `cases.CasePerson` (role victim);
- form of exploitation and recruitment method in the answers of the person's latest finished
  screening (instruments kh-screen-1 and -2: `e_sector`, `h_scam_work`, `e_sexual`,
  `e_forced_marriage`, `c_recruiter`);
- recruitment platform (Facebook, Telegram, ...) in `c_platform`, asked from kh-screen-2 on:
  from the person's latest finished screening that asked it;
- reporter type and channel on `intake.HelpRequest`.

Victims are counted as persons: the victim records of the scope's cases grouped by their current
dedup cluster (a record outside any cluster is its own person). A person's sex, age and province
come from the victim record of their first case in the scope (by opening date), age at that
case's opening; their form of exploitation and recruitment from the latest finished screening of
any of their records. Aggregates only: nothing here returns a name, a reference or an id.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear
from django.utils.translation import gettext as translate_marked
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from lifeline.cases.models import CasePerson, PersonRole
from lifeline.intake.models import Channel, ReporterType
from lifeline.people.models import ClusterMembership, Sex
from lifeline.people.names import Dob, parse_dob
from lifeline.screening import instruments
from lifeline.screening.instrument import Answer
from lifeline.screening.instruments.kh_screen_2 import PLATFORM_ITEM
from lifeline.screening.models import FINISHED_STATUSES, IndicatorResponse, ScreeningInterview

from .data import ChartKind, Figure, Period, Unit
from .disclosure import Table
from .stats import Scope, count_figure, scoped_cases, scoped_requests

YES = "yes"

# --- categories -----------------------------------------------------------------------------

# Form of exploitation (domain-model §6.3): forced criminality, forced labour by sector, sexual
# exploitation, forced marriage. One form per person, the first that applies in this order.
SCAM, SEXUAL, MARRIAGE = "scam", "sexual", "marriage"
LABOUR_SECTORS = ("fishing", "construction", "agriculture", "factory", "domestic", "other")
NOT_RECORDED = "not_recorded"
FORM_LABELS: dict[str, Any] = {
    SCAM: _("Forced criminality (online scams)"),
    SEXUAL: _("Sexual exploitation"),
    MARRIAGE: _("Forced marriage"),
    "fishing": _("Labour exploitation: fishing"),
    "construction": _("Labour exploitation: construction"),
    "agriculture": _("Labour exploitation: farm or plantation"),
    "factory": _("Labour exploitation: factory"),
    "domestic": _("Labour exploitation: domestic work"),
    "other": _("Labour exploitation: other work"),
    NOT_RECORDED: _("Not recorded"),
}
FORM_ITEMS = ("e_sector", "h_scam_work", "e_sexual", "e_forced_marriage")

# kh-screen-1 item c_recruiter: who first offered the work.
RECRUITER_LABELS: dict[str, Any] = {
    "friend": _("A friend or neighbour"),
    "family": _("A family member"),
    "partner": _("A partner"),
    "broker": _("A broker"),
    "agency": _("A recruitment agency"),
    "online": _("An online advert or chat"),
    "other": _("Someone else"),
    NOT_RECORDED: _("Not recorded"),
}

# kh-screen-2 item c_platform: the app, website or other way the offer of work first came
# through (after HTCDS vic_RecruitmentWebsitesAndApps). Codes as in the instrument.
NOT_KNOWN = "not_known"
PLATFORM_LABELS: dict[str, Any] = {
    "facebook": _("Facebook"),
    "messenger": _("Facebook Messenger"),
    "instagram": _("Instagram"),
    "whatsapp": _("WhatsApp"),
    "telegram": _("Telegram"),
    "viber": _("Viber"),
    "line": _("LINE"),
    "wechat": _("WeChat"),
    "qq": _("QQ or Qzone"),
    "tiktok": _("TikTok"),
    "snapchat": _("Snapchat"),
    "twitter": _("X (Twitter)"),
    "job_website": _("A job website"),
    "other_online": _("Another app or website"),
    "not_online": _("Not online (in person or by phone)"),
    NOT_KNOWN: _("Not known or declined to say"),
    NOT_RECORDED: _("Not recorded"),
}

# CTDC's ageBroad bands (age at identification); here age at the case's opening.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0\u20138", 0, 8),
    ("9\u201317", 9, 17),
    ("18\u201320", 18, 20),
    ("21\u201323", 21, 23),
    ("24\u201326", 24, 26),
    ("27\u201329", 27, 29),
    ("30\u201338", 30, 38),
    ("39\u201347", 39, 47),
    ("48+", 48, None),
)
ADULT_AGE = 18

# Cambodia's 25 provinces (the capital included). Free-text entries are matched to this list;
# anything else (a district, a commune, a typo) is counted as "other", never shown as typed.
PROVINCES: tuple[tuple[str, str], ...] = (
    (gettext_noop("Banteay Meanchey"), "បន្ទាយមានជ័យ"),
    (gettext_noop("Battambang"), "បាត់ដំបង"),
    (gettext_noop("Kampong Cham"), "កំពង់ចាម"),
    (gettext_noop("Kampong Chhnang"), "កំពង់ឆ្នាំង"),
    (gettext_noop("Kampong Speu"), "កំពង់ស្ពឺ"),
    (gettext_noop("Kampong Thom"), "កំពង់ធំ"),
    (gettext_noop("Kampot"), "កំពត"),
    (gettext_noop("Kandal"), "កណ្ដាល"),
    (gettext_noop("Kep"), "កែប"),
    (gettext_noop("Koh Kong"), "កោះកុង"),
    (gettext_noop("Kratie"), "ក្រចេះ"),
    (gettext_noop("Mondulkiri"), "មណ្ឌលគិរី"),
    (gettext_noop("Oddar Meanchey"), "ឧត្ដរមានជ័យ"),
    (gettext_noop("Pailin"), "ប៉ៃលិន"),
    (gettext_noop("Phnom Penh"), "ភ្នំពេញ"),
    (gettext_noop("Preah Sihanouk"), "ព្រះសីហនុ"),
    (gettext_noop("Preah Vihear"), "ព្រះវិហារ"),
    (gettext_noop("Prey Veng"), "ព្រៃវែង"),
    (gettext_noop("Pursat"), "ពោធិ៍សាត់"),
    (gettext_noop("Ratanakiri"), "រតនគិរី"),
    (gettext_noop("Siem Reap"), "សៀមរាប"),
    (gettext_noop("Stung Treng"), "ស្ទឹងត្រែង"),
    (gettext_noop("Svay Rieng"), "ស្វាយរៀង"),
    (gettext_noop("Takeo"), "តាកែវ"),
    (gettext_noop("Tbong Khmum"), "ត្បូងឃ្មុំ"),
)
# Other spellings met in records (romanisations vary).
PROVINCE_ALIASES = {
    "sihanoukville": "Preah Sihanouk",
    "ratanak kiri": "Ratanakiri",
    "rattanakiri": "Ratanakiri",
    "mondul kiri": "Mondulkiri",
    "mondolkiri": "Mondulkiri",
    "otdar meanchey": "Oddar Meanchey",
    "takev": "Takeo",
    "kracheh": "Kratie",
    "pouthisat": "Pursat",
    "siemreap": "Siem Reap",
    "phnompenh": "Phnom Penh",
    "kampong som": "Preah Sihanouk",
}
OTHER_PROVINCE = "other"


def _province_key(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    text = text.replace("province", "").replace("ខេត្ត", "").replace("រាជធានី", "")
    return " ".join(text.replace("-", " ").replace("_", " ").split())


_PROVINCE_INDEX: dict[str, int] = {}
for _n, (_english, _khmer) in enumerate(PROVINCES):
    _PROVINCE_INDEX[_province_key(_english)] = _n
    _PROVINCE_INDEX[_province_key(_english).replace(" ", "")] = _n
    _PROVINCE_INDEX[_province_key(_khmer)] = _n
for _alias, _target in PROVINCE_ALIASES.items():
    _PROVINCE_INDEX[_province_key(_alias)] = _PROVINCE_INDEX[_province_key(_target)]


def province_index(text: str) -> int | None:
    """The position in PROVINCES of a free-text province of origin (English or Khmer), or None
    when it is empty or names no province."""
    key = _province_key(text or "")
    if not key:
        return None
    return _PROVINCE_INDEX.get(key, _PROVINCE_INDEX.get(key.replace(" ", ""), -1))


# --- helpers --------------------------------------------------------------------------------


def _ranked(counts: Counter[str], labels: dict[str, str], last: Iterable[str]) -> Table:
    """A one-way table of the categories with a count, largest first; `last` keys at the end."""
    tail = [k for k in last if counts.get(k)]
    head = sorted(
        (k for k in counts if counts[k] and k not in tail), key=lambda k: (-counts[k], labels[k])
    )
    keys = [*head, *tail]
    return Table.one_dimensional([labels[k] for k in keys], [counts[k] for k in keys])


def _finished_at() -> Coalesce:
    return Coalesce("completed_at", "started_at")


def _latest_screenings(scope: Scope) -> QuerySet[ScreeningInterview]:
    """Finished screenings of the outer row's person record, latest first (by the agency of the
    scope, when it has one)."""
    interviews = ScreeningInterview.objects.filter(
        person=OuterRef("person_id"), status__in=FINISHED_STATUSES
    )
    if scope.agency is not None:
        interviews = interviews.filter(agency=scope.agency)
    return interviews.order_by(_finished_at().desc(), "-pk")


def _with_screening(
    scope: Scope, items: Sequence[str], *, versions: Sequence[str] | None = None
) -> Callable[[QuerySet[Any]], QuerySet[Any]]:
    """Annotate each victim row with its record's latest finished screening (of one of
    `versions`, when given) and that screening's answers to `items`."""

    def prepare(links: QuerySet[Any]) -> QuerySet[Any]:
        latest = _latest_screenings(scope)
        if versions is not None:
            latest = latest.filter(instrument_version__in=list(versions))
        links = links.annotate(
            screening=Subquery(latest.values("pk")[:1]),
            screening_at=Subquery(latest.values(at=_finished_at())[:1]),
        )
        return links.annotate(
            **{
                f"answer_{item}": Subquery(
                    IndicatorResponse.objects.filter(
                        interview=OuterRef("screening"), item_id=item
                    ).values("value")[:1]
                )
                for item in items
            }
        )

    return prepare


def _persons(
    scope: Scope,
    fields: Sequence[str],
    prepare: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None,
) -> list[list[dict[str, Any]]]:
    """The victims of the scope's cases as persons: per person, their victim rows (record,
    case opening, the asked fields), first case first. Two queries."""
    links: QuerySet[Any] = CasePerson.objects.filter(
        case__in=scoped_cases(scope), role=PersonRole.VICTIM
    )
    if prepare is not None:
        links = prepare(links)
    annotated = list(links.query.annotations)
    rows = list(
        links.values("person_id", "case_id", "case__opened_at", *fields, *annotated).order_by()
    )
    clusters = dict(
        ClusterMembership.objects.filter(
            is_current=True,
            record_id__in=CasePerson.objects.filter(
                case__in=scoped_cases(scope), role=PersonRole.VICTIM
            ).values("person_id"),
        ).values_list("record_id", "cluster_id")
    )
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        record = row["person_id"]
        key = ("cluster", clusters[record]) if record in clusters else ("record", record)
        groups.setdefault(key, []).append(row)
    return [
        sorted(group, key=lambda r: (r["case__opened_at"], r["case_id"], r["person_id"]))
        for group in groups.values()
    ]


def _latest_answers(group: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row of the person's record with the latest finished screening, if any."""
    screened = [r for r in group if r["screening"] is not None]
    if not screened:
        return None
    return max(screened, key=lambda r: (r["screening_at"], r["screening"]))


# --- victims --------------------------------------------------------------------------------


def victims_by_sex(scope: Scope, *, public: bool = False) -> Figure:
    """Persons by sex, as recorded on the victim record of their first case in the scope."""
    counts: Counter[str] = Counter(
        group[0]["person__sex"] or Sex.UNKNOWN for group in _persons(scope, ["person__sex"])
    )
    sexes = list(Sex)
    return count_figure(
        key="sex",
        title=_("Victims by sex"),
        unit=Unit.PERSONS,
        period=scope.period,
        table=Table.one_dimensional(
            [str(s.label) for s in sexes], [counts.get(s.value, 0) for s in sexes]
        ),
        public=public,
        chart=ChartKind.RANKED_BARS,
    )


def age_at(dob: Dob, when: date) -> int:
    """Age in whole years on a date. A birth date known only to the year is taken as 1 July, one
    known to the month as the 15th: the middle, so that the error is at most half a year."""
    month = dob.month or 7
    day = dob.day or (15 if dob.month else 1)
    return when.year - dob.year - ((when.month, when.day) < (month, day))


def _age(group: list[dict[str, Any]]) -> int | None:
    """The person's age at the opening of their first case in the scope: from a recorded date of
    birth (the first record that has a valid one), else the age given at their latest finished
    screening (an estimate at that time)."""
    opened = group[0]["case__opened_at"].astimezone(UTC).date()
    for row in group:
        try:
            dob = parse_dob(row["person__date_of_birth"] or "")
        except ValueError:
            dob = None
        if dob is not None:
            age = age_at(dob, opened)
            return age if age >= 0 else None
    latest = _latest_answers(group)
    if latest is not None and latest["screening_age"] is not None:
        return int(latest["screening_age"])
    return None


def victims_by_age(scope: Scope, *, public: bool = False) -> Figure:
    """Persons by age at the case's opening: under 18 or not (rows), by CTDC's broad age bands
    (columns), so that both are published in one audited table."""

    def prepare(links: QuerySet[Any]) -> QuerySet[Any]:
        latest = _latest_screenings(scope)
        return links.annotate(
            screening=Subquery(latest.values("pk")[:1]),
            screening_at=Subquery(latest.values(at=_finished_at())[:1]),
            screening_age=Subquery(latest.values("age_years")[:1]),
        )

    groups = _persons(scope, ["person__date_of_birth"], prepare)
    n_bands = len(AGE_BANDS)
    counts = [[0] * (n_bands + 1) for _row in range(3)]  # under 18, 18 and over, unknown
    for group in groups:
        age = _age(group)
        if age is None:
            counts[2][n_bands] += 1
            continue
        band = next(
            j
            for j, (_label, low, high) in enumerate(AGE_BANDS)
            if low <= age and (high is None or age <= high)
        )
        counts[0 if age < ADULT_AGE else 1][band] += 1
    return count_figure(
        key="age",
        title=_("Victims by age at the opening of their case"),
        unit=Unit.PERSONS,
        period=scope.period,
        table=Table.two_dimensional(
            [str(_("Under 18")), str(_("18 and over")), str(_("Not recorded"))],
            [*(label for label, _low, _high in AGE_BANDS), str(_("unknown"))],
            counts,
        ),
        public=public,
        note=_(
            "Columns are CTDC's broad age bands. Age comes from the date of birth (a year alone "
            "taken as 1 July, a month as the 15th), else from the age given at screening."
        ),
        chart=ChartKind.RANKED_BARS,
    )


def victims_by_province(scope: Scope, *, public: bool = False) -> Figure:
    """Persons by province of origin, largest first. Entries that name no province (a district,
    a commune, a misspelling) are counted as "other", never shown."""
    counts: Counter[str] = Counter()
    for group in _persons(scope, ["person__province"]):
        index = province_index(group[0]["person__province"])
        counts["unknown" if index is None else OTHER_PROVINCE if index < 0 else str(index)] += 1
    # The names are marked with gettext_noop in PROVINCES; translated here by value.
    labels = {str(n): translate_marked(name) for n, (name, _khmer) in enumerate(PROVINCES)}
    labels[OTHER_PROVINCE] = str(_("Other or not recognised"))
    labels["unknown"] = str(_("Not recorded"))
    return count_figure(
        key="province",
        title=_("Victims by province of origin"),
        unit=Unit.PERSONS,
        period=scope.period,
        table=_ranked(counts, labels, last=(OTHER_PROVINCE, "unknown")),
        public=public,
        chart=ChartKind.RANKED_BARS,
    )


def exploitation_form(answers: dict[str, Any] | None) -> str:
    """One form per person from their screening answers: forced criminality, then sexual
    exploitation, then forced marriage, then labour by the sector of work."""
    if answers is None:
        return NOT_RECORDED
    sector = answers.get("answer_e_sector") or ""
    if sector == "scam" or answers.get("answer_h_scam_work") == YES:
        return SCAM
    if sector == "entertainment" or answers.get("answer_e_sexual") == YES:
        return SEXUAL
    if sector == "marriage" or answers.get("answer_e_forced_marriage") == YES:
        return MARRIAGE
    return sector if sector in LABOUR_SECTORS else NOT_RECORDED


def victims_by_form_of_exploitation(scope: Scope, *, public: bool = False) -> Figure:
    """Persons by form of exploitation, from their latest finished screening."""
    groups = _persons(scope, [], _with_screening(scope, FORM_ITEMS))
    counts: Counter[str] = Counter(exploitation_form(_latest_answers(g)) for g in groups)
    labels = {k: str(v) for k, v in FORM_LABELS.items()}
    return count_figure(
        key="form",
        title=_("Victims by form of exploitation"),
        unit=Unit.PERSONS,
        period=scope.period,
        table=_ranked(counts, labels, last=("other", NOT_RECORDED)),
        public=public,
        note=_(
            "From each person's latest finished screening: the work they were made to do. Where "
            "several apply, online scams come first, then sexual exploitation, then forced "
            "marriage. A description of the work, not a determination."
        ),
        chart=ChartKind.RANKED_BARS,
    )


def victims_by_recruitment(scope: Scope, *, public: bool = False) -> Figure:
    """Persons by who first offered the work (item c_recruiter, in every version), latest finished
    screening."""
    groups = _persons(scope, [], _with_screening(scope, ("c_recruiter",)))
    counts: Counter[str] = Counter()
    for group in groups:
        answers = _latest_answers(group)
        value = (answers or {}).get("answer_c_recruiter") or NOT_RECORDED
        counts[value if value in RECRUITER_LABELS else NOT_RECORDED] += 1
    labels = {k: str(v) for k, v in RECRUITER_LABELS.items()}
    return count_figure(
        key="recruitment",
        title=_("Victims by recruitment method"),
        unit=Unit.PERSONS,
        period=scope.period,
        table=_ranked(counts, labels, last=("other", NOT_RECORDED)),
        public=public,
        note=_("Who first offered the work, from each person's latest finished screening."),
        chart=ChartKind.RANKED_BARS,
    )


def recruitment_platform(answers: dict[str, Any] | None) -> str:
    """The platform code of a screening's answer to c_platform. "unknown" and "refused" count as
    not known or declined; no screening that asked it, or no answer, as not recorded."""
    value = (answers or {}).get(f"answer_{PLATFORM_ITEM}") or NOT_RECORDED
    if value in (Answer.UNKNOWN, Answer.REFUSED):
        return NOT_KNOWN
    return value if value in PLATFORM_LABELS else NOT_RECORDED


def recruitment_platforms(scope: Scope, *, public: bool = False) -> Figure:
    """Persons by the app, website or other way the offer of work first reached them, from their
    latest finished screening that asked it (kh-screen-2 on). A person screened only with an
    earlier version counts as not recorded."""
    versions = instruments.versions_with(PLATFORM_ITEM)
    groups = _persons(scope, [], _with_screening(scope, (PLATFORM_ITEM,), versions=versions))
    counts: Counter[str] = Counter(recruitment_platform(_latest_answers(g)) for g in groups)
    labels = {k: str(v) for k, v in PLATFORM_LABELS.items()}
    return count_figure(
        key="platform",
        title=_("Victims by recruitment platform"),
        unit=Unit.PERSONS,
        period=scope.period,
        table=_ranked(counts, labels, last=("other_online", "not_online", NOT_KNOWN, NOT_RECORDED)),
        public=public,
        note=_(
            "The app, website or other way the offer of work first reached the person, from "
            "their latest finished screening that asked it. Persons screened only before the "
            "question was added count as not recorded."
        ),
        chart=ChartKind.RANKED_BARS,
    )


# --- help requests --------------------------------------------------------------------------


def _requests_by(
    scope: Scope, field: str, choices: Iterable[Any], *, key: str, title: Any, public: bool
) -> Figure:
    """Help requests counted by one coded field, every choice shown in its declared order."""
    counts = dict(
        scoped_requests(scope)
        .values(field)
        .annotate(n=Count("pk"))
        .order_by()
        .values_list(field, "n")
    )
    options = list(choices)
    return count_figure(
        key=key,
        title=title,
        unit=Unit.REQUESTS,
        period=scope.period,
        table=Table.one_dimensional(
            [str(o.label) for o in options], [counts.get(o.value, 0) for o in options]
        ),
        public=public,
        chart=ChartKind.RANKED_BARS,
    )


def requests_by_reporter(scope: Scope, *, public: bool = False) -> Figure:
    """Help requests by who made them."""
    return _requests_by(
        scope, "reporter_type", ReporterType, key="reporter",
        title=_("Help requests by who asked"), public=public,
    )  # fmt: skip


def requests_by_channel(scope: Scope, *, public: bool = False) -> Figure:
    """Help requests by the channel they came through."""
    return _requests_by(
        scope, "channel", Channel, key="channel",
        title=_("Help requests by channel"), public=public,
    )  # fmt: skip


# --- comparisons ----------------------------------------------------------------------------


def comparison_scope(scope: Scope) -> Scope:
    """The year the scope ends in and the year before, whole, for the same agency and country."""
    year = scope.period.end.year
    return Scope(
        period=Period(date(year - 1, 1, 1), date(year, 12, 31)),
        agency=scope.agency,
        country=scope.country,
    )


def _halves(scope: Scope, grouped: Iterable[dict[str, Any]]) -> Table:
    year = scope.period.end.year
    counts = [[0, 0], [0, 0]]
    for row in grouped:
        counts[row["y"] - (year - 1)][0 if row["m"] <= 6 else 1] += row["n"]
    return Table.two_dimensional(
        [str(year - 1), str(year)],
        [str(_("January–June")), str(_("July–December"))],  # noqa: RUF001
        counts,
    )


COMPARISON_NOTE = _(
    "Rows compare a year with the one before (row totals), columns the same half of each "
    "year. The current year's second half may not be over yet."
)


def cases_year_on_year(scope: Scope, *, public: bool = False) -> Figure:
    """Cases opened in the scope's year and the year before, by half-year."""
    both = comparison_scope(scope)
    grouped = (
        scoped_cases(both)
        .annotate(y=ExtractYear("opened_at", tzinfo=UTC), m=ExtractMonth("opened_at", tzinfo=UTC))
        .values("y", "m")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return count_figure(
        key="compare-cases",
        title=_("Cases opened: year on year and by half-year"),
        unit=Unit.CASES,
        period=both.period,
        table=_halves(both, grouped),
        public=public,
        note=COMPARISON_NOTE,
        chart=ChartKind.RANKED_BARS,
    )


def requests_year_on_year(scope: Scope, *, public: bool = False) -> Figure:
    """Help requests received in the scope's year and the year before, by half-year."""
    both = comparison_scope(scope)
    grouped = (
        scoped_requests(both)
        .annotate(
            y=ExtractYear("received_at", tzinfo=UTC), m=ExtractMonth("received_at", tzinfo=UTC)
        )
        .values("y", "m")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return count_figure(
        key="compare-requests",
        title=_("Help requests: year on year and by half-year"),
        unit=Unit.REQUESTS,
        period=both.period,
        table=_halves(both, grouped),
        public=public,
        note=COMPARISON_NOTE,
        chart=ChartKind.RANKED_BARS,
    )


def breakdown_figures(scope: Scope, *, public: bool = False) -> list[Figure]:
    """Every breakdown and comparison of this module, in report order."""
    return [
        victims_by_form_of_exploitation(scope, public=public),
        victims_by_sex(scope, public=public),
        victims_by_age(scope, public=public),
        victims_by_province(scope, public=public),
        victims_by_recruitment(scope, public=public),
        recruitment_platforms(scope, public=public),
        requests_by_reporter(scope, public=public),
        requests_by_channel(scope, public=public),
        cases_year_on_year(scope, public=public),
        requests_year_on_year(scope, public=public),
    ]
