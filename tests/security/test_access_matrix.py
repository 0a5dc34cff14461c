"""The access matrix (issue 7, battery A2/A3): route x method x persona x object, generated.

Routes come from walking the URL conf (the case-, person- and request-bearing HTML pages, the
statistics dashboard and every staff operation of the JSON API); personas are each role of two
NGOs (A and B), sampled roles of an embassy, a ministry and a police agency, a platform operator,
a password-only session, a deactivated user and anonymous; objects are A's own case, B's case
not shared, B's case shared with A and the embassy by consent (summary and tasks only) and B's
case whose consent was withdrawn, each with a help request assigned to its owner.

The expected decision of every combination is computed from the capability table
(`ROLE_CAPABILITIES`) and the object rule below (owner, shared section), never listed by hand.
Every refusal must be the uniform one (404; anonymous HTML -> log-in redirect; API without a
valid token -> 401), must write nothing, and no response at all may carry a canary of a case
the persona's agency does not own.

Beyond access (A2/A3) the same run checks the audit trail and the logs: every allowed response
that shows a record's canaries has an audit row of that request naming the actor and the record
(B1); every refusal of an authenticated persona writes an access-denied row (B3); and no log
record of the whole run carries any canary (B6). A separate test sends every state-changing
browser route without its CSRF token (D5).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.test import Client

from lifeline.accounts.api_auth import staff_auth
from lifeline.accounts.models import Agency, AgencyKind, Role, User
from lifeline.accounts.policies import Capability, capabilities_for_roles
from lifeline.accounts.services import staff_token_create
from lifeline.accounts.tests.helpers import english_client
from lifeline.accounts.tests.routes import iter_routes
from lifeline.audit.models import AuditAction, AuditEvent
from lifeline.audit.services import SYSTEM
from lifeline.cases import selectors, workflow
from lifeline.cases.models import Section

from .conftest import AUDITED, CHECKED, SAFE_GATE, SHARED_SECTIONS, CaseObject, World

C = Capability
HTML_PREFIXES = ("cases/", "screening/", "referrals/", "people/", "intake/", "reports/")

# --- object rules: what a route needs of the object beyond its capability -------------------
# NONE: no object (lists, create forms); OWNER: only the owner agency (consent, override,
# screening, referral as sender, review pairs); NEVER: no persona here (answering a referral is
# the recipient's, agency C); a Section value: owner, or a live share covering that section.
# OPEN: opening a case, which the workflow table gives to `workflow.OPENING_ROLES` only.
NONE, OWNER, NEVER, OPEN = "none", "owner", "never", "open"

HTML_RULES: dict[str, str] = {
    "cases/": NONE,
    "cases/new/": OPEN,
    "cases/<str:reference>/": Section.SUMMARY,
    "cases/<str:reference>/move/": Section.WORKFLOW,
    "cases/<str:reference>/record/<str:kind>/": Section.SERVICES,  # kind = follow_up
    "cases/<str:reference>/authority/": Section.AUTHORITY,
    "cases/<str:reference>/authority/<int:request_id>/": Section.AUTHORITY,
    "cases/<str:reference>/persons/": Section.PERSONS,
    "cases/<str:reference>/tasks/": Section.TASKS,
    "cases/<str:reference>/tasks/<int:task_id>/done/": Section.TASKS,
    "cases/<str:reference>/consent/": OWNER,
    "cases/<str:reference>/consent/<int:consent_id>/withdraw/": OWNER,
    "cases/<str:reference>/override/": OWNER,
    "cases/<str:reference>/plans/<int:plan_id>/approve/": Section.SERVICES,
    "referrals/": NONE,
    "referrals/send/<str:reference>/": OWNER,
    "referrals/<int:referral_id>/": OWNER,
    "referrals/<int:referral_id>/accept/": NEVER,
    "referrals/<int:referral_id>/decline/": NEVER,
    "referrals/<int:referral_id>/revoke/": OWNER,
    "screening/start/<int:person_id>/": OWNER,
    "screening/<int:interview_id>/": OWNER,
    "screening/<int:interview_id>/summary/": OWNER,
    "screening/<int:interview_id>/override/": OWNER,
    "screening/person/<int:person_id>/determinations/": OWNER,
    "screening/person/<int:person_id>/determinations/new/": OWNER,
    "people/review/": NONE,
    "people/review/<int:pair_id>/": OWNER,
    "people/review/<int:pair_id>/decide/": OWNER,
    "people/clusters/<int:cluster_id>/": OWNER,
    "people/clusters/<int:cluster_id>/<str:action>/": OWNER,  # action = split
    # Help requests: each is assigned to its case's owner agency and escalated to nobody.
    "intake/": NONE,  # the work queue
    "intake/new/": NONE,  # the call console; GET searches (query below), POST logs a call
    "intake/r/<str:reference>/": OWNER,  # reference = the help request's
    "intake/r/<str:reference>/<str:action>/": OWNER,  # action = acknowledge
    # The statistics dashboard, asked for the object's owner agency (`?agency=`).
    "reports/": OWNER,
    # The annual report from the dashboard (download encrypted, publish the public version).
    "reports/download/": NONE,
    "reports/publish/": NONE,
    # Record exports (A10): the list and the request form, then one export of the owner agency.
    "reports/exports/": NONE,
    "reports/exports/new/": NONE,
    "reports/exports/<int:export_id>/": OWNER,
    "reports/exports/<int:export_id>/decide/": OWNER,
    # Only the person who asked downloads; no persona asked for the matrix's exports.
    "reports/exports/<int:export_id>/download/": NEVER,
}

# Query strings: searches that match every synthetic record ("Synthetic" is in every name; the
# term is echoed in the page, so it must not be a canary), and the dashboard's agency filter.
HTML_QUERIES: dict[str, str] = {
    "cases/new/": "?q_name=Synthetic",
    "intake/new/": "?q=Synthetic",
    "reports/": "?agency={agency_code}",
}
API_QUERIES: dict[str, str] = {"GET api/v1/cases/search": "?name=Synthetic"}
# Path parameters of help-request routes are the request's, not the case's.
PATH_ALIASES: dict[str, dict[str, str]] = {
    "intake/r/<str:reference>/": {"reference": "request_reference"},
    "intake/r/<str:reference>/<str:action>/": {
        "reference": "request_reference",
        "action": "request_action",
    },
}

# API operations: (capability named by `need`, object rule), keyed "METHOD template".
API_RULES: dict[str, tuple[Capability, str]] = {
    "POST api/v1/cases": (C.CASE_VIEW, OPEN),
    "GET api/v1/cases": (C.CASE_VIEW, NONE),
    "GET api/v1/cases/search": (C.CASE_VIEW, NONE),
    "GET api/v1/cases/<reference>": (C.CASE_VIEW, Section.SUMMARY),
    "POST api/v1/cases/<reference>/persons": (C.CASE_EDIT, Section.PERSONS),
    "POST api/v1/cases/<reference>/transition": (C.CASE_VIEW, Section.WORKFLOW),
    "POST api/v1/cases/<reference>/records/<kind>": (C.CASE_EDIT, Section.SERVICES),
    "POST api/v1/cases/<reference>/authority-requests": (C.CASE_EDIT, Section.AUTHORITY),
    "POST api/v1/cases/<reference>/authority-requests/<request_id>": (
        C.CASE_EDIT,
        Section.AUTHORITY,
    ),
    "POST api/v1/cases/<reference>/consents": (C.CONSENT_MANAGE, OWNER),
    "POST api/v1/cases/<reference>/consents/<consent_id>/withdraw": (C.CONSENT_MANAGE, OWNER),
    "POST api/v1/cases/<reference>/override": (C.CASE_APPROVE, OWNER),
    "POST api/v1/cases/<reference>/tasks": (C.CASE_EDIT, Section.TASKS),
    "POST api/v1/cases/<reference>/tasks/<task_id>/done": (C.CASE_EDIT, Section.TASKS),
    "POST api/v1/cases/<reference>/plans/<plan_id>/approve": (C.CASE_APPROVE, Section.SERVICES),
    "POST api/v1/referrals": (C.REFERRAL_SEND, OWNER),  # the case named in the body
    "GET api/v1/referrals": (C.REFERRAL_VIEW, NONE),
    "GET api/v1/referrals/<referral_id>": (C.REFERRAL_VIEW, OWNER),
    "POST api/v1/referrals/<referral_id>/accept": (C.REFERRAL_RESPOND, NEVER),
    "POST api/v1/referrals/<referral_id>/decline": (C.REFERRAL_RESPOND, NEVER),
    "POST api/v1/referrals/<referral_id>/revoke": (C.REFERRAL_SEND, OWNER),
    "POST api/v1/screenings": (C.SCREENING_CONDUCT, OWNER),  # the person named in the body
    "PUT api/v1/screenings/<interview_id>/answers": (C.SCREENING_CONDUCT, OWNER),
    "POST api/v1/screenings/<interview_id>/complete": (C.SCREENING_CONDUCT, OWNER),
    "POST api/v1/screenings/<interview_id>/override": (C.SCREENING_CONDUCT, OWNER),
    "GET api/v1/screenings/<interview_id>": (C.SCREENING_VIEW, OWNER),
    "POST api/v1/determinations": (C.DETERMINATION_RECORD, OWNER),  # person in the body
    "GET api/v1/persons/<person_id>/determinations": (C.SCREENING_VIEW, OWNER),
}

# Well-formed bodies, so that a request reaches the object check instead of stopping at input
# validation ("{name}" is filled from the object, as in paths). Others are sent empty.
_GIVEN = {"scope": "collect", "given_by": "self", "method": "verbal", "given_on": "2026-01-01"}
API_BODIES: dict[str, dict[str, Any]] = {
    "POST api/v1/screenings": {"person_id": "{person_id}", "gate": SAFE_GATE},
    "PUT api/v1/screenings/<interview_id>/answers": {"version": 1, "answers": {}},
    "POST api/v1/screenings/<interview_id>/complete": {"version": 1},
    "POST api/v1/screenings/<interview_id>/override": {
        "version": 1,
        "outcome": "POSSIBLE_VOT",
        "reason": "Synthetic override reason.",
    },
    "POST api/v1/determinations": {
        "person_id": "{person_id}",
        "value": "PENDING",
        "country": "TH",
        "person_informed": True,
    },
    "POST api/v1/cases/<reference>/persons": {
        "role": "reporter",
        "person": {"name_latin": "Synthetic Reporter"},
    },
    "POST api/v1/cases/<reference>/transition": {"target": "triaged", "version": 1},
    "POST api/v1/cases/<reference>/authority-requests/<request_id>": {"acknowledged": True},
    "POST api/v1/cases/<reference>/consents": {"person_id": "{person_id}", **_GIVEN},
    "POST api/v1/cases/<reference>/override": {
        "reason": "Synthetic: a life is at risk tonight.",
        "hours": 2,
    },
    "POST api/v1/cases/<reference>/tasks": {
        "title": "Synthetic task",
        "due_at": "2030-01-01T00:00:00Z",
    },
    "POST api/v1/referrals": {
        "case_reference": "{reference}",
        "to_agency_id": "{third_agency}",
        "kind": "share",
        "purpose": "rescue",
        "sections": ["summary"],
    },
    "POST api/v1/referrals/<referral_id>/decline": {"reason": "Synthetic decline reason."},
}
HTML_BODIES: dict[str, dict[str, Any]] = {
    "cases/<str:reference>/move/": {"target": "triaged", "version": "1"},
    "cases/<str:reference>/persons/": {
        "role": "reporter",
        "name_latin": "Synthetic Reporter",
        "sex": "unknown",
    },
    "cases/<str:reference>/override/": {
        "reason": "Synthetic: a life is at risk tonight.",
        "hours": "2",
        "purpose": "rescue",
    },
    "cases/<str:reference>/consent/": {"person_id": "{person_id}", **_GIVEN},
    "people/review/<int:pair_id>/decide/": {
        "decision": "reject",
        "reason": "Synthetic: different people.",
    },
    "people/clusters/<int:cluster_id>/<str:action>/": {
        "record_ids": "{person_id}",
        "reason": "Synthetic: recorded twice.",
    },
    "reports/exports/<int:export_id>/decide/": {"decision": "reject"},
    "reports/exports/<int:export_id>/download/": {"passphrase": "a long enough passphrase"},
}

# Routes whose object-level refusals may leave no access-denied row. Empty: refusals rolled back
# with the transaction they were found in are written after the view by
# `lifeline.audit.middleware.DenialAuditMiddleware`, and any other signed-in 404 gets a row there.
B3_UNAUDITED: frozenset[str] = frozenset()
B3_SEEN_UNAUDITED: set[str] = set()

# Which apps' rows a refused request must leave untouched (audit rows are expected to grow).
WATCHED_APPS = ("cases", "people", "screening", "referrals", "intake", "reports")


@dataclass(frozen=True)
class MatrixRoute:
    kind: str  # "html" or "api"
    template: str
    method: str
    capability: Capability
    rule: str

    @property
    def key(self) -> str:
        return self.template if self.kind == "html" else f"{self.method} {self.template}"

    @property
    def body(self) -> dict[str, Any]:
        return (API_BODIES if self.kind == "api" else HTML_BODIES).get(self.key, {})

    @property
    def query(self) -> str:
        return (API_QUERIES if self.kind == "api" else HTML_QUERIES).get(self.key, "")

    @property
    def has_object(self) -> bool:
        return "<" in self.template or "{" in json.dumps(self.body) + self.query

    def path(self, values: dict[str, str]) -> str:
        aliases = PATH_ALIASES.get(self.key, {})

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return values[aliases.get(name, name)]

        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, self.template)
        return path + re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], self.query)

    def data(self, values: dict[str, str]) -> dict[str, Any]:
        def fill(value: Any) -> Any:
            if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
                found = values[value[1:-1]]
                return int(found) if self.kind == "api" and found.isdigit() else found
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value

        return {k: fill(v) for k, v in self.body.items()}


def _path_view(callback: Any) -> Any:
    inner = getattr(callback, "__wrapped__", callback)
    for cell in inner.__closure__ or ():
        if hasattr(cell.cell_contents, "operations"):
            return cell.cell_contents
    raise AssertionError(f"no ninja PathView behind {callback!r}")


def matrix_routes() -> Iterator[MatrixRoute]:
    seen: set[str] = set()
    for route in iter_routes():
        if route.template.startswith(HTML_PREFIXES):
            for method in ("GET", "POST"):
                yield MatrixRoute(
                    "html", route.template, method, route.capability, HTML_RULES[route.template]
                )
        elif route.template.startswith("api/v1/"):
            for op in _path_view(route.callback).operations:
                if staff_auth not in op.auth_callbacks:
                    continue  # the public help-request form and its status check
                for method in op.methods:
                    key = f"{method} {route.template}"
                    if key in seen:
                        continue
                    seen.add(key)
                    capability, rule = API_RULES[key]
                    yield MatrixRoute("api", route.template, method, capability, rule)


# --- personas --------------------------------------------------------------------------------

A_ROLES = [str(r) for r in Role]
# Every role of NGO A; sampled roles of NGO B, the embassy (which holds the share of B's case like
# agency A), the ministry and the police, to keep the run near twice its first size.
# Agency B owns the other cases: the owner side of the same routes, with the roles that read,
# write and take in (every role of B adds ~25 s per database in CI; A already has them all).
B_ROLES = [str(r) for r in (Role.SUPERVISOR, Role.CASE_WORKER, Role.INTAKE_OFFICER)]
EXTRA_ROLES = {
    AgencyKind.EMBASSY.value: [Role.SUPERVISOR, Role.LIAISON_OFFICER],
    AgencyKind.MINISTRY.value: [Role.SUPERVISOR, Role.ANALYST],
    AgencyKind.POLICE.value: [Role.CASE_WORKER],
}
PERSONAS = (
    [f"a:{r}" for r in A_ROLES]
    + [f"b:{r}" for r in B_ROLES]
    + [f"{kind}:{role}" for kind, roles in EXTRA_ROLES.items() for role in roles]
    + ["sysadmin", "password_only", "deactivated", "anon"]
)
# LIFELINE_BATTERY=quick (the SQLite pass of .ci/run): one persona of each kind; the PostgreSQL
# pass runs them all.
if os.environ.get("LIFELINE_BATTERY") == "quick":
    PERSONAS = [
        "a:supervisor", "a:analyst", "a:intake_officer", "b:case_worker", "embassy:liaison_officer",
        "sysadmin", "password_only", "deactivated", "anon",
    ]  # fmt: skip


@dataclass
class Persona:
    name: str
    client: Client
    agency: Agency | None
    roles: frozenset[str]
    token: str | None  # bearer secret for the API
    session: str  # "verified", "password_only", "none"
    active: bool = True
    user_id: int | None = None

    @property
    def capabilities(self) -> frozenset[Capability]:
        return capabilities_for_roles(self.roles) if self.active else frozenset()


def _token(user: User, agency: Agency) -> str:
    _row, secret = staff_token_create(actor=SYSTEM, user=user, agency=agency)
    return secret


def make_persona(
    name: str, world: World, make_staff: Any, login_fully: Any, login_password_only: Any
) -> Persona:
    client = english_client()
    if name == "anon":
        return Persona(name, client, None, frozenset(), None, "none")
    if name == "password_only":
        user = make_staff("m.pwonly", Role.CASE_WORKER, world.agency_a)
        login_password_only(client, user)
        # No token either: a session cookie must never authenticate the API.
        roles = frozenset({Role.CASE_WORKER})
        return Persona(name, client, world.agency_a, roles, None, "pw", user_id=user.pk)
    if name == "sysadmin":
        # A platform operator (superuser, no membership): the Django admin and nothing else. No
        # staff token exists without an agency, so the API sees no credentials.
        user = make_staff("m.operator", None, None, superuser=True)
        login_fully(client, user)
        return Persona(name, client, None, frozenset(), None, "verified", user_id=user.pk)
    if name == "deactivated":
        user = make_staff("m.gone", Role.SUPERVISOR, world.agency_a)
        login_fully(client, user)
        token = _token(user, world.agency_a)
        User.objects.filter(pk=user.pk).update(is_active=False)
        roles = frozenset({Role.SUPERVISOR})
        return Persona(
            name, client, world.agency_a, roles, token, "verified", active=False, user_id=user.pk
        )
    side, role = name.split(":")
    agency = world.agency(side)
    user = make_staff(f"m.{side}.{role}", role, agency)
    login_fully(client, user)
    token = _token(user, agency)
    return Persona(name, client, agency, frozenset({role}), token, "verified", user_id=user.pk)


# --- the oracle ------------------------------------------------------------------------------

ALLOW, DENY, LOGIN, OTP, UNAUTHENTICATED = "allow", "deny", "login", "otp", "401"


def relation(persona: Persona, obj: CaseObject | None, world: World) -> str:
    if obj is None:
        return "none"
    if persona.agency is not None and obj.case.owner_agency_id == persona.agency.pk:
        return "own"
    if obj.label == "shared" and persona.agency is not None:
        return "shared" if persona.agency.pk in world.shared_with else "stranger"
    return "stranger"


def expected(route: MatrixRoute, persona: Persona, obj: CaseObject | None, world: World) -> str:
    if route.kind == "html":
        if persona.session == "none" or not persona.active:
            return LOGIN
        if persona.session == "pw":
            return OTP
    elif persona.token is None or not persona.active:
        return UNAUTHENTICATED
    caps = persona.capabilities
    if route.capability not in caps:
        return DENY
    rule = route.rule
    if rule == NONE:
        return ALLOW
    if rule == OPEN:
        return ALLOW if persona.roles & workflow.OPENING_ROLES else DENY
    if rule == NEVER:
        return DENY
    rel = relation(persona, obj, world)
    if rule == OWNER:
        return ALLOW if rel == "own" else DENY
    # A section of a case: the case must be visible (case.view) and the section held.
    if C.CASE_VIEW not in caps:
        return DENY
    if rel == "own":
        return ALLOW
    if rel == "shared" and rule in SHARED_SECTIONS:
        return ALLOW
    return DENY


# --- running one combination -----------------------------------------------------------------


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for model in apps.get_models():
        if model._meta.app_label in WATCHED_APPS:
            rows = list(model._default_manager.order_by("pk").values_list())
            digest.update(repr((model._meta.label, rows)).encode())
    return digest.hexdigest()


def _normalised(body: bytes, path: str) -> bytes:
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b'name="csrfmiddlewaretoken"', body)
    return body.replace(f'value="{path}"'.encode(), b'value="PATH"')


class _Rollback(Exception):
    pass


def _request(
    persona: Persona, route: MatrixRoute, values: dict[str, str], *, watch: bool
) -> tuple[Any, bool]:
    """Send the request inside a transaction that is rolled back, so every combination starts
    from the same world. Returns the response and whether watched rows changed."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {persona.token}"} if persona.token else {}
    if route.kind == "api":
        headers["content_type"] = "application/json"
    path = route.path(values)
    watch = watch and route.method != "GET"
    outcome: dict[str, Any] = {}
    try:
        with transaction.atomic():
            before = _fingerprint() if watch else ""
            last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
            call = getattr(persona.client, route.method.lower())
            if route.method == "GET":
                response = call(path, **headers)
            elif route.kind == "api":
                response = call(path, data=json.dumps(route.data(values)), **headers)
            else:
                response = call(path, data=route.data(values), **headers)
            outcome["response"] = response
            outcome["changed"] = watch and _fingerprint() != before
            # The audit rows this request wrote (read before the rollback takes them away).
            outcome["events"] = list(
                AuditEvent.objects.filter(id__gt=last_event or 0).values(
                    "actor_id", "action", "target_type", "target_id", "metadata"
                )
            )
            raise _Rollback
    except _Rollback:
        pass
    # A flash message stored by an allowed change must not spill into the next page.
    persona.client.cookies.pop("messages", None)
    response = outcome["response"]
    response.request_path = path
    response.audit_events = outcome["events"]
    return response, outcome["changed"]


