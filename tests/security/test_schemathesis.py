"""Fuzzing the JSON API with schemathesis (issue 7, battery E1, A9 and A4).

schemathesis runs in-process over the project's own OpenAPI document (the WSGI app, no server),
every phase (examples, coverage, fuzzing, stateful) and every check, `ignored_auth` and
`object_level_authorization` included. It acts as two staff members of two agencies that must
not see each other's objects (the security world: agency A owns one case, agency B owns the
others) and as a partner API client for intake. The ids of both agencies' records are offered
to the generator as examples of every path parameter, so object-level authorisation is
exercised with real objects, not only with ids that do not exist.

Pass criterion: at least 5,000 generated requests, no failure of any check (no 5xx, every
response as declared in the schema, no unauthenticated success, no cross-agency read).

The mass-assignment test (A4) sends fields a client must never set (agency, owner, id, status,
version, timestamps...) to every create and update body and proves none is ever applied.

Synthetic data only.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from config.api import api
from lifeline.accounts.models import Agency, Role, User
from lifeline.accounts.services import api_client_create, staff_token_create
from lifeline.audit.services import SYSTEM

from .conftest import CHECKED, World

# Fuzzing examples per operation, and the floor of generated cases the run must reach. With
# 50 per run (two runs, each agency first once) the test makes over 5,000 cases (all phases:
# examples, coverage, fuzzing, stateful); LIFELINE_FUZZ_EXAMPLES raises it for a longer run.
# LIFELINE_BATTERY=quick (the SQLite pass of .ci/run) fuzzes a tenth as much; the PostgreSQL pass
# runs the full count, which must reach 5,000 cases.
QUICK = os.environ.get("LIFELINE_BATTERY") == "quick"
MAX_EXAMPLES = int(os.environ.get("LIFELINE_FUZZ_EXAMPLES", "5" if QUICK else "50"))
MIN_CASES = 500 if QUICK else 5_000
SEED = 20261121
ALL_ROLES = [r.value for r in Role]


def _staff_with_every_role(make_staff: Callable[..., User], username: str, agency: Agency) -> User:
    from lifeline.accounts.tests.factories import MembershipFactory

    user = make_staff(username, ALL_ROLES[0], agency)
    for role in ALL_ROLES[1:]:
        MembershipFactory(user=user, agency=agency, role=role)
    return user


class SharedConnectionApp:
    """The Django WSGI app, answering in schemathesis's worker threads on the test's own
    database connection (inside the test transaction), like Django's live server does for an
    in-memory SQLite database. The engine runs one worker, so requests never overlap."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.conn = connections["default"]
        self.requests = 0
        self.seconds = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if connections["default"] is not self.conn:
            connections["default"] = self.conn
        started = time.perf_counter()
        try:
            return self.handler(environ, start_response)
        finally:
            self.requests += 1
            self.seconds += time.perf_counter() - started

    def __enter__(self) -> SharedConnectionApp:
        self.conn.inc_thread_sharing()
        # As Django's test client does: a request must not close the test's connection.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return self

    def __exit__(self, *exc: object) -> None:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        self.conn.dec_thread_sharing()


def _path_examples(world: World) -> dict[str, list[Any]]:
    """Every path parameter's known values: agency A's own record and agency B's, so the
    generator asks for objects that exist, the caller's and the other agency's."""
    values: dict[str, list[Any]] = {}
    for obj in world.objects.values():
        for name, value in obj.path_values().items():
            known = values.setdefault(name, [])
            typed: Any = int(value) if value.isdigit() else value
            if typed not in known:
                known.append(typed)
    return values


def _spec_with_examples(world: World) -> dict[str, Any]:
    spec = copy.deepcopy(api.get_openapi_schema(path_prefix="/api/"))
    known = _path_examples(world)
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in known:
                    parameter["examples"] = {
                        f"known{i}": {"value": v} for i, v in enumerate(known[parameter["name"]])
                    }
    return spec


