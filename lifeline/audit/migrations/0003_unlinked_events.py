"""Events are inserted unlinked and linked after commit (ADR 0006): the chain columns become
nullable, a partial index lists the unlinked rows, and the triggers allow the one linking update.

SQLite rebuilds the table to change a column, which drops its triggers; they are removed first
and installed again at the end on both databases.
"""

from django.db import migrations, models


def remove(apps, schema_editor):
    from lifeline.audit import triggers

    triggers.remove(schema_editor.connection)


def install(apps, schema_editor):
    from lifeline.audit import triggers

    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.RunPython(remove, install),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("seq__isnull", True)),
                fields=["id"],
                name="audit_unlinked_idx",
            ),
        ),
        migrations.RunPython(install, remove),
    ]
