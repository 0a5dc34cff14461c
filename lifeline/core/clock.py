"""The one clock. Everything that asks "what time is it" asks here, so tests can move time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.utils import timezone

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """Current UTC time, as moved by `travel` or `freeze` in tests."""
    if _frozen is not None:
        return _frozen
    return timezone.now() + _offset


def set_offset(offset: timedelta) -> None:
    """Shift the clock; used by tests and by the worker-under-test process."""
    global _offset
    _offset = offset


@contextlib.contextmanager
def freeze(at: datetime) -> Iterator[None]:
    global _frozen
    previous = _frozen
    _frozen = at
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: timedelta) -> None:
    """Move time forward (frozen or not)."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset = _offset + delta


def reset() -> None:
    global _frozen, _offset
    _frozen = None
    _offset = timedelta(0)
