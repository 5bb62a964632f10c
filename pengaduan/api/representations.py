"""What the API shows of a complaint to each caller, never more than the web shows them."""
from __future__ import annotations

from datetime import datetime

from ..i18n import label
from ..models import Complaint, ComplaintEvent, Unit
from ..policy import Actor, can_see_identity, reads_as_complainant
from ..services.complaints.citizen import citizen_deadline, public_timeline
from ..services.complaints.lifecycle import allowed_triggers
from ..workflow import current_workflow


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def unit_json(unit: Unit, categories) -> dict:
    return {"code": unit.code, "name": unit.name,
            "categories": [{"code": c.code, "name": c.name} for c in categories]}


def _common(complaint: Complaint) -> dict:
    workflow = current_workflow()
    return {
        "tracking_code": complaint.tracking_code, "state": complaint.state,
        "state_label": label(workflow.states[complaint.state].label),
        "closure_reason": complaint.closure_reason,
        "received_at": iso(complaint.received_at), "closed_at": iso(complaint.closed_at),
        "unit": {"code": complaint.unit.code, "name": complaint.unit.name},
        "category": complaint.category.code if complaint.category else None,
        "classification": complaint.classification,
    }


def list_item(complaint: Complaint) -> dict:
    """A row of the staff list."""
    return {**_common(complaint), "title": complaint.title, "privacy": complaint.privacy,
            "stage_due_at": iso(complaint.stage_due_at),
            "resolution_due_at": iso(complaint.resolution_due_at),
            "assignee": complaint.assignee.email if complaint.assignee else None}


def complaint_json(complaint: Complaint, actor: Actor) -> dict:
    """The complaint as this caller may see it: the complainant sees the public view (as on
    the tracking page); staff see the file, with the identity only where the web shows it."""
    body = {**_common(complaint), "title": complaint.title, "description": complaint.description,
            "allowed_triggers": allowed_triggers(complaint, actor)}
    if reads_as_complainant(actor):
        deadline = citizen_deadline(complaint)
        body["due_at"] = iso(deadline[1]) if deadline else None
        body["due_for"] = label(deadline[0]) if deadline else None
        body["timeline"] = [{"at": iso(e.at), "title": str(e.title), "by_unit": e.by_unit,
                             "fields": {str(k): str(v) for k, v in e.fields}}
                            for e in public_timeline(complaint)]
        return body
    identity = None
    if can_see_identity(actor, complaint):
        identity = {"name": complaint.complainant_name, "nik": complaint.complainant_nik,
                    "email": complaint.complainant_email, "phone": complaint.complainant_phone,
                    "address": complaint.complainant_address,
                    "contact_needs_note": complaint.contact_needs_note}
    workflow = current_workflow()
    return {**body, "version": complaint.version, "privacy": complaint.privacy,
            "late_filing": complaint.late_filing, "channel": complaint.channel,
            "incident_date": iso(complaint.incident_date), "service_date": iso(complaint.service_date),
            "incident_location": complaint.incident_location,
            "requested_resolution": complaint.requested_resolution,
            "assignee": complaint.assignee.email if complaint.assignee else None,
            "identity": identity,
            # What the office must arrange to reach or serve her, as the case page lists it;
            # her own words about it (which may name her) come only with the identity.
            "contact_needs": complaint.contact_needs or [],
            "stage_due_at": iso(complaint.stage_due_at),
            "resolution_due_at": iso(complaint.resolution_due_at),
            "clocks": [{"rule": c.rule, "label": label(workflow.sla[c.rule].label) if c.rule in workflow.sla else c.rule,
                        "due_at": iso(c.due_at), "paused": c.paused_at is not None,
                        "stopped_at": iso(c.stopped_at), "calendar_version": c.calendar_version}
                       for c in complaint.clocks]}


def event_json(event: ComplaintEvent) -> dict:
    return {"id": event.id, "occurred_at": iso(event.occurred_at), "kind": event.kind,
            "trigger": event.trigger, "from_state": event.from_state, "to_state": event.to_state,
            "actor_role": event.actor_role, "actor": event.actor.name if event.actor else None,
            "unit": event.unit.code if event.unit else None, "public": event.public,
            "data": event.data or {}}
