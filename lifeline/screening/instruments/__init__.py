"""Registered screening instruments, by version. Each is validated when this module loads, so
a broken instrument stops the application from starting rather than reaching an interviewer.

New interviews use CURRENT_VERSION; an interview keeps the version it was started with, so older
versions stay registered for as long as any interview uses them."""

from __future__ import annotations

from lifeline.screening.instrument import Instrument, build

from . import kh_screen_1, kh_screen_2

INSTRUMENTS: dict[str, Instrument] = {
    instrument.version: instrument
    for instrument in (build(kh_screen_1.DATA), build(kh_screen_2.DATA))
}
CURRENT_VERSION = "kh-screen-2"


def get(version: str = CURRENT_VERSION) -> Instrument:
    """The instrument of that version; KeyError if it was never registered."""
    return INSTRUMENTS[version]


def current() -> Instrument:
    return INSTRUMENTS[CURRENT_VERSION]


def versions_with(item_id: str) -> tuple[str, ...]:
    """The registered versions that ask `item_id`, oldest first."""
    return tuple(v for v, instrument in INSTRUMENTS.items() if instrument.has(item_id))
