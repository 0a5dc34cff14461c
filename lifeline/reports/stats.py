"""Statistics from the records: the funnel, breakdowns, responsiveness and agreement.

Every selector takes a `Scope` (the agency whose records are counted, a period, optionally a
destination country) and returns a `Figure` that states its unit. Records fall in the period by
their first event date: a case by when it was opened, a help request by when it was received, an
authority request by when it was sent, a screening by when it started.

Aggregates only, never a person: no names, references or ids leave this module. Counts are grouped
in SQL; medians are taken in Python over one fetched column per step (portable across SQLite and
PostgreSQL), so each selector issues a fixed number of queries whatever the data size.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncMonth
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from lifeline.accounts.models import Agency
from lifeline.cases.models import (
    CLOSURE_LABELS,
    AuthorityRequest,
    Case,
    CaseEvent,
    CasePerson,
    FollowUp,
    PersonRole,
    ServiceDelivery,
)
from lifeline.cases.workflow import ClosureReason, State
from lifeline.core import clock
from lifeline.intake.models import HelpRequest
from lifeline.people.models import ClusterMembership, LinkEdge
from lifeline.screening.models import (
    FINISHED_STATUSES,
    DeterminationValue,
    OfficialDetermination,
    ScreeningInterview,
    SuggestedOutcome,
)

from .data import ChartKind, Figure, Period, ReportData, Unit, method_paragraphs
from .disclosure import PublishedTable, Table, suppress

SOURCE = _("Lifeline records")
NO_RESPONSE_DAYS = (7, 14, 30)


@dataclass(frozen=True)
class Scope:
    """Whose records, which period, and (optionally) which destination country.

    `agency` None means every agency: only the operator's command line builds such a scope."""

    period: Period
    agency: Agency | None
    country: str = ""

    @property
    def start(self) -> datetime:
        return datetime.combine(self.period.start, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive upper bound: the day after the period's last day."""
        return datetime.combine(self.period.end + timedelta(days=1), time.min, tzinfo=UTC)


@dataclass(frozen=True)
class PersonRange:
    point: int
    lower: int
    upper: int


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31))


# --- scoped querysets -----------------------------------------------------------------------


def scoped_cases(scope: Scope) -> QuerySet[Case]:
    """Cases owned by the scope's agency, opened in the period (their first event)."""
    cases = Case.objects.filter(opened_at__gte=scope.start, opened_at__lt=scope.end)
    if scope.agency is not None:
        cases = cases.filter(owner_agency=scope.agency)
    if scope.country:
        cases = cases.filter(destination_country=scope.country)
    return cases


def scoped_requests(scope: Scope) -> QuerySet[HelpRequest]:
    """Help requests assigned to the scope's agency, received in the period."""
    requests = HelpRequest.objects.filter(received_at__gte=scope.start, received_at__lt=scope.end)
    if scope.agency is not None:
        requests = requests.filter(assigned_agency=scope.agency)
    if scope.country:
        requests = requests.filter(country=scope.country)
    return requests


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=UTC)


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


# --- the funnel -----------------------------------------------------------------------------


def _first_event(to_states: Iterable[str]) -> Subquery:
    events = CaseEvent.objects.filter(case=OuterRef("pk"), to_state__in=list(to_states))
    return Subquery(events.order_by("at").values("at")[:1])


def _first(queryset: QuerySet[Any], field: str) -> Subquery:
    return Subquery(queryset.order_by(field).values(field)[:1])


def _victims() -> QuerySet[CasePerson]:
    return CasePerson.objects.filter(case=OuterRef(OuterRef("pk")), role=PersonRole.VICTIM)


# (key, label, how the first time a case reached the step is found)
FUNNEL_CASE_STEPS: tuple[tuple[str, object], ...] = (
    ("opened", _("Cases opened")),
    ("verified", _("Verified (confirmed abroad and needing help)")),
    ("located", _("Located and referred onward")),
    ("referred", _("Request sent to an authority")),
    ("removed", _("Removed from exploitation")),
    ("returned", _("Returned home")),
    ("screened", _("Screened")),
    ("suggested", _("Suggested outcome recorded")),
    ("official", _("Official determination by an authority")),
    ("services", _("Receiving services")),
    ("follow_up", _("In follow-up")),
    ("closed", _("Closed")),
)


