"""E7: with DEBUG off, error pages show no stack trace, settings, SQL or survivor data, and
TRACE (which would echo the request, cookies included) is refused on every route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from .error_urls import CANARY

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.security.error_urls")]

# What a technical error page (Django's debug page, a traceback) would show.
LEAKS = [
    "Traceback",
    'File "',
    "SECRET_KEY",
    "DATABASES",
    "LIFELINE_FIELD_KEYS",
    "no_such_table",
    "SELECT",
    "Request Method",
    "site-packages",
    "RuntimeError",
    "OperationalError",
    "ProgrammingError",
    "SuspiciousOperation",
    "PermissionDenied",
]


def _secrets() -> list[str]:
    return [
        settings.SECRET_KEY,
        settings.LIFELINE_FIELD_KEYS.split(":", 1)[-1],
        settings.LIFELINE_BLIND_INDEX_KEY,
        str(settings.BASE_DIR) if hasattr(settings, "BASE_DIR") else "/work/",
    ]


def _assert_generic(body: str) -> None:
    for word in [*LEAKS, *_secrets(), CANARY, "CANARY-ERR", "Phantom"]:
        assert word not in body, word


@pytest.fixture
def anonymous() -> Client:
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/boom/", 500),
        ("/boom-sql/", 500),
        ("/bad/", 400),
        ("/denied/", 403),
        ("/missing/", 404),
        ("/no-such-route/", 404),
    ],
)
def test_error_page_is_generic(anonymous: Client, path: str, status: int) -> None:
    """The canary is in the exception (message, SQL) and in a header; neither reaches the page.

    (The page's language switcher carries the requested path back, HTML-escaped, as its `next`:
    the requester's own URL, so the canary is not put in the URL here; see the test below.)
    """
    assert settings.DEBUG is False
    response = anonymous.get(path, headers={"X-Canary": CANARY})
    assert response.status_code == status
    body = response.content.decode()
    assert body  # a page, not an empty answer
    _assert_generic(body)


def test_not_found_page_escapes_the_requested_path(anonymous: Client) -> None:
    response = anonymous.get("/no-such-route/<script>alert(1)</script>/", {"q": "<b>x</b>"})
    assert response.status_code == 404
    body = response.content.decode()
    assert "<script>alert" not in body
    assert "<b>x</b>" not in body
    _assert_generic(body)


def test_csrf_failure_page_is_generic() -> None:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    response = client.post("/login/", {"username": CANARY, "password": CANARY})
    assert response.status_code == 403
    _assert_generic(response.content.decode())


def _static_paths(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    """Every route of the URL conf without a parameter, as a path."""
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue
        route = str(entry.pattern)
        if "<" in route:
            continue
        if isinstance(entry, URLResolver):
            yield from _static_paths(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + route


def test_trace_is_refused_on_every_route_and_echoes_nothing(anonymous: Client) -> None:
    paths = [
        *sorted(set(_static_paths(get_resolver().url_patterns))),
        "/api/docs",
        "/api/openapi.json",
        "/static/lifeline.css",
        "/no-such-route/",
    ]
    assert len(paths) > 20  # the walk found the project's routes, not just the extras
    anonymous.cookies["sessionid"] = CANARY.replace(" ", "-")
    for method in ("TRACE", "TRACK"):
        for path in paths:
            response = anonymous.generic(
                method, path, data=CANARY, content_type="text/plain", headers={"X-Canary": CANARY}
            )
            assert response.status_code == 405, (method, path, response.status_code)
            assert "TRACE" not in response["Allow"]
            assert CANARY not in response.content.decode()
            assert "CANARY" not in str(response.headers)
            assert "Set-Cookie" not in response.headers
