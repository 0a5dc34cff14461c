"""The JSON API: one NinjaAPI, routers from each app. OpenAPI at /api/openapi.json, docs at
/api/docs (served from local static files, no CDN)."""

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from lifeline.cases.api import router as cases_router
from lifeline.core.errors import Conflict, NotFound, ValidationFailed
from lifeline.intake.api import router as intake_router
from lifeline.people.api import router as people_router
from lifeline.referrals.api import router as referrals_router
from lifeline.reports.api import router as reports_router
from lifeline.screening.api import router as screening_router

api = NinjaAPI(
    title="Lifeline API",
    version="1",
    description="Help requests from partners and channel gateways. Bearer token per API client.",
    urls_namespace="api",
)
api.add_router("/v1", intake_router)
api.add_router("/v1", people_router)
api.add_router("/v1", screening_router)
api.add_router("/v1", cases_router)
api.add_router("/v1", referrals_router)
api.add_router("/v1", reports_router)


@api.exception_handler(NotFound)
def not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    # Missing, and not allowed to know it exists, answer the same.
    return api.create_response(request, {"detail": "Not Found"}, status=404)


@api.exception_handler(ValidationFailed)
def validation_failed(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    detail = [
        {"loc": ["body", field], "msg": msg} for field, msgs in exc.errors.items() for msg in msgs
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(Conflict)
def conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(DatabaseError)
def database_unavailable(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    # The database is down or refused the write: nothing was acknowledged, so the client must
    # retry with the same Idempotency-Key. Never a 201 here.
    return api.create_response(
        request, {"detail": "temporarily unavailable; retry with the same key"}, status=503
    )
