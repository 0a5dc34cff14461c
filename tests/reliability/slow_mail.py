"""An email backend for the outbox kill test (G4): it logs one line per message sent (the "wire"
the test can count) and, at the message counts named in LIFELINE_DRILL_MAIL_HANG_AT, hangs right
after sending, i.e. inside the delivery transaction, so that a kill -9 lands between "sent" and
COMMIT every time rather than by luck."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class DrillEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        log = os.environ["LIFELINE_DRILL_MAIL_LOG"]
        hang_at = {
            int(n) for n in os.environ.get("LIFELINE_DRILL_MAIL_HANG_AT", "").split(",") if n
        }
        for message in email_messages:
            line = (",".join(sorted(message.to)) + "\n").encode()
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one write(2) per line: whole lines survive a kill -9
            finally:
                os.close(fd)
            with open(log, "rb") as handle:
                sent = handle.read().count(b"\n")
            if sent in hang_at:
                time.sleep(600)  # the test kills the worker here
        return len(email_messages)
