"""Differentially private synthetic microdata about victims: the only public record-level output.

What is released: one row per synthetic person with coarse categorical attributes only (see
COLUMNS): sex, age band, province of origin, destination country and screening outcome, plus the
data year. No names, dates, communes, references or ids ever enter the synthesiser.

How (docs: ../shared/research/linkage-privacy.md §3.3, §3.5, §5.2):

1. The scoped victims are read and coarsened to the public category lists in CATEGORIES, one row
   per person (current dedup cluster). The category lists are fixed in advance, never taken from
   the data: a key that appears only because someone is in the data would leak.
2. OpenDP's MST (`dp.mbi.make_contingency_table` through the Context API, pure ε-DP, Laplace
   noise on one-way and selected two-way marginals) fits a Markov random field.
3. Rows are drawn from it with `synthesize(method="sample")`: i.i.d. sampling. The default,
   "round", assigns correlated ranks to sibling columns in mbi 1.1.0 and produced spurious
   correlations (mean two-way TVD 0.17-0.24 against 0.05-0.07 for "sample", research §3.5).
4. Rows whose quasi-identifier combination occurs fewer than `microdata_min_count()` times in the
   synthetic sample are dropped (post-processing: reads only the DP output), and the
   re-identification check (reidentification.py) must pass on what remains before anything is
   written.

The ε of a release is charged to the ledger (`privacy_budget_spend`, dataset "victims", one entry
per release) before the data are touched; over budget, nothing is read or drawn. The two-way TVD
against the real data is for the operator only: it is computed from the real data, so it is not
differentially private and is never written into the public file.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from lifeline.accounts.principal import Principal
from lifeline.cases.models import CasePerson, PersonRole
from lifeline.people.models import ClusterMembership, Sex
from lifeline.screening.models import FINISHED_STATUSES, ScreeningInterview, SuggestedOutcome

from .models import PrivacyLedgerEntry
from .reidentification import assert_microdata_releasable, microdata_min_count
from .services import privacy_budget_spend
from .stats import Scope, scoped_cases

DATASET = "victims"
TABLE = "synthetic-microdata"
MECHANISM = "opendp.mbi.mst+sample"
# Passed explicitly to ContingencyTable.synthesize: never the library default ("round").
SYNTHESIS_METHOD = "sample"

UNKNOWN = "unknown"
OTHER = "other"

AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-59", "60+")

# Cambodia's 25 provinces by NCDD code (the gazetteer codes coarsen_geocode keeps).
PROVINCES = {
    "01": "Banteay Meanchey",
    "02": "Battambang",
    "03": "Kampong Cham",
    "04": "Kampong Chhnang",
    "05": "Kampong Speu",
    "06": "Kampong Thom",
    "07": "Kampot",
    "08": "Kandal",
    "09": "Koh Kong",
    "10": "Kratie",
    "11": "Mondulkiri",
    "12": "Phnom Penh",
    "13": "Preah Vihear",
    "14": "Prey Veng",
    "15": "Pursat",
    "16": "Ratanakiri",
    "17": "Siem Reap",
    "18": "Preah Sihanouk",
    "19": "Stung Treng",
    "20": "Svay Rieng",
    "21": "Takeo",
    "22": "Oddar Meanchey",
    "23": "Kep",
    "24": "Pailin",
    "25": "Tbong Khmum",
}
# Other spellings in use (UNGEGN, older maps, English usage), keyed by the folded form.
_PROVINCE_ALIASES = {
    "batdambang": "Battambang",
    "kampongsom": "Preah Sihanouk",
    "sihanoukville": "Preah Sihanouk",
    "kracheh": "Kratie",
    "mondolkiri": "Mondulkiri",
    "otdarmeanchey": "Oddar Meanchey",
    "pouthisat": "Pursat",
    "rotanakiri": "Ratanakiri",
    "ratanakkiri": "Ratanakiri",
    "siemreab": "Siem Reap",
    "stoengtraeng": "Stung Treng",
    "steungtreng": "Stung Treng",
    "takev": "Takeo",
    "tboungkhmum": "Tbong Khmum",
    "kaeb": "Kep",
    "kohkong": "Koh Kong",
    "kaohkong": "Koh Kong",
    "banteaymeanchay": "Banteay Meanchey",
    "kampongchhnang": "Kampong Chhnang",
}
# The destinations listed by name; every other country is "other". Fixed, public.
DESTINATIONS = ("TH", "MY", "CN", "VN", "MM", "LA", "KR", "JP", "SA", "ID", "SG", "TW", "AE")

CATEGORIES: dict[str, tuple[str, ...]] = {
    "sex": (*(s.value for s in Sex if s != Sex.UNKNOWN), UNKNOWN),
    "age_band": (*AGE_BANDS, UNKNOWN),
    "province": (*PROVINCES.values(), OTHER, UNKNOWN),
    "destination": (*DESTINATIONS, OTHER, UNKNOWN),
    "screening_outcome": (*(o.value for o in SuggestedOutcome), "NOT_SCREENED"),
}
MODELLED = tuple(CATEGORIES)
COLUMNS = ("year", *MODELLED)
# What someone who knows a person may know about them; the screening outcome is what they would
# learn. A combination unique on these is unique on every column.
QUASI_IDENTIFIERS = ("sex", "age_band", "province", "destination")


# --- coarsening -----------------------------------------------------------------------------


def _fold(value: str) -> str:
    return re.sub(r"[^a-z]", "", value.casefold())


_PROVINCE_BY_FOLD = {_fold(name): name for name in PROVINCES.values()} | _PROVINCE_ALIASES


def province_category(value: str) -> str:
    """A province name as entered, or an NCDD code of any depth, as one of CATEGORIES."""
    value = value.strip()
    if not value:
        return UNKNOWN
    digits = re.fullmatch(r"\d{2}(\d{2}){0,3}", value)
    if digits:
        return PROVINCES.get(value[:2], OTHER)
    folded = _fold(value.removeprefix("Krong ").removeprefix("Khett "))
    return _PROVINCE_BY_FOLD.get(folded, OTHER)


def age_band(date_of_birth: str, year: int) -> str:
    """The age reached in the data year, as a band; "unknown" without a birth year."""
    match = re.match(r"^(\d{4})", date_of_birth.strip())
    if not match:
        return UNKNOWN
    age = year - int(match.group(1))
    if age < 0 or age > 120:
        return UNKNOWN
    for band in AGE_BANDS:
        low, _sep, high = band.rstrip("+").partition("-")
        if age >= int(low) and (not high or age <= int(high)):
            return band
    return UNKNOWN  # pragma: no cover (the bands cover 0..120)


def destination_category(code: str) -> str:
    code = code.strip().upper()
    if not code:
        return UNKNOWN
    return code if code in DESTINATIONS else OTHER


def coarse_row(
    *, sex: str, date_of_birth: str, province: str, destination: str, outcome: str, year: int
) -> dict[str, str]:
    """One person as the synthesiser sees them: only values from CATEGORIES."""
    return {
        "sex": sex if sex in CATEGORIES["sex"] else UNKNOWN,
        "age_band": age_band(date_of_birth, year),
        "province": province_category(province),
        "destination": destination_category(destination),
        "screening_outcome": (
            outcome if outcome in CATEGORIES["screening_outcome"] else "NOT_SCREENED"
        ),
    }


def victim_rows(scope: Scope, *, year: int) -> list[dict[str, str]]:
    """The scoped victims, one coarse row per person (current dedup cluster; a record in no
    cluster is its own person). The record on the person's first case in the period gives sex,
    age, province and destination (the case's when the record has none); the screening outcome is
    the person's latest under any of their records. Three queries (screenings in chunks)."""
    victims = CasePerson.objects.filter(case__in=scoped_cases(scope), role=PersonRole.VICTIM)
    links = list(
        victims.select_related("person", "case").order_by("case__opened_at", "case_id", "person_id")
    )
    clusters = dict(
        ClusterMembership.objects.filter(
            is_current=True, record_id__in=victims.values("person_id")
        ).values_list("record_id", "cluster_id")
    )

    def person_key(record_id: int) -> tuple[str, int]:
        cluster = clusters.get(record_id)
        return ("cluster", cluster) if cluster is not None else ("record", record_id)

    first: dict[tuple[str, int], CasePerson] = {}
    for link in links:
        first.setdefault(person_key(link.person_id), link)
    outcomes: dict[tuple[str, int], str] = {}
    screenings = (
        ScreeningInterview.objects.filter(
            person_id__in=victims.values("person_id"), status__in=FINISHED_STATUSES
        )
        .order_by("started_at", "pk")
        .only("person_id", "suggested_outcome", "override_outcome")
    )
    for screening in screenings.iterator(chunk_size=2000):
        if screening.outcome:  # the person's latest, under any of their records
            outcomes[person_key(screening.person_id)] = screening.outcome
    rows = []
    for key, link in first.items():
        person = link.person
        rows.append(
            coarse_row(
                sex=person.sex,
                date_of_birth=person.date_of_birth,
                province=person.province,
                destination=person.destination_country or link.case.destination_country,
                outcome=outcomes.get(key, ""),
                year=year,
            )
        )
    return rows


# --- synthesis ------------------------------------------------------------------------------


@contextmanager
def _numpy_seed(seed: int | None) -> Iterator[None]:
    """mbi samples with numpy's global generator: seed it for a repeatable draw (tests), and put
    the global state back afterwards."""
    import numpy as np

    if seed is None:
        yield
        return
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def synthesize(
    rows: Sequence[Mapping[str, str]],
    *,
    epsilon: Decimal,
    contributions: int = 1,
    seed: int | None = None,
) -> list[dict[str, str]]:
    """Synthetic rows over MODELLED from an ε-differentially private MST model of `rows`.

    The privacy unit is the person, who may hold up to `contributions` rows. `seed` fixes only the
    sampling from the fitted model (post-processing); OpenDP's noise always comes from its own
    secure generator, so two runs with one seed differ and a seed reveals nothing."""
    import jax
    import opendp.prelude as dp
    import polars as pl

    # The models are small: the CPU is enough, and probing for accelerators only logs noise.
    jax.config.update("jax_platforms", "cpu")
    dp.enable_features("contrib")
    if epsilon <= 0:
        raise ValueError("ε must be positive")
    for row in rows:
        for column in MODELLED:
            if row.get(column) not in CATEGORIES[column]:
                raise ValueError(f"{column}={row.get(column)!r} is not a public category")
    # The float OpenDP is given must not exceed the ε the ledger charged.
    budget = float(epsilon)
    if Decimal(budget) > epsilon:
        budget = math.nextafter(budget, 0.0)
    frame = pl.DataFrame(
        {column: [row[column] for row in rows] for column in MODELLED},
        schema=dict.fromkeys(MODELLED, pl.String),
    )
    context = dp.Context.compositor(
        data=frame.lazy(),
        privacy_unit=dp.unit_of(contributions=contributions),
        privacy_loss=dp.loss_of(epsilon=budget),
    )
    query = context.query(epsilon=budget).contingency_table(
        keys={column: list(CATEGORIES[column]) for column in MODELLED},
        algorithm=dp.mbi.MST(),
    )
    table = query.release()
    with _numpy_seed(seed):
        synthetic = table.synthesize(method=SYNTHESIS_METHOD)
    out = []
    for record in synthetic.select(MODELLED).iter_rows(named=True):
        # The library keeps a null category for values outside the keys; none are fed in, but
        # noise can give it a little mass.
        out.append(
            {
                c: UNKNOWN if record[c] is None and UNKNOWN in CATEGORIES[c] else record[c]
                for c in MODELLED
            }
        )
    return [row for row in out if all(row[c] in CATEGORIES[c] for c in MODELLED)]


def drop_rare_combinations(
    rows: Sequence[Mapping[str, str]],
    *,
    k: int,
    quasi_identifiers: Sequence[str] = QUASI_IDENTIFIERS,
) -> tuple[list[dict[str, str]], int]:
    """The rows whose quasi-identifier combination at least k rows share, and how many went."""
    counts = Counter(tuple(row[q] for q in quasi_identifiers) for row in rows)
    kept = [dict(row) for row in rows if counts[tuple(row[q] for q in quasi_identifiers)] >= k]
    return kept, len(rows) - len(kept)


# --- utility --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Utility:
    """Total variation distance between the real and synthetic two-way marginals."""

    pairs: dict[tuple[str, str], float]

    @property
    def mean(self) -> float:
        return sum(self.pairs.values()) / len(self.pairs) if self.pairs else math.nan

    @property
    def max(self) -> float:
        return max(self.pairs.values()) if self.pairs else math.nan


def total_variation(
    real: Sequence[Mapping[str, str]],
    synthetic: Sequence[Mapping[str, str]],
    columns: Sequence[str],
) -> float:
    """½ Σ |p(x) - q(x)| over the joint values of `columns` (0: same distribution, 1: disjoint)."""
    if not real or not synthetic:
        return 1.0
    p = Counter(tuple(row[c] for c in columns) for row in real)
    q = Counter(tuple(row[c] for c in columns) for row in synthetic)
    return 0.5 * sum(abs(p[x] / len(real) - q[x] / len(synthetic)) for x in p.keys() | q.keys())


def two_way_tvd(
    real: Sequence[Mapping[str, str]],
    synthetic: Sequence[Mapping[str, str]],
    columns: Sequence[str] = MODELLED,
) -> Utility:
    return Utility(
        {
            pair: total_variation(real, synthetic, pair)
            for pair in itertools.combinations(columns, 2)
        }
    )


# --- the release ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticRelease:
    year: int
    rows: list[dict[str, str]]  # COLUMNS, ready to write
    entry: PrivacyLedgerEntry
    real_rows: int  # persons in scope (internal: not published)
    dropped: int  # synthetic rows dropped by the minimum-count rule
    min_count: int
    utility: Utility  # internal: computed from the real data, not DP
    seconds: float


def synthetic_release(
    *,
    actor: Principal,
    scope: Scope,
    year: int,
    epsilon: Decimal,
    release: str,
    contributions: int = 1,
    seed: int | None = None,
) -> SyntheticRelease:
    """Charge ε, synthesise, drop rare combinations, and prove no row is unique.

    The charge and the synthesis share one transaction: if the synthesis fails, nothing is
    charged. A refusal by the re-identification check comes after the commit and keeps the charge,
    because whoever ran the release has seen an outcome of the mechanism (that it failed)."""
    started = time.perf_counter()
    with transaction.atomic():
        entry = privacy_budget_spend(
            actor=actor,
            dataset=DATASET,
            year=year,
            release=release,
            table=TABLE,
            epsilon=epsilon,
            mechanism=MECHANISM if seed is None else f"{MECHANISM} (seeded sampling)",
            contributions=contributions,
        )
        real = victim_rows(scope, year=year)
        drawn = synthesize(real, epsilon=entry.epsilon, contributions=contributions, seed=seed)
    k = microdata_min_count()
    kept, dropped = drop_rare_combinations(drawn, k=k)
    rows = [{"year": str(year), **row} for row in kept]
    assert_microdata_releasable(rows, QUASI_IDENTIFIERS, k=k)
    return SyntheticRelease(
        year=year,
        rows=rows,
        entry=entry,
        real_rows=len(real),
        dropped=dropped,
        min_count=k,
        utility=two_way_tvd(real, kept),
        seconds=time.perf_counter() - started,
    )


def microdata_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The public file: exactly COLUMNS, in that order, nothing else."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        if set(row) != set(COLUMNS):
            raise ValueError(f"a public row has exactly the columns {COLUMNS}, not {sorted(row)}")
        writer.writerow(row)
    return buffer.getvalue()
