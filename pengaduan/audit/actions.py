"""What each audit action means, in plain words: one sentence per action code, registered
once, so that the log viewer (and anything else that shows the chain to people) reads the
same everywhere and a new action cannot appear without words for it.

A sentence names its placeholders: `who` (the actor, already in words), `code` (the
complaint's tracking code) and the action's own facts, which `facts()` takes from the
event's payload. Workflow steps (`complaint.<trigger>`) share one sentence naming the step,
since the steps are data (the workflow file gives their labels in both languages).
"""
from __future__ import annotations

from ..i18n import lazy_gettext as _l

# The prefix of the actions a workflow step writes: "complaint." + the transition's trigger.
STEP_PREFIX = "complaint."
VERIFIED = "audit.verified"  # the chain was verified from the audit log viewer

SENTENCES = {
    "complaint.filed": _l("%(who)s filed complaint %(code)s"),
    "complaint.note": _l("%(who)s added an internal note to complaint %(code)s"),
    "complaint.finding": _l("%(who)s recorded the finding on complaint %(code)s"),
    "complaint.assigned": _l("%(who)s changed the officer assigned to complaint %(code)s"),
    "complaint.instruction": _l("%(who)s gave an instruction on complaint %(code)s"),
    "complaint.instruction_done": _l("%(who)s marked an instruction on complaint %(code)s done"),
    "complaint.escalation_acknowledged": _l("%(who)s acknowledged the escalation of complaint %(code)s"),
    "complaint.identity_revealed": _l("%(who)s revealed the complainant's identity of complaint %(code)s"),
    "search.identity": _l("%(who)s searched complaints by a complainant's name, NIK or phone"),
    "complaint.escalated": _l("%(who)s escalated complaint %(code)s (level: %(level)s)"),
    "complaint.reminded": _l("%(who)s reminded the complainant of complaint %(code)s that the time to act runs out"),
    "complaint.pin_replaced": _l("%(who)s replaced the PIN of complaint %(code)s"),
    "complaint.pin_reset_requested": _l("%(who)s asked for a link to set a new PIN of complaint %(code)s, emailed to its complainant"),
    "complaint.pin_reset": _l("%(who)s set a new PIN of complaint %(code)s through an emailed link"),
    "complaint.message": _l("%(who)s wrote a message in the conversation of complaint %(code)s"),
    "complaint.rated": _l("%(who)s rated the handling of complaint %(code)s"),
    "complaint.linked": _l("%(who)s linked complaint %(code)s with %(related)s as related"),
    "complaint.unlinked": _l("%(who)s removed the link between complaint %(code)s and %(related)s"),
    "lapor.posted": _l("%(who)s confirmed an answer on complaint %(code)s as posted to SP4N-LAPOR!"),
    "sla.recomputed": _l("%(who)s recomputed the time limits of complaint %(code)s after a calendar change"),
    "calendar.changed": _l("%(who)s changed the holiday calendar for %(day)s"),
    "unit.created": _l("%(who)s created unit %(unit)s"),
    "unit.updated": _l("%(who)s changed unit %(unit)s"),
    "category.created": _l("%(who)s created category %(category)s"),
    "category.updated": _l("%(who)s changed category %(category)s"),
    "office.updated": _l("%(who)s changed the office's name, logo or contacts shown to citizens"),
    "user.created": _l("%(who)s created the account %(email)s"),
    "user.updated": _l("%(who)s changed the account %(email)s"),
    "user.token_issued": _l("%(who)s issued an API token for %(email)s"),
    "user.tokens_revoked": _l("%(who)s revoked the API tokens of %(email)s"),
    "user.password_reset": _l("%(who)s reset the password of %(email)s"),
    "user.password_changed": _l("%(who)s changed their password"),
    "user.locked": _l("%(who)s blocked sign-in to %(email)s for a while after repeated failed attempts"),
    "apikey.created": _l("%(who)s created the API key “%(name)s”"),
    "user.two_factor_enabled": _l("%(who)s turned on two-step verification for %(email)s"),
    "user.two_factor_disabled": _l("%(who)s turned off two-step verification for %(email)s"),
    "user.two_factor_reset": _l("%(who)s reset the two-step verification of %(email)s"),
    "user.recovery_codes_renewed": _l("%(who)s renewed the recovery codes of %(email)s"),
    "user.recovery_code_used": _l("%(who)s signed in with a recovery code"),
    "queue.exported": _l("%(who)s downloaded the complaint list as a spreadsheet (%(rows)s rows)"),
    "response_template.created": _l("%(who)s created a response template"),
    "response_template.updated": _l("%(who)s changed a response template"),
    "document.uploaded": _l("%(who)s uploaded a standing document of unit %(unit)s"),
    "compensation.recorded": _l("%(who)s recorded compensation given by unit %(unit)s"),
    "compensation.corrected": _l("%(who)s corrected a compensation record of unit %(unit)s"),
    "ombudsman.product_changed": _l("%(who)s corrected an Ombudsman product concerning %(unit)s"),
    "ombudsman.item_deadline_changed": _l("%(who)s changed the deadline of an action of an Ombudsman product of unit %(unit)s"),
    "ombudsman.product_recorded": _l("%(who)s recorded an Ombudsman product concerning %(unit)s"),
    "ombudsman.item_added": _l("%(who)s added an action of an Ombudsman product for unit %(unit)s"),
    "ombudsman.item_done": _l("%(who)s marked an action of an Ombudsman product of unit %(unit)s done"),
    "ombudsman.item_dropped": _l("%(who)s dropped an action of an Ombudsman product of unit %(unit)s"),
    "ombudsman.item_reopened": _l("%(who)s reopened an action of an Ombudsman product of unit %(unit)s"),
    "ombudsman.reported_back": _l("%(who)s recorded the follow-up of an Ombudsman product as reported back"),
    "ombudsman.escalated": _l("%(who)s escalated a late action of an Ombudsman product of unit %(unit)s (level: %(level)s)"),
    "standard.created": _l("%(who)s made the service standard of %(unit)s"),
    "standard.updated": _l("%(who)s changed the service standard of %(unit)s (%(changed)s)"),
    "supervision.recorded": _l("%(who)s recorded supervision or coaching"),
    "supervision.updated": _l("%(who)s changed a supervision record"),
    "supervision.action_added": _l("%(who)s added a follow-up action to a supervision record"),
    "supervision.action_status": _l("%(who)s updated the status of a supervision follow-up action"),
    "supervision.files_added": _l("%(who)s attached files to a supervision record"),
    "evidence.exported": _l("%(who)s exported an evidence pack for %(period)s (%(scope)s)"),
    "survey.opened": _l("%(who)s opened the satisfaction survey (SKM) of unit %(unit)s for %(period)s"),
    "survey.updated": _l("%(who)s changed the services or population of the SKM of unit %(unit)s for %(period)s"),
    "survey.closed": _l("%(who)s closed the SKM of unit %(unit)s for %(period)s to answers"),
    "survey.reopened": _l("%(who)s reopened the SKM of unit %(unit)s for %(period)s to answers"),
    "survey.imported": _l("%(who)s imported %(rows)s paper questionnaires into the SKM of unit %(unit)s for %(period)s"),
    VERIFIED: _l("%(who)s verified the audit chain: %(outcome)s"),
}

