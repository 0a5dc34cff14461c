"""The annual report from the dashboard (purpose, register, audit, encrypted file) and public
releases served by the public API (frozen, checked, no login)."""

from __future__ import annotations

import io
import json

import pytest
import pyzipper
from django.test import Client

from lifeline.accounts.models import Agency, Role
from lifeline.accounts.principal import principal_for
from lifeline.audit.models import AuditEvent
from lifeline.reports import releases, selectors, stats
from lifeline.reports.exports import report_csv, report_dict
from lifeline.reports.models import PublicRelease, ReportExport
from lifeline.reports.reidentification import ReidentificationError
from lifeline.reports.tests.fixture import CANARY_NAME, CANARY_REFERENCE, World, build

pytestmark = pytest.mark.django_db
PURPOSE = "Quarterly briefing for the provincial committee on trafficking"
PASSPHRASE = "a long synthetic passphrase"


@pytest.fixture
def world(agency_a: Agency, agency_b: Agency) -> World:
    return build(agency_a, agency_b)


def unzip(content: bytes) -> tuple[str, bytes]:
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        archive.setpassword(PASSPHRASE.encode())
        (name,) = archive.namelist()
        return name, archive.read(name)


def expected_report(user, *, public: bool, language: str = "en"):  # type: ignore[no-untyped-def]
    scope = selectors.statistics_scope(actor=principal_for(user), period=stats.year_period(2022))
    return stats.build_report(scope, year=2022, language=language, public=public)


def download(client: Client, **fields: str):  # type: ignore[no-untyped-def]
    data = {"year": "2022", "format": "csv", "language": "en", "purpose": PURPOSE}
    data.update(fields)
    data.setdefault("passphrase", PASSPHRASE)
    return client.post("/reports/download/", data)


def test_the_downloaded_report_is_encrypted_registered_and_audited(
    world: World, analyst, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    assert client.get("/reports/download/").status_code == 200
    response = download(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert b"Cases opened" not in response.content  # encrypted, not merely zipped
    name, data = unzip(response.content)
    assert name == "lifeline-annual-2022-internal-en.csv"
    text = data.decode()
    # The same numbers as the report built directly (the CLI's and the dashboard's selectors).
    assert (
        text.splitlines()[1:] == report_csv(expected_report(analyst, public=False)).splitlines()[1:]
    )
    assert CANARY_NAME not in text and CANARY_REFERENCE not in text
    entry = ReportExport.objects.get()
    assert (entry.purpose, entry.format, entry.public, entry.exported_by_id) == (
        PURPOSE, "csv", False, analyst.pk,
    )  # fmt: skip
    event = AuditEvent.objects.get(action=releases.AUDIT_REPORT_EXPORTED)
    assert (event.actor_id, event.target_id) == (analyst.pk, str(entry.pk))
    assert event.metadata == {"year": 2022, "format": "csv", "language": "en", "public": False}


@pytest.mark.parametrize("fmt", ["pdf", "json", "xlsx"])
def test_every_format_leaves_encrypted(
    fmt: str, world: World, analyst, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    response = download(client, format=fmt, public="on", language="km")
    assert response.status_code == 200, response.content[:500]
    name, data = unzip(response.content)
    assert name == f"lifeline-annual-2022-public-km.{fmt}"
    magic = {"pdf": b"%PDF", "json": b"{", "xlsx": b"PK"}[fmt]
    assert data.startswith(magic)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"purpose": "stats"}, "purpose"),
        ({"passphrase": "short"}, "passphrase"),
        ({"format": "docx"}, "format"),
        ({"language": "fr"}, "language"),
        ({"year": "1999"}, "year"),
    ],
)
def test_a_bad_request_says_why_and_nothing_leaves(
    fields: dict[str, str], field: str, world: World, analyst, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    response = download(client, **fields)
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    assert 'class="error"' in response.content.decode()
    assert not ReportExport.objects.exists()
    assert not AuditEvent.objects.filter(action=releases.AUDIT_REPORT_EXPORTED).exists()


@pytest.mark.parametrize("role", [Role.CASE_WORKER, Role.DATA_PROTECTION_OFFICER])
def test_staff_without_report_export_get_not_found(
    role: str, world: World, make_staff, agency_a: Agency, client: Client, login_fully
) -> None:
    login_fully(client, make_staff(f"noexport.{role}", role, agency_a))
    assert download(client).status_code == 404
    assert client.post("/reports/publish/", {"year": "2022", "language": "en"}).status_code == 404
    assert not ReportExport.objects.exists() and not PublicRelease.objects.exists()


def test_a_published_release_is_served_frozen_to_anyone(
    world: World, analyst, client: Client, login_fully
) -> None:
    login_fully(client, analyst)
    data = {"year": "2022", "language": "en", "purpose": PURPOSE}
    assert client.post("/reports/publish/", data).status_code == 302
    release = PublicRelease.objects.get()
    expected = json.loads(json.dumps(report_dict(expected_report(analyst, public=True))))
    assert {**release.content, "generated_at": ""} == {**expected, "generated_at": ""}
    anonymous = Client()
    listed = anonymous.get("/api/v1/public/releases?year=2022").json()
    assert [(r["id"], r["year"], r["language"]) for r in listed] == [(release.pk, 2022, "en")]
    assert anonymous.get("/api/v1/public/releases?year=2021").json() == []
    body = anonymous.get(f"/api/v1/public/releases/{release.pk}")
    assert body.status_code == 200
    report = body.json()["report"]
    assert report["public"] is True and report["suppression_threshold"] == 11
    # No shown count in any table is below 11.
    for figure in report["figures"]:
        for row in figure["cells"]:
            assert all(v is None or v == 0 or v >= 11 for v in row), figure["key"]
    assert CANARY_NAME not in body.content.decode()
    assert anonymous.get("/api/v1/public/releases/999999").status_code == 404
    event = AuditEvent.objects.get(action=releases.AUDIT_REPORT_PUBLISHED)
    assert (event.actor_id, event.target_id) == (analyst.pk, str(release.pk))


def test_a_release_that_fails_the_reidentification_check_is_not_stored(
    world: World, analyst, client: Client, login_fully, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(report: object) -> None:
        raise ReidentificationError(["destination: a unique combination"])

    monkeypatch.setattr(releases, "assert_report_releasable", refuse)
    login_fully(client, analyst)
    response = client.post(
        "/reports/publish/", {"year": "2022", "language": "en", "purpose": PURPOSE}
    )
    assert response.status_code == 422
    assert "cannot be made public" in response.content.decode()
    public = download(client, public="on")
    assert public.status_code == 422
    assert not PublicRelease.objects.exists() and not ReportExport.objects.exists()