class _Missing(dict[str, str]):
    """Path and body values naming records that do not exist."""

    def __missing__(self, key: str) -> str:
        named = {
            "reference": "CS-NO-SUCH",
            "request_reference": "HR-NO-SUCH",
            "kind": "follow_up",
            "action": "split",
            "request_action": "acknowledge",
            "agency_code": "sec-no-such",
        }
        return named.get(key, "987654321")


def _values(obj: CaseObject | None, world: World) -> dict[str, str]:
    values = obj.path_values() if obj else _Missing()
    values["third_agency"] = str(world.agency_c.pk)
    return values


def check(
    route: MatrixRoute,
    persona: Persona,
    obj: CaseObject | None,
    world: World,
    baseline: tuple[Any, Any],
) -> list[str]:
    want = expected(route, persona, obj, world)
    response, changed = _request(persona, route, _values(obj, world), watch=want != ALLOW)
    path = response.request_path
    status = response.status_code
    body = response.content
    where = f"{route.method} {path} as {persona.name} on {obj.label if obj else '-'}"
    problems: list[str] = []
    for canary in world.canaries_hidden_from(persona.agency.pk if persona.agency else None):
        if canary.encode() in body:
            problems.append(f"{where}: canary {canary} leaked (status {status})")
    if status >= 500:
        problems.append(f"{where}: server error {status}")
        return problems
    events = response.audit_events
    if want == ALLOW:
        if status in (401, 403, 404):
            problems.append(f"{where}: expected allowed, got {status}")
        elif 200 <= status < 300:
            problems += _unaudited_exposures(where, body, persona, world, events)
        return problems
    if changed:
        problems.append(f"{where}: refused ({want}) but rows changed")
    if want == DENY and persona.active and not (status == 405 and baseline[1].status_code == 405):
        # B3: an authenticated refusal leaves an access-denied row naming the actor.
        AUDITED["B3 refusals"] += 1
        audited = any(
            e["action"] == AuditAction.ACCESS_DENIED and e["actor_id"] == persona.user_id
            for e in events
        )
        if not audited and route.key not in B3_UNAUDITED:
            problems.append(f"{where}: refused ({status}) without an access-denied audit row")
        elif not audited:
            AUDITED["B3 refusals unaudited (known defect)"] += 1
            B3_SEEN_UNAUDITED.add(route.key)
    if want == LOGIN:
        if status != 302 or not response["Location"].startswith("/login/?next="):
            problems.append(f"{where}: expected log-in redirect, got {status}")
    elif want == OTP:
        if status != 302 or not response["Location"].startswith("/2fa/?next="):
            problems.append(f"{where}: expected second-factor redirect, got {status}")
    elif want == UNAUTHENTICATED:
        if status != 401:
            problems.append(f"{where}: expected 401, got {status}")
    elif route.kind == "html":
        not_found, missing = baseline
        if status == 405 and missing.status_code == 405:
            pass  # wrong method: answered before any record is looked at, for any record
        elif status != 404:
            problems.append(f"{where}: expected 404, got {status}")
        elif _normalised(body, path) != _normalised(not_found.content, not_found.request_path):
            problems.append(f"{where}: 404 differs from the not-found page")
    else:
        # A refused API call answers exactly as the same call on records that do not exist.
        missing = baseline[1]
        if (status, body) != (missing.status_code, missing.content) or status not in (404, 422):
            problems.append(
                f"{where}: refusal {status} {body[:120]!r} differs from missing-record "
                f"answer {missing.status_code} {missing.content[:120]!r}"
            )
    return problems


