"""Synthetic help requests for the demo: victims and families, about the eight countries named
in the 2022 reports. Invented names and numbers only (phone numbers in reserved-looking ranges).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifeline.accounts.models import Agency
from lifeline.audit.services import SystemActor
from lifeline.core import clock

from . import services
from .models import Channel, HelpRequest

DEMO = SystemActor("demo")

# (idempotency key, agency code, minutes ago, fields)
REQUESTS: list[tuple[str, str, int, dict[str, Any]]] = [
    ("demo-1", "hotline", 300, {"reporter_type": "family", "reporter_name": "ចាន់ សុភា",
     "reporter_phone": "+85512000101", "person_name": "សុខ ហៀង", "country": "TH",
     "place_abroad": "Fishing boat, Songkhla (demo)", "is_confined": True,
     "narrative": "My daughter went for a vendor job; now she is kept on a boat and cannot call."}),
    ("demo-2", "hotline", 20, {"reporter_type": "self", "person_name": "Sok Heang",
     "person_phone": "+66812000102", "country": "MM", "place_abroad": "Compound near Myawaddy",
     "is_confined": True, "is_transfer_imminent": True, "safe_contact": "Telegram after 22:00",
     "narrative": "They take our phones and say we will be sold to another company tomorrow."}),
    ("demo-3", "hotline", 90, {"reporter_type": "family", "reporter_name": "Meas Dara",
     "reporter_phone": "+85597000103", "person_name": "Meas Sreyneang", "country": "CN",
     "narrative": "Sister was promised factory work; no salary for 8 months, passport kept."}),
    ("demo-4", "hotline", 5, {"reporter_type": "friend", "reporter_phone": "+85516000104",
     "person_name": "Heng Pisey", "country": "LA", "is_medical": True,
     "narrative": "Friend injured at a casino site, employer refuses hospital."}),
    ("demo-5", "hotline", 600, {"reporter_type": "self", "person_name": "Kim Vuthy",
     "person_phone": "+60120000105", "country": "MY", "do_not_call_back": True,
     "safe_contact": "Facebook message only", "narrative": "Plantation work, debt keeps growing."}),
    ("demo-6", "ngo-mekong", 45, {"reporter_type": "family", "reporter_name": "Ly Sokha",
     "reporter_phone": "+85512000106", "person_name": "Ly Chenda", "country": "VN",
     "is_child": True, "narrative": "My son (16) left with a broker to work across the border."}),
    ("demo-7", "ngo-mekong", 2000, {"reporter_type": "other", "reporter_phone": "+85511000107",
     "person_name": "Chea Rithy", "country": "ID",
     "narrative": "Co-worker reports a group kept in a scam office in Batam."}),
    ("demo-8", "ngo-tonle", 30, {"reporter_type": "family", "reporter_name": "Sar Malis",
     "reporter_phone": "+85512000108", "person_name": "Sar Bopha", "country": "SG",
     "narrative": "Domestic worker, employer took her passport, phone calls stopped."}),
]  # fmt: skip


def load() -> str:
    made = 0
    hotline, ncct = (Agency.objects.filter(code=c).first() for c in ("hotline", "ncct"))
    if hotline is not None and ncct is not None:
        conf, _policy = services.intake_policy(hotline)
        if conf.partner_agency_id is None:
            conf.partner_agency = ncct
            conf.save(update_fields=["partner_agency"])
    for key, code, minutes_ago, fields in REQUESTS:
        agency = Agency.objects.filter(code=code).first()
        if agency is None or HelpRequest.objects.filter(idempotency_key=f"demo:{key}").exists():
            continue
        data = services.request_input_clean(
            fields, channel=Channel.HOTLINE_CALL if code == "hotline" else Channel.WEB_FORM
        )
        result = services.help_request_create(
            actor=DEMO, data=data, assigned_agency=agency, idempotency_key=key, source="demo"
        )
        # Backdate so the queue shows overdue, due-soon and fresh requests side by side.
        shift = timedelta(minutes=minutes_ago)
        request = result.request
        HelpRequest.objects.filter(pk=request.pk).update(
            received_at=request.received_at - shift,
            deadline_at=request.deadline_at - shift,
            next_escalation_at=request.deadline_at - shift,
        )
        made += 1
    services.sweep()
    total = HelpRequest.objects.filter(idempotency_key__startswith="demo:").count()
    return (
        f"help requests: {total} ({made} new), overdue ones escalated; now {clock.now():%H:%M} UTC"
    )
