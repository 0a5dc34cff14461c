from __future__ import annotations

from lifeline.core import clock, periodic

SWEEPER_STALE_SECONDS = 60


def sweeper_check() -> tuple[bool, dict[str, object]]:
    """Red when the sweeper has not completed a round for 60 s: escalations may be stuck."""
    beat = periodic.last_beat("sweeper")
    if beat is None:
        return False, {"error": "sweeper has never run"}
    age = (clock.now() - beat.beat_at).total_seconds()
    return age <= SWEEPER_STALE_SECONDS, {"seconds_since_beat": round(age, 1)}
