"""Input validation for case records. Forms only clean input; services decide and save."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from lifeline.core import clock
from lifeline.intake.validation import COUNTRIES

from .models import (
    CLOSURE_CHOICES,
    AuthorityRequest,
    Consent,
    CustodyStay,
    FamilyAssessment,
    FollowUp,
    Purpose,
    RemovalEvent,
    Repatriation,
    ServiceDelivery,
    ServicePlan,
)
from .selectors import LOCAL_ZONE

COUNTRY_HELP = _("Two-letter country code, e.g. TH")
CHANNELS = [
    ("letter", _("Official letter")),
    ("email", _("Email")),
    ("phone", _("Phone")),
    ("platform", _("Shared platform")),
    ("in_person", _("In person")),
]


# Field labels in one place, so every form shows them in the person's language.
LABELS = {
    "scope": _("What the consent covers"),
    "recipient_agency": _("Recipient agency"),
    "purpose": _("Purpose"),
    "given_by": _("Given by"),
    "guardian_name": _("Guardian's name"),
    "method": _("How it was given"),
    "witness": _("Witness"),
    "given_on": _("Date given"),
    "expires_on": _("Expires on"),
    "recipient_name": _("Authority (if not in Lifeline)"),
    "reference_number": _("Their reference number"),
    "content": _("What was asked"),
    "mode": _("How"),
    "date": _("Date"),
    "acting_agency": _("Acting agency"),
    "country": _("Country"),
    "group_size": _("People removed together"),
    "facility_type": _("Facility type"),
    "facility_name": _("Facility name"),
    "start_date": _("From"),
    "end_date": _("Until"),
    "contact_allowed": _("Contact allowed"),
    "travel_document_type": _("Travel document"),
    "travel_document_issuer": _("Issued by"),
    "travel_document_number": _("Document number"),
    "route": _("Route"),
    "crossing_point": _("Crossing point (e.g. Poipet, Bavet)"),
    "handover_date": _("Handover date"),
    "receiving_officer": _("Receiving officer"),
    "escort": _("Escort"),
    "assessor": _("Assessed by"),
    "safe_to_return": _("Safe to return?"),
    "notes": _("Notes"),
    "needs": _("Needs"),
    "goals": _("Goals"),
    "service_type": _("Service"),
    "provider": _("Provider"),
    "status": _("Status"),
    "risk_individual": _("Risk: individual"),
    "risk_household": _("Risk: household"),
    "risk_community": _("Risk: community"),
    "outcome": _("Outcome"),
}


class Labelled:
    """Applies LABELS to whichever of its fields they name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if name in LABELS:
                field.label = LABELS[name]


def local_today() -> date:
    return clock.now().astimezone(LOCAL_ZONE).date()


def _country(value: str) -> str:
    value = (value or "").strip().upper()
    if value and value not in COUNTRIES:
        raise forms.ValidationError(_("Use a two-letter country code, e.g. TH."))
    return value


class _NoFuture:
    """Dates of things that happened cannot be in the future."""

    past_date_fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()  # type: ignore[misc]
        today = local_today()
        for name in self.past_date_fields:
            value = data.get(name)
            if value and value > today:
                self.add_error(name, _("This date is in the future."))  # type: ignore[attr-defined]
        return data


class CaseOpenForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    destination_country = forms.CharField(
        label=_("Country abroad"), max_length=2, required=False, help_text=COUNTRY_HELP
    )
    is_urgent = forms.BooleanField(label=_("Urgent"), required=False)

    def clean_destination_country(self) -> str:
        return _country(self.cleaned_data.get("destination_country", ""))


