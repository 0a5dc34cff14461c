"""Shaped like a future sensitive record: an encrypted value, its blind index, a plain column."""

from __future__ import annotations

from django.db import models

from lifeline.core.crypto import blind_index
from lifeline.core.fields import EncryptedTextField

NAME_PURPOSE = "testapp.secretnote.name"


def name_index(name: str) -> str:
    return blind_index(name.strip().casefold(), purpose=NAME_PURPOSE)


class SecretNote(models.Model):
    name = EncryptedTextField()
    name_index = models.CharField(max_length=64, db_index=True)
    note = EncryptedTextField(null=True, blank=True)
    # Deliberately NOT encrypted: the positive control that proves the raw-database grep works.
    reference = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"secret note {self.pk}"
