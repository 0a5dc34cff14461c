"""Pure deadline arithmetic: when a first response is due, and when each escalation fires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DeadlinePolicy:
    urgent_minutes: int = 15
    normal_minutes: int = 240
    urgent_step_minutes: int = 15
    normal_step_minutes: int = 60
    timezone: str = "Asia/Phnom_Penh"
    opens_at: time | None = None
    closes_at: time | None = None
    working_days: str = "0123456"


_Shift = tuple[datetime, datetime]


def _shift_starting(day: date, policy: DeadlinePolicy, zone: ZoneInfo) -> _Shift | None:
    """The open period that starts on `day` (local), in UTC; None on a day off.

    A period belongs to the day it opens: with opens 20:00 and closes 06:00, Friday's night
    shift runs to Saturday 06:00 even when Saturday is a day off. Opening and closing at the
    same time means open around the clock on working days.
    """
    if str(day.weekday()) not in policy.working_days:
        return None
    assert policy.opens_at is not None and policy.closes_at is not None  # noqa: S101
    start = datetime.combine(day, policy.opens_at, tzinfo=zone)
    closing_day = day if policy.closes_at > policy.opens_at else day + timedelta(days=1)
    end = datetime.combine(closing_day, policy.closes_at, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _current_or_next_shift(at: datetime, policy: DeadlinePolicy, zone: ZoneInfo) -> _Shift | None:
    """The open period containing `at`, else the next one to open (None if there is none)."""
    today = at.astimezone(zone).date()
    # Yesterday first: its night shift may still be running.
    for offset in range(-1, 8):
        shift = _shift_starting(today + timedelta(days=offset), policy, zone)
        if shift is not None and shift[1] > at:
            return shift
    return None


def first_response_deadline(
    received_at: datetime, *, urgent: bool, policy: DeadlinePolicy
) -> datetime:
    """Urgent requests: received + urgent_minutes, around the clock (a life may be at stake).

    Other requests: normal_minutes of *open* time when operating hours are set, so a message at
    midnight is due a few hours after the office opens, not in the middle of the night. Hours
    may cross midnight (a night line open 20:00-06:00).
    """
    if urgent:
        return received_at + timedelta(minutes=policy.urgent_minutes)
    budget = timedelta(minutes=policy.normal_minutes)
    if policy.opens_at is None or policy.closes_at is None or not policy.working_days:
        return received_at + budget
    zone = ZoneInfo(policy.timezone)
    cursor = received_at.astimezone(UTC)
    for _ in range(800):  # bounded: a year of working days at most
        shift = _current_or_next_shift(cursor, policy, zone)
        if shift is None:  # no working day configured: treat as always open
            return received_at + budget
        start, end = shift
        cursor = max(cursor, start)
        available = end - cursor
        if budget <= available:
            return (cursor + budget).astimezone(received_at.tzinfo)
        budget -= available
        cursor = end
    return received_at + timedelta(minutes=policy.normal_minutes)


def escalation_due_at(
    deadline: datetime, level: int, *, urgent: bool, policy: DeadlinePolicy
) -> datetime:
    """Level 1 fires at the deadline; each next level one step later."""
    step = policy.urgent_step_minutes if urgent else policy.normal_step_minutes
    return deadline + timedelta(minutes=step * (level - 1))


def levels_due(
    now: datetime,
    deadline: datetime,
    current_level: int,
    max_level: int,
    *,
    urgent: bool,
    policy: DeadlinePolicy,
) -> list[int]:
    """Levels that should exist by `now` and do not yet (each is recorded exactly once)."""
    due = []
    for level in range(current_level + 1, max_level + 1):
        if escalation_due_at(deadline, level, urgent=urgent, policy=policy) <= now:
            due.append(level)
        else:
            break
    return due
