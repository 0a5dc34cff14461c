"""Who may see statistics and who may spend the privacy budget on a public release."""

from __future__ import annotations

from lifeline.accounts.policies import Capability
from lifeline.accounts.principal import Principal


def can_view_statistics(actor: Principal) -> bool:
    """Aggregates only, never a person: staff holding statistics.view."""
    return actor.has(Capability.STATISTICS_VIEW)


def can_release_public_statistics(actor: Principal) -> bool:
    """A public release spends privacy budget that protects every person in the data, so only
    staff who may export reports (report.export), acting for an agency, may make one."""
    return (
        actor.has(Capability.REPORT_EXPORT) and actor.agency is not None and actor.user is not None
    )