def _event_targets(event: dict[str, Any]) -> set[tuple[str, str]]:
    """The records one audit row names: its target, or the ids a listing or search recorded."""
    kind = event["target_type"]
    named = {(kind, event["target_id"])} if event["target_id"] else set()
    ids = (event["metadata"] or {}).get("ids") or []
    return named | {(kind, str(pk)) for pk in ids}


def _unaudited_exposures(
    where: str, body: bytes, persona: Persona, world: World, events: list[dict[str, Any]]
) -> list[str]:
    """B1: every record whose canaries this allowed response shows has a read audited by this
    request, naming the actor and the record (or one of the case's records: the victim's name
    is on every page of the case, the screening and the review)."""
    audited: set[tuple[str, str]] = set()
    for event in events:
        # A read, or the write whose answer shows the record it changed (e.g. a revoked referral).
        if event["actor_id"] == persona.user_id and event["action"] != AuditAction.ACCESS_DENIED:
            audited |= _event_targets(event)
    problems = []
    for obj in world.objects.values():
        exposures = [
            (obj.canaries, obj.audit_targets(), "case"),
            (obj.request_canaries, {("help_request", str(obj.help_request_id))}, "request"),
        ]
        for canaries, targets, what in exposures:
            if not any(c.encode() in body for c in canaries):
                continue
            AUDITED["B1 exposures"] += 1
            if not audited & targets:
                problems.append(f"{where}: shows the {what} of {obj.label} without an audit row")
    return problems


