"""Indexes for the statistics (issue 6): the dashboard scopes cases by owner agency and the
month they were opened, and authority requests by when they were sent.

Raw SQL kept out of the model state on purpose (the models belong to the cases app; these
indexes serve only the reports' read paths), valid on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from django.db import migrations

INDEXES = {
    "case_stats_scope_idx": "cases_case (owner_agency_id, opened_at)",
    "authreq_stats_sent_idx": "cases_authorityrequest (sent_at)",
}


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_authority_request_urgent")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {target}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, target in INDEXES.items()
    ]
