from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LifelineLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("2fa/", views.otp_view, name="otp"),
    path("", views.home, name="home"),
    path("agency/members/", views.members, name="members"),
    path("agency/audit/", views.audit_log, name="audit"),
]