def _baseline(persona: Persona, route: MatrixRoute, world: World) -> tuple[Any, Any]:
    """(the site's not-found page, this route's answer for records that do not exist)."""
    not_found = persona.client.get("/no-such-page-for-the-matrix/")
    not_found.request_path = "/no-such-page-for-the-matrix/"
    missing, _changed = _request(persona, route, _values(None, world), watch=False)
    return not_found, missing


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self.seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) not in self.seen:  # a record reaching two of our loggers counts once
            self.seen.add(id(record))
            self.lines.append(self.format(record))


@contextmanager
def captured_logs() -> Iterator[_Capture]:
    """B6: every log record emitted meanwhile, from the root, django and lifeline loggers and
    any logger that does not pass records up to the root. Lifeline's loggers are lowered to
    DEBUG meanwhile, so a debug line carrying a name would be caught too."""
    handler = _Capture()
    names = {"", "django", "django.request", "django.server", "lifeline"}
    names |= {
        name
        for name, found in logging.root.manager.loggerDict.items()
        if isinstance(found, logging.Logger) and not found.propagate
    }
    loggers = [logging.getLogger(name) for name in sorted(names)]
    lifeline = logging.getLogger("lifeline")
    level = lifeline.level
    lifeline.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        lifeline.setLevel(level)


