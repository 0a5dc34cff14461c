"""Screens for the dedup review queue: pending pairs, one pair side by side, confirm or reject."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lifeline.accounts.access import requires
from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import request_principal
from lifeline.core.errors import Conflict, NotFound, ValidationFailed

from . import scoring, selectors, services
from .models import PersonRecord

STATUS_LABELS = {
    scoring.AGREE: gettext_lazy("agree"),
    scoring.PARTIAL: gettext_lazy("partly agree"),
    scoring.DISAGREE: gettext_lazy("disagree"),
    scoring.MISSING: gettext_lazy("missing"),
}

# Every level label the model can report, so reviewers read them in their language.
LEVEL_LABELS = {
    "name missing": gettext_lazy("name missing"),
    "same name under romanisation table (any order)": gettext_lazy(
        "same name under romanisation table (any order)"
    ),
    "same Khmer script, cross-script key or joined spelling": gettext_lazy(
        "same Khmer script, cross-script key or joined spelling"
    ),
    "same consonant skeleton": gettext_lazy("same consonant skeleton"),
    "Jaro-Winkler >= 0.9": gettext_lazy("very similar spelling"),
    "Jaro-Winkler >= 0.8": gettext_lazy("similar spelling"),
    "one name token shared, others differ": gettext_lazy("one name part shared, others differ"),
    "different names": gettext_lazy("different names"),
    "dob missing": gettext_lazy("date of birth missing"),
    "exact date": gettext_lazy("exact date"),
    "day and month transposed": gettext_lazy("day and month swapped"),
    "same year and month, day unknown": gettext_lazy("same year and month, day unknown"),
    "same year, one date year-only": gettext_lazy("same year, one date year only"),
    "same year, dates conflict": gettext_lazy("same year, dates conflict"),
    "years within 2": gettext_lazy("years within 2"),
    "different birth years": gettext_lazy("different birth years"),
    "sex missing": gettext_lazy("sex missing"),
    "same sex": gettext_lazy("same sex"),
    "different sex": gettext_lazy("different sex"),
    "phone missing": gettext_lazy("phone missing"),
    "same phone, names alike": gettext_lazy("same phone, names alike"),
    "same phone, names differ (family phone?)": gettext_lazy(
        "same phone, names differ (family phone?)"
    ),
    "different phone": gettext_lazy("different phone"),
    "id missing": gettext_lazy("ID missing"),
    "same id": gettext_lazy("same ID"),
    "id one edit apart": gettext_lazy("ID one character apart"),
    "ids of different kinds": gettext_lazy("IDs of different kinds"),
    "different id": gettext_lazy("different ID"),
    "province missing": gettext_lazy("province missing"),
    "same province": gettext_lazy("same province"),
    "different province": gettext_lazy("different province"),
    "destination missing": gettext_lazy("destination missing"),
    "same destination": gettext_lazy("same destination"),
    "different destination": gettext_lazy("different destination"),
    "agency missing": gettext_lazy("agency missing"),
    "same agency": gettext_lazy("same agency"),
    "different agency": gettext_lazy("different agency"),
}


def _rows(a: PersonRecord, b: PersonRecord, evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per field: both values and, where the model compared it, its evidence."""

    def dob(r: PersonRecord) -> str:
        return r.date_of_birth + (" ~" if r.age_estimated else "")

    fields: list[tuple[Any, str, Any, Any]] = [
        (gettext_lazy("Name (Latin)"), "name", a.name_latin, b.name_latin),
        (gettext_lazy("Name (Khmer)"), "", a.name_khmer, b.name_khmer),
        (gettext_lazy("Other names"), "", a.aliases, b.aliases),
        (gettext_lazy("Date of birth"), "dob", dob(a), dob(b)),
        (gettext_lazy("Sex"), "sex", a.get_sex_display(), b.get_sex_display()),
        (gettext_lazy("Phone"), "phone", a.phone, b.phone),
        (gettext_lazy("ID or passport number"), "id_number", a.id_number, b.id_number),
        (gettext_lazy("Province of origin"), "province", a.province, b.province),
        (
            gettext_lazy("Destination country"),
            "destination",
            a.destination_country,
            b.destination_country,
        ),
        (gettext_lazy("Agency"), "agency", a.agency.name, b.agency.name),
    ]
    rows = []
    for label, key, left, right in fields:
        item = evidence.get(key) or {}
        level = item.get("level", "")
        rows.append(
            {
                "label": label,
                "left": left,
                "right": right,
                "status": item.get("status", ""),
                "status_label": STATUS_LABELS.get(item.get("status", ""), ""),
                "level": LEVEL_LABELS.get(level, level),
                "weight": item.get("weight"),
            }
        )
    return rows


