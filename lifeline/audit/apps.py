from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lifeline.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from lifeline.core import periodic
        from lifeline.core.views import HEALTH_CHECKS

        from . import services

        periodic.register(
            services.LINKER_JOB, services.LINKER_EVERY_SECONDS, services.audit_link_job
        )
        HEALTH_CHECKS["audit_linker"] = services.linker_check