def _log_leaks(lines: list[str], world: World) -> list[str]:
    text = "\n".join(lines)
    return [f"log output carries canary {c}" for c in world.all_canaries() if c in text]


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("persona_name", PERSONAS)
def test_access_matrix(
    persona_name, world, make_staff, login_fully, login_password_only
):  # fmt: skip
    started = time.monotonic()
    with captured_logs() as logs:
        persona = make_persona(persona_name, world, make_staff, login_fully, login_password_only)
        routes = list(matrix_routes())
        problems: list[str] = []
        checked = 0
        for route in routes:
            baseline = _baseline(persona, route, world)
            objects = list(world.objects.values()) if route.has_object else [None]
            for obj in objects:
                problems += check(route, persona, obj, world, baseline)
                checked += 1
    # B6: no canary in any log line, whoever owns the record (logs carry ids, never names).
    problems += _log_leaks(logs.lines, world)
    CHECKED[persona_name] += checked
    AUDITED["B6 log records"] += len(logs.lines)
    print(
        f"{persona_name}: {checked} combinations checked, {len(logs.lines)} log records, "
        f"{len(problems)} problems, {time.monotonic() - started:.1f} s"
    )
    assert not problems, "\n".join(problems[:400]) + f"\n... {len(problems)} in all"


def test_every_case_related_route_has_an_object_rule():
    """A new route fails here until someone states what it needs of the object."""
    keys = {r.key for r in matrix_routes()}
    assert keys, "the URL walk found no routes"
    assert {k for k in keys if " " not in k} == set(HTML_RULES)
    assert {k for k in keys if " " in k} == set(API_RULES)


