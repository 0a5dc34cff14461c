"""Index for the statistics (issue 6): help requests scoped by assigned agency and the day they
were received (the funnel's first step and the response times).

Raw SQL kept out of the model state on purpose (the index serves only the reports' read paths),
valid on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS request_stats_scope_idx "
            "ON intake_helprequest (assigned_agency_id, received_at)",
            reverse_sql="DROP INDEX IF EXISTS request_stats_scope_idx",
        )
    ]
