from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lifeline.core"
    label = "core"
    verbose_name = "Lifeline core"

    def ready(self) -> None:
        from . import periodic, tasks_reclaim

        # Tasks claimed by a worker that was then killed would otherwise stay RUNNING forever.
        periodic.register("tasks_reclaim", 60.0, tasks_reclaim.tasks_reclaim_job)
