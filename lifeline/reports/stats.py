"""Statistics from the records: the funnel, breakdowns, responsiveness and agreement.

Every selector takes a `Scope` (the agency whose records are counted, a period, optionally a
destination country) and returns a `Figure` that states its unit. Records fall in the period by
their first event date: a case by when it was opened, a help request by when it was received, an
authority request by when it was sent, a screening by when it started.

Aggregates only, never a person: no names, references or ids leave this module. Counts are grouped
in SQL, each source table read once and grouped by case (no subquery per case). On PostgreSQL the
medians are taken in SQL too (percentile_cont); on SQLite, which has no percentile, one column per
median is fetched and the median taken in Python. Either way each selector issues a fixed number of
queries whatever the data size.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, NullIf, TruncMonth
from django.utils import translation
from django.utils.dateparse import parse_date, parse_datetime
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


class _MedianSeconds(Aggregate):
    """PostgreSQL only: the median of `later - earlier` in seconds (percentile_cont), over the
    rows where both are set."""

    function = "percentile_cont"
    name = "MedianSeconds"
    template = (
        "%(function)s(0.5) WITHIN GROUP (ORDER BY CAST(EXTRACT(EPOCH FROM %(expressions)s) "
        "AS double precision))"
    )
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, later: str, earlier: str) -> None:
        super().__init__(F(later), F(earlier))


def _medians_in_sql() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def _reporting_queries() -> Iterator[None]:
    """On PostgreSQL, the settings of a reporting query for this transaction: no JIT (its
    compile time outweighs the gain on these scans) and room to hash and sort a year of cases
    in memory. Elsewhere nothing."""
    if connection.vendor != "postgresql":
        yield
        return
    # nosemgrep: lifeline-raw-sql -- fixed settings statements, no table is read here
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def _days_median(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 86400, 1)


# --- the funnel -----------------------------------------------------------------------------


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
# The steps reached by a case's timeline event into these states.
_EVENT_STEPS = {
    "verified": State.LOCATING,
    "located": State.REFERRED,
    "removed": State.REMOVED,
    "returned": State.RETURNED,
}
# Steps recorded as a date, not a moment: they count from midnight UTC.
_DATE_STEPS = frozenset({"services", "follow_up"})


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _funnel_sql(scope: Scope) -> tuple[str, list[Any]]:
    """SQL giving one row per case of the scope: when it first reached each step (NULL if
    never), in FUNNEL_CASE_STEPS order. Each source table is read once, restricted to the
    scope's cases and grouped by case (no subquery per case). Portable across SQLite and
    PostgreSQL."""
    cases = scoped_cases(scope)
    cases_sql, cases_params = cases.values("id", "opened_at", "closed_at").query.sql_with_params()
    ids_sql, ids_params = cases.values("id").query.sql_with_params()
    # The scope is repeated inline in each part (not a CTE) so that the planner sees its size.
    in_scope = f"case_id IN ({ids_sql})"
    event_states = list(_EVENT_STEPS.values())
    states = ", ".join(["%s"] * len(event_states))
    finished = ", ".join(["%s"] * len(FINISHED_STATUSES))
    sources = {"opened": "s.opened_at", "closed": "s.closed_at", "referred": "a.t_referred"}
    sources |= {"screened": "v.t_screened", "suggested": "v.t_suggested"}
    sources |= {"official": "o.t_official", "services": "sd.t_services"}
    sources |= {"follow_up": "fu.t_follow_up"}
    columns, column_params = [], []
    for step, _label in FUNNEL_CASE_STEPS:
        if step in _EVENT_STEPS:
            columns.append(f"MIN(CASE WHEN e.to_state = %s THEN e.at END) AS {_column(step)}")
            column_params.append(_EVENT_STEPS[step])
        else:
            columns.append(f"{sources[step]} AS {_column(step)}")
    # The timeline (several events per case) is joined and grouped in the outer query; the other
    # sources are grouped first, one row per case, so that no join multiplies rows.
    parts: list[tuple[str, list[Any]]] = [
        (
            f"SELECT {', '.join(columns)} FROM ({cases_sql}) s",  # noqa: S608
            [*column_params, *cases_params],
        ),
        (
            f"LEFT JOIN {_table(CaseEvent)} e ON e.case_id = s.id AND e.to_state IN ({states})",
            event_states,
        ),
        (
            f"LEFT JOIN (SELECT case_id, MIN(sent_at) AS t_referred "  # noqa: S608
            f"FROM {_table(AuthorityRequest)} WHERE {in_scope} GROUP BY case_id) a "
            "ON a.case_id = s.id",
            list(ids_params),
        ),
        (
            "LEFT JOIN (SELECT cp.case_id, MIN(si.completed_at) AS t_screened, "  # noqa: S608
            "MIN(CASE WHEN si.suggested_outcome <> '' THEN si.suggested_at END) AS t_suggested "
            f"FROM {_table(CasePerson)} cp "
            f"JOIN {_table(ScreeningInterview)} si ON si.person_id = cp.person_id "
            f"WHERE cp.role = %s AND si.status IN ({finished}) AND cp.{in_scope} "
            "GROUP BY cp.case_id) v ON v.case_id = s.id",
            [PersonRole.VICTIM, *FINISHED_STATUSES, *ids_params],
        ),
        (
            "LEFT JOIN (SELECT cp.case_id, MIN(od.recorded_at) AS t_official "  # noqa: S608
            f"FROM {_table(CasePerson)} cp "
            f"JOIN {_table(OfficialDetermination)} od ON od.person_id = cp.person_id "
            f"WHERE cp.role = %s AND od.value <> %s AND cp.{in_scope} "
            "GROUP BY cp.case_id) o ON o.case_id = s.id",
            [PersonRole.VICTIM, DeterminationValue.PENDING, *ids_params],
        ),
        (
            "LEFT JOIN (SELECT case_id, MIN(start_date) AS t_services "  # noqa: S608
            f"FROM {_table(ServiceDelivery)} WHERE {in_scope} GROUP BY case_id) sd "
            "ON sd.case_id = s.id",
            list(ids_params),
        ),
        (
            f"LEFT JOIN (SELECT case_id, MIN(date) AS t_follow_up FROM {_table(FollowUp)} "  # noqa: S608
            f"WHERE {in_scope} GROUP BY case_id) fu ON fu.case_id = s.id",
            list(ids_params),
        ),
        (
            "GROUP BY s.id, s.opened_at, s.closed_at, a.t_referred, v.t_screened, "
            "v.t_suggested, o.t_official, sd.t_services, fu.t_follow_up",
            [],
        ),
    ]
    # Table names come from the models and every value is a parameter.
    return " ".join(sql for sql, _params in parts), [p for _sql, ps in parts for p in ps]


def _column(step: str) -> str:
    return {"opened": "opened_at", "closed": "closed_at"}.get(step, f"t_{step}")


def _moment(value: date | datetime | str | None) -> datetime | None:
    """A step's moment as an aware datetime (SQLite hands raw text back from raw SQL)."""
    if isinstance(value, str):
        value = parse_datetime(value) or parse_date(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored in UTC
    return _as_datetime(value)


def _funnel_steps(scope: Scope) -> tuple[list[int], list[float | None]]:
    """Per step, the cases that reached it, and the median days from it to the next step over
    the cases that reached both (None for the last step). One query: on PostgreSQL counts and
    medians (percentile_cont) are taken in SQL; elsewhere the per-case rows are fetched and
    the medians taken in Python."""
    sql, params = _funnel_sql(scope)
    steps = [step for step, _label in FUNNEL_CASE_STEPS]
    # The funnel's one grouped query: built from the ORM's own SQL of the scoped cases (agency,
    # period, country as parameters) and fixed column names; counts and times only.
    # nosemgrep: lifeline-raw-sql -- parameters only, no encrypted column (reviewed, session 5)
    with _reporting_queries(), connection.cursor() as cursor:
        if _medians_in_sql():
            moments = [
                f"(CAST(r.{_column(s)} AS timestamp) AT TIME ZONE 'UTC')"
                if s in _DATE_STEPS
                else f"r.{_column(s)}"
                for s in steps
            ]
            counts_sql = ", ".join(f"COUNT(r.{_column(s)})" for s in steps)
            medians_sql = ", ".join(
                "percentile_cont(0.5) WITHIN GROUP "
                f"(ORDER BY CAST(EXTRACT(EPOCH FROM {later} - {earlier}) AS double precision))"
                for earlier, later in itertools.pairwise(moments)
            )
            cursor.execute(f"SELECT {counts_sql}, {medians_sql} FROM ({sql}) r", params)  # noqa: S608
            row = cursor.fetchone()
            counts = list(row[: len(steps)])
            return counts, [*(_days_median(s) for s in row[len(steps) :]), None]
        cursor.execute(sql, params)
        rows = [tuple(_moment(v) for v in row) for row in cursor.fetchall()]
    counts = [sum(1 for r in rows if r[i] is not None) for i in range(len(steps))]
    medians: list[float | None] = []
    for i in range(len(steps) - 1):
        gaps = [
            _days(r[i], r[i + 1])  # type: ignore[arg-type]
            for r in rows
            if r[i] is not None and r[i + 1] is not None
        ]
        medians.append(_median(gaps))
    return counts, [*medians, None]


def funnel(scope: Scope) -> Figure:
    """Help requests, then cases reaching each step at least once, with the median days from
    one step to the next (over the cases that reached both)."""
    request_count = scoped_requests(scope).count()
    counts, medians = _funnel_steps(scope)
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


def count_figure(
    *,
    key: str,
    title: Any,
    unit: Unit,
    period: Period,
    table: Table,
    public: bool,
    chart: ChartKind = ChartKind.NONE,
    note: Any = "",
) -> Figure:
    """A figure of counts: suppressed (k = 11, complementary) when public, else shown whole.
    Shared by these selectors and the breakdowns."""
    published: PublishedTable = suppress(table).published if public else table.publish()
    return Figure.from_counts(
        key=key,
        title=title,
        unit=unit,
        period=period,
        source=SOURCE,
        table=published,
        chart=chart,
        note=note,
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
    return count_figure(
        key="destination",
        title=_("Cases by destination country"),
        unit=Unit.CASES,
        period=scope.period,
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
    return count_figure(
        key="month",
        title=_("Cases opened by month"),
        unit=Unit.CASES,
        period=scope.period,
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
    return count_figure(
        key="closure",
        title=_("Closed cases by reason"),
        unit=Unit.CASES,
        period=scope.period,
        table=Table.one_dimensional(
            [str(CLOSURE_LABELS[r]) for r in reasons], [grouped.get(r.value, 0) for r in reasons]
        ),
        public=public,
    )


# --- responsiveness -------------------------------------------------------------------------


def _late(sent: str, answered: str, limit: timedelta, now: datetime) -> dict[str, Count]:
    """Counts of the rows at least `limit` old, and of those without an answer within it."""
    old_enough = Q(**{f"{sent}__lte": now - limit})
    late = Q(**{f"{answered}__isnull": True}) | Q(**{f"{answered}__gt": F(sent) + limit})
    return {
        f"old_{limit.days}": Count("pk", filter=old_enough),
        f"late_{limit.days}": Count("pk", filter=old_enough & late),
    }


def request_response_times(scope: Scope, *, now: datetime | None = None) -> Figure:
    """Help requests: median days to the first response, and the share still without one
    after 7, 14 and 30 days (over the requests at least that old). One aggregate query (and on
    SQLite one column of response times for the median)."""
    now = now or clock.now()
    requests = scoped_requests(scope)
    counts: dict[str, Any] = {"n": Count("pk")}
    for days in NO_RESPONSE_DAYS:
        counts |= _late("received_at", "first_response_at", timedelta(days=days), now)
    with _reporting_queries():
        if _medians_in_sql():
            counts["median"] = _MedianSeconds("first_response_at", "received_at")
        totals = requests.aggregate(**counts)
        if _medians_in_sql():
            median = _days_median(totals["median"])
        else:
            pairs = requests.filter(first_response_at__isnull=False).values_list(
                "received_at", "first_response_at"
            )
            median = _median([_days(r, f) for r, f in pairs if f is not None])
    rows: list[tuple[float | int | None, ...]] = [(median, totals["n"], None)]
    labels: list[object] = [_("Median days to first response")]
    for days in NO_RESPONSE_DAYS:
        old, waiting = totals[f"old_{days}"], totals[f"late_{days}"]
        share = round(waiting / old, 4) if old else None
        rows.append((share, old, waiting))
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
    days (over requests at least 30 days old). Grouped in SQL (on SQLite the medians from one
    fetched column)."""
    now = now or clock.now()
    requests = AuthorityRequest.objects.filter(sent_at__gte=scope.start, sent_at__lt=scope.end)
    if scope.agency is not None:
        requests = requests.filter(case__owner_agency=scope.agency)
    if scope.country:
        requests = requests.filter(case__destination_country=scope.country)
    # recipient_name is free text (it may name an officer): never shown here.
    other = str(_("Other authority"))
    labelled = requests.annotate(
        label=Coalesce(NullIf("recipient_agency__name", Value("")), Value(other))
    ).values("label")
    limit = timedelta(days=30)
    aggregates: dict[str, Any] = {
        "n": Count("pk"),
        **_late("sent_at", "acknowledged_at", limit, now),
    }
    with _reporting_queries():
        if _medians_in_sql():
            aggregates["median"] = _MedianSeconds("acknowledged_at", "sent_at")
        grouped = {row["label"]: row for row in labelled.annotate(**aggregates).order_by()}
        if _medians_in_sql():
            medians = {label: _days_median(row["median"]) for label, row in grouped.items()}
        else:
            gaps: dict[str, list[float]] = {}
            for label, sent, acked in labelled.filter(acknowledged_at__isnull=False).values_list(
                "label", "sent_at", "acknowledged_at"
            ):
                if acked is not None:  # filtered above; for the type checker
                    gaps.setdefault(label, []).append(_days(sent, acked))
            medians = {label: _median(gaps.get(label, [])) for label in grouped}
    labels, cells = [], []
    for label in sorted(grouped):
        row = grouped[label]
        old, waiting = row["old_30"], row["late_30"]
        share = round(waiting / old, 4) if old else None
        labels.append(label)
        cells.append((medians[label], row["n"], share))
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
    return count_figure(
        key="agreement",
        title=_("Suggested outcome against official determination"),
        unit=Unit.EVENTS,
        period=scope.period,
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
        # Imported here: breakdowns builds on this module's scoped querysets.
        from .breakdowns import breakdown_figures

        figures = [*figures, *breakdown_figures(scope, public=public)]
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
