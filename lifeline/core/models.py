"""Infrastructure tables: no domain data lives here."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last time a named background loop (worker, sweeper) completed a round."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()
    detail = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
