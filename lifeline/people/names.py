"""Khmer name, phone and birth-date normalisation for record linkage.

Why this exists: one Cambodian can reach four agencies as "Sok Heang", "SOK Hieng", "Heang Sok",
"Sokheang" and "សុខ ហៀង". No single romanisation is in use (UNGEGN, the Geographic Department
system, ALA-LC in libraries, DC-Cam's person-name table and informal "Khmenglish"), the family
name comes first in Khmer but often last in Western forms, and birth dates are often partial.
Generic string similarity treats each of these as a different person, which inflates the national
count. This module turns every spelling into comparable keys; it knows nothing about Django, so it
can run inside Splink jobs, the CLI and tests alike.

The romanisation table is data with a version string (`ROMANISATION_TABLE_VERSION`). Any change to
a rule changes keys, and keys feed stored link decisions, so a change must bump the version and
the linkage model version recorded with results.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from anyascii import anyascii

ROMANISATION_TABLE_VERSION = "kh-rom-2"

DEFAULT_PHONE_REGION = "KH"

DobPrecision = Literal["day", "month", "year"]


@dataclass(frozen=True)
class RomanisationRule:
    """One equivalence between spellings, applied as an ordered regex rewrite.

    `examples` are (variant, variant) pairs that must fold to the same key; the unit tests check
    every rule through them, so the table documents itself and cannot drift silently.
    """

    rule_id: str
    pattern: str
    replacement: str
    source: str
    examples: tuple[tuple[str, str], ...]


# Order matters: ញ spellings and ALA-LC letters first (they use letters the later rules rewrite),
# then consonant clusters, vowels and endings. Rules run on a lower-case ASCII token, no spaces.
ROMANISATION_RULES: tuple[RomanisationRule, ...] = (
    RomanisationRule(
        "nh-gn-ny",
        r"^gn|ny(?=[aeiou])",
        "nh",
        "ញ is written nh, gn (French) or ny (English) (Nhem/Gnem/Nyem)",
        (("gnem", "nhem"), ("nyem", "nhem")),
    ),
    RomanisationRule(
        "alalc-dh",
        r"dh",
        "th",
        "ALA-LC writes ធ with the Indic value dh where modern usage has th (Dhari/Theary)",
        (("dhari", "thari"),),
    ),
    RomanisationRule(
        "alalc-bh",
        r"bh",
        "ph",
        "ALA-LC writes ភ as bh where modern usage has ph or p (Bhirum/Phirum)",
        (("bhirum", "phirum"),),
    ),
    RomanisationRule(
        "alalc-jh",
        r"jh",
        "chh",
        "ALA-LC writes ឈ as jh where modern usage has chh (Jhim/Chhim)",
        (("jhim", "chhim"),),
    ),
    RomanisationRule(
        "alalc-g",
        r"(?<!n)g",
        "k",
        "ALA-LC writes ក/គ/ឃ as k/g/gh; modern spellings use k/kh (ng is its own sound)",
        (("gim", "kim"), ("gong", "kong"), ("ghun", "khun")),
    ),
    RomanisationRule(
        "w-v",
        r"w",
        "v",
        "DC-Cam and informal spellings alternate v/w (Vanna/Wanna)",
        (("wanna", "vanna"), ("wuthy", "vuthy")),
    ),
    RomanisationRule(
        "double-consonant",
        r"([bcdfghjklmnpqrstvxz])\1+|d(?=t)|b(?=p)|(?<=nh)nh",
        r"\1",
        "Geographic Department and informal spellings double consonants for subscripts "
        "(Phalla/Phala, Vannak/Vanak); transliteration writes ដ្ឋ as dth (Radtha/Ratha)",
        (("phalla", "phala"), ("vannak", "vanak"), ("sokkhom", "sokhom"), ("radtha", "ratha")),
    ),
    RomanisationRule(
        "b-p",
        r"b",
        "p",
        "ប is written b, but p before a subscript or in many names (Banha/Panha, Bopha/Popha)",
        (("banha", "panha"), ("bopha", "popha")),
    ),
    RomanisationRule(
        "ch-j",
        r"chh|ch|j|c",
        "c",
        "ឆ/ឈ/ច/ជ: UNGEGN chh/ch, informal j, ALA-LC c (Chhim/Chim, Chenda/Jenda)",
        (("chhim", "chim"), ("jenda", "chenda"), ("can", "chan")),
    ),
    RomanisationRule(
        "aspirate-ph-p",
        r"ph|p",
        "p",
        "ផ/ភ are written ph or p (Phalla/Palla, Sopheap/Sopeap)",
        (("sopheap", "sopeap"), ("phirum", "pirum")),
    ),
    RomanisationRule(
        "aspirate-th-t",
        r"th|t",
        "t",
        "ថ/ធ are written th or t (Theary/Teary, Ratha/Rata)",
        (("theary", "teary"), ("ratha", "rata")),
    ),
    RomanisationRule(
        "aspirate-kh-k",
        r"kh|k|q",
        "k",
        "ខ/ឃ are written kh or k; anyascii writes សុខ as sokh (Sokh/Sok, Khun/Kun)",
        (("sokh", "sok"), ("khun", "kun")),
    ),
    RomanisationRule(
        "r-before-final",
        r"(?<=[aeiou])r(?=[bcdfhjklmnpqstvxz])|(?<=[^aeiou])r$",
        "",
        "DC-Cam writes a silent r after o to mark vowel length (Norng/Nong, Sorn/Son); a "
        "final ្រ is silent (Vichetr/Vichet)",
        (("norng", "nong"), ("sorn", "son"), ("vichetr", "vichet")),
    ),
    RomanisationRule(
        "vowel-ea-ie-ia",
        r"iea|iae|ea|ie|ia",
        "ia",
        "ៀ/ា in the second series: UNGEGN ie, Geographic Department ea, informal ia "
        "(Heang/Hieng/Hiang)",
        (("heang", "hieng"), ("hiang", "heang"), ("sopheap", "sophiep")),
    ),
    RomanisationRule(
        "vowel-ae-e",
        r"ae",
        "e",
        "kh-rom-2: ែ is written ae (anyascii, UNGEGN) or e in everyday names (Haem/Hem, Kaem/Kem)",
        (("haem", "hem"), ("kaem", "kem")),
    ),
    RomanisationRule(
        "vowel-oeu-eu-oe",
        r"oeu|eou|eu|oe|ue",
        "eu",
        "ឺ/ើ: UNGEGN oeu, informal eu/oe (Choeun/Cheun/Choen)",
        (("choeun", "cheun"), ("choen", "choeun"), ("soeur", "seur")),
    ),
    RomanisationRule(
        "vowel-ey-ei-ay",
        r"eey|ey|ei|ay|ai|ee|(?<=[^aeiou])y$",
        "i",
        "ី/ៃ: ey, ei, ay, y, ee and i alternate (Pisey/Pisei/Pisay, Ly/Lee/Li, Srey/Srei); "
        "kh-rom-2: a final ey lengthened to eey is the same vowel (Piseey/Pisey)",
        (
            ("pisey", "pisei"),
            ("pisay", "pisey"),
            ("ly", "li"),
            ("lee", "ly"),
            ("srey", "srei"),
            ("piseey", "pisey"),
        ),
    ),
    RomanisationRule(
        "vowel-ou-o-u",
        r"ou|oo|uo|o|u",
        "o",
        "ូ/ុ/ោ: ou, o and u alternate (Oum/Um/Om, Touch/Toch, Sun/Soun); au/ao for ៅ "
        "(Mau/Mao) is folded first",
        (("oum", "um"), ("touch", "toch"), ("sun", "soun"), ("sokun", "sokoun"), ("mau", "mao")),
    ),
    RomanisationRule(
        "final-h",
        r"(?<=[aeiou])h$",
        "",
        "a final h only marks a short or breathy vowel (Cheah/Chea, Sah/Sa)",
        (("cheah", "chea"), ("sah", "sa")),
    ),
    RomanisationRule(
        "final-visarga",
        r"([aeiou][^aeiou]{1,3}(?:a|ia))[hk]$",
        r"\1",
        "visarga ៈ at the end of a polysyllable is written k, h or nothing (Vannak/Vanna)",
        (("vannak", "vanna"), ("vannah", "vannak"), ("sopheak", "sophea")),
    ),
)

_COMPILED_RULES = tuple((re.compile(rule.pattern), rule.replacement) for rule in ROMANISATION_RULES)

# Syllables and names the tokeniser may split a run-together name into. Only pieces listed here
# are used, so "Sokha" stays one name while "Sokheang" becomes sok + heang. Entries are folded
# with the table above when looked up, so one spelling per name is enough.
NAME_LEXICON: frozenset[str] = frozenset(
    (
        "sok",
        "heang",
        "hieng",
        "chan",
        "kim",
        "heng",
        "ly",
        "meas",
        "chea",
        "seng",
        "sun",
        "lim",
        "mao",
        "ouch",
        "oum",
        "chhim",
        "sophea",
        "srey",
        "mom",
        "theary",
        "dara",
        "vannak",
        "samnang",
        "ratha",
        "phalla",
        "chantha",
        "sopheap",
        "pisey",
        "bopha",
        "sokha",
        "nich",
        "keo",
        "nary",
        "pov",
        "long",
        "hun",
        "suon",
        "touch",
        "nhem",
        "bun",
        "nang",
        "vichet",
        "sophal",
        "rotana",
        "chanda",
        "vasna",
        "thida",
        "lak",
        "makara",
        "chhay",
        "chhuon",
        "pich",
        "khun",
        "ny",
        "savan",
        "pheareum",
        "oudom",
        "vuthy",
        "po",
        "im",
        "yin",
        "cheang",
        "san",
        "tang",
        "soy",
        "ok",
        "prum",
        "khiev",
        "huot",
        "teng",
        "sin",
        "nhaem",
        "kong",
        "phan",
        "nuon",
        "chhun",
        "neang",
        "vann",
        "vanna",
        "leak",
        "mealea",
        "dina",
        "sothea",
        "kosal",
        "visal",
        "rithy",
        "veasna",
        "bora",
        "sovann",
        "sina",
        "rath",
        "nita",
        "linda",
        "mony",
        "chenda",
        "vibol",
        "piseth",
        "sarath",
        "panha",
        "kanha",
        "sopheak",
        "channa",
        "mealy",
        "thyda",
        "rachana",
        "leakhena",
        "ath",
        "by",
        "em",
        "en",
        "hak",
        "hem",
        "heak",
        "hoeun",
        "keat",
        "kheang",
        "khim",
        "kun",
        "lay",
        "lon",
        "mab",
        "men",
        "nget",
        "noeun",
        "ouk",
        "pen",
        "phon",
        "pheap",
        "phin",
        "pok",
        "ros",
        "sam",
        "sar",
        "saroeun",
        "sem",
        "seak",
        "sen",
        "seyha",
        "sim",
        "sophy",
        "sorn",
        "sous",
        "tep",
        "thong",
        "tim",
        "touch",
        "vong",
        "yem",
        "yorn",
        "yun",
        "chorn",
        "norng",
        "pech",
        "roth",
        "thy",
        "na",
        "kha",
        "lang",
        "tha",
        "da",
        "ra",
        "vy",
        "phea",
        "lin",
        "nim",
        "dy",
        "mach",
        "hour",
        "sean",
        "meng",
        "rith",
        "socheata",
        "lina",
        "maly",
        "sothy",
        "chamroeun",
        "tola",
    )
)

_KHMER_BLOCK = re.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")
_KHMER_CONSONANT = re.compile(r"[\u1780-\u17A2]")
# ZWSP separates words in Khmer text (it marks where a line may break); the joiners are noise.
_INVISIBLES = {0x200B: " ", **dict.fromkeys(map(ord, "\u200c\u200d\u2060\ufeff"))}
_BANTOC = "\u17cb"
_COENG = "\u17d2"
_TRIISAP = "\u17ca"
_RO = "\u179a"
_SAMYOK_SANNYA = "\u17d0"
_YO = "\u1799"
_A_FINAL_AFTER = frozenset("នរញ")
# kh-rom-2: word-final subscripts that are not pronounced after a closed syllable (រ័ត្ន is Roth)
_SILENT_FINAL_SUBSCRIPTS = frozenset("នយ")
# kh-rom-2: dental stops voiced in clusters, as names are written: ន្ត/ន្ទ as nd (ចិន្តា Chenda,
# ចន្ទា Chanda) and ត្ត as d (ឧត្តម Oudom). Each is rewritten to the Khmer letter with that
# Latin value and the same series, so vowels keep their series.
_VOICED_CLUSTERS = (
    ("\u1793\u17d2\u178f", "\u1793\u17d2\u178a"),  # ន្ត -> ន្ដ
    ("\u1793\u17d2\u1791", "\u1793\u17d2\u178c"),  # ន្ទ -> ន្ឌ
    ("\u178f\u17d2\u178f", "\u178a\u17d2\u178a"),  # ត្ត -> ដ្ដ
)
# kh-rom-2: a word-final C1 C2 + subscript yo is read as one closed syllable with a short u,
# the yo silent (ភារម្យ is Phearum: រម្យ reads rum).
_FINAL_YO_SYLLABLE = re.compile("([\u1780-\u17a2])([\u1780-\u17a2])\u17d2\u1799(?= |$)")
_SERIES_SHIFTERS = "\u17c9\u17ca"  # muusikatoan ៉ moves to the first series, triisap ៊ to the second
_SECOND_SERIES = frozenset("គឃងជឈញឌឍនទធពភមយរលវ")
_SECOND_SERIES_VOWELS = {
    "\u17b6": "ea",  # ា
    "\u17b7": "i",  # ិ
    "\u17b8": "i",  # ី
    "\u17bb": "u",  # ុ
    "\u17bc": "ou",  # ូ
    "\u17b9": "i",  # ឹ: kh-rom-2, written i in names (លឹម Lim, ឈឹម Chhim, អ៊ឹម Im)
    "\u17ba": "eu",  # ឺ
    "\u17c4": "ou",  # ោ
    "\u17c5": "ov",  # ៅ
    "\u17d0": "ea",  # ័ (samyok sannya)
}
_VOWEL_SIGN = re.compile(r"[\u17b6-\u17c5]")
_SEPARATORS = re.compile(r"[\s,./_()'`\"\-\u2013\u2014\u2019]+")
_NON_LETTER = re.compile(r"[^a-z]")


def has_khmer(text: str) -> bool:
    """True when `text` contains Khmer script, so callers can route it to the script key."""
    return bool(_KHMER_BLOCK.search(text))


def normalise_khmer(text: str) -> str:
    """Canonical Khmer-script form, so two renderings of one spelling compare equal.

    Typists produce several code-point sequences for one visible name: an invisible zero-width
    space instead of a space between words, and ុ (U+17BB) typed where the shape-shifter ៊
    (U+17CA) belongs before an upper vowel (ស៊ី vs សុី). Both are folded here.
    """
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLES)
    text = re.sub("\u17bb(?=[\u17b7-\u17ba])", "\u17ca", text)
    return " ".join(text.split())


def _khmer_to_latin(text: str) -> str:
    """Transliterate Khmer script to Latin letters close to everyday romanisations.

    anyascii alone maps letter by letter with first-series vowel values: it drops the inherent
    vowel of a bare consonant (ផល្លា comes out "phlla"), renders the bantoc ់ as "a" (ចាន់ comes
    out "chana") and writes មាស as "mas" where Cambodians write Meas. We therefore spell out the
    inherent vowel, drop the bantoc and give second-series consonants their own vowel values
    before handing the rest to anyascii.
    """
    text = normalise_khmer(text)
    for cluster, voiced in _VOICED_CLUSTERS:
        text = text.replace(cluster, voiced)
    text = _FINAL_YO_SYLLABLE.sub("\\1\u17bb\\2", text)
    chars = list(text)
    out: list[str] = []
    series_o = False
    skip_next = False
    base_is_coda = False
    for index, char in enumerate(chars):
        if skip_next:
            skip_next = False
            continue
        if char == _BANTOC:
            continue
        if char == _COENG and base_is_coda and index + 1 < len(chars) and chars[index + 1] == _RO:
            skip_next = True  # a subscript ro closing a syllable is silent (ពេជ្រ is Pich)
            continue
        if (
            char == _COENG
            and base_is_coda
            and index + 1 < len(chars)
            and chars[index + 1] in _SILENT_FINAL_SUBSCRIPTS
            and (index + 2 >= len(chars) or chars[index + 2] == " ")
        ) or (
            char == _COENG
            and chars[index + 1 : index + 2] == [_YO]
            and (index + 2 >= len(chars) or chars[index + 2] == " ")
        ):
            # kh-rom-2: a word-final subscript no or yo after a closed syllable is silent
            # (រ័ត្ន is Roth), and a word-final subscript yo always is (ភារម្យ is Phearum)
            skip_next = True
            continue
        if _KHMER_CONSONANT.match(char):
            out.append(char)
            series_o = char in _SECOND_SERIES
            rest = chars[index + 1 :]
            while rest and rest[0] in _SERIES_SHIFTERS:
                series_o = rest[0] == _TRIISAP
                rest = rest[1:]
            if index > 0 and chars[index - 1] == _COENG:
                is_coda = base_is_coda  # a subscript belongs to its base consonant's syllable
            else:
                # kh-rom-2: samyok sannya ័ is a vowel too, so ត in រ័ត្ន closes the syllable
                is_coda = index > 0 and (
                    _VOWEL_SIGN.match(chars[index - 1]) is not None
                    or chars[index - 1] == _SAMYOK_SANNYA
                )
                base_is_coda = is_coda
            if rest and _KHMER_CONSONANT.match(rest[0]) and not is_coda:
                out.append("o" if series_o else "a")
            continue
        if char in _SERIES_SHIFTERS:
            continue
        nxt = chars[index + 1] if index + 1 < len(chars) else ""
        if char == "\u17c2" and nxt == "\u179c":  # ែវ is written eo (Keo), not aev
            out.append("eo")
            skip_next = True
            continue
        if char in "\u17bb\u17b6" and nxt == "\u17c6":  # ុំ and ាំ
            out.append("om" if char == "\u17bb" else "am")
            skip_next = True
            continue
        vowel = _SECOND_SERIES_VOWELS.get(char) if series_o else None
        word_final = index + 1 >= len(chars) or chars[index + 1] == " "
        if (
            char == "\u17b6"
            and vowel
            and word_final
            and out
            and (
                (out[-1] in _A_FINAL_AFTER and _has_earlier_syllable(out))
                or (len(out) > 1 and out[-2] == _COENG)
            )
        ):
            # closing នា/រា/ញា is written a (Veasna, Makara, Panha), not ea; kh-rom-2: so is a
            # closing ា under a subscript (ផល្លា Phalla, ចន្ទា Chanda)
            vowel = "a"
        out.append(vowel if vowel is not None else char)
    return anyascii("".join(out)).lower()


def _has_earlier_syllable(out: list[str]) -> bool:
    """True when the current word already has a consonant before the last one written."""
    word = "".join(out).rsplit(" ", 1)[-1]
    return len(_KHMER_CONSONANT.findall(word)) >= 2


def _ascii_letters(text: str) -> str:
    """Lower-case ASCII with ALA-LC/UNGEGN diacritics spelt out (ñ -> nh, ṅ -> ng)."""
    text = text.replace("ñ", "nh").replace("Ñ", "nh").replace("ṅ", "ng").replace("Ṅ", "ng")
    return anyascii(text).lower()


@lru_cache(maxsize=200_000)
def fold_token(token: str) -> str:
    """Fold one romanised token to its equivalence key under the romanisation table.

    Cached because a national register has few distinct name tokens and millions of records.
    """
    key = _NON_LETTER.sub("", _ascii_letters(token))
    for pattern, replacement in _COMPILED_RULES:
        key = pattern.sub(replacement, key)
    return key


@lru_cache(maxsize=1)
def _folded_lexicon() -> frozenset[str]:
    return frozenset(fold_token(word) for word in NAME_LEXICON)


def _split_rank(pieces: tuple[str, ...]) -> tuple[int, int, list[int]]:
    vowel_led = sum(1 for piece in pieces[1:] if piece[0] in "aeiou")
    return len(pieces), vowel_led, [-len(piece) for piece in pieces]


@lru_cache(maxsize=200_000)
def split_token(token: str) -> tuple[str, ...]:
    """Split a run-together name into lexicon pieces (Sokheang -> sok, heang).

    Compound given names are written both joined and split (Sreymom, Srey Mom), so a token that
    is not itself a listed name is cut into known pieces of at least two letters, and the same
    name yields the same tokens however it was written. Listed one-unit names (Samnang, Sokha)
    stay whole, so a lexicon entry must never be a compound. The split with the fewest pieces
    wins; a token with no complete split is kept as written.
    """
    token = _NON_LETTER.sub("", _ascii_letters(token))
    lexicon = _folded_lexicon()
    if len(token) < 4 or fold_token(token) in lexicon:
        return (token,) if token else ()
    best: list[tuple[str, ...] | None] = [None] * (len(token) + 1)
    best[0] = ()
    for end in range(2, len(token) + 1):
        for start in range(0, end - 1):
            if start == 0 and end == len(token):
                continue  # the whole token is not a split
            prefix = best[start]
            if prefix is None:
                continue
            piece = token[start:end]
            if fold_token(piece) not in lexicon:
                continue
            candidate = (*prefix, piece)
            current = best[end]
            # Fewest pieces first; on a tie prefer pieces that start with a consonant after the
            # first (kh-rom-2: chan|neem, not chann|eem), then the longer leading piece, because
            # Khmer syllables close on a consonant (sok|heang, not so|kheang).
            if current is None or _split_rank(candidate) < _split_rank(current):
                best[end] = candidate
    found = best[len(token)]
    return found if found and len(found) > 1 else (token,)


def tokenise(name: str) -> tuple[str, ...]:
    """Raw lower-case Latin tokens of a name in written order, run-together names split.

    Khmer script is transliterated first, so mixed input ("Sok ហៀង") yields one token list.
    """
    if not name:
        return ()
    parts: list[str] = []
    for chunk in _SEPARATORS.split(name.strip()):
        if not chunk:
            continue
        latin = _khmer_to_latin(chunk) if has_khmer(chunk) else _ascii_letters(chunk)
        for sub in _SEPARATORS.split(latin):
            sub = _NON_LETTER.sub("", sub)
            if sub:
                parts.extend(split_token(sub))
    return tuple(parts)


def name_keys(name: str) -> tuple[str, ...]:
    """Folded tokens in written order: the romanisation-insensitive form of a name."""
    return tuple(key for key in (fold_token(token) for token in tokenise(name)) if key)


def name_bag(name: str) -> str:
    """Order-insensitive key: sorted folded tokens, so given/family swaps compare equal."""
    return " ".join(sorted(name_keys(name)))


def name_concat(name: str) -> str:
    """Folded tokens glued together, so a split that the lexicon missed still compares equal."""
    return "".join(sorted(name_keys(name)))


_VOWELS_AFTER_FIRST = re.compile(r"(?<=.)[aeiou]+")


def skeleton(key: str) -> str:
    """Consonant skeleton of a folded key; tolerates a/o vowel spellings (Ratha/Rotha)."""
    return " ".join(_VOWELS_AFTER_FIRST.sub("", token) for token in key.split())


# Letters that only colour a vowel in romanised keys (Soy/Soi/សយ "si", Chhoy/Chhaey), or are
# mostly noise once kh/ph/th/ch are folded (Pahlla, Tohch).
_NON_CONSONANT_KEY = re.compile(r"[aeiouyh\s]")


def consonant_key(keys: tuple[str, ...] | list[str]) -> str:
    """Sorted consonants of folded name keys: blind to order, word breaks and vowel spellings.

    The loosest name key, for blocking only (always with a second field): "Vann Heng",
    "Vannheng" and វណ្ណហេង ("vonaheng") differ in their keys and skeletons but share their
    consonants. d is written for ត in some names (ធីតា Thida, not
    "Thita"), so d counts as t here. Letters keep their multiplicity, so "Sok Sok Kha" and
    "Sok Kha" stay apart.
    """
    return "".join(sorted(_NON_CONSONANT_KEY.sub("", "".join(keys)).replace("d", "t")))


def has_unknown_token(keys: tuple[str, ...] | list[str]) -> bool:
    """True when a folded name key holds a token outside the name lexicon.

    Typos and rare spellings ("Pichnm", "Somnavg") land here, so blocking can afford looser,
    typo-tolerant keys for these records only: they are a small share of a register.
    """
    lexicon = _folded_lexicon()
    return any(key not in lexicon for key in keys)


# Consonants of the consonant key split in two classes (the rest: c, g, m, r, s, t, v, ...).
# One typo (a dropped, added or changed consonant) changes the consonants of at most one class
# unless it swaps a letter of one class for one of the other, so one half survives.
_CONSONANT_CLASS_A = frozenset("klnp")


def consonant_halves(cons: str) -> tuple[str | None, str | None]:
    """The consonant key split by `_CONSONANT_CLASS_A`: (class A letters, other letters)."""
    first = "".join(ch for ch in cons if ch in _CONSONANT_CLASS_A)
    second = "".join(ch for ch in cons if ch not in _CONSONANT_CLASS_A)
    return first or None, second or None


def loose_consonant_key(cons: str) -> str:
    """The consonant key without ng's g and with each letter once (Seng/Sen, Vannna/Vanna)."""
    return "".join(sorted(set(cons.replace("g", ""))))


