"""URL conf. Every route is public (marked here or on the view) or declares a capability;
the JSON API authenticates each operation itself (bearer token per API client)."""

from django.urls import include, path
from django.views.i18n import set_language

from lifeline.accounts.access import mark_api, mark_patterns, public
from lifeline.accounts.admin import site as admin_site
from lifeline.accounts.policies import Capability
from lifeline.core.views import health
from lifeline.intake.urls import public_urlpatterns as help_urlpatterns

from .api import api

urlpatterns = [
    path("health", public(health), name="health"),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("help/", include(help_urlpatterns)),
    path("api/", mark_api(api.urls)),
    path(
        "admin/",
        (mark_patterns(admin_site.get_urls(), Capability.PLATFORM_ADMIN), "admin", "admin"),
    ),
    path("intake/", include("lifeline.intake.urls")),
    path("people/", include("lifeline.people.urls")),
    path("screening/", include("lifeline.screening.urls")),
    path("cases/", include("lifeline.cases.urls")),
    path("referrals/", include("lifeline.referrals.urls")),
    path("reports/", include("lifeline.reports.urls")),
    path("", include("lifeline.accounts.urls")),
]

handler404 = "lifeline.core.errors_views.not_found"