@pytest.fixture
def identities(world: World, make_staff: Callable[..., User], tmp_path: Path) -> dict[str, Any]:
    """Two staff members holding every role, one in agency A, one in agency B; a partner API
    client of agency A for intake. The WFC document lists them for schemathesis."""
    a_user = _staff_with_every_role(make_staff, "fuzz.a", world.agency_a)
    b_user = _staff_with_every_role(make_staff, "fuzz.b", world.agency_b)
    _, a_token = staff_token_create(actor=SYSTEM, user=a_user, agency=world.agency_a, name="fuzz")
    _, b_token = staff_token_create(actor=SYSTEM, user=b_user, agency=world.agency_b, name="fuzz")
    _, client_token = api_client_create(actor=SYSTEM, agency=world.agency_a, name="fuzz partner")
    users = {"agency-a": a_token, "agency-b": b_token, "partner-a": client_token}
    paths = []
    # schemathesis sends each operation as the first identity the document lists that the
    # operation admits; the other peer only replays reads. Two runs, each agency first once.
    for order in (("agency-a", "agency-b", "partner-a"), ("agency-b", "agency-a", "partner-a")):
        doc = {
            "schemaVersion": "1.0",
            "auth": [
                {
                    "name": n,
                    "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {users[n]}"}],
                }
                for n in order
            ],
        }
        path = tmp_path / f"wfc-auth-{order[0]}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    return {
        "wfc": paths,
        "a_token": a_token,
        "b_token": b_token,
        "client_token": client_token,
    }


def _config(wfc_path: str, max_examples: int) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "auth": {"wfc": {"path": wfc_path, "peers": ["agency-a", "agency-b"]}},
            "workers": 1,
            "checks": {
                "enabled": True,
                # A request the schema allows may still break a domain rule (no consent, a
                # workflow move not open, a person not in this case): the API answers 422 with
                # the field and the reason, as its OpenAPI document declares. Every other
                # status stays as schemathesis expects it.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
                },
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True},
            },
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "request-timeout": 30,
        }
    )


def _foreign_references(world: World) -> dict[str, set[str]]:
    """Per identity, the case references it must never be served: for agency A, B's case that
    is not shared and B's case whose consent was withdrawn; for agency B, A's own case."""
    return {
        "agency-a": {world.objects[k].case.reference for k in ("other", "revoked")},
        "agency-b": {world.objects["own"].case.reference},
    }


def _run(spec: dict[str, Any], config: SchemathesisConfig, world: World) -> dict[str, Any]:
    foreign = _foreign_references(world)
    schema = schemathesis.openapi.from_dict(spec, config=config)
    result: dict[str, Any] = {
        "cases": 0,
        "statuses": Counter(),
        "checks": Counter(),
        "failures": [],
        "errors": [],
        "identities": Counter(),
        "foreign": Counter(),
    }
    with SharedConnectionApp() as app:
        schema.app = app
        schema.location = "/api/openapi.json"
        for event in schemathesis.engine.from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
                recorder = event.recorder
                result["cases"] += len(recorder.cases)
                for case_id, node in recorder.cases.items():
                    identity = node.value.auth_identity or "anonymous"
                    result["identities"][identity] += 1
                    interaction = recorder.interactions.get(case_id)
                    segments = set(node.value.formatted_path.split("/"))
                    if (
                        interaction
                        and interaction.response
                        and segments & foreign.get(identity, set())
                    ):
                        result["foreign"][(identity, interaction.response.status_code)] += 1
                for interaction in recorder.interactions.values():
                    if interaction.response is not None:
                        result["statuses"][interaction.response.status_code] += 1
                for checks in recorder.checks.values():
                    for check in checks:
                        result["checks"][check.name] += 1
                        if check.failure_info is not None:
                            result["failures"].append(
                                (
                                    recorder.label,
                                    check.name,
                                    check.failure_info.failure.title,
                                    check.failure_info.failure.message[:600],
                                    check.failure_info.code_sample[:600],
                                )
                            )
            elif isinstance(event, events.NonFatalError | events.FatalError):
                result["errors"].append(repr(event)[:2000])
        result["app_requests"] = app.requests
        result["app_seconds"] = round(app.seconds, 1)
    return result