# A step of the workflow: the step's label comes from the workflow file.
STEP_SENTENCE = _l("%(who)s took the step “%(step)s” on complaint %(code)s")
# An action this version has no words for (from a newer or older version of the software).
UNKNOWN_SENTENCE = _l("%(who)s recorded an event of a kind this version does not describe")

# How the action select groups the actions, in this order.
GROUPS = (
    ("complaint", _l("Complaints")),
    ("account", _l("Accounts and access")),
    ("organisation", _l("Units, categories and the calendar")),
    ("oversight", _l("Supervision, exports and the audit log")),
)

LABELS = {  # the action select's words for each action, by group
    "complaint.filed": ("complaint", _l("Complaint filed")),
    "complaint.note": ("complaint", _l("Internal note added")),
    "complaint.finding": ("complaint", _l("Finding recorded")),
    "complaint.assigned": ("complaint", _l("Officer assigned")),
    "complaint.instruction": ("complaint", _l("Supervisor's instruction")),
    "complaint.instruction_done": ("complaint", _l("Instruction marked done")),
    "complaint.escalation_acknowledged": ("complaint", _l("Escalation acknowledged")),
    "complaint.identity_revealed": ("complaint", _l("Complainant's identity revealed")),
    "search.identity": ("complaint", _l("Search by a complainant's identity")),
    "complaint.escalated": ("complaint", _l("Escalated for being late")),
    "complaint.reminded": ("complaint", _l("Complainant reminded")),
    "complaint.pin_replaced": ("complaint", _l("Tracking PIN replaced")),
    "complaint.pin_reset_requested": ("complaint", _l("Link to set a new PIN emailed")),
    "complaint.pin_reset": ("complaint", _l("Tracking PIN set anew by email link")),
    "complaint.message": ("complaint", _l("Message between complainant and office")),
    "complaint.rated": ("complaint", _l("Service rated")),
    "complaint.linked": ("complaint", _l("Complaints linked as related")),
    "complaint.unlinked": ("complaint", _l("Link between complaints removed")),
    "lapor.posted": ("complaint", _l("Answer posted to SP4N-LAPOR!")),
    "sla.recomputed": ("complaint", _l("Time limits recomputed")),
    "calendar.changed": ("organisation", _l("Holiday calendar changed")),
    "unit.created": ("organisation", _l("Unit created")),
    "unit.updated": ("organisation", _l("Unit changed")),
    "category.created": ("organisation", _l("Category created")),
    "category.updated": ("organisation", _l("Category changed")),
    "office.updated": ("organisation", _l("Office identity changed")),
    "response_template.created": ("organisation", _l("Response template created")),
    "response_template.updated": ("organisation", _l("Response template changed")),
    "user.created": ("account", _l("Account created")),
    "user.updated": ("account", _l("Account changed")),
    "user.token_issued": ("account", _l("API token issued")),
    "user.tokens_revoked": ("account", _l("API tokens revoked")),
    "user.password_reset": ("account", _l("Password reset by an administrator")),
    "user.password_changed": ("account", _l("Password changed")),
    "user.locked": ("account", _l("Sign-in blocked after failed attempts")),
    "apikey.created": ("account", _l("API key created")),
    "user.two_factor_enabled": ("account", _l("Two-step verification turned on")),
    "user.two_factor_disabled": ("account", _l("Two-step verification turned off")),
    "user.two_factor_reset": ("account", _l("Two-step verification reset by an administrator")),
    "user.recovery_codes_renewed": ("account", _l("Recovery codes renewed")),
    "user.recovery_code_used": ("account", _l("Signed in with a recovery code")),
    "queue.exported": ("oversight", _l("Complaint list downloaded")),
    "document.uploaded": ("oversight", _l("Standing document uploaded")),
    "compensation.recorded": ("oversight", _l("Compensation recorded")),
    "compensation.corrected": ("oversight", _l("Compensation corrected")),
    "ombudsman.product_changed": ("oversight", _l("Ombudsman product corrected")),
    "ombudsman.item_deadline_changed": ("oversight", _l("Ombudsman product action deadline changed")),
    "ombudsman.product_recorded": ("oversight", _l("Ombudsman product recorded")),
    "ombudsman.item_added": ("oversight", _l("Ombudsman product action added")),
    "ombudsman.item_done": ("oversight", _l("Ombudsman product action done")),
    "ombudsman.item_dropped": ("oversight", _l("Ombudsman product action dropped")),
    "ombudsman.item_reopened": ("oversight", _l("Ombudsman product action reopened")),
    "ombudsman.reported_back": ("oversight", _l("Ombudsman product follow-up reported back")),
    "ombudsman.escalated": ("oversight", _l("Ombudsman product action escalated")),
    "standard.created": ("organisation", _l("Service standard made")),
    "standard.updated": ("organisation", _l("Service standard changed")),
    "supervision.recorded": ("oversight", _l("Supervision recorded")),
    "supervision.updated": ("oversight", _l("Supervision record changed")),
    "supervision.action_added": ("oversight", _l("Supervision follow-up action added")),
    "supervision.action_status": ("oversight", _l("Supervision follow-up action updated")),
    "supervision.files_added": ("oversight", _l("Files added to a supervision record")),
    "evidence.exported": ("oversight", _l("Evidence pack exported")),
    "survey.opened": ("oversight", _l("Satisfaction survey opened")),
    "survey.updated": ("oversight", _l("Satisfaction survey changed")),
    "survey.closed": ("oversight", _l("Satisfaction survey closed")),
    "survey.reopened": ("oversight", _l("Satisfaction survey reopened")),
    "survey.imported": ("oversight", _l("Paper questionnaires imported")),
    VERIFIED: ("oversight", _l("Audit chain verified")),
}


