from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "lifeline.reports"
    label = "reports"

    def ready(self) -> None:
        from lifeline.core import periodic

        from . import snapshots

        periodic.register(
            "dashboard_snapshots", snapshots.refresh_seconds(), snapshots.dashboard_snapshots_job
        )
