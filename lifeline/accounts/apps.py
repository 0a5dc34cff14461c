from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lifeline.accounts"
    label = "accounts"
    verbose_name = "Agencies and users"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects login/logout audit receivers)
