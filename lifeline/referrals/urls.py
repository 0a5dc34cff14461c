from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("send/<str:reference>/", views.send, name="send"),
    path("<int:referral_id>/", views.detail, name="detail"),
    path("<int:referral_id>/accept/", views.accept, name="accept"),
    path("<int:referral_id>/decline/", views.decline, name="decline"),
    path("<int:referral_id>/revoke/", views.revoke, name="revoke"),
]
