"""Apps above the foundation add their demo data here (help requests, cases...)."""

from __future__ import annotations

from collections.abc import Callable

DEMO_STEPS: list[tuple[str, Callable[[], str]]] = []


def register(name: str, step: Callable[[], str]) -> None:
    """`step` loads its data idempotently and returns a one-line summary."""
    if name not in [n for n, _ in DEMO_STEPS]:
        DEMO_STEPS.append((name, step))
