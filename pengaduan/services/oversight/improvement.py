"""Improvement actions that follow up a report (the SKM results of a period, the complaint
evaluation of a quarter): supervision actions on one record per report, made with the first
action. What each report adds (which element or group an action answers, how its record is
found and titled) is the caller's; setting, finishing, dropping and reopening an action, and the
audit events of each, are here."""
from __future__ import annotations

from datetime import date
from typing import Callable

from ... import audit
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import ACTION_STATUSES, SupervisionAction, SupervisionRecord, utcnow
from ...workflow.fields import digest
from ..inputs import done_day, text
from .supervision import LIMITS as SUPERVISION_LIMITS
from .supervision import _actions, _state

LIMITS = {**SUPERVISION_LIMITS, "evidence": 5000}


def parse_action(raw: dict, errors: dict) -> SupervisionAction | None:
    """The action a report's form describes (description, owner, due_on); problems go into
    `errors` under the form's field names."""
    row = {name: raw.get(name) or "" for name in ("description", "owner", "due_on")}
    found: dict = {}
    parsed = _actions([row], found)
    if not parsed:  # an empty form: say what is missing
        text(row, "description", found, LIMITS, required=True)
        text(row, "owner", found, LIMITS, required=True)
    errors.update({name.removeprefix("actions-0-"): message for name, message in found.items()})
    return parsed[0] if parsed else None


def add_to_report(action: SupervisionAction, actor, record: SupervisionRecord | None,
                  new_record: Callable[[SupervisionAction], SupervisionRecord], context: dict,
                  detail: tuple[str, Callable[[SupervisionAction], dict]]) -> SupervisionRecord:
    """File `action` on the report's record, making it (`new_record`) with the first action;
    the audit event names the report (`context`) and keeps the action's own facts under
    `detail`'s key. Flushes only; the caller locks the report so two first actions wait."""
    key, state = detail
    action.created_at = utcnow()
    if record is None:
        record = new_record(action)
        db.session.add(record)
        db.session.flush()
        audit.record(db.session, "supervision.recorded", actor=actor.label, unit=record.units,
                     payload={**_state(record), **context, key: [state(action)]})
        return record
    record.actions.append(action)
    record.updated_at = utcnow()
    db.session.flush()
    audit.record(db.session, "supervision.action_added", actor=actor.label, unit=record.units,
                 payload={"id": record.id, **context, "actions": _state(record)["actions"][-1:],
                          key: [state(action)]})
    return record


def change_status(action: SupervisionAction, actor, raw: dict, *, today: date, started: date | None,
                  context: dict, detail: tuple[str, Callable[[SupervisionAction], dict]]) -> SupervisionAction:
    """Mark an action done (on a day not after `today` nor before it was set, with what proves
    it), drop it, or open it again (`raw`: status, completed_on, evidence). Flushes only."""
    errors: dict = {}
    status = raw.get("status")
    if status not in ACTION_STATUSES:
        errors["status"] = _l("choose one of the options")
    evidence = text(raw, "evidence", errors, LIMITS)
    done_on = None
    if status == "done":
        done_on = done_day(raw.get("completed_on"), "completed_on", errors, today=today, started=started)
        if done_on is None and "completed_on" not in errors:
            done_on = today
        if not evidence and "evidence" not in errors:
            errors["evidence"] = _l("say what shows the action was done")
    if errors:
        raise InvalidFields(errors)
    before = action.status
    action.status, action.completed_on = status, done_on
    action.evidence = evidence if status != "open" else (evidence or action.evidence)
    action.record.updated_at = utcnow()
    db.session.flush()
    key, state = detail
    audit.record(db.session, "supervision.action_status", actor=actor.label, unit=action.record.units,
                 payload={"id": action.record_id, "action": action.id, "before": before, "after": status,
                          "completed_on": done_on.isoformat() if done_on else None, **context,
                          key: [state(action)]})
    return action


def evidence_state(action: SupervisionAction) -> dict:
    """What the chain keeps of a report's action beyond supervision's own: its evidence (as a
    digest) and the day it was done."""
    return {"id": action.id, "evidence": digest(action.evidence),
            "completed_on": action.completed_on.isoformat() if action.completed_on else None}


def status_counts(actions) -> dict[str, int]:
    return {status: sum(1 for a in actions if a.status == status) for status in ACTION_STATUSES}
