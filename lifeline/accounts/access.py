"""Declaring what each view needs. The middleware enforces it; undeclared views answer 404."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .policies import Capability

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC_ATTR = "lifeline_public"
CAPABILITY_ATTR = "lifeline_capability"


def requires(capability: Capability) -> Callable[[F], F]:
    """Mark a view as needing `capability` (and a verified second factor)."""

    def mark(view: F) -> F:
        setattr(view, CAPABILITY_ATTR, capability)
        return view

    return mark


def public(view: F) -> F:
    """Mark a view as reachable without logging in. Keep this list short and reviewed."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def declared_access(view: Any) -> tuple[bool, Capability | None]:
    """(is_public, capability) for a resolved view callable, looking through CBV wrappers."""
    for candidate in (view, getattr(view, "view_class", None), getattr(view, "cls", None)):
        if candidate is None:
            continue
        if getattr(candidate, PUBLIC_ATTR, False) or getattr(candidate, "lifeline_api", False):
            return True, None
        capability = getattr(candidate, CAPABILITY_ATTR, None)
        if capability is not None:
            return False, capability
    return False, None


def mark_patterns(patterns: Any, capability: Capability) -> Any:
    """Declare `capability` on every view under an included URL conf (e.g. the admin site)."""
    from django.urls import URLPattern, URLResolver

    for entry in patterns:
        if isinstance(entry, URLResolver):
            mark_patterns(entry.url_patterns, capability)
        elif isinstance(entry, URLPattern) and not declared_access(entry.callback)[0]:
            entry.callback = _declared(entry.callback, capability)
    return patterns


def _declared(view: Any, capability: Capability | None) -> Any:
    # Bound methods (the admin's views) cannot carry attributes; wrap them in a function.
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    if capability is not None:
        setattr(wrapper, CAPABILITY_ATTR, capability)
    return wrapper


API_ATTR = "lifeline_api"


def mark_api(urls: Any) -> Any:
    """The JSON API's routes: the middleware lets them through, and each API operation
    authenticates (bearer token) itself. The route-inventory test checks every operation."""
    from django.urls import URLPattern, URLResolver

    def walk(patterns: Any) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns)
            elif isinstance(entry, URLPattern):
                wrapped = _declared(entry.callback, None)
                setattr(wrapped, API_ATTR, True)
                entry.callback = wrapped

    walk(urls[0])
    return urls
