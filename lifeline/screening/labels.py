"""Words shown for the rule's codes (flags, dimensions, thresholds, ladder steps), in the active
language. The codes themselves never change; only these labels are translated."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .instrument import Dimension, Weight
from .rule import Flag, Step, Threshold

FLAGS: dict[str, Promise] = {
    Flag.URGENT_SAFETY: _("Urgent: still confined and in danger"),
    Flag.CHILD: _("Child (under 18): the child rule applies"),
    Flag.NON_PUNISHMENT: _("Non-punishment: made to take part in crimes"),
    Flag.REPORTED_CRIMINAL_INVOLVEMENT: _(
        "Note: the person reported being involved in unlawful acts while under control"
    ),
    Flag.REVIEW_FOR_TRAFFICKING: _("Review: this may still be trafficking"),
}

DIMENSIONS: dict[str, Promise] = {
    Dimension.DECEPTIVE_RECRUITMENT: _("Deceptive recruitment"),
    Dimension.COERCIVE_RECRUITMENT: _("Coercive recruitment"),
    Dimension.ABUSE_VULN_RECRUITMENT: _("Recruitment by abuse of vulnerability"),
    Dimension.EXPLOITATIVE_CONDITIONS: _("Exploitative conditions of work"),
    Dimension.COERCION_AT_DESTINATION: _("Coercion at destination"),
    Dimension.ABUSE_VULN_AT_DESTINATION: _("Abuse of vulnerability at destination"),
}

WEIGHTS: dict[str, Promise] = {
    Weight.STRONG: _("strong"),
    Weight.MEDIUM: _("medium"),
    Weight.WEAK: _("weak"),
}

THRESHOLDS: dict[str, Promise] = {
    Threshold.TWO_STRONG: _("two strong indicators"),
    Threshold.STRONG_AND_OTHER: _("one strong and one medium or weak indicator"),
    Threshold.THREE_MEDIUM: _("three medium indicators"),
    Threshold.TWO_MEDIUM_ONE_WEAK: _("two medium and one weak indicator"),
}

STEPS: dict[str, Promise] = {
    Step.INCOMPLETE: _(
        "The interview ended early and too few of the main questions were answered yes or no."
    ),
    Step.CHILD_ACT_EXPLOITATION: _(
        "A child was recruited, moved or received, and exploited: for a child no means are needed."
    ),
    Step.RECRUITMENT_EXPLOITATION_DESTINATION: _(
        "Means at recruitment, exploitation, and means at destination are all present."
    ),
    Step.EXPLOITATION_DESTINATION: _(
        "Exploitation with coercion or abuse of vulnerability at destination, without means at "
        "recruitment."
    ),
    Step.EXPLOITATION_RECRUITMENT: _(
        "Exploitation after deceptive, coercive or abusive recruitment, without means at "
        "destination."
    ),
    Step.EXPLOITATION_ONLY: _("Exploitation without indicators of means."),
    Step.NOTHING: _("No exploitation was indicated by the answers given."),
}

EXPLOITATION_BECAUSE: dict[str, Promise] = {
    Dimension.EXPLOITATIVE_CONDITIONS: _("exploitative conditions of work"),
}
