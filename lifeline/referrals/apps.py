from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "lifeline.referrals"
    label = "referrals"
