"""G6: the backup/restore drill. Build a database with cases, persons, help requests and a linked
audit chain; `lifeline backup`; `lifeline restore` into a scratch database; then every table has
the same row count and checksum in the copy, the audit chain verifies there, encrypted fields
decrypt, the copy takes new writes, and the backup file holds no canary in plaintext.

SQLite always; PostgreSQL (pg_dump -Fc / pg_restore into a scratch database) with DATABASE_URL.
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .harness import (
    PYTHON,
    REPO,
    django_env,
    django_run,
    postgres_url,
    scratch_database,
)

PERSONS = 20
REQUESTS = 30
VIEWS = 10

BUILD = """
import json, sys, uuid
from lifeline.accounts.tests.factories import AgencyFactory
from lifeline.audit.models import AuditAction
from lifeline.audit.services import SystemActor, audit_link, audit_record
from lifeline.cases.tests.factories import CaseFactory, PersonRecordFactory
from lifeline.intake.services import help_request_create, request_input_clean
canary, persons, requests, views = sys.argv[1], *map(int, sys.argv[2:5])
actor = SystemActor("backup-drill")
agency = AgencyFactory(name="Backup drill agency (synthetic)")
references = []
for i in range(persons):
    person = PersonRecordFactory(
        agency=agency, name_latin=f"{canary} person {i}", phone=f"+85512{i:06d}"
    )
    case = CaseFactory(owner_agency=agency, victim=person, summary=f"{canary} case story {i}")
    references.append(case.reference)
for i in range(requests):
    letters = "".join(chr(97 + int(d)) for d in str(i))  # names take letters only
    data = request_input_clean(
        {"reporter_type": "family", "reporter_name": f"{canary} reporter {letters}",
         "reporter_phone": "+85512345678", "country": "TH", "is_child": i % 3 == 0,
         "narrative": f"Synthetic drill request {i}; not a real person.", "language": "en"},
        channel="api",
    )
    help_request_create(actor=actor, data=data, assigned_agency=agency,
                        idempotency_key=str(uuid.uuid4()), source="drill")
for i in range(views):
    audit_record(actor=actor, action=AuditAction.RECORD_VIEWED, target_type="case", target_id=i)
print(json.dumps({"linked": audit_link(), "references": references}))
"""

# Row count and SHA-256 of every table's rows (sorted, so physical order does not matter).
SNAPSHOT = """
import hashlib, json
from django.db import connection
out = {}
with connection.cursor() as cursor:
    for table in sorted(connection.introspection.table_names(cursor)):
        cursor.execute("SELECT * FROM " + connection.ops.quote_name(table))
        rows = sorted(
            repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
            for row in cursor.fetchall()
        )
        out[table] = [len(rows), hashlib.sha256("\\n".join(rows).encode()).hexdigest()]
print(json.dumps(out))
"""

VERIFY = """
import json, sys, uuid
from django.db import connection
from lifeline.accounts.models import Agency
from lifeline.audit.services import SystemActor, audit_verify
from lifeline.cases.models import Case
from lifeline.intake.models import HelpRequest
from lifeline.intake.services import help_request_create, request_input_clean
from lifeline.people.models import PersonRecord
canary = sys.argv[1]
chain = audit_verify()
with connection.cursor() as cursor:
    cursor.execute("SELECT name_latin, phone FROM people_personrecord")
    raw = [v for row in cursor.fetchall() for v in row]
result = {
    "chain_ok": chain.ok, "chain_checked": chain.checked,
    "names": sorted(p.name_latin for p in PersonRecord.objects.all() if canary in p.name_latin),
    "phones": sorted(p.phone for p in PersonRecord.objects.all() if p.phone),
    "summaries": sum(canary in c.summary for c in Case.objects.all()),
    "reporters": sum(canary in r.reporter_name for r in HelpRequest.objects.all()),
    "raw_canaries": sum(canary in str(v) or "+85512" in str(v) for v in raw),
}
# The copy takes new writes: sequences came back with the rows (no primary-key collision).
agency = Agency.objects.get(name="Backup drill agency (synthetic)")
data = request_input_clean(
    {"reporter_type": "family", "reporter_name": "After restore", "reporter_phone": "+85512345678",
     "country": "TH", "narrative": "Synthetic request after the restore.", "language": "en"},
    channel="api",
)
created = help_request_create(actor=SystemActor("backup-drill"), data=data, assigned_agency=agency,
                              idempotency_key=str(uuid.uuid4()), source="drill")
