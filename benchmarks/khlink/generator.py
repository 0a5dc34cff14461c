"""Seeded generator of synthetic four-agency records about Cambodian trafficking victims.

Why a generator: there is no public labelled Cambodian multi-agency data set, and real records
may never leave an agency. This produces records with a known true person for every row, so
linkage quality can be measured, and with the failure modes that break generic linkers:
romanisation variants, family/given order swaps, run-together names, Khmer-script-only records,
typos, missing or partial birth dates, a small and skewed name pool, and siblings who share a
family name, village, destination and often a phone.

Every frequency below is an assumption (no calibration data exists yet); they are gathered in
`PROFILES` so they can be tuned against clerically reviewed pairs once agencies share them.
Determinism: the same (profile, records, seed) always yields the same rows.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import pandas as pd

from benchmarks.khlink.names_data import (
    DESTINATIONS,
    FAMILY_NAMES,
    FEMALE_GIVEN,
    FEMALE_PREFIXES,
    FEMALE_SUFFIXES,
    MALE_GIVEN,
    MALE_PREFIXES,
    MALE_SUFFIXES,
    MOBILE_PREFIXES,
    PROVINCES,
)


def _given_pool(
    simple: tuple[tuple[str, str], ...],
    prefixes: tuple[tuple[str, str], ...],
    suffixes: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str, str], ...]:
    """Simple names first (the most common), then compounds in a fixed shuffled order.

    Each entry is (Khmer, Latin joined, Latin split); split is "" for one-part names.
    """
    compounds = [
        (pk + sk, pl + sl.lower(), f"{pl} {sl}")
        for pk, pl in prefixes
        for sk, sl in suffixes
        if pl != sl
    ]
    random.Random(20261121).shuffle(compounds)
    seen = {latin.lower() for _, latin in simple}
    unique = [c for c in compounds if c[1].lower() not in seen]
    return tuple((k, latin, "") for k, latin in simple) + tuple(unique)


FEMALE_POOL = _given_pool(FEMALE_GIVEN, FEMALE_PREFIXES, FEMALE_SUFFIXES)
MALE_POOL = _given_pool(MALE_GIVEN, MALE_PREFIXES, MALE_SUFFIXES)

AGENCIES = ("hotline", "embassy", "ministry", "police")

# (latin only, both scripts, khmer only) per agency: police and ministry forms are in Khmer,
# embassies copy passports (Latin), hotline chats are typed in "Khmenglish".
SCRIPT_MIX = {
    "hotline": (0.75, 0.15, 0.10),
    "embassy": (0.70, 0.28, 0.02),
    "ministry": (0.20, 0.45, 0.35),
    "police": (0.15, 0.40, 0.45),
}
PHONE_RECORDED = {"hotline": 0.90, "embassy": 0.55, "ministry": 0.45, "police": 0.35}
ID_RECORDED = {"hotline": 0.05, "embassy": 0.75, "ministry": 0.55, "police": 0.35}

# Everyday spelling alternations (generator side). Most are folded by lifeline.people.names,
# some on purpose are not (a/o, ea/e, i/ee), so the benchmark is not circular.
_VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"ea", ("ie", "ia", "e")),
    (r"ie", ("ea", "ia")),
    (r"ou", ("u", "o")),
    (r"(?<![oa])u", ("ou", "o")),
    (r"ey", ("ei", "ay", "y")),
    (r"y$", ("ey", "i", "ee")),
    (r"ph", ("p",)),
    (r"th", ("t",)),
    (r"kh", ("k",)),
    (r"chh", ("ch", "j")),
    (r"(?<!c)ch(?!h)", ("j", "chh")),
    (r"nn", ("n",)),
    (r"ll", ("l",)),
    (r"(?<=[aeiou])n(?=[aeiou])", ("nn",)),
    (r"(?<=[aeiou])l(?=[aeiou])", ("ll",)),
    (r"oeu", ("eu", "oe")),
    (r"(?<=[aeiou])$", ("h",)),
    (r"(?<=a)k$", ("h", "")),
    (r"^([^aeiou]+)a", (r"\1o",)),
    (r"i", ("ee",)),
    (r"o(?=[mn])", ("or",)),
    (r"v", ("w",)),
)


@dataclass(frozen=True)
class Profile:
    """Corruption rates for one difficulty level (shares of records unless stated)."""

    name: str
    dob_missing: float
    dob_year_only: float
    dob_month_only: float
    dob_estimated: float  # reported as a year, off by 1-2 years
    dob_day_month_swap: float
    dob_typo: float
    variant_per_token: float
    order_swap: float
    joined: float
    typo_per_name: float
    family_share: float  # share of persons with siblings in the data
    family_shared_phone: float
    name_zipf: float  # larger = more concentrated name pool
    phone_owned: float
    phone_changed: float
    sex_missing: float = 0.03
    province_missing: float = 0.08
    province_other: float = 0.05
    destination_missing: float = 0.15
    destination_wrong: float = 0.04
    id_typo: float = 0.02
    khmer_variant: float = 0.05
    within_agency_repeat: float = 0.05
    agency_count_weights: tuple[float, ...] = field(default=(0.45, 0.30, 0.17, 0.08))


PROFILES: dict[str, Profile] = {
    "easy": Profile(
        "easy",
        dob_missing=0.05,
        dob_year_only=0.05,
        dob_month_only=0.02,
        dob_estimated=0.0,
        dob_day_month_swap=0.01,
        dob_typo=0.01,
        variant_per_token=0.15,
        order_swap=0.10,
        joined=0.03,
        typo_per_name=0.02,
        family_share=0.10,
        family_shared_phone=0.3,
        name_zipf=0.8,
        phone_owned=0.85,
        phone_changed=0.10,
    ),
    "standard": Profile(
        "standard",
        dob_missing=0.10,
        dob_year_only=0.10,
        dob_month_only=0.03,
        dob_estimated=0.03,
        dob_day_month_swap=0.03,
        dob_typo=0.02,
        variant_per_token=0.25,
        order_swap=0.15,
        joined=0.05,
        typo_per_name=0.04,
        family_share=0.20,
        family_shared_phone=0.4,
        name_zipf=0.9,
        phone_owned=0.80,
        phone_changed=0.15,
    ),
    "hard": Profile(
        "hard",
        dob_missing=0.25,
        dob_year_only=0.15,
        dob_month_only=0.03,
        dob_estimated=0.10,
        dob_day_month_swap=0.05,
        dob_typo=0.03,
        variant_per_token=0.35,
        order_swap=0.25,
        joined=0.08,
        typo_per_name=0.07,
        family_share=0.35,
        family_shared_phone=0.5,
        name_zipf=1.1,
        phone_owned=0.70,
        phone_changed=0.25,
    ),
}


@dataclass
class _Person:
    person_id: int
    sex: str
    family: int
    given: int
    year: int
    month: int
    day: int
    province: str
    destination: str
    phones: list[str]
    passport: str | None
    national_id: str | None


def _zipf_weights(n: int, exponent: float) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(MOBILE_PREFIXES)
    digits = 7 if prefix in ("76", "96") else 6
    return "0" + prefix + "".join(rng.choice("0123456789") for _ in range(digits))


def _format_phone(number: str, rng: random.Random) -> str:
    """Write a national-format number the way different intake officers do."""
    national = number[1:]
    style = rng.random()
    if style < 0.45:
        return number
    if style < 0.65:
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    if style < 0.85:
        return f"+855 {national[:2]} {national[2:]}"
    if style < 0.95:
        return "855" + national
    return "00855" + national


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text
    pos = rng.randrange(1, len(text))
    kind = rng.random()
    letters = "abcdeghiklmnoprstuvy"
    if kind < 0.3:
        return text[:pos] + rng.choice(letters) + text[pos + 1 :]
    if kind < 0.55:
        return text[:pos] + text[pos + 1 :]
    if kind < 0.8:
        return text[:pos] + text[pos - 1] + text[pos:]
    if pos < len(text) - 1:
        return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
    return text


def _romanisation_variant(token: str, rng: random.Random) -> str:
    lower = token.lower()
    options = [(pat, alts) for pat, alts in _VARIANTS if re.search(pat, lower)]
    if not options:
        return token
    pattern, alternatives = rng.choice(options)
    matches = list(re.finditer(pattern, lower))
    chosen = rng.choice(matches)
    replacement = chosen.expand(rng.choice(alternatives))
    out = lower[: chosen.start()] + replacement + lower[chosen.end() :]
    return out.capitalize() if token[:1].isupper() else out


def _case_style(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return text.upper()
    if roll < 0.40:
        return text.lower()
    if roll < 0.55:
        family, _, rest = text.partition(" ")
        return f"{family.upper()} {rest}".strip()
    return text


def _khmer_variant(text: str, rng: random.Random) -> str:
    """Encoding noise seen in typed Khmer: zero-width spaces and ុ typed for ៊."""
    if "\u17ca" in text and rng.random() < 0.5:
        return text.replace("\u17ca", "\u17bb")
    return text.replace(" ", "\u200b" if rng.random() < 0.5 else " \u200b")


class Generator:
    """Builds persons, then agency records about them, from one seeded random stream."""

    def __init__(self, profile: Profile, seed: int) -> None:
        self.profile = profile
        self.rng = random.Random(seed)
        self.family_weights = _zipf_weights(len(FAMILY_NAMES), profile.name_zipf)
        self.female_weights = _zipf_weights(len(FEMALE_POOL), profile.name_zipf * 0.8)
        self.male_weights = _zipf_weights(len(MALE_POOL), profile.name_zipf * 0.8)
        self.province_weights = _zipf_weights(len(PROVINCES), 0.7)
        self.destination_weights = (0.40, 0.15, 0.12, 0.10, 0.08, 0.08, 0.04, 0.03)
        self._next_person = 0
        self._used_ids: set[str] = set()

    def _unique_id(self, prefix: str, digits: int) -> str:
        while True:
            candidate = prefix + "".join(self.rng.choice("0123456789") for _ in range(digits))
            if candidate not in self._used_ids:
                self._used_ids.add(candidate)
                return candidate

    def _new_person(
        self, *, family: int | None = None, sibling_of: _Person | None = None
    ) -> _Person:
        rng = self.rng
        sex = "F" if rng.random() < 0.55 else "M"
        pool_weights = self.female_weights if sex == "F" else self.male_weights
        given = rng.choices(range(len(pool_weights)), weights=pool_weights)[0]
        if family is None:
            family = rng.choices(range(len(FAMILY_NAMES)), weights=self.family_weights)[0]
        if sibling_of is not None:
            year = sibling_of.year + rng.choice((-4, -3, -2, -1, 1, 2, 3, 4))
            province, destination = sibling_of.province, sibling_of.destination
            if rng.random() < 0.3:
                destination = rng.choices(DESTINATIONS, weights=self.destination_weights)[0]
        else:
            year = rng.randint(1972, 2008)
            province = rng.choices(PROVINCES, weights=self.province_weights)[0]
            destination = rng.choices(DESTINATIONS, weights=self.destination_weights)[0]
        phones: list[str] = []
        if rng.random() < self.profile.phone_owned:
            phones.append(_phone(rng))
            if rng.random() < self.profile.phone_changed:
                phones.append(_phone(rng))
        shares_phone = rng.random() < self.profile.family_shared_phone
        if sibling_of is not None and sibling_of.phones and shares_phone:
            phones = [sibling_of.phones[0], *phones[1:]]
        person = _Person(
            person_id=self._next_person,
            sex=sex,
            family=family,
            given=given,
            year=year,
            month=rng.randint(1, 12),
            day=rng.randint(1, 28),
            province=province,
            destination=destination,
            phones=phones,
            passport=self._unique_id("N", 7) if rng.random() < 0.45 else None,
            national_id=self._unique_id("1", 8) if rng.random() < 0.55 else None,
        )
        self._next_person += 1
        return person

    def persons(self) -> list[_Person]:
        """One person, or a sibling group sharing family name, province and often a phone."""
        first = self._new_person()
        group = [first]
        if self.rng.random() < self.profile.family_share:
            for _ in range(self.rng.choice((1, 1, 2, 3))):
                group.append(self._new_person(family=first.family, sibling_of=first))
        return group

    # -- records ----------------------------------------------------------------------------

    def _latin_name(self, person: _Person) -> str:
        rng, prof = self.rng, self.profile
        given_pool = FEMALE_POOL if person.sex == "F" else MALE_POOL
        family = FAMILY_NAMES[person.family][1]
        _, joined, split = given_pool[person.given]
        given = split if split and rng.random() < 0.3 else joined
        tokens = [family, *given.split(" ")]
        tokens = [
            _romanisation_variant(t, rng) if rng.random() < prof.variant_per_token else t
            for t in tokens
        ]
        if rng.random() < prof.order_swap:
            tokens = [*tokens[1:], tokens[0]]
        text = " ".join(tokens)
        if rng.random() < prof.joined:
            text = text.replace(" ", "", 1) if rng.random() < 0.5 else text.replace(" ", "-", 1)
        if rng.random() < prof.typo_per_name:
            text = _typo(text, rng)
        return _case_style(text, rng)

    def _khmer_name(self, person: _Person) -> str:
        given_pool = FEMALE_POOL if person.sex == "F" else MALE_POOL
        family, given = FAMILY_NAMES[person.family][0], given_pool[person.given][0]
        text = f"{given} {family}" if self.rng.random() < 0.02 else f"{family} {given}"
        if self.rng.random() < self.profile.khmer_variant:
            text = _khmer_variant(text, self.rng)
        return text

    def _dob(self, person: _Person) -> str:
        rng, prof = self.rng, self.profile
        roll = rng.random()
        edges = (
            prof.dob_missing,
            prof.dob_missing + prof.dob_year_only,
            prof.dob_missing + prof.dob_year_only + prof.dob_month_only,
            prof.dob_missing + prof.dob_year_only + prof.dob_month_only + prof.dob_estimated,
        )
        if roll < edges[0]:
            return ""
        if roll < edges[1]:
            return f"{person.year}"
        if roll < edges[2]:
            return f"{person.year}-{person.month:02d}"
        if roll < edges[3]:
            return f"{person.year + rng.choice((-2, -1, 1, 2))}"
        year, month, day = person.year, person.month, person.day
        roll = rng.random()
        if roll < prof.dob_day_month_swap and day <= 12:
            month, day = day, month
        elif roll < prof.dob_day_month_swap + prof.dob_typo:
            day = max(1, min(28, day + rng.choice((-10, -1, 1, 10))))
        return f"{year}-{month:02d}-{day:02d}"

    def record(self, person: _Person, agency: str, record_id: str) -> dict[str, str]:
        rng, prof = self.rng, self.profile
        latin_only, both, _ = SCRIPT_MIX[agency]
        script_roll = rng.random()
        name_latin = self._latin_name(person) if script_roll < latin_only + both else ""
        name_khmer = self._khmer_name(person) if script_roll >= latin_only else ""
        sex = person.sex
        if rng.random() < prof.sex_missing:
            sex = ""
        phone = ""
        if person.phones and rng.random() < PHONE_RECORDED[agency]:
            phone = _format_phone(rng.choice(person.phones), rng)
        id_number = ""
        if rng.random() < ID_RECORDED[agency]:
            options = [x for x in (person.passport, person.national_id) if x]
            if agency == "embassy" and person.passport:
                options = [person.passport]
            if options:
                id_number = rng.choice(options)
                if rng.random() < prof.id_typo:
                    pos = rng.randrange(1, len(id_number))
                    id_number = id_number[:pos] + rng.choice("0123456789") + id_number[pos + 1 :]
        province = person.province
        roll = rng.random()
        if roll < prof.province_missing:
            province = ""
        elif roll < prof.province_missing + prof.province_other:
            province = rng.choice(PROVINCES)
        destination = person.destination
        roll = rng.random()
        if roll < prof.destination_missing:
            destination = ""
        elif roll < prof.destination_missing + prof.destination_wrong:
            destination = rng.choice(DESTINATIONS)
        return {
            "record_id": record_id,
            "agency": agency,
            "name_latin": name_latin,
            "name_khmer": name_khmer,
            "sex": sex,
            "dob": self._dob(person),
            "phone": phone,
            "id_number": id_number,
            "province": province,
            "destination_country": destination,
            "true_person_id": str(person.person_id),
        }


def generate(profile: str = "standard", records: int = 10_000, seed: int = 42) -> pd.DataFrame:
    """Return exactly `records` synthetic records; `true_person_id` holds the ground truth.

    Each person reaches one to four agencies (45/30/17/8%), sometimes twice the same one (a
    repeat hotline call), so the mean is about 1.9 records per person.
    """
    prof = PROFILES[profile]
    gen = Generator(prof, seed)
    rows: list[dict[str, str]] = []
    counts = range(1, len(prof.agency_count_weights) + 1)
    while len(rows) < records:
        for person in gen.persons():
            n_agencies = gen.rng.choices(counts, weights=prof.agency_count_weights)[0]
            agencies = gen.rng.sample(AGENCIES, n_agencies)
            if gen.rng.random() < prof.within_agency_repeat:
                agencies.append(gen.rng.choice(agencies))
            for agency in agencies:
                rows.append(gen.record(person, agency, f"r{len(rows):07d}"))
    frame = pd.DataFrame(rows[:records])
    return frame
