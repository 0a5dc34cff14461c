"""The public statistics API: frozen public releases of annual reports, no authentication.

Nothing here queries the records. A release is stored when someone holding report.export
publishes it, after the disclosure audit and the re-identification check; this API only reads
those stored copies (`releases.public_release_*`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from lifeline.accounts.api_auth import ErrorOut
from lifeline.core.errors import NotFound

from . import releases
from .models import PublicRelease

router = Router(tags=["public statistics"])


class ReleaseSummaryOut(Schema):
    id: int
    title: str
    year: int
    language: str
    agency: str
    published_at: datetime


class ReleaseOut(ReleaseSummaryOut):
    report: dict[str, Any]


class ReleaseFilter(Schema):
    year: int | None = Field(None, ge=2000, le=2999)


def _summary(release: PublicRelease) -> dict[str, Any]:
    return {
        "id": release.pk,
        "title": release.title,
        "year": release.year,
        "language": release.language,
        "agency": release.agency.name,
        "published_at": release.published_at,
    }


@router.get(
    "/public/releases",
    auth=None,
    response={200: list[ReleaseSummaryOut], 422: ErrorOut},
    summary="Public releases of annual reports (suppressed, audited; no login)",
)
def release_list(
    request: HttpRequest, filters: Query[ReleaseFilter]
) -> Status[list[dict[str, Any]]]:
    found = releases.public_release_list(year=filters.year)[:200]
    return Status(200, [_summary(r) for r in found])


@router.get(
    "/public/releases/{release_id}",
    auth=None,
    response={200: ReleaseOut, 404: ErrorOut, 422: ErrorOut},
    summary="One public release: the report's figures, units, periods, method and range",
)
def release_get(request: HttpRequest, release_id: int) -> Status[dict[str, Any]]:
    try:
        release = releases.public_release_get(release_id=release_id)
    except NotFound:
        return Status(404, {"detail": "Not Found"})
    return Status(200, {**_summary(release), "report": release.content})
