"""Migration 0003 rebuilds stored person search keys with the current romanisation table."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.db import connection

from lifeline.accounts.principal import Principal
from lifeline.people import services
from lifeline.people.models import PersonRecord, PersonToken

rebuild = importlib.import_module("lifeline.people.migrations.0003_tokens_kh_rom_2")


def _stored(record: PersonRecord) -> set[tuple[str, str]]:
    return set(PersonToken.objects.filter(record=record).values_list("kind", "digest"))


def test_stale_keys_are_replaced_by_the_current_ones(
    officer: Principal, make_record: Callable[..., PersonRecord]
) -> None:
    # ចន្ទា: kh-rom-1 keyed it "cantia"; kh-rom-2 keys it "canda", as Chanda is folded.
    record = make_record(officer, name_khmer="ឧត្តម ចន្ទា", phone="+85512345678")
    other = make_record(officer, name_latin="Oudom Chanda")
    expected = _stored(record)
    assert ("name", services.token_digest("name", "canda")) in expected
    # What a kh-rom-1 deployment stored: the old key, and nothing for the new one.
    PersonToken.objects.filter(record=record).delete()
    PersonToken.objects.create(
        record=record, kind="name", digest=services.token_digest("name", "cantia")
    )

    schema_editor: Any = SimpleNamespace(connection=connection)
    rebuild.rebuild_tokens(apps, schema_editor)

    assert _stored(record) == expected
    assert ("name", services.token_digest("name", "cantia")) not in _stored(record)
    # The Khmer-only record and the Latin one meet again on their name keys.
    shared = {d for k, d in _stored(record) if k == "name"} & {
        d for k, d in _stored(other) if k == "name"
    }
    assert shared
    # Running it again changes nothing.
    rebuild.rebuild_tokens(apps, schema_editor)
    assert _stored(record) == expected
