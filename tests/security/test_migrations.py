"""F5: every Lifeline migration can be rolled back and is safe on a populated PostgreSQL table.

A small check over Django's own migration graph (no extra tool): it replays the project state
operation by operation and refuses
- an operation that cannot be reversed (RunPython without reverse_code, RunSQL without
  reverse_sql, any operation Django marks irreversible);
- a NOT NULL column added to a table created by an earlier migration without a default (fails
  on the first existing row);
- a column changed from NULL to NOT NULL without a default (fails on the first NULL row).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.db.models.fields import NOT_PROVIDED

# "app.migration": why a flagged operation is acceptable. Empty: nothing needed a pass.
REVIEWED: dict[str, str] = {}


def _has_default(field: models.Field[Any, Any]) -> bool:
    return field.default is not NOT_PROVIDED or getattr(field, "db_default", NOT_PROVIDED) not in (
        NOT_PROVIDED,
        None,
    )


def _needs_value(field: models.Field[Any, Any]) -> bool:
    """A column every existing row must get a value for."""
    return not field.null and not _has_default(field) and not field.many_to_many


def migration_problems(
    app_label: str, migration: migrations.Migration, state: ProjectState
) -> list[str]:
    """What is unsafe in `migration`, applied on `state` (which it moves forward)."""
    problems = []
    created_here = {
        op.name_lower for op in migration.operations if isinstance(op, migrations.CreateModel)
    }
    name = f"{app_label}.{migration.name}"
    for op in migration.operations:
        label = f"{name}: {op.describe()}"
        if not op.reversible:
            problems.append(f"{label}: cannot be reversed")
        if (
            isinstance(op, migrations.AddField)
            and op.model_name_lower not in created_here
            and _needs_value(op.field)
        ):
            problems.append(f"{label}: NOT NULL column without default on an existing table")
        if isinstance(op, migrations.AlterField):
            model = state.models.get((app_label, op.model_name_lower))
            before = model.fields.get(op.name) if model is not None else None
            if before is not None and before.null and _needs_value(op.field):
                problems.append(f"{label}: NULL to NOT NULL without a default")
        op.state_forwards(app_label, state)
    return problems


def _lifeline_problems() -> tuple[int, list[str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    state = ProjectState(real_apps=loader.unmigrated_apps)
    checked = 0
    problems: list[str] = []
    plan: list[tuple[str, str]] = []
    for leaf in loader.graph.leaf_nodes():
        plan += [node for node in loader.graph.forwards_plan(leaf) if node not in plan]
    for app_label, name in plan:
        migration = loader.graph.nodes[(app_label, name)]
        found = migration_problems(app_label, migration, state)
        if migration.__module__.startswith("lifeline."):
            checked += 1
            if f"{app_label}.{name}" not in REVIEWED:
                problems += found
    return checked, problems


def test_every_lifeline_migration_is_reversible_and_safe_on_postgres() -> None:
    checked, problems = _lifeline_problems()
    assert problems == []
    # All of lifeline/*/migrations/ were walked, not a few.
    assert checked >= 15


# --- the check can fail ------------------------------------------------------------------------


def _forward(apps: Any, schema_editor: Any) -> None:
    """A data migration step (never run here)."""


class _Unsafe(migrations.Migration):
    operations = [
        migrations.CreateModel(
            "Thing", [("id", models.BigAutoField(primary_key=True)), ("note", models.TextField())]
        ),
        # Same migration as the table: no row exists yet, so NOT NULL without default is fine.
        migrations.AddField("thing", "code", models.CharField(max_length=10)),
    ]


class _AddsRequiredColumn(migrations.Migration):
    operations = [
        migrations.AddField("thing", "channel", models.CharField(max_length=10)),
        migrations.AddField("thing", "kind", models.CharField(max_length=10, default="x")),
        migrations.AddField("thing", "extra", models.TextField(null=True)),
        migrations.AddField("thing", "later", models.TextField(null=True)),
    ]


class _Tightens(migrations.Migration):
    operations = [
        migrations.AlterField("thing", "later", models.TextField()),
        migrations.AlterField("thing", "extra", models.TextField(default="")),
        migrations.RunPython(_forward),
        migrations.RunPython(_forward, migrations.RunPython.noop),
        migrations.RunSQL("UPDATE fixture_thing SET kind = 'y'"),
        migrations.RunSQL("SELECT 1", reverse_sql=migrations.RunSQL.noop),
    ]


def _fixture(cls: type[migrations.Migration], name: str) -> migrations.Migration:
    return cls(name, "fixture")


def test_check_flags_each_unsafe_fixture_operation() -> None:
    state = ProjectState()
    first = migration_problems("fixture", _fixture(_Unsafe, "0001_initial"), state)
    second = migration_problems("fixture", _fixture(_AddsRequiredColumn, "0002_columns"), state)
    third = migration_problems("fixture", _fixture(_Tightens, "0003_tighten"), state)

    assert first == []
    assert second == [
        "fixture.0002_columns: Add field channel to thing: "
        "NOT NULL column without default on an existing table"
    ]
    assert len(third) == 3
    assert third[0].endswith("Alter field later on thing: NULL to NOT NULL without a default")
    assert third[1].endswith("Raw Python operation: cannot be reversed")
    assert third[2].endswith("Raw SQL operation: cannot be reversed")
