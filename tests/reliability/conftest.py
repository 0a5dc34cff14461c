"""Fixtures for the reliability tests: they run real servers against real PostgreSQL, so they
skip cleanly unless DATABASE_URL points at PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Site, postgres_url, scratch_database, site_prepare


@pytest.fixture
def pg_server_url() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgresql://…")
    return url


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lifeline-rel-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def crash_site(pg_server_url: str, workdir: Path) -> Iterator[Site]:
    """A fresh, migrated database (lifeline_intake_crash_<random>, dropped afterwards)."""
    with scratch_database(pg_server_url, "lifeline_intake_crash") as url:
        yield site_prepare(url, workdir)
