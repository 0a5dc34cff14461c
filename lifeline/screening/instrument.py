"""The shape of a screening instrument, and the checks every instrument must pass.

An instrument is data (see `instruments/`), versioned and never edited in place once interviews
use it: a changed question or weight is a new version, so every stored suggestion can be
recomputed from the exact questions that were asked. This module is pure Python (no Django), so
the rule and its tests run without a database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Answer(StrEnum):
    """The four answers to every yes/no question. Only YES ever counts towards a suggestion."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"
    REFUSED = "refused"


class Kind(StrEnum):
    YESNO = "yesno"  # answered with an `Answer`
    INTEGER = "integer"  # e.g. age in years
    CHOICE = "choice"  # one code out of `options`


class Weight(StrEnum):
    STRONG = "strong"
    MEDIUM = "medium"
    WEAK = "weak"


class Dimension(StrEnum):
    """The six ILO/EC (2009) dimensions an indicator belongs to."""

    DECEPTIVE_RECRUITMENT = "deceptive_recruitment"
    COERCIVE_RECRUITMENT = "coercive_recruitment"
    ABUSE_VULN_RECRUITMENT = "abuse_vuln_recruitment"
    EXPLOITATIVE_CONDITIONS = "exploitative_conditions"
    COERCION_AT_DESTINATION = "coercion_at_destination"
    ABUSE_VULN_AT_DESTINATION = "abuse_vuln_at_destination"


RECRUITMENT_MEANS = (
    Dimension.DECEPTIVE_RECRUITMENT,
    Dimension.COERCIVE_RECRUITMENT,
    Dimension.ABUSE_VULN_RECRUITMENT,
)
DESTINATION_MEANS = (Dimension.COERCION_AT_DESTINATION, Dimension.ABUSE_VULN_AT_DESTINATION)


class Role(StrEnum):
    """What an item means to the rule, beyond its weight in a dimension."""

    ACT = "act"  # recruited, transported, transferred, harboured or received
    EXPLOITATION = "exploitation"  # a purpose that is exploitation on its own (see ADR 0007)
    NON_PUNISHMENT = "non_punishment"  # forced criminality: any yes sets NON_PUNISHMENT
    CRIMINAL_INVOLVEMENT = "criminal_involvement"  # sets the REPORTED_CRIMINAL_INVOLVEMENT note
    CONFINED_NOW = "confined_now"
    VIOLENCE = "violence"
    CHILD_PRESENT = "child_present"
    MEDICAL = "medical"
    TRANSFER_IMMINENT = "transfer_imminent"
    AGE = "age"  # the item that gives the person's age in years
    # Section A: the safety and consent gate.
    GATE_SAFE = "gate_safe"
    GATE_PRIVATE = "gate_private"
    GATE_CONSENT_INTERVIEW = "gate_consent_interview"
    GATE_CONSENT_RECORDING = "gate_consent_recording"
    GATE_RIGHT_TO_STOP = "gate_right_to_stop"
    GATE_INTERPRETER = "gate_interpreter"


GATE_ROLES = frozenset(r for r in Role if r.value.startswith("gate_"))
SECTIONS = ("A", "B", "C", "D", "E", "F", "G", "H", "I", "K")
ILO_INDICATORS = range(1, 12)


@dataclass(frozen=True)
class Option:
    code: str
    text_en: str
    text_km: str


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    kind: Kind
    text_en: str
    text_km: str
    options: tuple[Option, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    ilo: tuple[int, ...] = ()
    dimension: Dimension | None = None
    weight: Weight | None = None
    child_weight: Weight | None = None  # ILO/EC grade when the person is under 18, if different
    roles: frozenset[Role] = frozenset()
    required: bool = False  # counts towards the completeness threshold

    @property
    def is_indicator(self) -> bool:
        return self.dimension is not None

    def weight_for(self, *, child: bool) -> Weight | None:
        return self.child_weight if child and self.child_weight is not None else self.weight

    def text(self, language: str) -> str:
        return self.text_km if language.startswith("km") else self.text_en

    def accepts(self, value: str) -> bool:
        """Whether `value` is a valid stored answer for this item."""
        if self.kind is Kind.YESNO:
            return value in Answer.__members__.values()
        if self.kind is Kind.CHOICE:
            return value in {o.code for o in self.options} or value in (
                Answer.UNKNOWN,
                Answer.REFUSED,
            )
        if value in (Answer.UNKNOWN, Answer.REFUSED):
            return True
        if not value.isdigit():
            return False
        number = int(value)
        low = self.minimum if self.minimum is not None else 0
        return low <= number and (self.maximum is None or number <= self.maximum)


@dataclass(frozen=True)
class Section:
    code: str
    title_en: str
    title_km: str
    items: tuple[Item, ...]

    def title(self, language: str) -> str:
        return self.title_km if language.startswith("km") else self.title_en


@dataclass(frozen=True)
class Instrument:
    version: str
    title_en: str
    title_km: str
    sections: tuple[Section, ...]
    # Share of required items that must have a yes/no answer before an unfinished interview
    # gets any suggestion other than UNDETERMINED.
    required_fraction: float
    _index: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({i.id: i for s in self.sections for i in s.items})

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for s in self.sections for i in s.items)

    @property
    def indicators(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.is_indicator)

    @property
    def required_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.required)

    @property
    def required_threshold(self) -> int:
        return math.ceil(self.required_fraction * len(self.required_items))

    def item(self, item_id: str) -> Item:
        return self._index[item_id]

    def has(self, item_id: str) -> bool:
        return item_id in self._index

    def with_role(self, role: Role) -> tuple[Item, ...]:
        return tuple(i for i in self.items if role in i.roles)

    def section(self, code: str) -> Section:
        return next(s for s in self.sections if s.code == code)


