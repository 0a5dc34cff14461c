"""A synthetic scenario shaped like the 2022 reports: a hotline, NGOs, an embassy in Bangkok, the
consular department and the national committee, with staff in every role.

Everything here is invented. Names of agencies carry "(demo)"; people's names are made up from
common Khmer name parts and match no real person on purpose.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from lifeline.accounts import services as account_services
from lifeline.accounts.models import Agency, AgencyKind, Role, User
from lifeline.accounts.otp import totp_key_b32
from lifeline.audit.services import SystemActor

ACTOR = SystemActor("demo")

AGENCIES = [
    # code, name, kind, country
    ("hotline", "Lifeline Hotline 1288 (demo)", AgencyKind.HOTLINE, "KH"),
    ("ngo-mekong", "Mekong Safe Return (demo NGO)", AgencyKind.NGO, "KH"),
    ("ngo-tonle", "Tonle Sap Family Support (demo NGO)", AgencyKind.NGO, "KH"),
    ("embassy-bkk", "Embassy of Cambodia in Bangkok (demo)", AgencyKind.EMBASSY, "TH"),
    (
        "mfaic-consular",
        "Consular Department, Ministry of Foreign Affairs (demo)",
        AgencyKind.MINISTRY,
        "KH",
    ),
    ("ncct", "National Committee for Counter Trafficking (demo)", AgencyKind.MINISTRY, "KH"),
]

# Which roles each agency's demo staff hold: every role appears somewhere.
STAFF: dict[str, list[str]] = {
    "hotline": [Role.INTAKE_OFFICER, Role.SUPERVISOR, Role.AGENCY_ADMIN],
    "ngo-mekong": [
        Role.INTAKE_OFFICER,
        Role.CASE_WORKER,
        Role.SUPERVISOR,
        Role.LIAISON_OFFICER,
        Role.DATA_PROTECTION_OFFICER,
        Role.ANALYST,
        Role.AGENCY_ADMIN,
    ],
    "ngo-tonle": [Role.CASE_WORKER, Role.SUPERVISOR],
    "embassy-bkk": [Role.LIAISON_OFFICER, Role.SUPERVISOR],
    "mfaic-consular": [Role.LIAISON_OFFICER, Role.SUPERVISOR, Role.ANALYST],
    "ncct": [Role.SUPERVISOR, Role.ANALYST, Role.DATA_PROTECTION_OFFICER],
}

ROLE_SHORT = {
    Role.INTAKE_OFFICER: "intake",
    Role.CASE_WORKER: "caseworker",
    Role.SUPERVISOR: "supervisor",
    Role.LIAISON_OFFICER: "liaison",
    Role.DATA_PROTECTION_OFFICER: "dpo",
    Role.ANALYST: "analyst",
    Role.AGENCY_ADMIN: "admin",
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    agency: str
    role: str
    totp_secret_b32: str


def _credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.json"


def demo_password() -> str:
    """One random password for all demo users, made once per machine and kept under var/."""
    path = _credentials_file()
    if path.exists():
        return str(json.loads(path.read_text())["password"])
    path.parent.mkdir(parents=True, exist_ok=True)
    # Digits only after the prefix: random letters can make the password "too similar" to a
    # demo username (Django's validator), which made `lifeline demo` fail about 1 run in 600,
    # and then on every later run, since this file is kept.
    password = "demo-" + "-".join(f"{secrets.randbelow(10_000):04d}" for _ in range(4))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"password": password}, handle)
    return password


def _ensure_user(username: str, password: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = account_services.user_create(actor=ACTOR, username=username, password=password)
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _ensure_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
    return device


@transaction.atomic
def load_accounts() -> list[DemoLogin]:
    password = demo_password()
    logins: list[DemoLogin] = []
    agencies: dict[str, Agency] = {}
    for code, name, kind, country in AGENCIES:
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            agency = account_services.agency_create(
                actor=ACTOR, name=name, code=code, kind=kind, country=country
            )
        agencies[code] = agency
    for code, roles in STAFF.items():
        for role in roles:
            username = f"{code}.{ROLE_SHORT[Role(role)]}"
            user = _ensure_user(username, password)
            account_services.membership_grant(
                actor=ACTOR, user=user, agency=agencies[code], role=role
            )
            logins.append(DemoLogin(username, code, str(role), totp_key_b32(_ensure_device(user))))
    operator = _ensure_user("platform.operator", password)
    if not operator.is_superuser:
        operator.is_superuser = operator.is_staff = True
        operator.save(update_fields=["is_superuser", "is_staff"])
    logins.append(
        DemoLogin(
            "platform.operator", "-", "platform admin", totp_key_b32(_ensure_device(operator))
        )
    )
    return logins
