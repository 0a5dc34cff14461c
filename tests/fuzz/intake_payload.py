"""atheris target (battery E3): the intake payload parser.

Any bytes, as JSON through the API's body schema and as the public form's fields, into
`request_input_clean`. The only exceptions allowed are the ones the API and the form turn into a
422 or a form error: pydantic's ValidationError and ValidationFailed. Anything else is a crash.

    python -m tests.fuzz.intake_payload -max_total_time=120
"""

from __future__ import annotations

import json
import os
import sys

import atheris

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

with atheris.instrument_imports(include=["lifeline", "phonenumbers"]):
    import django

    django.setup()
    from pydantic import ValidationError

    from lifeline.core.errors import ValidationFailed
    from lifeline.intake import services, validation
    from lifeline.intake.api import RequestIn
    from lifeline.intake.models import Channel

FIELDS = (
    "reporter_type", "reporter_name", "reporter_phone", "person_name", "person_phone",
    "country", "place_abroad", "narrative", "safe_contact", "do_not_call_back", "is_child",
    "language",
)  # fmt: skip
CHANNELS = list(Channel.values)


def _clean(raw: dict[str, object], channel: str) -> None:
    try:
        data = services.request_input_clean(raw, channel=channel)
    except ValidationFailed:
        return
    data.fingerprint()  # what the idempotency check hashes must serialise
    assert len(data.narrative) <= validation.NARRATIVE_MAX


def test_one_input(blob: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(blob)
    channel = CHANNELS[fdp.ConsumeIntInRange(0, len(CHANNELS) - 1)]
    if fdp.ConsumeBool():
        # The API: a JSON body through the schema, then the same cleaning.
        try:
            body = json.loads(fdp.ConsumeBytes(fdp.remaining_bytes()))
            payload = RequestIn.model_validate(body)
        except (ValueError, ValidationError):  # not JSON / not the schema: 400 or 422
            return
        raw = payload.dict()
        raw.pop("channel")
        _clean(raw, channel)
    else:
        # The public form: any text in any field.
        raw = {name: fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 300)) for name in FIELDS}
        _clean(raw, channel)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
