from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "lifeline.screening"
    label = "screening"
    verbose_name = "Screening"

    def ready(self) -> None:
        from lifeline.core import demo_registry as registry

        from . import demo

        registry.register("screenings", demo.load)
