"""Audit fails closed (issue 7, battery B2): if the audit row of a read cannot be written, the
read returns none of the record.

Every read route of a case, a person, a screening, a referral, a review pair or a person page
(the GET routes of the access matrix, HTML and staff API, taken from the URL walk) is requested
by a persona of the owner agency that may see it. First with the audit table working: the
answer is 200, and where the page shows a record its canary is there (so the scan below can
find one). Then with the database refusing every insert into the audit table (a trigger, the
closest thing to a revoked INSERT grant that a test database allows): the answer must be a
server error, carry no canary of any case, and leave no row behind in the domain tables.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from lifeline.audit.models import AuditEvent
from lifeline.audit.triggers import TABLE

from .conftest import CHECKED, World
from .test_access_matrix import (
    A_ROLES,
    ALLOW,
    MatrixRoute,
    Persona,
    _values,
    expected,
    make_persona,
    matrix_routes,
)

REFUSED = "audit insert refused (fault injected by the B2 test)"

SQLITE_FAULT = f"""CREATE TRIGGER b2_audit_refused BEFORE INSERT ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END;"""
POSTGRES_FAULT = [
    f"""CREATE OR REPLACE FUNCTION b2_audit_refused() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '{REFUSED}'; END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER b2_audit_refused BEFORE INSERT ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION b2_audit_refused();""",
]


def _install_fault() -> None:
    statements = [SQLITE_FAULT] if connection.vendor == "sqlite" else POSTGRES_FAULT
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def read_routes() -> list[MatrixRoute]:
    """Every GET of the access matrix: each one shows a record or a list of records."""
    return [r for r in matrix_routes() if r.method == "GET"]


class _Rollback(Exception):
    pass


# Rows a request may write whatever it shows: the session, the lock-out counters.
_BOOKKEEPING = ("django_session", "axes_", "otp_", TABLE)


def _write_target(sql: str) -> str | None:
    match = re.match(
        r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+\"?(\w+)", sql, re.I
    )
    return match.group(1) if match else None


def _get(persona: Persona, route: MatrixRoute, values: dict[str, str], *, fault: bool) -> Any:
    """One GET in a transaction rolled back afterwards (with the fault, if any). Returns the
    response, the domain writes that would have stayed (made outside any transaction of the
    view's own, so autocommitted in production), and how many audit rows the request left."""
    headers: dict[str, Any] = {}
    if route.kind == "api" and persona.token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {persona.token}"
    outcome: dict[str, Any] = {"kept": []}

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        table = _write_target(sql)
        # At the request's own depth a write is autocommitted in production (no
        # ATOMIC_REQUESTS): it stays even if the request then fails. Deeper, it belongs to a
        # transaction of the view that the failure rolls back.
        if table and not table.startswith(_BOOKKEEPING) and len(connection.atomic_blocks) <= depth:
            outcome["kept"].append(table)
        return execute(sql, params, many, context)

    try:
        with transaction.atomic():
            if fault:
                _install_fault()
            events_before = AuditEvent.objects.count()
            # The request runs in a savepoint of its own: on PostgreSQL a failed statement that a
            # view does not roll back itself would otherwise poison the test's transaction.
            with transaction.atomic():
                depth = len(connection.atomic_blocks)
                with connection.execute_wrapper(watch):
                    response = persona.client.get(route.path(values), **headers)
            outcome["response"] = response
            outcome["audited"] = AuditEvent.objects.count() - events_before
            raise _Rollback
    except _Rollback:
        pass
    persona.client.cookies.pop("messages", None)
    return outcome["response"], outcome["kept"], outcome["audited"]


def _shape(world: World, name: str) -> Persona:
    """A persona's role and agency, enough for `expected` before anyone logs in."""
    role = name.split(":")[1]
    return Persona(name, None, world.agency_a, frozenset({role}), "-", "verified")  # type: ignore[arg-type]


def _plan(world: World) -> list[tuple[MatrixRoute, str]]:
    """For each read route, the first role of agency A allowed to read A's own record there."""
    own = world.objects["own"]
    plan = []
    for route in read_routes():
        for role in A_ROLES:
            persona = _shape(world, f"a:{role}")
            if expected(route, persona, own if route.has_object else None, world) == ALLOW:
                plan.append((route, f"a:{role}"))
                break
    return plan


class _LazyPersonas(dict[str, Persona]):
    """Personas are made (and logged in) only when a route needs them: each costs a hash."""

    def __init__(self, world: World, make: Any) -> None:
        super().__init__()
        self.world, self.make = world, make

    def __missing__(self, name: str) -> Persona:
        self[name] = self.make(name)
        return self[name]


def _faulted(
    persona: Persona, route: MatrixRoute, values: dict[str, str], canaries: list[str], where: str
) -> list[str]:
    """The read again, with every audit insert refused: a 5xx, no canary, nothing kept."""
    response, kept, audited = _get(persona, route, values, fault=True)
    status = response.status_code
    problems = []
    if status not in (500, 503):
        problems.append(f"{where}: audit insert refused, answered {status}, not 500/503")
    leaked = [c for c in canaries if c.encode() in response.content]
    if leaked:
        problems.append(f"{where}: audit insert refused, answer carries {leaked[:3]}")
    if kept:
        problems.append(f"{where}: audit insert refused, but rows stayed written in {kept}")
    if audited:
        problems.append(f"{where}: audit insert refused, yet {audited} audit rows appeared")
    return problems


@pytest.mark.django_db
def test_reads_fail_closed_when_the_audit_insert_fails(
    world: World, make_staff: Any, login_fully: Any
) -> None:
    def make(name: str) -> Persona:
        persona = make_persona(name, world, make_staff, login_fully, None)
        persona.client.raise_request_exception = False  # answer as production would: a 500
        return persona

    personas = _LazyPersonas(world, make)
    plan = _plan(world)
    own = world.objects["own"]
    canaries = world.all_canaries()
    problems: list[str] = []
    shown: list[str] = []
    failing: list[str] = []  # reads held to B2
    post_only: list[str] = []
    unrecorded: list[str] = []
    for route, name in plan:
        persona = personas[name]
        values = _values(own if route.has_object else None, world)
        where = f"GET {route.path(values)} as {name}"

        control, _kept, audited = _get(persona, route, values, fault=False)
        if control.status_code == 405:
            post_only.append(route.key)  # a form's target: GET shows nothing
            continue
        if control.status_code != 200:
            problems.append(f"{where}: control answered {control.status_code}, not 200")
            continue
        shows = any(c.encode() in control.content for c in own.all_canaries)
        if audited < 1:
            # A page that audits no read must show no record (a blank form, aggregates).
            if shows:
                problems.append(f"{where}: shows a record without an audit row")
            unrecorded.append(route.key)
            continue
        if shows:
            shown.append(route.key)
        failing.append(route.key)

        problems += _faulted(persona, route, values, canaries, where)
    CHECKED["B2 fail-closed reads"] += len(failing)
    print(
        f"B2: {len(plan)} GET routes: {len(failing)} audited reads fail closed "
        f"({len(shown)} of them show a canary when audited); {len(post_only)} answer GET with "
        f"405; {len(unrecorded)} show no record and audit none: {unrecorded}"
    )
    assert not problems, "\n".join(problems)
    # The inventory must hold the reads this battery exists for; a walk finding none proves
    # nothing, and the canary scan must have had something to find on the main pages.
    for needed in (
        "cases/<str:reference>/",
        "screening/<int:interview_id>/",
        "referrals/<int:referral_id>/",
        "people/review/<int:pair_id>/",
        "people/clusters/<int:cluster_id>/",
        "GET api/v1/cases/<reference>",
        "GET api/v1/referrals/<referral_id>",
    ):
        assert needed in shown, f"{needed} not among the audited reads showing a canary"


@pytest.mark.django_db
def test_a_read_that_swallows_the_audit_failure_is_caught(
    world: World, make_staff: Any, login_fully: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: if audit writes ignored a refused insert (the page renders anyway), the check
    above reports the answer and the canaries it carries."""
    original = AuditEvent.save

    def swallowing(self: AuditEvent, *args: Any, **kwargs: Any) -> None:
        try:
            with transaction.atomic():
                original(self, *args, **kwargs)
        except DatabaseError:
            pass  # the defect this control simulates

    monkeypatch.setattr(AuditEvent, "save", swallowing)
    persona = make_persona("a:supervisor", world, make_staff, login_fully, None)
    persona.client.raise_request_exception = False
    own = world.objects["own"]
    route = next(r for r in read_routes() if r.key == "cases/<str:reference>/")

    problems = _faulted(persona, route, _values(own, world), world.all_canaries(), "case page")

    assert any("answered 200" in p for p in problems), problems
    assert any(own.canaries[0] in p for p in problems), problems
