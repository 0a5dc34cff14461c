"""Pure deadline arithmetic: when a first response is due, and when each escalation fires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
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


def _is_open(local: datetime, policy: DeadlinePolicy) -> bool:
    if str(local.weekday()) not in policy.working_days:
        return False
    assert policy.opens_at is not None and policy.closes_at is not None  # noqa: S101
    return policy.opens_at <= local.time() < policy.closes_at


def _next_opening(local: datetime, policy: DeadlinePolicy) -> datetime:
    assert policy.opens_at is not None  # noqa: S101
    candidate = local
    for _ in range(8):
        opening = candidate.replace(
            hour=policy.opens_at.hour, minute=policy.opens_at.minute, second=0, microsecond=0
        )
        if opening > local and str(opening.weekday()) in policy.working_days:
            return opening
        candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
    return local  # no working day configured: treat as always open


def first_response_deadline(
    received_at: datetime, *, urgent: bool, policy: DeadlinePolicy
) -> datetime:
    """Urgent requests: received + urgent_minutes, around the clock (a life may be at stake).

    Other requests: normal_minutes of *open* time when operating hours are set, so a message at
    midnight is due a few hours after the office opens, not in the middle of the night.
    """
    if urgent:
        return received_at + timedelta(minutes=policy.urgent_minutes)
    budget = timedelta(minutes=policy.normal_minutes)
    if policy.opens_at is None or policy.closes_at is None or not policy.working_days:
        return received_at + budget
    zone = ZoneInfo(policy.timezone)
    cursor = received_at.astimezone(zone)
    for _ in range(400):  # bounded: a year of working days at most
        if not _is_open(cursor, policy):
            cursor = _next_opening(cursor, policy)
            if not _is_open(cursor, policy):
                return received_at + budget
        closing = cursor.replace(
            hour=policy.closes_at.hour, minute=policy.closes_at.minute, second=0, microsecond=0
        )
        available = closing - cursor
        if budget <= available:
            return (cursor + budget).astimezone(received_at.tzinfo)
        budget -= available
        cursor = closing
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
