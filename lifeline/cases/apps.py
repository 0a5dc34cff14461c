from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "lifeline.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from lifeline.core import demo_registry, periodic

        from . import demo, services

        periodic.register("authority_deadlines", 15.0, services.authority_sweep_job)
        demo_registry.register("cases", demo.load)
