"""Walk the URL conf: every route, its view, and a concrete path that reaches it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from lifeline.accounts.access import declared_access

_CONVERTER_SAMPLES = {"int": "1", "path": "1", "str": "x", "slug": "x"}
_UUID = "00000000-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class Route:
    template: str  # the joined patterns, for messages
    path: str  # a concrete URL that resolves to this route
    callback: Any
    name: str | None

    @property
    def is_public(self) -> bool:
        return declared_access(self.callback)[0]

    @property
    def capability(self) -> Any:
        return declared_access(self.callback)[1]


def _sample_route(route: str) -> str:
    def repl(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return _UUID if converter == "uuid" else _CONVERTER_SAMPLES.get(converter, "1")

    return re.sub(r"<(?:(\w+):)?\w+>", repl, route)


def _group_end(regex: str, start: int) -> int:
    depth = 0
    for i in range(start, len(regex)):
        if regex[i] == "\\":
            continue
        if regex[i] == "(" and (i == 0 or regex[i - 1] != "\\"):
            depth += 1
        elif regex[i] == ")" and regex[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced group in {regex!r}")


def _sample_regex(regex: str) -> str:
    """A path matching a simple URL regex: named groups get a sample, anchors go."""
    out = []
    i = 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            end = _group_end(regex, i)
            body = regex[regex.index(">", i) + 1 : end]
            first = body.split("|")[0]
            out.append(first if re.fullmatch(r"[\w\-]+", first) else "1")
            i = end + 1
            continue
        char = regex[i]
        if char not in "^$":
            out.append(char)
        i += 1
    return "".join(out).replace("\\", "")


def _sample(pattern: Any) -> str:
    if isinstance(pattern, RoutePattern):
        return _sample_route(str(pattern))
    if isinstance(pattern, RegexPattern):
        return _sample_regex(pattern.regex.pattern)
    return str(pattern)


def iter_routes(
    resolver: URLResolver | None = None, prefix: str = "", sample: str = "/"
) -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        template = prefix + str(entry.pattern)
        path = sample + _sample(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from iter_routes(entry, template, path)
        elif isinstance(entry, URLPattern):
            yield Route(template, path, entry.callback, entry.name)


def undeclared_routes(urlconf: str | None = None) -> list[str]:
    """Routes whose view is neither public nor declares a capability."""
    return [
        r.template
        for r in iter_routes(get_resolver(urlconf))
        if declared_access(r.callback) == (False, None)
    ]
