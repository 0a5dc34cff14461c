"""Who may see statistics and who may spend the privacy budget on a public release."""

from __future__ import annotations

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal

from .models import RecordExport


def can_view_statistics(actor: Principal) -> bool:
    """Aggregates only, never a person: staff holding statistics.view."""
    return actor.has(Capability.STATISTICS_VIEW)


def can_release_public_statistics(actor: Principal) -> bool:
    """A public release spends privacy budget that protects every person in the data, so only
    staff who may export reports (report.export), acting for an agency, may make one."""
    return (
        actor.has(Capability.REPORT_EXPORT) and actor.agency is not None and actor.user is not None
    )


def can_request_record_export(actor: Principal) -> bool:
    """Person-level exports (pseudonymised rows) are asked for by staff holding record.export,
    for their own agency."""
    return (
        actor.has(Capability.RECORD_EXPORT) and actor.agency is not None and actor.user is not None
    )


def can_approve_record_export(actor: Principal) -> bool:
    """The second person of the two-person rule: staff holding record.export.approve."""
    return (
        actor.has(Capability.RECORD_EXPORT_APPROVE)
        and actor.agency is not None
        and actor.user is not None
    )


def can_see_record_export(actor: Principal, export: RecordExport) -> bool:
    """An export request is seen by those of its agency who may ask for or approve exports; to
    everyone else it does not exist."""
    if actor.agency is None or export.agency_id != actor.agency.pk:
        return False
    return can_request_record_export(actor) or can_approve_record_export(actor)
