"""Exports in the browser. Record exports: ask (with a purpose), approve as a second person,
download encrypted. The annual report: download encrypted, or publish its public version. The
rules live in `record_exports` and `releases`; these views only translate them to pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lifeline.accounts.access import requires
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import request_principal
from lifeline.core import clock
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import policies, record_exports, releases
from .disclosure import DisclosureError
from .models import ExportShape, ExportStatus, ReportFormat, export_two_person_threshold
from .reidentification import ReidentificationError


def _list_page(
    request: HttpRequest, *, form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None, status: int = 200,
) -> HttpResponse:  # fmt: skip
    actor = request_principal(request)
    try:
        exports = list(record_exports.record_export_list(actor=actor)[:100])
    except NotFound:
        raise Http404 from None
    context = {
        "exports": exports,
        "can_request": policies.can_request_record_export(actor),
        "shapes": ExportShape.choices,
        "threshold": export_two_person_threshold(),
        "form": form or {"shape": ExportShape.HTCDS, "year": str(clock.now().year)},
        "errors": errors or {},
    }
    return render(request, "reports/exports.html", context, status=status)


@requires(Capability.RECORD_EXPORT_APPROVE)
def export_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@requires(Capability.RECORD_EXPORT)
@require_POST
def export_new(request: HttpRequest) -> HttpResponse:
    actor = request_principal(request)
    form = {k: request.POST.get(k, "") for k in ("shape", "year", "purpose")}
    year = _year(form)
    try:
        export = record_exports.record_export_request(
            actor=actor, shape=form["shape"], year=year, purpose=form["purpose"]
        )
    except NotFound:
        raise Http404 from None
    except ValidationFailed as exc:
        return _list_page(request, form=form, errors=exc.errors, status=422)
    if export.needs_approval:
        messages.info(request, _("Asked. A second person of your agency must approve it."))
    else:
        messages.success(request, _("Ready to download."))
    return redirect("reports:export_detail", export_id=export.pk)


def _detail_page(
    request: HttpRequest, export_id: int, *, errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    actor = request_principal(request)
    try:
        export = record_exports.record_export_get(actor=actor, export_id=export_id)
    except NotFound:
        raise Http404 from None
    mine = export.requested_by_id == actor.user_id
    context: dict[str, Any] = {
        "export": export,
        "mine": mine,
        "can_decide": (
            export.status == ExportStatus.PENDING
            and not mine
            and policies.can_approve_record_export(actor)
        ),
        "can_download": (
            export.status == ExportStatus.APPROVED
            and mine
            and policies.can_request_record_export(actor)
        ),
        "deadline": record_exports.download_deadline(export),
        "errors": errors or {},
    }
    return render(request, "reports/export_detail.html", context, status=status)


@requires(Capability.RECORD_EXPORT_APPROVE)
def export_detail(request: HttpRequest, export_id: int) -> HttpResponse:
    return _detail_page(request, export_id)


@requires(Capability.RECORD_EXPORT_APPROVE)
@require_POST
def export_decide(request: HttpRequest, export_id: int) -> HttpResponse:
    actor = request_principal(request)
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "reject"):
        raise Http404
    try:
        record_exports.record_export_decide(
            actor=actor,
            export_id=export_id,
            approve=decision == "approve",
            note=request.POST.get("note", ""),
        )
    except NotFound:
        raise Http404 from None
    except record_exports.SelfApproval:
        errors = {"decision": [_("You asked for this export: a second person must approve it.")]}
        return _detail_page(request, export_id, errors=errors, status=403)
    except Conflict:
        messages.error(request, _("Someone already decided this export."))
        return redirect("reports:export_detail", export_id=export_id)
    if decision == "approve":
        messages.success(request, _("Approved. The person who asked can now download it."))
    else:
        messages.success(request, _("Rejected."))
    return redirect("reports:export_detail", export_id=export_id)


@requires(Capability.RECORD_EXPORT)
@require_POST
def export_download(request: HttpRequest, export_id: int) -> HttpResponse:
    actor = request_principal(request)
    try:
        exported = record_exports.record_export_download(
            actor=actor, export_id=export_id, passphrase=request.POST.get("passphrase", "")
        )
    except NotFound:
        raise Http404 from None
    except ValidationFailed as exc:
        return _detail_page(request, export_id, errors=exc.errors, status=422)
    except Conflict:
        messages.error(request, _("This export cannot be downloaded now."))
        return redirect("reports:export_detail", export_id=export_id)
    response = HttpResponse(exported.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _report_page(
    request: HttpRequest, *, form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None, status: int = 200,
) -> HttpResponse:  # fmt: skip
    actor = request_principal(request)
    if actor.agency is None:
        raise Http404
    context = {
        "form": form or {"year": str(clock.now().year), "format": "pdf", "language": "en"},
        "formats": ReportFormat.choices,
        "errors": errors or {},
        "releases": releases.public_release_list().filter(agency=actor.agency)[:20],
    }
    return render(request, "reports/report_download.html", context, status=status)


def _year(form: dict[str, str]) -> int:
    """The form's year; 0 (refused by the service, naming the field) when it is not a number."""
    return int(form["year"]) if form["year"].isdigit() else 0


def _form(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in names}


def _refused_publication(exc: Exception) -> dict[str, list[str]]:
    detail = str(exc)[:500]
    message = _("This report cannot be made public: a table would show or reveal a small count.")
    return {"public": [message, detail]}


@requires(Capability.REPORT_EXPORT)
def report_download(request: HttpRequest) -> HttpResponse:
    """GET: the forms to download the annual report or publish its public version. POST: the
    encrypted file."""
    if request.method != "POST":
        return _report_page(request)
    actor = request_principal(request)
    form = _form(request, "year", "format", "language", "public", "purpose")
    try:
        exported = releases.report_export(
            actor=actor,
            year=_year(form),
            fmt=form["format"],
            language=form["language"],
            public=form["public"] == "on",
            purpose=form["purpose"],
            passphrase=request.POST.get("passphrase", ""),
        )
    except NotFound:
        raise Http404 from None
    except ValidationFailed as exc:
        return _report_page(request, form=form, errors=exc.errors, status=422)
    except (DisclosureError, ReidentificationError) as exc:
        return _report_page(request, form=form, errors=_refused_publication(exc), status=422)
    response = HttpResponse(exported.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@requires(Capability.REPORT_EXPORT)
@require_POST
def report_publish(request: HttpRequest) -> HttpResponse:
    actor = request_principal(request)
    form = _form(request, "year", "language", "purpose")
    try:
        release = releases.public_release_publish(
            actor=actor,
            year=_year(form),
            language=form["language"],
            purpose=form["purpose"],
        )
    except NotFound:
        raise Http404 from None
    except ValidationFailed as exc:
        return _report_page(request, form=form, errors=exc.errors, status=422)
    except (DisclosureError, ReidentificationError) as exc:
        return _report_page(request, form=form, errors=_refused_publication(exc), status=422)
    messages.success(
        request,
        _("Published. Anyone can read it at %(url)s.")
        % {"url": f"/api/v1/public/releases/{release.pk}"},
    )
    return redirect("reports:report_download")
