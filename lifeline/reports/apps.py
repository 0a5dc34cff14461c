from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "lifeline.reports"
    label = "reports"