class PersonForm(forms.Form):
    name_khmer = forms.CharField(label=_("Name in Khmer script"), max_length=200, required=False)
    name_latin = forms.CharField(label=_("Name in Latin letters"), max_length=200, required=False)
    date_of_birth = forms.CharField(
        label=_("Date of birth (YYYY, YYYY-MM or YYYY-MM-DD)"), max_length=10, required=False
    )
    sex = forms.ChoiceField(
        label=_("Sex"),
        choices=[
            ("female", _("Female")),
            ("male", _("Male")),
            ("tgnc", _("Transgender or non-conforming")),
            ("unknown", _("Unknown")),
        ],
        initial="unknown",
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    province = forms.CharField(label=_("Province of origin"), max_length=64, required=False)


class ConsentForm(Labelled, forms.ModelForm):
    class Meta:
        model = Consent
        fields = [
            "scope",
            "recipient_agency",
            "purpose",
            "given_by",
            "guardian_name",
            "method",
            "witness",
            "given_on",
            "expires_on",
        ]
        widgets = {
            "given_on": forms.DateInput(attrs={"type": "date"}),
            "expires_on": forms.DateInput(attrs={"type": "date"}),
            "guardian_name": forms.TextInput(),
            "witness": forms.TextInput(),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = local_today()
        if data.get("given_on") and data["given_on"] > today:
            self.add_error("given_on", _("This date is in the future."))
        if (
            data.get("expires_on")
            and data.get("given_on")
            and data["expires_on"] < data["given_on"]
        ):
            self.add_error("expires_on", _("Expiry is before the date consent was given."))
        if data.get("scope") == "share":
            if not data.get("recipient_agency"):
                self.add_error("recipient_agency", _("Sharing consent names the recipient."))
            if not data.get("purpose"):
                self.add_error("purpose", _("Sharing consent names the purpose."))
        if data.get("given_by") == "guardian" and not data.get("guardian_name"):
            self.add_error("guardian_name", _("Name the guardian who gave consent."))
        return data


class AuthorityRequestForm(Labelled, forms.ModelForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=CHANNELS)
    urgent = forms.BooleanField(label=_("Life at risk: short deadline"), required=False)

    class Meta:
        model = AuthorityRequest
        fields = [
            "recipient_agency",
            "recipient_name",
            "channel",
            "purpose",
            "reference_number",
            "content",
        ]
        widgets = {"reference_number": forms.TextInput(), "content": forms.Textarea({"rows": 3})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("recipient_agency") and not data.get("recipient_name"):
            self.add_error("recipient_name", _("Name the authority the request goes to."))
        return data


class RemovalForm(Labelled, _NoFuture, forms.ModelForm):
    past_date_fields = ("date",)
    group_size = forms.IntegerField(min_value=1, max_value=10000, required=False)

    def clean_group_size(self) -> int:
        return self.cleaned_data.get("group_size") or 1

    class Meta:
        model = RemovalEvent
        fields = ["mode", "date", "acting_agency", "country", "group_size"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def clean_country(self) -> str:
        value = _country(self.cleaned_data.get("country", ""))
        if not value:
            raise forms.ValidationError(_("This field is required."))
        return value


class CustodyForm(Labelled, _NoFuture, forms.ModelForm):
    past_date_fields = ("start_date",)

    class Meta:
        model = CustodyStay
        fields = ["facility_type", "facility_name", "start_date", "end_date", "contact_allowed"]
        widgets = {
            "facility_name": forms.TextInput(),
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }


class RepatriationForm(Labelled, _NoFuture, forms.ModelForm):
    past_date_fields = ("handover_date",)

    class Meta:
        model = Repatriation
        fields = [
            "travel_document_type",
            "travel_document_issuer",
            "travel_document_number",
            "route",
            "crossing_point",
            "handover_date",
            "receiving_officer",
            "escort",
        ]
        widgets = {
            "travel_document_number": forms.TextInput(),
            "receiving_officer": forms.TextInput(),
            "handover_date": forms.DateInput(attrs={"type": "date"}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("handover_date") and not data.get("crossing_point"):
            self.add_error("crossing_point", _("Name the crossing point of the handover."))
        return data


class FamilyAssessmentForm(Labelled, _NoFuture, forms.ModelForm):
    past_date_fields = ("date",)

    class Meta:
        model = FamilyAssessment
        fields = ["assessor", "date", "safe_to_return", "notes"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea({"rows": 2}),
        }


class ServicePlanForm(Labelled, forms.ModelForm):
    class Meta:
        model = ServicePlan
        fields = ["needs", "goals"]
        widgets = {"needs": forms.Textarea({"rows": 2}), "goals": forms.Textarea({"rows": 2})}


class ServiceDeliveryForm(Labelled, forms.ModelForm):
    class Meta:
        model = ServiceDelivery
        fields = ["service_type", "provider", "start_date", "end_date", "status"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }


class FollowUpForm(Labelled, _NoFuture, forms.ModelForm):
    past_date_fields = ("date",)

    class Meta:
        model = FollowUp
        fields = ["date", "mode", "risk_individual", "risk_household", "risk_community", "outcome"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "outcome": forms.Textarea({"rows": 2}),
        }


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=300)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    assigned_to = forms.IntegerField(label=_("Assigned to"), required=False)


class TransitionForm(forms.Form):
    target = forms.CharField(max_length=24)
    version = forms.IntegerField(min_value=1)
    note = forms.CharField(max_length=2000, required=False)
    closure_reason = forms.ChoiceField(choices=[("", ""), *CLOSURE_CHOICES], required=False)


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label=_("Why a life is at risk"),
        max_length=2000,
        min_length=10,
        widget=forms.Textarea({"rows": 2}),
    )
    hours = forms.IntegerField(
        label=_("Valid for (hours, at most 24)"), min_value=1, max_value=24, initial=24
    )
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)


# kind -> (form, section it belongs to, model label for audit)
RECORD_FORMS: dict[str, tuple[type[forms.BaseForm], str]] = {
    "removal": (RemovalForm, "removal"),
    "custody": (CustodyForm, "removal"),
    "repatriation": (RepatriationForm, "repatriation"),
    "family": (FamilyAssessmentForm, "family"),
    "service_plan": (ServicePlanForm, "services"),
    "service": (ServiceDeliveryForm, "services"),
    "follow_up": (FollowUpForm, "services"),
}
