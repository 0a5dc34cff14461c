"""A small, hand-computed synthetic report used by the writer tests (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lifeline.reports.data import ChartKind, Figure, Period, ReportData, Unit, method_paragraphs
from lifeline.reports.disclosure import Table, suppress

YEAR = Period(date(2022, 1, 1), date(2022, 12, 31))

# Persons by destination country (one-way): 4 and 7 are below 11.
DESTINATIONS = Table.one_dimensional(
    ["Thailand", "Myanmar", "Laos", "China", "Malaysia", "Vietnam"], [412, 236, 118, 7, 4, 25]
)
# Persons by month of first contact.
MONTHS = Table.one_dimensional(
    [f"2022-{m:02d}" for m in range(1, 13)], [61, 48, 55, 70, 66, 59, 74, 80, 72, 68, 63, 86]
)
# Persons by sex and age band (two-way): the 3 needs complementary cells.
SEX_AGE = Table.two_dimensional(
    ["Female", "Male"], ["<18", "18-24", "25+"], [[3, 140, 168], [21, 230, 240]]
)


def sample_report(*, language: str = "en", public: bool = True) -> ReportData:
    khmer = language == "km"
    destinations = suppress(DESTINATIONS).published
    months = suppress(MONTHS).published
    sex_age = suppress(SEX_AGE).published
    source = "ប្រព័ន្ធ Lifeline (ទិន្នន័យសំយោគ)" if khmer else "Lifeline records (synthetic)"
    figures = (
        Figure.from_counts(
            key="destination",
            title="មនុស្សតាមប្រទេសគោលដៅ" if khmer else "Persons by destination country",
            unit=Unit.PERSONS,
            period=YEAR,
            source=source,
            table=destinations,
            chart=ChartKind.RANKED_BARS,
        ),
        Figure.from_counts(
            key="month",
            title="មនុស្សតាមខែ" if khmer else "Persons by month of first contact",
            unit=Unit.PERSONS,
            period=YEAR,
            source=source,
            table=months,
            chart=ChartKind.TREND,
        ),
        Figure.from_counts(
            key="sex-age",
            title="មនុស្សតាមភេទ និងអាយុ" if khmer else "Persons by sex and age band",
            unit=Unit.PERSONS,
            period=YEAR,
            source=source,
            table=sex_age,
        ),
    )
    return ReportData(
        title="របាយការណ៍ប្រចាំឆ្នាំ ២០២២" if khmer else "Annual report 2022",
        year=2022,
        language=language,
        public=public,
        generated_at=datetime(2023, 2, 1, 9, 0, tzinfo=UTC),
        figures=figures,
        persons=802,
        persons_range=(781, 830),
        method=tuple(method_paragraphs(public=public)),
    )