def _funnel_rows(scope: Scope) -> list[tuple[datetime | None, ...]]:
    """One row per case: when it first reached each step (None if never). One query."""
    victim_persons = _victims().values("person")
    screenings = ScreeningInterview.objects.filter(
        person__in=victim_persons, status__in=FINISHED_STATUSES
    )
    annotated = scoped_cases(scope).annotate(
        t_verified=_first_event([State.LOCATING]),
        t_located=_first_event([State.REFERRED]),
        t_referred=_first(AuthorityRequest.objects.filter(case=OuterRef("pk")), "sent_at"),
        t_removed=_first_event([State.REMOVED]),
        t_returned=_first_event([State.RETURNED]),
        t_screened=_first(screenings, "completed_at"),
        t_suggested=_first(screenings.exclude(suggested_outcome=""), "suggested_at"),
        t_official=_first(
            OfficialDetermination.objects.filter(person__in=victim_persons).exclude(
                value=DeterminationValue.PENDING
            ),
            "recorded_at",
        ),
        t_services=Subquery(
            ServiceDelivery.objects.filter(case=OuterRef("pk"))
            .order_by("start_date")
            .values("start_date")[:1]
        ),
        t_follow_up=Subquery(
            FollowUp.objects.filter(case=OuterRef("pk")).order_by("date").values("date")[:1]
        ),
    )
    fields = ["opened_at", *(f"t_{step}" for step, _label in FUNNEL_CASE_STEPS[1:-1]), "closed_at"]
    return [
        tuple(_as_datetime(v) for v in row) for row in annotated.values_list(*fields).iterator()
    ]


def funnel(scope: Scope) -> Figure:
    """Help requests, then cases reaching each step at least once, with the median days from
    one step to the next (over the cases that reached both)."""
    request_count = scoped_requests(scope).count()
    rows = _funnel_rows(scope)
    n_steps = len(FUNNEL_CASE_STEPS)
    counts = [sum(1 for r in rows if r[i] is not None) for i in range(n_steps)]
    medians: list[float | None] = []
    for i in range(n_steps):
        if i == n_steps - 1:
            medians.append(None)
            continue
        gaps = [
            _days(r[i], r[i + 1])  # type: ignore[arg-type]
            for r in rows
            if r[i] is not None and r[i + 1] is not None
        ]
        medians.append(_median(gaps))
    labels = (_("Help requests received"), *(label for _step, label in FUNNEL_CASE_STEPS))
    cells = ((request_count, None), *((c, m) for c, m in zip(counts, medians, strict=True)))
    return Figure(
        key="funnel",
        title=_("From help request to closure"),
        unit=Unit.CASES,
        period=scope.period,
        source=SOURCE,
        rows=labels,  # type: ignore[arg-type]
        columns=(_("count"), _("median days to the next step")),
        cells=cells,
        chart=ChartKind.FUNNEL,
        note=_(
            "The first step counts help requests; the others count cases that reached the step "
            "at least once."
        ),
    )


# --- breakdowns -----------------------------------------------------------------------------


def _count_figure(
    *,
    key: str,
    title: object,
    unit: Unit,
    scope: Scope,
    table: Table,
    public: bool,
    chart: ChartKind = ChartKind.NONE,
    note: object = "",
) -> Figure:
    published: PublishedTable = suppress(table).published if public else table.publish()
    return Figure.from_counts(
        key=key,
        title=title,  # type: ignore[arg-type]
        unit=unit,
        period=scope.period,
        source=SOURCE,
        table=published,
        chart=chart,
        note=note,  # type: ignore[arg-type]
    )


def destination_countries(scope: Scope, *, public: bool = False) -> Figure:
    """Cases by destination country, largest first ("unknown" when not recorded)."""
    grouped = (
        scoped_cases(scope)
        .values("destination_country")
        .annotate(n=Count("pk"))
        .order_by("-n", "destination_country")
    )
    pairs = [(row["destination_country"] or "??", row["n"]) for row in grouped]
    labels = [str(_("unknown")) if code == "??" else code for code, _n in pairs]
    return _count_figure(
        key="destination",
        title=_("Cases by destination country"),
        unit=Unit.CASES,
        scope=scope,
        table=Table.one_dimensional(labels, [n for _c, n in pairs]),
        public=public,
        chart=ChartKind.RANKED_BARS,
    )