def name_skeleton(name: str) -> str:
    """Order-insensitive consonant skeleton of the name as written (no lexicon splitting).

    Splitting depends on the spelling (Ratha splits into ra + tha, Rotha does not), so the
    skeleton is taken from the written words to stay comparable across vowel spellings.
    """
    words: list[str] = []
    for chunk in _SEPARATORS.split(name.strip()) if name else ():
        latin = _khmer_to_latin(chunk) if has_khmer(chunk) else _ascii_letters(chunk)
        words.extend(fold_token(word) for word in _SEPARATORS.split(latin) if word)
    return " ".join(sorted(skeleton(word) for word in words if word))


# ---------------------------------------------------------------------------------------------
# Phone numbers and birth dates


def normalise_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 form of a phone number, or None when it cannot be a real number.

    Cambodian numbers are written with a leading 0, with +855, 855 or 00855, and with any
    spacing; E.164 makes all of them equal. Impossible numbers become None rather than a
    half-cleaned string, because a wrong exact match on phone is strong false evidence.
    """
    raw = (raw or "").strip()
    if not raw:
        return None
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif raw.startswith("855") and len(re.sub(r"\D", "", raw)) >= 11:
        raw = "+" + raw
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Dob:
    """A birth date known to a stated precision; absent parts are None."""

    year: int
    month: int | None
    day: int | None
    precision: DobPrecision


_DOB_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_dob(raw: str) -> Dob | None:
    """Parse YYYY-MM-DD, YYYY-MM or YYYY; None when empty; ValueError when malformed.

    Birth registration in Cambodia is incomplete, so many records hold only a year or a month;
    keeping the precision lets the linker treat "1998" as compatible with "1998-04-12" rather
    than as a mismatch.
    """
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _DOB_RE.match(raw)
    if not match:
        raise ValueError(f"date of birth {raw!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    if not 1900 <= year <= 2100:
        raise ValueError(f"birth year {year} is out of range")
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"birth month {month} is out of range")
    if day is not None:
        import calendar

        assert month is not None  # noqa: S101 - the regex only captures a day after a month
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            raise ValueError(f"day {day} does not exist in {year}-{month:02d}")
        return Dob(year, month, day, "day")
    if month is not None:
        return Dob(year, month, None, "month")
    return Dob(year, None, None, "year")
