"""URL conf. Every route is public (listed here with `public`) or declares a capability."""

from django.urls import include, path
from django.views.i18n import set_language

from lifeline.accounts.access import mark_patterns, public
from lifeline.accounts.admin import site as admin_site
from lifeline.accounts.policies import Capability
from lifeline.core.views import health

urlpatterns = [
    path("health", public(health), name="health"),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path(
        "admin/",
        (mark_patterns(admin_site.get_urls(), Capability.PLATFORM_ADMIN), "admin", "admin"),
    ),
    path("", include("lifeline.accounts.urls")),
]

handler404 = "lifeline.core.errors_views.not_found"