# --- controls: the checks above can fail -----------------------------------------------------


@pytest.mark.django_db
def test_owner_sees_its_own_canaries(world, make_staff, login_fully):
    """Positive control: the same scanner finds canaries where showing them is right."""
    persona = make_persona("a:supervisor", world, make_staff, login_fully, None)
    own = world.objects["own"]

    page = persona.client.get(f"/cases/{own.case.reference}/")

    assert page.status_code == 200
    assert own.canaries[0].encode() in page.content  # the victim's name
    assert own.canaries[1].encode() in page.content  # the case summary


@pytest.mark.django_db
def test_sharing_the_persons_section_would_be_caught(world, make_staff, login_fully):
    """If the shared case also carried the persons section, the name canary would reach agency
    A and the matrix would report it: shown by adding that section to the live share."""
    persona = make_persona("a:supervisor", world, make_staff, login_fully, None)
    shared = world.objects["shared"]
    share = shared.case.shares.get(agency=world.agency_a)
    path = f"/api/v1/cases/{shared.case.reference}"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {persona.token}"}
    before = persona.client.get(path, **headers)
    share.sections = [*share.sections, Section.PERSONS.value]
    share.save(update_fields=["sections"])

    after = persona.client.get(path, **headers)

    assert before.status_code == after.status_code == 200
    assert shared.canaries[0].encode() not in before.content
    assert shared.canaries[0].encode() in after.content
    assert json.loads(after.content)["persons"]


