"""B7: CR, LF, ANSI escapes and Unicode line separators sent by a caller cannot forge a log line.

Request data reaches the logs through Django (`Not Found: <path>`, `Method Not Allowed`), axes
(`New login failure by {...}`, username masked) and our own messages. The configured formatter
(lifeline.core.logformat.SafeFormatter) writes every control character as a visible escape, so
each event stays one line that starts with its own time.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from lifeline.accounts.models import Agency, AgencyKind
from lifeline.core.logformat import SafeFormatter, escape_control
from lifeline.intake.tests.conftest import VALID_FORM

FORGED = "2020-01-01 00:00:00,000 INFO lifeline FORGED login ok for admin"
# CRLF + a forged record, a bare CR (overwrites the line on a terminal), ANSI (clears the
# screen, colours), NEL and U+2028 (line breaks for some log viewers), a NUL.
HOSTILE = f"x\r\n{FORGED}\rY\x1b[2J\x1b[31mRED\x1b[0m\x85Z\u2028{FORGED}\x00end"
# Short enough for the login form's 150-character username field, so it reaches authenticate().
HOSTILE_USERNAME = "x\r\n2020-01-01 00:00:00,000 INFO FORGED\x1b[2J"
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+ ")


LogOutput = tuple[io.StringIO, list[logging.LogRecord]]


def _configured_formatter() -> logging.Formatter:
    """The formatter of the root console handler, as LOGGING configures it."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, SafeFormatter):
            return handler.formatter
    pytest.fail("no root handler uses SafeFormatter: check LOGGING in config/settings/base.py")


@pytest.fixture
def log_output() -> Iterator[LogOutput]:
    stream = io.StringIO()
    records: list[logging.LogRecord] = []
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_configured_formatter())

    def keep(record: logging.LogRecord) -> bool:
        records.append(record)
        return True

    handler.addFilter(keep)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream, records
    finally:
        root.removeHandler(handler)


def _assert_one_line_per_record(text: str, records: list[logging.LogRecord]) -> None:
    lines = text.splitlines()
    starts = [line for line in lines if RECORD_START.match(line)]
    # Every physical line is a record's first line or an indented traceback line.
    assert all(RECORD_START.match(line) or line.startswith("    | ") for line in lines), lines
    assert len(starts) == len(records)
    assert not any(line.startswith("2020-01-01") for line in lines)
    for bad in ("\r", "\x1b", "\x85", "\u2028", "\x00"):
        assert bad not in text


def test_settings_route_the_console_through_the_safe_formatter() -> None:
    logging_config: dict[str, Any] = settings.LOGGING
    plain = logging_config["formatters"]["plain"]
    assert plain["()"] == "lifeline.core.logformat.SafeFormatter"
    assert isinstance(_configured_formatter(), SafeFormatter)


def test_escape_control_makes_every_control_character_visible() -> None:
    assert escape_control("a\r\nb\tc\x1b[31md\x7f\x85e\u2028f\u2029\x00") == (
        "a\\r\\nb\\tc\\x1b[31md\\x7f\\x85e\\u2028f\\u2029\\x00"
    )
    assert escape_control("ឈ្មោះ Sok Dara") == "ឈ្មោះ Sok Dara"  # Khmer and spaces untouched


def test_hostile_message_argument_stays_one_record(log_output: LogOutput) -> None:
    stream, records = log_output
    logging.getLogger("lifeline.test").warning("login failed for %s", HOSTILE)
    text = stream.getvalue()
    _assert_one_line_per_record(text, records)
    assert len(records) == 1
    assert "x\\r\\n2020-01-01 00:00:00,000 INFO lifeline FORGED" in text
    assert "\\x1b[2J\\x1b[31mRED" in text


def test_traceback_with_hostile_message_cannot_start_a_line(
    log_output: LogOutput,
) -> None:
    stream, records = log_output
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        logging.getLogger("lifeline.test").exception("job failed")
    text = stream.getvalue()
    _assert_one_line_per_record(text, records)
    assert "    | Traceback (most recent call last):" in text


def test_traceback_cached_by_another_formatter_is_escaped_too(log_output: LogOutput) -> None:
    stream, records = log_output
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        record = logging.getLogger("lifeline.test").makeRecord(
            "lifeline.test", logging.ERROR, __file__, 1, "job failed", (), sys.exc_info()
        )
    logging.Formatter().format(record)  # caches the raw traceback on record.exc_text
    record.exc_info = None
    records.append(record)
    stream.write(_configured_formatter().format(record) + "\n")
    _assert_one_line_per_record(stream.getvalue(), records)


@pytest.mark.django_db
def test_hostile_path_method_and_username_reach_the_log_escaped(log_output: LogOutput) -> None:
    stream, records = log_output
    client = Client(raise_request_exception=False)
    # Django logs `Not Found: <path>` with the path percent-decoded: CR LF arrive raw.
    assert client.get("/nope%0d%0a2020-01-01%2000:00:00,000%20INFO%20x%1b[2J/").status_code == 404
    assert client.put("/help/%0d%0a" + "2020-01-01").status_code in (404, 405)
    # axes logs each new login failure with the username as typed.
    response = client.post(
        "/login/", {"username": HOSTILE_USERNAME, "password": "wrong-password-123"}
    )
    assert response.status_code in (200, 403)
    text = stream.getvalue()
    assert "Not Found: /nope\\r\\n2020-01-01" in text
    # axes logged the failure, with the username masked (AXES_SENSITIVE_PARAMETERS).
    assert "AXES: New login failure" in text
    assert "FORGED" not in text
    _assert_one_line_per_record(text, records)


@pytest.mark.django_db
def test_help_request_narrative_never_reaches_the_log(
    log_output: LogOutput, agency_a: Agency
) -> None:
    agency_a.kind = AgencyKind.HOTLINE
    agency_a.save(update_fields=["kind"])
    stream, records = log_output
    form = {
        **VALID_FORM,
        "submission_id": uuid.uuid4().hex,
        # The form refuses control characters but keeps line breaks in a story.
        "narrative": f"My sister cannot leave. (synthetic)\r\n{FORGED}\n\u2028{FORGED}",
    }
    response = Client().post("/help/?lang=en", form)
    assert response.status_code in (200, 201)
    text = stream.getvalue()
    assert "FORGED" not in text and "synthetic" not in text  # IDs in logs, never content
    _assert_one_line_per_record(text, records)
