from django.urls import path

from . import views

app_name = "people"

urlpatterns = [
    path("review/", views.review_list, name="review_list"),
    path("review/<int:pair_id>/", views.review_pair, name="review_pair"),
    path("review/<int:pair_id>/decide/", views.review_decide, name="review_decide"),
    path("clusters/<int:cluster_id>/", views.cluster_detail, name="cluster"),
    path("clusters/<int:cluster_id>/<str:action>/", views.cluster_change, name="cluster_change"),
]
