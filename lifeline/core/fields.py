"""Model fields that keep sensitive values encrypted at rest."""

from __future__ import annotations

from typing import Any

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Text stored as AES-GCM ciphertext. Never filter on it: use a blind index column.

    Decryption failures raise `crypto.DecryptionError` on load; we never return garbage.
    """

    encrypted = True

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        self._label = f"{cls._meta.app_label}.{cls.__name__}.{name}"

    @property
    def label(self) -> str:
        return self._label

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value, label=self.label)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value), label=self.label)

    def get_lookup(self, lookup_name: str) -> Any:
        # Equality on ciphertext can never match (random nonces); refuse loudly rather than
        # silently return nothing. isnull is harmless.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
