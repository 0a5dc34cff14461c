"""Synthetic agencies, staff and authenticators. No real people, places or phone numbers."""

from __future__ import annotations

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from lifeline.accounts.models import Agency, AgencyKind, Membership, Role, User

# One password for every test user: 20 characters, not on the common-password list.
PASSWORD = "synthetic-Test-pass-7391"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Test Agency {n} (synthetic)")
    code = factory.Sequence(lambda n: f"test-agency-{n}")
    kind = AgencyKind.NGO
    country = "KH"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}.synthetic")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    password = factory.django.Password(PASSWORD)
    preferred_language = "en"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SubFactory(AgencyFactory)
    role = Role.CASE_WORKER


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "authenticator"
    confirmed = True
