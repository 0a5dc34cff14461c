from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/move/", views.case_move, name="move"),
    path("<str:reference>/record/<str:kind>/", views.case_record, name="record"),
    path("<str:reference>/authority/", views.authority_send, name="authority"),
    path(
        "<str:reference>/authority/<int:request_id>/",
        views.authority_update,
        name="authority_update",
    ),
    path("<str:reference>/persons/", views.person_add, name="person_add"),
    path("<str:reference>/tasks/", views.task_add, name="task_add"),
    path("<str:reference>/tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("<str:reference>/consent/", views.consent_add, name="consent_add"),
    path(
        "<str:reference>/consent/<int:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    path("<str:reference>/override/", views.override_add, name="override"),
    path("<str:reference>/plans/<int:plan_id>/approve/", views.plan_approve, name="plan_approve"),
]