@pytest.mark.django_db
def test_matrix_goes_red_when_a_revoked_share_still_counts(
    world, make_staff, login_fully, monkeypatch
):  # fmt: skip
    """Remove the guard (a revoked share or withdrawn consent still counts) and the same check
    the matrix runs reports the revoked case."""
    persona = make_persona("a:supervisor", world, make_staff, login_fully, None)
    route = next(r for r in matrix_routes() if r.key == "GET api/v1/cases/<reference>")
    revoked = world.objects["revoked"]
    baseline = _baseline(persona, route, world)
    assert check(route, persona, revoked, world, baseline) == []

    # The one guard both visible_to and case_access build on: a share counts only while it is
    # unrevoked and its consent (or override) is live. Without it every share counts.
    monkeypatch.setattr(selectors, "share_live_q", lambda now, prefix="": Q())
    problems = check(route, persona, revoked, world, baseline)

    assert any("refusal 200" in p for p in problems), problems


@pytest.mark.django_db
def test_matrix_goes_red_when_a_share_acts_as_ownership(
    world, make_staff, login_fully, monkeypatch
):  # fmt: skip
    """Remove the section guard (a share gives the owner's view) and the canary scan of the
    shared case page reports the victim's name and the case summary."""
    persona = make_persona("a:supervisor", world, make_staff, login_fully, None)
    route = next(r for r in matrix_routes() if r.key == "cases/<str:reference>/")
    shared = world.objects["shared"]
    baseline = _baseline(persona, route, world)
    assert check(route, persona, shared, world, baseline) == []

    monkeypatch.setattr(
        selectors,
        "case_access",
        lambda principal, case: selectors.Access(True, selectors.ALL_SECTIONS),
    )
    problems = check(route, persona, shared, world, baseline)

    assert any(shared.canaries[0] in p for p in problems)
    assert any(shared.canaries[1] in p for p in problems)