def _months(period: Period) -> list[date]:
    months = []
    current = date(period.start.year, period.start.month, 1)
    while current <= period.end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def cases_by_month(scope: Scope, *, public: bool = False) -> Figure:
    """Cases opened per month of the period; every month is listed, empty ones as 0."""
    grouped = (
        scoped_cases(scope)
        .annotate(month=TruncMonth("opened_at", tzinfo=UTC))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_month = {}
    for row in grouped:
        month = row["month"]
        by_month[(month.year, month.month)] = row["n"]
    months = _months(scope.period)
    return _count_figure(
        key="month",
        title=_("Cases opened by month"),
        unit=Unit.CASES,
        scope=scope,
        table=Table.one_dimensional(
            [f"{m:%Y-%m}" for m in months], [by_month.get((m.year, m.month), 0) for m in months]
        ),
        public=public,
        chart=ChartKind.TREND,
    )


def closures_by_reason(scope: Scope, *, public: bool = False) -> Figure:
    """Cases of the period that are closed, by closure reason (every reason listed)."""
    grouped = dict(
        scoped_cases(scope)
        .filter(state=State.CLOSED)
        .values("closure_reason")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("closure_reason", "n")
    )
    reasons = list(ClosureReason)
    return _count_figure(
        key="closure",
        title=_("Closed cases by reason"),
        unit=Unit.CASES,
        scope=scope,
        table=Table.one_dimensional(
            [str(CLOSURE_LABELS[r]) for r in reasons], [grouped.get(r.value, 0) for r in reasons]
        ),
        public=public,
    )


# --- responsiveness -------------------------------------------------------------------------


def request_response_times(scope: Scope, *, now: datetime | None = None) -> Figure:
    """Help requests: median days to the first response, and the share still without one
    after 7, 14 and 30 days (over the requests at least that old)."""
    now = now or clock.now()
    pairs = list(scoped_requests(scope).values_list("received_at", "first_response_at"))
    answered = [_days(r, f) for r, f in pairs if f is not None]
    rows: list[tuple[float | int | None, ...]] = [
        (_median(answered), len(pairs), None),
    ]
    labels: list[object] = [_("Median days to first response")]
    for days in NO_RESPONSE_DAYS:
        limit = timedelta(days=days)
        old_enough = [(r, f) for r, f in pairs if r + limit <= now]
        waiting = [1 for r, f in old_enough if f is None or f - r > limit]
        share = round(len(waiting) / len(old_enough), 4) if old_enough else None
        rows.append((share, len(old_enough), len(waiting)))
        labels.append(_("No response after %(days)s days") % {"days": days})
    return Figure(
        key="request-response",
        title=_("Time to first response to help requests"),
        unit=Unit.REQUESTS,
        period=scope.period,
        source=SOURCE,
        rows=tuple(labels),  # type: ignore[arg-type]
        columns=(_("median days or share"), _("requests"), _("without response")),
        cells=tuple(rows),
        note=_("Shares count only requests old enough to be late."),
    )


def authority_response_times(scope: Scope, *, now: datetime | None = None) -> Figure:
    """Requests to authorities sent in the period about the scope's cases, per recipient agency:
    median days to acknowledgement, the number of requests, the share unacknowledged after 30
    days (over requests at least 30 days old)."""
    now = now or clock.now()
    requests = AuthorityRequest.objects.filter(sent_at__gte=scope.start, sent_at__lt=scope.end)
    if scope.agency is not None:
        requests = requests.filter(case__owner_agency=scope.agency)
    if scope.country:
        requests = requests.filter(case__destination_country=scope.country)
    by_agency: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for name, sent, acked in requests.values_list(
        "recipient_agency__name", "sent_at", "acknowledged_at"
    ):
        # recipient_name is free text (it may name an officer): never shown here.
        label = name or str(_("Other authority"))
        by_agency.setdefault(label, []).append((sent, acked))
    limit = timedelta(days=30)
    labels, cells = [], []
    for label in sorted(by_agency):
        pairs = by_agency[label]
        days_to_ack = [_days(s, a) for s, a in pairs if a is not None]
        old_enough = [(s, a) for s, a in pairs if s + limit <= now]
        waiting = sum(1 for s, a in old_enough if a is None or a - s > limit)
        share = round(waiting / len(old_enough), 4) if old_enough else None
        labels.append(label)
        cells.append((_median(days_to_ack), len(pairs), share))
    return Figure(
        key="authority-response",
        title=_("Time to acknowledgement by authority"),
        unit=Unit.REQUESTS,
        period=scope.period,
        source=SOURCE,
        rows=tuple(labels),
        columns=(_("median days"), _("requests"), _("share unacknowledged after 30 days")),
        cells=tuple(cells),
        chart=ChartKind.RESPONSE_TIMES,
        column_formats=("number", "number", "share"),
    )


# --- agreement ------------------------------------------------------------------------------


def determination_agreement(scope: Scope, *, public: bool = False) -> Figure:
    """Finished screenings of the period with a suggested outcome, by that suggestion and the
    person's latest official determination ("none yet" when there is none)."""
    interviews = ScreeningInterview.objects.filter(
        started_at__gte=scope.start,
        started_at__lt=scope.end,
        status__in=FINISHED_STATUSES,
    ).exclude(suggested_outcome="")
    if scope.agency is not None:
        interviews = interviews.filter(agency=scope.agency)
    if scope.country:
        interviews = interviews.filter(person__destination_country=scope.country)
    latest = OfficialDetermination.objects.filter(person=OuterRef("person")).order_by(
        "-recorded_at", "-pk"
    )
    grouped = (
        interviews.annotate(official=Subquery(latest.values("value")[:1]))
        .values("suggested_outcome", "official")
        .annotate(n=Count("pk"))
        .order_by()
    )
    suggested = list(SuggestedOutcome)
    official = [*DeterminationValue, None]
    counts = [[0] * len(official) for _s in suggested]
    index_s = {s.value: i for i, s in enumerate(suggested)}
    index_o = {(o.value if o is not None else None): j for j, o in enumerate(official)}
    for row in grouped:
        i, j = index_s.get(row["suggested_outcome"]), index_o.get(row["official"], -1)
        if i is not None and j >= 0:  # values outside the choices are not counted
            counts[i][j] += row["n"]
    return _count_figure(
        key="agreement",
        title=_("Suggested outcome against official determination"),
        unit=Unit.EVENTS,
        scope=scope,
        table=Table.two_dimensional(
            [str(s.label) for s in suggested],
            [str(o.label) if o is not None else str(_("None yet")) for o in official],
            counts,
        ),
        public=public,
        note=_("One screening interview per cell entry; rows suggested, columns official."),
    )


# --- persons --------------------------------------------------------------------------------


def _components(nodes: Iterable[int], edges: Iterable[tuple[int, int]]) -> int:
    parent = {n: n for n in nodes}

    def find(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    return len({find(n) for n in parent})


def persons_in_scope(scope: Scope) -> PersonRange:
    """Victims of the scope's cases as persons: current dedup clusters (point), and the
    connected components of scored links among those records at the loose and strict
    thresholds (the range). Three queries."""
    # Imported here: the linkage module loads splink and pandas, which statistics need only
    # for these two constants.
    from lifeline.people import linkage

    record_ids = set(
        CasePerson.objects.filter(case__in=scoped_cases(scope), role=PersonRole.VICTIM).values_list(
            "person_id", flat=True
        )
    )
    clusters = dict(
        ClusterMembership.objects.filter(is_current=True, record_id__in=record_ids).values_list(
            "record_id", "cluster_id"
        )
    )
    point = len(set(clusters.values())) + sum(1 for r in record_ids if r not in clusters)
    edges = list(
        LinkEdge.objects.filter(record_a_id__in=record_ids, record_b_id__in=record_ids).values_list(
            "record_a_id", "record_b_id", "match_probability"
        )
    )
    loose = _components(record_ids, [(a, b) for a, b, p in edges if p >= linkage.LOWER_THRESHOLD])
    strict = _components(record_ids, [(a, b) for a, b, p in edges if p >= linkage.UPPER_THRESHOLD])
    return PersonRange(point=point, lower=min(loose, point), upper=max(strict, point))


# --- the report -----------------------------------------------------------------------------


def build_report(
    scope: Scope, *, year: int, language: str, public: bool, now: datetime | None = None
) -> ReportData:
    """The annual report (and the dashboard) as one ReportData. A public report keeps only
    count tables, each suppressed and audited; medians and shares stay internal."""
    now = now or clock.now()
    with translation.override(language):
        counted = [
            destination_countries(scope, public=public),
            cases_by_month(scope, public=public),
            closures_by_reason(scope, public=public),
            determination_agreement(scope, public=public),
        ]
        if public:
            figures = counted
        else:
            figures = [
                funnel(scope),
                *counted[:2],
                authority_response_times(scope, now=now),
                request_response_times(scope, now=now),
                *counted[2:],
            ]
        persons = persons_in_scope(scope)
        title = _("Annual report %(year)s") % {"year": year}
        return ReportData(
            title=str(title),
            year=year,
            language=language,
            public=public,
            generated_at=now,
            figures=tuple(figures),
            persons=None if public else persons.point,
            persons_range=None if public else (persons.lower, persons.upper),
            method=tuple(method_paragraphs(public=public)),
        )
