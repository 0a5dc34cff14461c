from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "lifeline.intake"
    label = "intake"
    verbose_name = "Help requests"

    def ready(self) -> None:
        from lifeline.core import demo_registry as registry
        from lifeline.core import periodic
        from lifeline.core.views import HEALTH_CHECKS

        from . import demo, health, services

        periodic.register("sweeper", 10.0, services.sweep_job)
        periodic.register("outbox", 2.0, services.outbox_job)
        HEALTH_CHECKS["sweeper"] = health.sweeper_check
        registry.register("help requests", demo.load)