@requires(Capability.DEDUP_REVIEW)
def review_list(request: HttpRequest) -> HttpResponse:
    """Pending pairs with a record of the reviewer's agency, least certain first."""
    actor = request_principal(request)
    pairs = selectors.review_queue(principal=actor)
    return render(request, "people/review_list.html", {"pairs": pairs})


@requires(Capability.DEDUP_REVIEW)
def review_pair(request: HttpRequest, pair_id: int) -> HttpResponse:
    actor = request_principal(request)
    try:
        pair = selectors.review_pair_get(principal=actor, pair_id=pair_id)
    except NotFound:
        raise Http404 from None
    context = {
        "pair": pair,
        "clusters": selectors.review_pair_clusters(pair=pair),
        "rows": _rows(pair.record_a, pair.record_b, pair.evidence or {}),
        "errors": {},
        "reason": "",
    }
    return render(request, "people/review_pair.html", context)


@requires(Capability.DEDUP_REVIEW)
@require_POST
def review_decide(request: HttpRequest, pair_id: int) -> HttpResponse:
    actor = request_principal(request)
    decision = request.POST.get("decision", "")
    if decision not in ("confirm", "reject"):
        raise Http404
    reason = request.POST.get("reason", "")
    try:
        services.review_decide(
            principal=actor, pair_id=pair_id, confirm=decision == "confirm", reason=reason
        )
    except NotFound:
        raise Http404 from None
    except Conflict:
        messages.error(request, _("Someone already decided this pair."))
        return redirect("people:review_list")
    except ValidationFailed as exc:
        pair = selectors.review_pair_get(principal=actor, pair_id=pair_id)
        context = {
            "pair": pair,
            "rows": _rows(pair.record_a, pair.record_b, pair.evidence or {}),
            "errors": exc.errors,
            "reason": reason,
        }
        return render(request, "people/review_pair.html", context, status=422)
    if decision == "confirm":
        messages.success(request, _("Recorded: the same person."))
    else:
        messages.success(request, _("Recorded: not the same person."))
    return redirect("people:review_list")


def _cluster_page(
    request: HttpRequest, cluster_id: int, *, errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    actor = request_principal(request)
    try:
        cluster, records = selectors.cluster_get(principal=actor, cluster_id=cluster_id)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "people/cluster.html",
        {"cluster": cluster, "records": records, "errors": errors or {}},
        status=status,
    )


@requires(Capability.DEDUP_REVIEW)
def cluster_detail(request: HttpRequest, cluster_id: int) -> HttpResponse:
    """One person as linkage sees them: every record, with merge and split."""
    return _cluster_page(request, cluster_id)


@requires(Capability.DEDUP_REVIEW)
@require_POST
def cluster_change(request: HttpRequest, cluster_id: int, action: str) -> HttpResponse:
    actor = request_principal(request)
    reason = request.POST.get("reason", "")
    try:
        if action == "split":
            ids = [int(v) for v in request.POST.getlist("record_ids") if v.isdigit()]
            new = services.cluster_split(
                principal=actor, cluster_id=cluster_id, record_ids=ids, reason=reason
            )
            return redirect("people:cluster", cluster_id=new.pk)
        if action == "merge":
            other = request.POST.get("other_cluster", "")
            if not other.isdigit():
                raise ValidationFailed({"other_cluster": [_("Enter the number of the person.")]})
            kept = services.cluster_merge(
                principal=actor, cluster_a_id=cluster_id, cluster_b_id=int(other), reason=reason
            )
            return redirect("people:cluster", cluster_id=kept.pk)
    except NotFound:
        raise Http404 from None
    except ValidationFailed as exc:
        return _cluster_page(request, cluster_id, errors=exc.errors, status=422)
    raise Http404
