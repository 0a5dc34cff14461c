from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "lifeline.people"
    label = "people"
    verbose_name = "People"

    def ready(self) -> None:
        from lifeline.core import demo_registry as registry

        from . import demo

        registry.register("person records", demo.load)
