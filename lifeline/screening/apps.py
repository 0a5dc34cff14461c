from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "lifeline.screening"
    label = "screening"
