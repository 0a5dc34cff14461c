"""Registered screening instruments, by version. Each is validated when this module loads, so
a broken instrument stops the application from starting rather than reaching an interviewer."""

from __future__ import annotations

from lifeline.screening.instrument import Instrument, build

from . import kh_screen_1

INSTRUMENTS: dict[str, Instrument] = {
    instrument.version: instrument for instrument in (build(kh_screen_1.DATA),)
}
CURRENT_VERSION = "kh-screen-1"


def get(version: str = CURRENT_VERSION) -> Instrument:
    """The instrument of that version; KeyError if it was never registered."""
    return INSTRUMENTS[version]


def current() -> Instrument:
    return INSTRUMENTS[CURRENT_VERSION]
