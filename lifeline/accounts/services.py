"""Writes for agencies, users and memberships. Each is audited in the same transaction."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from lifeline.audit.models import AuditAction
from lifeline.audit.services import AuditActor, audit_record
from lifeline.core.errors import ValidationFailed

from .models import Agency, ApiClient, Membership, Role, StaffToken, User


@transaction.atomic
def agency_create(*, actor: AuditActor, name: str, code: str, kind: str, country: str) -> Agency:
    """Register an agency. Country is an ISO 3166-1 alpha-2 code."""
    agency = Agency(name=name, code=code, kind=kind, country=country.upper())
    try:
        agency.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc
    agency.save()
    audit_record(
        actor=actor, action=AuditAction.AGENCY_CREATED, target_type="agency", target_id=agency.pk
    )
    return agency


@transaction.atomic
def user_create(
    *, actor: AuditActor, username: str, password: str, email: str = "", language: str = "km"
) -> User:
    """Create a staff account. Passwords: 12+ characters, not common (Argon2-hashed)."""
    user = User(username=username, email=email, preferred_language=language)
    try:
        user.full_clean(exclude=["password"])
        validate_password(password, user)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"password": exc.messages}
        raise ValidationFailed(errors) from exc
    user.set_password(password)
    user.save()
    audit_record(
        actor=actor, action=AuditAction.USER_CREATED, target_type="user", target_id=user.pk
    )
    return user


@transaction.atomic
def membership_grant(*, actor: AuditActor, user: User, agency: Agency, role: str) -> Membership:
    """Give `user` a role at `agency` (idempotent: granting twice keeps one membership)."""
    if role not in Role.values:
        raise ValidationFailed({"role": [f"unknown role {role!r}"]})
    membership, created = Membership.objects.get_or_create(user=user, agency=agency, role=role)
    if not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        created = True
    if created:
        audit_record(
            actor=actor,
            action=AuditAction.MEMBERSHIP_GRANTED,
            target_type="membership",
            target_id=membership.pk,
            metadata={"user": user.pk, "agency": agency.pk, "role": role},
        )
    return membership


@transaction.atomic
def membership_revoke(*, actor: AuditActor, membership: Membership) -> None:
    """Withdraw a role. Takes effect at the user's next request."""
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action=AuditAction.MEMBERSHIP_REVOKED,
        target_type="membership",
        target_id=membership.pk,
    )


@transaction.atomic
def user_deactivate(*, actor: AuditActor, user: User) -> None:
    """Deactivate an account; Django's backend rejects its sessions from the next request."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor, action=AuditAction.USER_DEACTIVATED, target_type="user", target_id=user.pk
    )


def _token_digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_client_create(*, actor: AuditActor, agency: Agency, name: str) -> tuple[ApiClient, str]:
    """Create an API client; returns it with its bearer token (shown once, stored hashed)."""
    import secrets

    token = "ll_" + secrets.token_urlsafe(32)
    client = ApiClient.objects.create(agency=agency, name=name, token_digest=_token_digest(token))
    audit_record(
        actor=actor,
        action=AuditAction.RECORD_CREATED,
        target_type="api_client",
        target_id=client.pk,
        agency_id=agency.pk,
    )
    return client, token


def api_client_authenticate(token: str) -> ApiClient | None:
    """The active client for a bearer token, or None. Inactive agencies authenticate nobody."""
    if not token or len(token) > 200:
        return None
    # token_digest is unique: a slice, not first(), so no ORDER BY is compiled and sent.
    found = ApiClient.objects.select_related("agency").filter(
        token_digest=_token_digest(token), is_active=True, agency__is_active=True
    )[:1]
    return found[0] if found else None


STAFF_TOKEN_MAX_DAYS = 90


def staff_token_create(
    *, actor: AuditActor, user: User, agency: Agency, name: str = "api", days: int = 30
) -> tuple[StaffToken, str]:
    """Issue a personal API token for `user` acting in `agency`; shown once, stored hashed.

    The user must hold an active membership there; tokens live at most 90 days.
    """
    import secrets
    from datetime import timedelta

    from lifeline.core import clock

    if not Membership.objects.filter(user=user, agency=agency, is_active=True).exists():
        raise ValidationFailed({"agency": ["The user is not a member of this agency."]})
    if not 1 <= days <= STAFF_TOKEN_MAX_DAYS:
        raise ValidationFailed({"days": [f"Between 1 and {STAFF_TOKEN_MAX_DAYS} days."]})
    token = "lls_" + secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        staff_token = StaffToken.objects.create(
            user=user,
            agency=agency,
            name=name[:100],
            token_digest=_token_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        audit_record(
            actor=actor,
            action=AuditAction.RECORD_CREATED,
            target_type="staff_token",
            target_id=staff_token.pk,
            agency_id=agency.pk,
        )
    return staff_token, token


def staff_token_authenticate(token: str) -> StaffToken | None:
    """The live token for a bearer string, or None (expired, revoked or unknown)."""
    from lifeline.core import clock

    if not token or len(token) > 200 or not token.startswith("lls_"):
        return None
    return (
        StaffToken.objects.select_related("user", "agency")
        .filter(token_digest=_token_digest(token), is_active=True, expires_at__gt=clock.now())
        .first()
    )
