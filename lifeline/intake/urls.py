from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.log_call, name="log_call"),
    path("r/<str:reference>/", views.detail, name="detail"),
    path("r/<str:reference>/<str:action>/", views.act, name="act"),
]

public_urlpatterns = [
    path("", views.help_form, name="help"),
    path("status/", views.help_status, name="help_status"),
]