@pytest.fixture
def _wsgi_transport_without_socket_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """schemathesis 4.32.5 passes socket-level options (`max_redirects`...) on to werkzeug's
    in-process client when a request goes out without a `requests` session, and werkzeug refuses
    them; they mean nothing in-process, so drop them."""
    from schemathesis.transport.wsgi import WSGITransport

    original = WSGITransport.send

    def send(self: WSGITransport, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return original(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", send)


@pytest.mark.usefixtures("_wsgi_transport_without_socket_options")
def test_schemathesis_finds_no_failure_with_two_agencies(
    world: World,
    identities: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Thousands of expected 4xx would each be logged and captured.
    caplog.set_level(logging.ERROR, logger="django.request")
    started = time.perf_counter()
    spec = _spec_with_examples(world)
    runs = [_run(spec, _config(p, max_examples=MAX_EXAMPLES), world) for p in identities["wfc"]]
    result: dict[str, Any] = {
        key: (sum(r[key] for r in runs) if isinstance(runs[0][key], int | float)
              else sum((r[key] for r in runs), start=type(runs[0][key])()))
        for key in runs[0]
    }  # fmt: skip
    with capsys.disabled():
        print(
            f"\nschemathesis: {result['cases']} cases, {result['app_requests']} requests "
            f"({result['app_seconds']} s in the app) in {time.perf_counter() - started:.0f} s; "
            f"statuses {dict(result['statuses'])}"
        )
        print(f"checks {dict(result['checks'])}")
        print(
            f"identities {dict(result['identities'])}; "
            f"other agency's case {dict(result['foreign'])}"
        )
        for f in result["failures"][:60]:
            print("FAIL", f)
        for e in result["errors"][:10]:
            print("ERR", e)
    CHECKED["schemathesis cases"] += result["cases"]
    assert result["errors"] == []
    assert result["failures"] == []
    assert result["cases"] >= MIN_CASES
    # Both agencies' staff were exercised, and each asked for the other's case, never served.
    assert result["identities"]["agency-a"] > 100 and result["identities"]["agency-b"] > 100
    asked = {identity for identity, _ in result["foreign"]}
    assert asked == {"agency-a", "agency-b"}, result["foreign"]
    assert [k for k in result["foreign"] if 200 <= k[1] < 300] == [], result["foreign"]


# --- A4: mass assignment ----------------------------------------------------------------------

SENTINEL_ID = 999_999
SENTINEL_TEXT = "zqxmass"
SENTINEL_TIME = "1999-01-02T03:04:05Z"
AGENCY_KEYS = (
    "agency", "agency_id", "owner_agency", "owner_agency_id", "recording_agency",
    "recording_agency_id", "from_agency", "from_agency_id", "assigned_agency",
    "assigned_agency_id", "source_agency", "source_agency_id",
)  # fmt: skip
USER_KEYS = (
    "owner", "owner_id", "user", "user_id", "created_by", "sent_by", "approved_by",
    "recorded_by", "assigned_by", "actor",
)  # fmt: skip
TIME_KEYS = (
    "created_at", "updated_at", "recorded_at", "sent_at", "approved_at", "opened_at",
    "closed_at", "received_at", "deadline_at", "acknowledged_at", "completed_at",
    "started_at", "done_at", "expires_at", "withdrawn_at",
)  # fmt: skip
TEXT_KEYS = ("status", "state", "reference", "instrument_version", "suggested_outcome")


def _extras(z_agency: Agency, z_user: User, other_case_id: int) -> dict[str, Any]:
    """Fields no client may set, each with a value that can only come from this request."""
    extras: dict[str, Any] = {"id": SENTINEL_ID, "pk": SENTINEL_ID, "version": 99}
    extras |= {k: z_agency.pk for k in AGENCY_KEYS}
    extras |= {k: z_user.pk for k in USER_KEYS}
    extras |= {k: SENTINEL_TIME for k in TIME_KEYS}
    extras |= {k: SENTINEL_TEXT for k in TEXT_KEYS}
    extras |= {"case": other_case_id, "case_id": other_case_id, "consent": SENTINEL_ID}
    extras |= {"consent_id": SENTINEL_ID, "sealed": True, "is_owner": True, "is_staff": True}
    return extras


def _declared_fields(spec: dict[str, Any], method: str, path: str) -> set[str]:
    operation = spec["paths"][path][method]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    if not ref:
        return set()
    return set(spec["components"]["schemas"][ref.rsplit("/", 1)[1]].get("properties", {}))


def _snapshot() -> dict[tuple[str, Any], dict[str, Any]]:
    from django.apps import apps

    rows: dict[tuple[str, Any], dict[str, Any]] = {}
    for model in apps.get_models():
        if not model.__module__.startswith("lifeline."):
            continue
        for row in model._base_manager.values():
            rows[(model._meta.label, row[model._meta.pk.attname])] = row
    return rows


def _violations(
    before: dict[tuple[str, Any], dict[str, Any]],
    z_agency: Agency,
    z_user: User,
    other_case_id: int,
) -> list[str]:
    """Every new or changed row holding one of the extras' values."""
    from django.apps import apps

    from lifeline.cases.models import Case

    found = []
    for (label, pk), row in _snapshot().items():
        if before.get((label, pk)) == row:
            continue
        model = apps.get_model(label)
        if pk == SENTINEL_ID:
            found.append(f"{label} {pk}: id")
        for f in model._meta.concrete_fields:
            value = row.get(f.attname)
            related = f.related_model if f.is_relation else None
            if related is Agency and value == z_agency.pk and label != "accounts.Agency":
                found.append(f"{label} {pk}: {f.name} -> sentinel agency")
            if related is User and value == z_user.pk:
                found.append(f"{label} {pk}: {f.name} -> sentinel user")
            if related is Case and value == other_case_id:
                found.append(f"{label} {pk}: {f.name} -> the other agency's case")
            if isinstance(value, date) and value.year == 1999:
                found.append(f"{label} {pk}: {f.name} = {value}")
            if isinstance(value, str) and SENTINEL_TEXT in value.lower():
                found.append(f"{label} {pk}: {f.name} = {value}")
            if f.name == "version" and value == 99:
                found.append(f"{label} {pk}: version = 99")
    return found


def test_extra_fields_in_write_bodies_are_never_applied(
    world: World, identities: dict[str, Any], make_staff: Callable[..., User]
) -> None:
    """A4: every create/update body of the API, sent with owner, agency, id, status, version,
    timestamps and other fields a client must not set. Each is refused (422) or ignored: no row
    anywhere takes one of those values."""
    from datetime import timedelta

    from django.test import Client

    from lifeline.accounts.tests.factories import AgencyFactory
    from lifeline.core import clock

    from .conftest import SAFE_GATE

    z_agency = cast(Agency, AgencyFactory(name="Agency Z (synthetic sentinel)", code="sec-z"))
    z_user = make_staff("fuzz.z", None)
    own = world.objects["own"]
    other_case_id = world.objects["other"].case.pk
    extras = _extras(z_agency, z_user, other_case_id)
    spec = api.get_openapi_schema(path_prefix="/api/")
    client = Client()
    staff = {"Authorization": f"Bearer {identities['a_token']}"}
    partner = {"Authorization": f"Bearer {identities['client_token']}"}
    ref, c_id = own.case.reference, world.agency_c.pk
    today = clock.now().date().isoformat()
    case_now = client.get(f"/api/v1/cases/{ref}", headers=staff).json()
    interview = client.get(f"/api/v1/screenings/{own.interview_id}", headers=staff).json()
    ready = [s["state"] for s in case_now["next_states"] if s["ready"]]
    writes: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = [
        ("post", "/api/v1/cases/{reference}/transition", f"/api/v1/cases/{ref}/transition",
         {"target": (ready or ["triaged"])[0], "version": case_now["version"]}, staff),
        ("post", "/api/v1/cases", "/api/v1/cases",
         {"victim": {"name_latin": "Synthetic Mass"}}, staff),
        ("post", "/api/v1/cases/{reference}/persons", f"/api/v1/cases/{ref}/persons",
         {"role": "co_victim", "person": {"name_latin": "Synthetic Co"}}, staff),
        ("post", "/api/v1/cases/{reference}/records/{kind}",
         f"/api/v1/cases/{ref}/records/follow_up",
         {"date": today, "mode": "call", "risk_individual": "low", "risk_household": "low",
          "risk_community": "medium", "outcome": "Synthetic outcome"}, staff),
        ("post", "/api/v1/cases/{reference}/authority-requests",
         f"/api/v1/cases/{ref}/authority-requests",
         {"recipient_agency": c_id, "channel": "letter", "purpose": "rescue",
          "content": "Synthetic letter"}, staff),
        ("post", "/api/v1/cases/{reference}/authority-requests/{request_id}",
         f"/api/v1/cases/{ref}/authority-requests/{own.request_id}", {"acknowledged": True}, staff),
        ("post", "/api/v1/cases/{reference}/consents", f"/api/v1/cases/{ref}/consents",
         {"person_id": own.person_id, "scope": "share", "recipient_agency": c_id,
          "purpose": "rescue", "given_by": "self", "method": "written", "given_on": today}, staff),
        ("post", "/api/v1/cases/{reference}/override", f"/api/v1/cases/{ref}/override",
         {"reason": "Synthetic emergency", "hours": 12}, staff),
        ("post", "/api/v1/cases/{reference}/tasks", f"/api/v1/cases/{ref}/tasks",
         {"title": "Synthetic task", "due_at": (clock.now() + timedelta(days=3)).isoformat()},
         staff),
        ("put", "/api/v1/screenings/{interview_id}/answers",
         f"/api/v1/screenings/{own.interview_id}/answers",
         {"version": interview["version"], "answers": {}}, staff),
        ("post", "/api/v1/screenings", "/api/v1/screenings",
         {"person_id": own.person_id, "gate": SAFE_GATE}, staff),
        ("post", "/api/v1/determinations", "/api/v1/determinations",
         {"person_id": own.person_id, "value": "PENDING", "authority_name": "MDT (synthetic)",
          "country": "TH", "person_informed": False}, staff),
        ("post", "/api/v1/referrals", "/api/v1/referrals",
         {"case_reference": ref, "to_agency_id": c_id, "kind": "share", "purpose": "rescue",
          "sections": ["persons"], "note": "Synthetic note"}, staff),
        ("post", "/api/v1/requests", "/api/v1/requests",
         {"reporter_type": "self", "reporter_phone": "012 345 678",
          "narrative": "Synthetic narrative"}, partner),
    ]  # fmt: skip
    statuses: dict[str, int] = {}
    for method, template, url, body, headers in writes:
        declared = _declared_fields(spec, method, template)
        sent = {**{k: v for k, v in extras.items() if k not in declared}, **body}
        before = _snapshot()
        response = getattr(client, method)(
            url, sent, content_type="application/json",
            headers={**headers, "Idempotency-Key": "mass-assign-1"},
        )  # fmt: skip
        statuses[f"{method.upper()} {template}"] = response.status_code
        assert response.status_code < 500, (template, response.content)
        assert _violations(before, z_agency, z_user, other_case_id) == [], template
        assert SENTINEL_TEXT not in response.content.decode().lower(), template
        CHECKED["mass assignment writes"] += 1
    print(f"\nmass assignment: {statuses}")
    # The bodies are valid: most writes succeed, so "ignored" was proven on real writes.
    assert sum(200 <= s < 300 for s in statuses.values()) >= 13, statuses

    # The detector itself sees an applied value.
    before = _snapshot()
    from lifeline.cases.models import Task

    Task.objects.filter(pk=own.task_id).update(title=f"Synthetic {SENTINEL_TEXT}")
    assert _violations(before, z_agency, z_user, other_case_id) != []