class InstrumentError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _enum_or_none(enum: type[StrEnum], value: Any) -> Any:
    return None if value in (None, "") else enum(value)


def build(data: Mapping[str, Any]) -> Instrument:
    """Turn instrument data into an `Instrument`, refusing it with every problem listed."""
    problems: list[str] = []
    sections: list[Section] = []
    seen: set[str] = set()
    for raw_section in data.get("sections", []):
        code = raw_section.get("code", "")
        items: list[Item] = []
        for raw in raw_section.get("items", []):
            try:
                item = _item(raw, code)
            except (KeyError, ValueError, TypeError) as exc:
                problems.append(f"item {raw.get('id', '?')}: {exc!r}")
                continue
            problems.extend(_check_item(item, seen))
            seen.add(item.id)
            items.append(item)
        if not raw_section.get("title_en") or not raw_section.get("title_km"):
            problems.append(f"section {code}: title in English and Khmer required")
        sections.append(
            Section(code, raw_section.get("title_en", ""), raw_section.get("title_km", ""),
                    tuple(items))
        )  # fmt: skip
    codes = [s.code for s in sections]
    if tuple(codes) != SECTIONS:
        problems.append(f"sections must be {SECTIONS}, got {tuple(codes)}")
    fraction = data.get("required_fraction")
    if not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        problems.append("required_fraction must be in (0, 1]")
    for role in (*GATE_ROLES, Role.AGE, Role.CONFINED_NOW):
        count = sum(1 for s in sections for i in s.items if role in i.roles)
        if count != 1:
            problems.append(f"exactly one item must carry role {role}, found {count}")
    if not data.get("version") or not data.get("title_en") or not data.get("title_km"):
        problems.append("version and titles in English and Khmer are required")
    if problems:
        raise InstrumentError(problems)
    return Instrument(
        version=str(data["version"]),
        title_en=str(data["title_en"]),
        title_km=str(data["title_km"]),
        sections=tuple(sections),
        required_fraction=float(fraction),  # type: ignore[arg-type]
    )


def _item(raw: Mapping[str, Any], section: str) -> Item:
    return Item(
        id=str(raw["id"]),
        section=section,
        kind=Kind(raw.get("kind", Kind.YESNO)),
        text_en=str(raw.get("en", "")),
        text_km=str(raw.get("km", "")),
        options=tuple(Option(str(c), str(en), str(km)) for c, en, km in raw.get("options", [])),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        ilo=tuple(int(n) for n in raw.get("ilo", [])),
        dimension=_enum_or_none(Dimension, raw.get("dimension")),
        weight=_enum_or_none(Weight, raw.get("weight")),
        child_weight=_enum_or_none(Weight, raw.get("child_weight")),
        roles=frozenset(Role(r) for r in raw.get("roles", [])),
        required=bool(raw.get("required", False)),
    )


def _check_item(item: Item, seen: Iterable[str]) -> list[str]:
    problems: list[str] = []
    where = f"item {item.id}"
    if not item.id or item.id in seen:
        problems.append(f"{where}: id missing or not unique")
    if not item.id.startswith(item.section.lower() + "_"):
        problems.append(f"{where}: id must start with its section letter")
    if not item.text_en.strip() or not item.text_km.strip():
        problems.append(f"{where}: question text in English and Khmer required")
    if item.text_km.strip() and not any("\u1780" <= ch <= "\u17ff" for ch in item.text_km):
        problems.append(f"{where}: Khmer text contains no Khmer script")
    if item.is_indicator:
        if item.kind is not Kind.YESNO:
            problems.append(f"{where}: an indicator is answered yes/no/unknown/refused")
        if item.weight is None:
            problems.append(f"{where}: indicator without weight")
        if not item.ilo or any(n not in ILO_INDICATORS for n in item.ilo):
            problems.append(f"{where}: indicator needs ILO-11 numbers between 1 and 11")
    elif item.weight is not None or item.child_weight is not None or item.ilo:
        problems.append(f"{where}: weight or ILO number without a dimension")
    if item.kind is Kind.CHOICE:
        if not item.options:
            problems.append(f"{where}: choice without options")
        for option in item.options:
            if not option.text_en or not option.text_km:
                problems.append(f"{where}: option {option.code} needs English and Khmer")
    if item.kind is Kind.INTEGER and (item.minimum is None or item.maximum is None):
        problems.append(f"{where}: integer item needs min and max")
    gate = item.roles & GATE_ROLES
    if gate and item.section != "A":
        problems.append(f"{where}: gate roles belong to section A")
    if item.section == "A" and not gate and item.kind is Kind.YESNO:
        problems.append(f"{where}: section A items are gate questions")
    if item.section == "H" and Role.NON_PUNISHMENT not in item.roles:
        problems.append(f"{where}: every forced-criminality item sets non-punishment")
    if Role.AGE in item.roles and item.kind is not Kind.INTEGER:
        problems.append(f"{where}: the age item is an integer")
    return problems
