"""What every JSON API request body shares, whichever app declares it."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, model_validator


class ApiIn(Schema):
    """A request body: a JSON object whose values have the types the OpenAPI document declares.

    Strict, because the document is a contract: `0` or `"yes"` is not a boolean and `"3"` is not
    a number, and a client relying on either would break on the next server. Dates and times
    are the exception (JSON has none): declare them with `Field(..., strict=False)` so their
    ISO strings parse. A body that is not an object (a list, a number) is refused instead of
    silently read as all defaults.
    """

    model_config = ConfigDict(strict=True)

    @model_validator(mode="before")
    @classmethod
    def _object_only(cls, data: Any) -> Any:
        # django-ninja wraps the parsed body in a DjangoGetter before this runs.
        if not isinstance(getattr(data, "_obj", data), dict):
            raise ValueError("expected a JSON object")
        return data