def is_step(action: str, triggers) -> bool:
    """Whether the action is a workflow step (`complaint.<trigger>` of a known trigger)."""
    return action.startswith(STEP_PREFIX) and action not in SENTENCES and action[len(STEP_PREFIX):] in triggers


def sentence(action: str, step_label: str | None, **values) -> str:
    """The event in words: its action's sentence, with the values filled in. A value the
    sentence names but the event lacks reads as a dash, never as an error."""
    if action in SENTENCES:
        template = SENTENCES[action]
    elif step_label is not None:
        template, values = STEP_SENTENCE, {**values, "step": step_label}
    else:
        template = UNKNOWN_SENTENCE
    return str(template) % _Missing(values)


class _Missing(dict):
    def __missing__(self, key):
        return "—"


def facts(action: str, payload: dict) -> dict:
    """The plain facts a sentence may name, from an event's payload. Only these leave the
    payload: staff emails, codes of units and categories, an API key's name, escalation
    levels, dates and counts; never anything a complainant typed (the chain holds such text
    only as its digest anyway)."""
    period = payload.get("period")
    code = payload.get("code")
    return {
        "email": payload.get("email"),
        "unit": code if action.startswith("unit.") else (payload.get("unit") or (
            str(_l("all units (default)")) if action.startswith("standard.") else None)),
        "category": code if action.startswith("category.") else None,
        "name": payload.get("name") if action == "apikey.created" else None,
        "level": payload.get("level"),
        "day": payload.get("day"),
        "rows": payload.get("rows"),
        "related": payload.get("related"),  # a tracking code, as `code` is
        "changed": ", ".join(payload.get("changed") or ()) if action == "standard.updated" else None,
        "period": (f"{period.get('from')} – {period.get('to')}" if isinstance(period, dict) else None),
    }