@pytest.mark.django_db
def test_matrix_goes_red_when_a_case_read_is_not_audited(
    world, make_staff, login_fully, monkeypatch
):  # fmt: skip
    """Remove the guard of B1 and B3 (no code path writes an audit row for a read or a refusal)
    and the matrix's check of the case page reports the owner's unaudited exposure and the
    other agency's unaudited refusal."""
    persona = make_persona("a:supervisor", world, make_staff, login_fully, None)
    route = next(
        r for r in matrix_routes() if r.key == "cases/<str:reference>/" and r.method == "GET"
    )
    own, other = world.objects["own"], world.objects["other"]
    baseline = _baseline(persona, route, world)
    assert check(route, persona, own, world, baseline) == []
    assert check(route, persona, other, world, baseline) == []

    # Every module of the app that imported the audit writers gets a writer that writes nothing.
    for module in [m for name, m in sys.modules.items() if name.startswith("lifeline.")]:
        for writer in ("audit_record", "audit_record_many", "audit_denied"):
            if hasattr(module, writer):
                monkeypatch.setattr(module, writer, lambda **kw: None)
    problems = check(route, persona, own, world, baseline)
    problems += check(route, persona, other, world, baseline)
    monkeypatch.undo()

    assert any("shows the case of own without an audit row" in p for p in problems), problems
    assert any("without an access-denied audit row" in p for p in problems), problems


# --- D5: CSRF on every state-changing browser route -----------------------------------------

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CSRF_REFUSAL = b"CSRF verification failed"
# Who sends the forged request: a persona allowed on the route (a role of agency A holding the
# capability, or the platform operator for the admin); public routes use A's supervisor.
CSRF_PERSONAS = [f"a:{r}" for r in A_ROLES] + ["sysadmin"]
CSRF_WATCHED_APPS = (*WATCHED_APPS, "accounts", "audit", "otp_totp")


def _csrf_fingerprint() -> str:
    digest = hashlib.sha256()
    for model in apps.get_models():
        if model._meta.app_label in CSRF_WATCHED_APPS:
            rows = list(model._default_manager.order_by("pk").values_list())
            digest.update(repr((model._meta.label, rows)).encode())
    return digest.hexdigest()


def _csrf_path(route: Any, values: dict[str, str]) -> str:
    """The own case's records for the matrix's routes (so the request is an allowed one); the
    URL walk's sample path for the others (admin, accounts)."""
    key = route.template
    if key in HTML_RULES:
        return MatrixRoute("html", key, "POST", route.capability, HTML_RULES[key]).path(values)
    return str(route.path)


@pytest.mark.slow
@pytest.mark.django_db
def test_every_state_changing_browser_route_refuses_a_missing_csrf_token(
    world, make_staff, login_fully, login_password_only
):  # fmt: skip
    """Every non-API route, every unsafe method, sent by a persona allowed on it from a client
    that enforces CSRF checks, without the token: 403, and no row changes. Control: the same
    POST with a token is not refused as forged (so the 403 is the CSRF check's)."""
    personas = {
        name: make_persona(name, world, make_staff, login_fully, login_password_only)
        for name in CSRF_PERSONAS
    }
    for persona in personas.values():
        # The same verified session, on a client that enforces CSRF like a browser would.
        forging = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
        forging.cookies = persona.client.cookies
        persona.client = forging
    values = world.objects["own"].path_values() | {"third_agency": str(world.agency_c.pk)}
    problems: list[str] = []
    routes = [r for r in iter_routes() if not r.template.startswith("api/")]
    checked = 0
    for route in routes:
        if route.is_public:
            persona = personas["a:supervisor"]
        elif route.capability == C.PLATFORM_ADMIN:
            persona = personas["sysadmin"]
        else:
            holders = [p for p in personas.values() if route.capability in p.capabilities]
            assert holders, f"no persona holds {route.capability}"
            persona = holders[0]
        client = persona.client
        path = _csrf_path(route, values)
        before = _csrf_fingerprint()
        for method in UNSAFE_METHODS:
            response = getattr(client, method.lower())(path, data={})
            checked += 1
            if response.status_code != 403 or CSRF_REFUSAL not in response.content:
                problems.append(
                    f"{method} {path} as {persona.name}: answered {response.status_code} "
                    "without a CSRF token"
                )
        if _csrf_fingerprint() != before:
            problems.append(f"{path} as {persona.name}: rows changed without a CSRF token")
        if "logout" in route.template:
            continue  # the control would end the persona's session
        control = _with_token(client, path)
        if control.status_code == 403 and CSRF_REFUSAL in control.content:
            problems.append(f"control POST {path} as {persona.name}: CSRF refusal with a token")
    AUDITED["D5 CSRF requests"] += checked
    print(f"CSRF: {len(routes)} routes, {checked} forged requests, {len(problems)} problems")
    assert not problems, "\n".join(problems)


def _with_token(client: Client, path: str) -> Any:
    """The same POST carrying a valid token, in a rolled-back transaction."""
    from django.conf import settings
    from django.middleware.csrf import _get_new_csrf_string

    secret = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    outcome: dict[str, Any] = {}
    try:
        with transaction.atomic():
            outcome["response"] = client.post(path, data={}, HTTP_X_CSRFTOKEN=secret)
            raise _Rollback
    except _Rollback:
        pass
    client.cookies.pop("messages", None)
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)  # i18n/setlang/ sets it
    return outcome["response"]
