"""Encrypted columns as stored: what the database holds, and key rotation."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.core import crypto, rotation
from tests.testapp.models import SecretNote, name_index

pytestmark = pytest.mark.django_db

CANARY_NAME = "Canary-Vannak-7Q3ZK"
CANARY_NOTE = "Canary-Note-Poipet-compound-9XW2"
CONTROL = "Plain-Control-Reference-51JH"
KEY_A = "A:" + base64.b64encode(b"\xaa" * 32).decode()
KEY_B = "B:" + base64.b64encode(b"\xbb" * 32).decode()


def _all_database_text() -> str:
    """Every column of every table, cast to text through raw SQL: what a database dump holds."""
    quote = connection.ops.quote_name
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT CAST(t AS text) FROM {quote(table)} t")  # noqa: S608
            else:
                columns = [
                    c.name for c in connection.introspection.get_table_description(cursor, table)
                ]
                select = " || '|' || ".join(
                    f"COALESCE(CAST({quote(c)} AS TEXT), '')" for c in columns
                )
                cursor.execute(f"SELECT {select} FROM {quote(table)}")  # noqa: S608
            chunks.extend(str(row[0]) for row in cursor.fetchall())
    return "\n".join(chunks)


def _sqlite_image() -> bytes:
    """The raw bytes of the SQLite database as it would be written to disk."""
    return connection.connection.serialize()


def test_encrypted_field_round_trips_through_the_database():
    note = SecretNote.objects.create(
        name=CANARY_NAME, name_index=name_index(CANARY_NAME), note=CANARY_NOTE
    )

    loaded = SecretNote.objects.get(pk=note.pk)

    assert (loaded.name, loaded.note) == (CANARY_NAME, CANARY_NOTE)


def test_encrypted_field_stores_null_as_null():
    note = SecretNote.objects.create(name="x", name_index=name_index("x"), note=None)

    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM testapp_secretnote WHERE id = %s", [note.pk])
        assert cursor.fetchone() == (None,)
    assert SecretNote.objects.get(pk=note.pk).note is None
    assert SecretNote.objects.filter(note__isnull=True).count() == 1


def test_raw_database_holds_no_canary_plaintext():
    SecretNote.objects.create(
        name=CANARY_NAME, name_index=name_index(CANARY_NAME), note=CANARY_NOTE, reference=CONTROL
    )

    text = _all_database_text()

    # Positive control: the grep does see plain columns, so a miss below means "encrypted".
    assert text.count(CONTROL) == 1
    assert text.count(CANARY_NAME) == 0
    assert text.count(CANARY_NOTE) == 0
    assert text.count(CANARY_NAME.casefold()) == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="byte image of a SQLite database")
def test_sqlite_file_bytes_hold_no_canary_plaintext():
    SecretNote.objects.create(
        name=CANARY_NAME, name_index=name_index(CANARY_NAME), note=CANARY_NOTE, reference=CONTROL
    )

    image = _sqlite_image()

    assert image.count(CONTROL.encode()) == 1
    assert image.count(CANARY_NAME.encode()) == 0
    assert image.count(CANARY_NOTE.encode()) == 0


def test_stored_value_is_a_ciphertext_bound_to_its_column():
    note = SecretNote.objects.create(name=CANARY_NAME, name_index=name_index(CANARY_NAME))
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM testapp_secretnote WHERE id = %s", [note.pk])
        (stored,) = cursor.fetchone()

    assert stored.startswith(f"enc1${crypto.keyring().primary_id}$")
    assert crypto.decrypt(stored, label="testapp.SecretNote.name") == CANARY_NAME
    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(stored, label="testapp.SecretNote.note")


def test_ciphertext_copied_into_another_column_fails_to_load():
    note = SecretNote.objects.create(name=CANARY_NAME, name_index="i", note="other")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_secretnote SET note = name WHERE id = %s", [note.pk])

    with pytest.raises(crypto.DecryptionError) as excinfo:
        SecretNote.objects.get(pk=note.pk)

    assert str(excinfo.value) == (
        "testapp.SecretNote.note: ciphertext failed authentication; "
        "it was altered or the key is wrong"
    )


def test_tampered_ciphertext_fails_to_load_instead_of_returning_garbage():
    note = SecretNote.objects.create(name=CANARY_NAME, name_index="i")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM testapp_secretnote WHERE id = %s", [note.pk])
        (stored,) = cursor.fetchone()
        prefix, kid, body = stored.split("$")
        raw = bytearray(base64.urlsafe_b64decode(body))
        raw[15] ^= 0x80
        tampered = f"{prefix}${kid}${base64.urlsafe_b64encode(bytes(raw)).decode()}"
        cursor.execute("UPDATE testapp_secretnote SET name = %s WHERE id = %s", [tampered, note.pk])

    with pytest.raises(
        crypto.DecryptionError, match=r"testapp\.SecretNote\.name: ciphertext failed"
    ):
        SecretNote.objects.get(pk=note.pk)


def test_equality_filter_on_encrypted_field_is_refused():
    with pytest.raises(FieldError, match="Unsupported lookup 'exact'"):
        SecretNote.objects.filter(name=CANARY_NAME).count()
    with pytest.raises(FieldError, match="Unsupported lookup 'icontains'"):
        SecretNote.objects.filter(name__icontains="Canary").count()


def test_blind_index_column_finds_the_row_by_equality():
    wanted = SecretNote.objects.create(name=CANARY_NAME, name_index=name_index(CANARY_NAME))
    SecretNote.objects.create(name="Someone Else", name_index=name_index("Someone Else"))

    found = SecretNote.objects.filter(name_index=name_index(f"  {CANARY_NAME.upper()} "))

    assert [n.pk for n in found] == [wanted.pk]
    assert CANARY_NAME.casefold() not in wanted.name_index


# --- key rotation -----------------------------------------------------------------------------


def _stored_key_ids() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, note FROM testapp_secretnote ORDER BY id")
        return [crypto.key_id_of(v) for row in cursor.fetchall() for v in row if v is not None]


def test_key_rotation_moves_every_value_to_the_new_key(settings):
    settings.LIFELINE_FIELD_KEYS = KEY_A
    names = [f"Synthetic Person {i}" for i in range(7)]
    for i, name in enumerate(names):
        SecretNote.objects.create(
            name=name, name_index=name_index(name), note=f"note {i}" if i % 2 else None
        )
    assert _stored_key_ids() == ["A"] * 10

    settings.LIFELINE_FIELD_KEYS = f"{KEY_B},{KEY_A}"
    call_command("keys", "rotate", stdout=(out := io.StringIO()))

    assert out.getvalue() == "re-encrypted 10 values; 0 already current; 0 unreadable\n"
    settings.LIFELINE_FIELD_KEYS = KEY_B  # key A retired
    assert _stored_key_ids() == ["B"] * 10
    assert [n.name for n in SecretNote.objects.order_by("id")] == names
    assert [n.note for n in SecretNote.objects.order_by("id")] == [
        None,
        "note 1",
        None,
        "note 3",
        None,
        "note 5",
        None,
    ]
    assert rotation.key_usage() == {"B": 10}
    event = AuditEvent.objects.get(action=AuditAction.KEYS_ROTATED)
    assert event.metadata == {"primary": "B", "rewritten": 10, "unreadable": 0}
    assert event.role == "keys"


def test_key_rotation_twice_rewrites_nothing_the_second_time(settings):
    settings.LIFELINE_FIELD_KEYS = KEY_A
    SecretNote.objects.create(name="One", name_index="i")
    settings.LIFELINE_FIELD_KEYS = f"{KEY_B},{KEY_A}"
    call_command("keys", "rotate", stdout=io.StringIO())

    call_command("keys", "rotate", stdout=(out := io.StringIO()))

    assert out.getvalue() == "re-encrypted 0 values; 1 already current; 0 unreadable\n"


def test_key_rotation_reports_values_under_a_missing_key(settings):
    settings.LIFELINE_FIELD_KEYS = KEY_A
    note = SecretNote.objects.create(name="Lost", name_index="i")
    settings.LIFELINE_FIELD_KEYS = KEY_B  # A dropped before rotating: a mistake

    with pytest.raises(CommandError) as excinfo:
        call_command("keys", "rotate", stdout=io.StringIO())

    assert str(excinfo.value) == f"unreadable values: testapp.SecretNote.name pk={note.pk}"
    assert _stored_key_ids() == ["A"]


def test_row_under_retired_key_fails_loudly_on_load(settings):
    settings.LIFELINE_FIELD_KEYS = KEY_A
    note = SecretNote.objects.create(name="Retired", name_index="i")
    settings.LIFELINE_FIELD_KEYS = KEY_B

    with pytest.raises(crypto.DecryptionError, match="encrypted under key 'A'"):
        SecretNote.objects.get(pk=note.pk)


def test_keys_status_counts_values_per_key(settings):
    settings.LIFELINE_FIELD_KEYS = KEY_A
    SecretNote.objects.create(name="One", name_index="i", note="n")
    settings.LIFELINE_FIELD_KEYS = f"{KEY_B},{KEY_A}"
    SecretNote.objects.create(name="Two", name_index="j")

    call_command("keys", "status", stdout=(out := io.StringIO()))

    assert out.getvalue() == "A: 2 values\nB (primary): 1 values\n"
