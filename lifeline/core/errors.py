"""Errors the services raise; views and the API map them to responses."""

from __future__ import annotations


class NotFound(Exception):
    """The record does not exist, or the actor may not know it exists. Both answer 404."""


class ValidationFailed(Exception):
    """Input was refused. `errors` maps field name to a list of messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class Conflict(Exception):
    """The record changed since the caller read it, or the operation clashes with its state."""
