"""Rebuild every person record's blind-index search keys with romanisation table kh-rom-2.

Name keys are computed by `lifeline.people.names`; kh-rom-2 reads some Khmer spellings
differently (e.g. ចន្ទា -> "canda", as Chanda folds, not "cantia"), so keys stored under kh-rom-1 would no longer
meet the keys of new records and searches. Uses the historical models (the schema as of this
migration) and the current key function, so running it again is harmless. Not reversible in
content (kh-rom-1 is gone), but reversing is a no-op: the keys stay valid for the current code.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 500


def rebuild_tokens(apps: Any, schema_editor: Any) -> None:
    from lifeline.people.services import record_tokens

    record_model = apps.get_model("people", "PersonRecord")
    token_model = apps.get_model("people", "PersonToken")
    db = schema_editor.connection.alias
    ids = list(record_model.objects.using(db).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        rows = []
        for record in record_model.objects.using(db).filter(pk__in=batch):
            rows += [
                token_model(record_id=record.pk, kind=kind, digest=digest)
                for kind, digest in sorted(record_tokens(record))
            ]
        token_model.objects.using(db).filter(record_id__in=batch).delete()
        token_model.objects.using(db).bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("people", "0002_clusters")]

    operations = [migrations.RunPython(rebuild_tokens, migrations.RunPython.noop)]
