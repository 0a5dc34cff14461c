from django.urls import path

from . import export_views, views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("download/", export_views.report_download, name="report_download"),
    path("publish/", export_views.report_publish, name="report_publish"),
    path("exports/", export_views.export_list, name="export_list"),
    path("exports/new/", export_views.export_new, name="export_new"),
    path("exports/<int:export_id>/", export_views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/decide/", export_views.export_decide, name="export_decide"),
    path("exports/<int:export_id>/download/", export_views.export_download, name="export_download"),
]