result["new_write"] = created.created
print(json.dumps(result))
"""

KEY_TABLES = {
    "people_personrecord": PERSONS,
    "cases_case": PERSONS,
    "intake_helprequest": REQUESTS,
}


def _lifeline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "lifeline.cli", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def _last_json(out: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@contextmanager
def _databases(vendor: str, workdir: Path) -> Iterator[tuple[dict[str, str], dict[str, str], str]]:
    """Environments of the source and the (empty) target database, and the target's URL.
    Both share one var dir, hence one set of field keys (the escrowed keys of a real restore)."""
    if vendor == "sqlite":
        source = django_env("", workdir)
        source["LIFELINE_SQLITE_PATH"] = str(workdir / "source.sqlite3")
        target_path = workdir / "restored.sqlite3"
        target = django_env("", workdir)
        target["LIFELINE_SQLITE_PATH"] = str(target_path)
        yield source, target, f"sqlite:///{target_path}"
        return
    server = postgres_url()
    if server is None:
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgresql://…")
    with (
        scratch_database(server, "lifeline_backup_src") as source_url,
        scratch_database(server, "lifeline_backup_dst") as target_url,
    ):
        yield django_env(source_url, workdir), django_env(target_url, workdir), target_url


def _readable_text(vendor: str, backup: Path) -> bytes:
    """What someone holding the backup file can read: the file itself and, for the compressed
    PostgreSQL custom format, its SQL as pg_restore prints it."""
    data = backup.read_bytes()
    if vendor == "postgresql":
        script = subprocess.run(
            ["pg_restore", "--file", "-", str(backup)], capture_output=True, check=True,
            timeout=120,
        )  # fmt: skip
        data += script.stdout
    return data


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_backup_restores_into_a_scratch_database_whole_verified_and_decryptable(
    vendor: str, workdir: Path
) -> None:
    # Letters only: reporter names accept nothing else.
    canary = "Canary" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))
    backup = workdir / f"lifeline.{vendor}.backup"
    with _databases(vendor, workdir) as (source, target, target_url):
        migrated = _lifeline(source, "migrate", "--noinput", "-v", "0")
        assert migrated.returncode == 0, migrated.stderr
        built = _last_json(
            django_run(source, BUILD, canary, str(PERSONS), str(REQUESTS), str(VIEWS))
        )
        assert built["linked"] >= REQUESTS + VIEWS

        done = _lifeline(source, "backup", "--output", str(backup))
        assert done.returncode == 0, done.stderr
        assert backup.stat().st_mode & 0o077 == 0  # readable by its owner only
        readable = _readable_text(vendor, backup)
        # The grep can find what is there (plain columns)...
        assert all(ref.encode() in readable for ref in built["references"])
        assert b"Backup drill agency (synthetic)" in readable
        # ...and finds no canary: names, phones, stories and reporters are ciphertext.
        assert canary.encode() not in readable
        assert b"+85512000003" not in readable

        restored = _lifeline(
            source, "restore", "--input", str(backup), "--database-url", target_url
        )
        assert restored.returncode == 0, restored.stderr

        before = _last_json(django_run(source, SNAPSHOT))
        after = _last_json(django_run(target, SNAPSHOT))
        assert sorted(after) == sorted(before)
        differing = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        assert differing == {}
        for table, count in KEY_TABLES.items():
            assert before[table][0] == count, table
        assert before["audit_auditevent"][0] >= REQUESTS + VIEWS

        check = _last_json(django_run(target, VERIFY, canary))
        assert check["chain_ok"] is True
        assert check["chain_checked"] == before["audit_auditevent"][0]
        assert check["names"] == sorted(f"{canary} person {i}" for i in range(PERSONS))
        assert check["phones"] == [f"+85512{i:06d}" for i in range(PERSONS)]
        assert check["summaries"] == PERSONS
        assert check["reporters"] == REQUESTS
        assert check["raw_canaries"] == 0
        assert check["new_write"] is True

        audit_cli = _lifeline(target, "audit", "verify")
        assert audit_cli.returncode == 0, audit_cli.stderr
        assert audit_cli.stdout.startswith("audit chain OK: ")

        # A restore never lands on a database that has tables: the copy now has them.
        again = _lifeline(source, "restore", "--input", str(backup), "--database-url", target_url)
        assert again.returncode != 0
        # In the site's default language (Khmer unless configured): either wording.
        assert any(
            t in again.stderr
            for t in ("restore only into an empty database", "ស្ដារតែទៅក្នុងមូលដ្ឋានទិន្នន័យទទេ")
        ), again.stderr
        print(
            f"\nbackup drill ({vendor}): {len(before)} tables, "
            f"{sum(c for c, _h in before.values())} rows, backup {backup.stat().st_size} bytes; "
            f"counts and checksums equal; chain of {check['chain_checked']} events verifies; "
            f"{PERSONS} names and phones decrypt; 0 canaries in the backup"
        )
