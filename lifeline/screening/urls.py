from django.urls import path

from . import views

app_name = "screening"

urlpatterns = [
    path("start/<int:person_id>/", views.start, name="start"),
    path("<int:interview_id>/", views.interview, name="interview"),
    path("<int:interview_id>/summary/", views.summary, name="summary"),
    path("<int:interview_id>/override/", views.override, name="override"),
    path("person/<int:person_id>/determinations/", views.determinations, name="determinations"),
    path(
        "person/<int:person_id>/determinations/new/",
        views.determination_new,
        name="determination_new",
    ),
]
