"""The real URL conf plus one view that forgot to declare its access (deny-by-default tests)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as real_urlpatterns

SERVED = []


def forgotten_view(request: HttpRequest) -> HttpResponse:
    SERVED.append(request.path)
    return HttpResponse("SECRET-SHOULD-NEVER-BE-SERVED")


urlpatterns = [path("forgotten/", forgotten_view, name="forgotten"), *real_urlpatterns]

handler404 = "lifeline.core.errors_views.not_found"
