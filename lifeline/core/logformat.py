"""Log formatting that keeps one event on one line whatever the request sent.

Usernames, paths, headers and exception messages can carry CR, LF, ANSI escape sequences or
Unicode line separators. Written as they are, they would let a caller forge a whole log line
("...\\n2026-01-01 00:00:00 INFO login ok") or drive the terminal of whoever reads the log.
"""

from __future__ import annotations

import logging
import re

# C0 controls (tab included: it can shift columns a reader relies on), DEL, C1 controls (NEL
# among them), and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A traceback keeps its own lines for readability, each indented, so that no continuation line
# can be taken for the start of a record (every record starts at column 0 with its time).
_CONTINUATION = "\n    | "


def escape_control(text: str) -> str:
    """`text` with every control character written as a visible escape (\\n, \\x1b, \\u2028)."""

    def visible(match: re.Match[str]) -> str:
        char = match.group()
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    return _CONTROL.sub(visible, text)


class SafeFormatter(logging.Formatter):
    """The record's line with control characters escaped; tracebacks indented under it."""

    def format(self, record: logging.LogRecord) -> str:
        # Not logging's own format(): it would reuse a traceback another handler's formatter
        # cached on the record (record.exc_text) unescaped.
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + self._indented(record.exc_text)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_control(super().formatMessage(record))

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return self._indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return self._indented(super().formatStack(stack_info))

    @staticmethod
    def _indented(text: str) -> str:
        return "    | " + _CONTINUATION.join(escape_control(line) for line in text.split("\n"))
