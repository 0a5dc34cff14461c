"""Deadline arithmetic, without the database. Times are in Phnom Penh (UTC+7, no DST)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lifeline.intake.deadlines import (
    DeadlinePolicy,
    escalation_due_at,
    first_response_deadline,
    levels_due,
)

PP = ZoneInfo("Asia/Phnom_Penh")
ALWAYS = DeadlinePolicy()
# Office hours 08:00-17:00, Monday to Friday.
OFFICE = DeadlinePolicy(opens_at=time(8, 0), closes_at=time(17, 0), working_days="01234")
# A night line: 20:00-06:00, every night.
NIGHT = DeadlinePolicy(opens_at=time(20, 0), closes_at=time(6, 0))
# The same night line, with shifts opening Monday to Friday only.
WEEKNIGHTS = DeadlinePolicy(opens_at=time(20, 0), closes_at=time(6, 0), working_days="01234")


def pp(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PP)


def test_urgent_request_is_due_15_minutes_after_receipt():
    received = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)

    assert first_response_deadline(received, urgent=True, policy=ALWAYS) == datetime(
        2025, 3, 4, 10, 15, tzinfo=UTC
    )


def test_urgent_request_ignores_operating_hours_at_night_and_at_weekends():
    saturday_3am = pp(2025, 3, 8, 3, 0)

    deadline = first_response_deadline(saturday_3am, urgent=True, policy=OFFICE)

    assert deadline == pp(2025, 3, 8, 3, 15)


def test_normal_request_without_operating_hours_is_due_4_hours_later():
    received = datetime(2025, 3, 4, 22, 30, tzinfo=UTC)

    assert first_response_deadline(received, urgent=False, policy=ALWAYS) == datetime(
        2025, 3, 5, 2, 30, tzinfo=UTC
    )


def test_normal_request_inside_office_hours_is_due_4_open_hours_later():
    tuesday_9am = pp(2025, 3, 4, 9, 0)

    assert first_response_deadline(tuesday_9am, urgent=False, policy=OFFICE) == pp(
        2025, 3, 4, 13, 0
    )


def test_normal_request_late_in_the_day_carries_the_rest_over_to_next_morning():
    tuesday_4pm = pp(2025, 3, 4, 16, 0)  # 1 h today, 3 h tomorrow

    assert first_response_deadline(tuesday_4pm, urgent=False, policy=OFFICE) == pp(
        2025, 3, 5, 11, 0
    )


def test_normal_request_received_overnight_is_due_4_hours_after_opening():
    tuesday_11pm = pp(2025, 3, 4, 23, 0)

    assert first_response_deadline(tuesday_11pm, urgent=False, policy=OFFICE) == pp(
        2025, 3, 5, 12, 0
    )


def test_normal_request_before_opening_counts_from_opening():
    wednesday_6am = pp(2025, 3, 5, 6, 30)

    assert first_response_deadline(wednesday_6am, urgent=False, policy=OFFICE) == pp(
        2025, 3, 5, 12, 0
    )


def test_normal_request_on_friday_evening_rolls_over_the_weekend_to_monday():
    friday_3pm = pp(2025, 3, 7, 15, 0)  # 2 h on Friday, 2 h on Monday

    assert first_response_deadline(friday_3pm, urgent=False, policy=OFFICE) == pp(
        2025, 3, 10, 10, 0
    )


def test_normal_request_on_saturday_is_due_on_monday():
    saturday_noon = pp(2025, 3, 8, 12, 0)

    assert first_response_deadline(saturday_noon, urgent=False, policy=OFFICE) == pp(
        2025, 3, 10, 12, 0
    )


def test_deadline_keeps_the_timezone_it_was_given():
    received = datetime(2025, 3, 4, 2, 0, tzinfo=UTC)  # 09:00 in Phnom Penh

    deadline = first_response_deadline(received, urgent=False, policy=OFFICE)

    assert deadline == datetime(2025, 3, 4, 6, 0, tzinfo=UTC)
    assert deadline.tzinfo == UTC


# --- operating hours that cross midnight ---------------------------------------------------


def test_night_line_request_in_the_evening_is_due_after_midnight():
    tuesday_9pm = pp(2025, 3, 4, 21, 0)

    assert first_response_deadline(tuesday_9pm, urgent=False, policy=NIGHT) == pp(2025, 3, 5, 1, 0)


def test_night_line_request_before_dawn_carries_over_to_the_next_evening():
    wednesday_4am = pp(2025, 3, 5, 4, 0)  # 2 h left of Tuesday's shift, 2 h on Wednesday's

    assert first_response_deadline(wednesday_4am, urgent=False, policy=NIGHT) == pp(
        2025, 3, 5, 22, 0
    )


def test_night_line_request_in_the_day_counts_from_the_evening_opening():
    wednesday_noon = pp(2025, 3, 5, 12, 0)

    assert first_response_deadline(wednesday_noon, urgent=False, policy=NIGHT) == pp(
        2025, 3, 6, 0, 0
    )


def test_night_line_request_exactly_at_closing_waits_for_the_evening():
    wednesday_6am = pp(2025, 3, 5, 6, 0)

    assert first_response_deadline(wednesday_6am, urgent=False, policy=NIGHT) == pp(
        2025, 3, 6, 0, 0
    )


def test_a_night_shift_belongs_to_the_day_it_opens():
    friday_11pm = pp(2025, 3, 7, 23, 0)  # Friday's shift runs into Saturday morning

    assert first_response_deadline(friday_11pm, urgent=False, policy=WEEKNIGHTS) == pp(
        2025, 3, 8, 3, 0
    )


def test_night_line_closed_at_the_weekend_resumes_on_monday_evening():
    saturday_9pm = pp(2025, 3, 8, 21, 0)  # no shift opens on Saturday or Sunday
    monday_2am = pp(2025, 3, 10, 2, 0)  # would be Sunday's shift: closed

    assert first_response_deadline(saturday_9pm, urgent=False, policy=WEEKNIGHTS) == pp(
        2025, 3, 11, 0, 0
    )
    assert first_response_deadline(monday_2am, urgent=False, policy=WEEKNIGHTS) == pp(
        2025, 3, 11, 0, 0
    )


def test_night_line_budget_longer_than_a_shift_spans_several_nights():
    policy = DeadlinePolicy(opens_at=time(20, 0), closes_at=time(6, 0), normal_minutes=25 * 60)
    tuesday_8pm = pp(2025, 3, 4, 20, 0)  # 10 h Tue night, 10 h Wed night, 5 h Thu night

    assert first_response_deadline(tuesday_8pm, urgent=False, policy=policy) == pp(2025, 3, 7, 1, 0)


def test_opening_and_closing_at_the_same_time_means_open_all_day_on_working_days():
    policy = DeadlinePolicy(opens_at=time(0, 0), closes_at=time(0, 0), working_days="01234")
    saturday_noon = pp(2025, 3, 8, 12, 0)
    tuesday_10pm = pp(2025, 3, 4, 22, 0)

    assert first_response_deadline(saturday_noon, urgent=False, policy=policy) == pp(
        2025, 3, 10, 4, 0
    )
    assert first_response_deadline(tuesday_10pm, urgent=False, policy=policy) == pp(
        2025, 3, 5, 2, 0
    )


def test_escalation_levels_follow_the_deadline_one_step_apart():
    deadline = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)

    normal = [escalation_due_at(deadline, n, urgent=False, policy=ALWAYS) for n in (1, 2, 3)]
    urgent = [escalation_due_at(deadline, n, urgent=True, policy=ALWAYS) for n in (1, 2, 3)]

    assert normal == [deadline, deadline + timedelta(hours=1), deadline + timedelta(hours=2)]
    assert urgent == [
        deadline,
        deadline + timedelta(minutes=15),
        deadline + timedelta(minutes=30),
    ]


def test_levels_due_is_empty_before_the_deadline():
    deadline = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)

    due = levels_due(deadline - timedelta(seconds=1), deadline, 0, 4, urgent=True, policy=ALWAYS)

    assert due == []


def test_levels_due_returns_every_missed_level_once_in_order():
    deadline = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    now = deadline + timedelta(minutes=31)  # levels 1 (0'), 2 (15'), 3 (30') are due

    assert levels_due(now, deadline, 0, 4, urgent=True, policy=ALWAYS) == [1, 2, 3]


def test_levels_due_skips_levels_already_recorded():
    deadline = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    now = deadline + timedelta(minutes=31)

    assert levels_due(now, deadline, 2, 4, urgent=True, policy=ALWAYS) == [3]
    assert levels_due(now, deadline, 3, 4, urgent=True, policy=ALWAYS) == []


def test_levels_due_stops_at_the_top_of_the_ladder():
    deadline = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    much_later = deadline + timedelta(days=30)

    assert levels_due(much_later, deadline, 0, 3, urgent=False, policy=ALWAYS) == [1, 2, 3]
    assert levels_due(much_later, deadline, 0, 4, urgent=False, policy=ALWAYS) == [1, 2, 3, 4]
