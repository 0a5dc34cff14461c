"""The one clock, periodic jobs with heartbeats, and /health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from lifeline.core import clock, periodic
from lifeline.core.models import Heartbeat

T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)


def test_clock_freeze_and_advance_move_time_without_sleeping():
    with clock.freeze(T0):
        assert clock.now() == T0
        clock.advance(timedelta(minutes=31))
        assert clock.now() == T0 + timedelta(minutes=31)


def test_clock_advance_shifts_real_time_and_reset_restores_it():
    before = clock.now()
    clock.advance(timedelta(hours=12))

    assert clock.now() - before >= timedelta(hours=12)
    clock.reset()
    assert clock.now() - before < timedelta(hours=1)


@pytest.mark.django_db
def test_run_job_records_its_heartbeat_and_detail():
    job = periodic.Job("sweeper-test", 60, lambda: {"escalated": 3})

    with clock.freeze(T0):
        periodic.run_job(job)

    beat = Heartbeat.objects.get(name="sweeper-test")
    assert (beat.beat_at, beat.detail) == (T0, {"escalated": 3})


@pytest.mark.django_db
def test_run_job_failure_is_logged_and_leaves_no_heartbeat(caplog):
    def broken() -> None:
        raise RuntimeError("boom")

    periodic.run_job(periodic.Job("broken-test", 60, broken))

    assert not Heartbeat.objects.filter(name="broken-test").exists()
    assert "periodic job broken-test failed" in caplog.text


def _beat_every_loop(*, except_: str = "") -> None:
    for name in ["worker", *periodic.JOBS]:
        if name != except_:
            periodic.beat(name)


@pytest.mark.django_db
def test_health_is_green_with_recent_heartbeats(client):
    with clock.freeze(T0):
        _beat_every_loop()
        clock.advance(timedelta(seconds=59))

        response = client.get("/health")

    body = response.json()
    assert (response.status_code, body["status"]) == (200, "green")
    assert body["checks"]["database"] == {"ok": True, "vendor": connection.vendor}
    assert body["checks"]["worker"] == {"ok": True, "seconds_since_beat": 59.0}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_health_is_red_when_the_worker_heartbeat_is_older_than_60_seconds(client):
    with clock.freeze(T0):
        _beat_every_loop()
        clock.advance(timedelta(seconds=61))
        _beat_every_loop(except_="worker")

        response = client.get("/health")

    body = response.json()
    assert (response.status_code, body["status"]) == (503, "red")
    assert body["checks"]["worker"] == {"ok": False, "seconds_since_beat": 61.0}
    assert [name for name, check in body["checks"].items() if not check["ok"]] == ["worker"]


@pytest.mark.django_db
def test_health_is_red_when_the_worker_never_ran(client):
    _beat_every_loop(except_="worker")

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {"ok": False, "error": "worker has never run"}


@pytest.mark.django_db
def test_health_needs_no_login_and_sets_no_session(client):
    _beat_every_loop()

    response = client.get("/health")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
