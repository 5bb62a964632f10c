"""Following up an SKM period (what KemenPANRB's PEKPPP scores: the share of the results
followed up, and how fast). Each low element can become an improvement action with an owner,
a due date and, once done, the evidence of it.

The actions are supervision actions: a period's actions live on one supervision record of kind
`skm_follow_up` tied to the period (made with the first action), so the supervision pages list
them with every other follow-up and the evidence pack carries them the same way. Every change is
an audit event of the supervision record in the same transaction, free text as digests.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import ACTION_STATUSES, ELEMENTS, SupervisionAction, SupervisionRecord, SurveyPeriod, utcnow
from ...policy import Actor, can_follow_up_survey
from ...workflow.fields import digest
from ..inputs import day, local_today, text
from ..oversight.supervision import LIMITS as SUPERVISION_LIMITS
from ..oversight.supervision import SKM_KIND as KIND
from ..oversight.supervision import _actions, _state
LIMITS = {**SUPERVISION_LIMITS, "evidence": 5000}


def record_of(survey: SurveyPeriod) -> SupervisionRecord | None:
    """The supervision record holding the period's improvement actions, if any yet."""
    return db.session.scalars(select(SupervisionRecord).where(
        SupervisionRecord.survey_period_id == survey.id, SupervisionRecord.kind == KIND)
        .order_by(SupervisionRecord.id).limit(1)).first()


def _action_state(action: SupervisionAction) -> dict:
    """What the chain keeps of an action beyond supervision's own: the element and the
    evidence (as a digest)."""
    return {"id": action.id, "element": action.element, "evidence": digest(action.evidence),
            "completed_on": action.completed_on.isoformat() if action.completed_on else None}


def _may(actor: Actor, survey: SurveyPeriod) -> None:
    if not can_follow_up_survey(actor, survey.unit):
        raise Forbidden(str(_l("only the unit's supervisors follow up its survey results")))


def _new_record(survey: SurveyPeriod, actor: Actor, action: SupervisionAction) -> SupervisionRecord:
    now = utcnow()
    record = SupervisionRecord(
        kind=KIND, held_on=local_today(survey.unit), survey_period_id=survey.id,
        title=str(_l("Follow-up of the SKM results %(period)s — %(unit)s", period=survey.label,
                     unit=survey.unit.name)),
        supervisor=actor.user, units=[survey.unit], actions=[action], created_at=now, updated_at=now)
    db.session.add(record)
    return record


def add_action(survey: SurveyPeriod, actor: Actor, raw: dict) -> SupervisionAction:
    """An improvement action for an element of `survey` (`raw`: element, description, owner,
    due_on); makes the period's follow-up record with the first one. Flushes only."""
    _may(actor, survey)
    errors: dict = {}
    element = (raw.get("element") or "").strip().upper()
    if element not in ELEMENTS:
        errors["element"] = _l("choose one of the options")
    row = {name: raw.get(name) or "" for name in ("description", "owner", "due_on")}
    parsed = _actions([row], errors)
    if not parsed:  # an empty form: say what is missing
        text(row, "description", errors, LIMITS, required=True)
        text(row, "owner", errors, LIMITS, required=True)
    errors = {name.removeprefix("actions-0-"): message for name, message in errors.items()}
    if errors:
        raise InvalidFields(errors)
    action = parsed[0]
    action.element, action.created_at = element, utcnow()
    # One record per period: two supervisors adding the first action at once wait for each other.
    db.session.execute(select(SurveyPeriod.id).where(SurveyPeriod.id == survey.id).with_for_update())
    record = record_of(survey)
    if record is None:
        record = _new_record(survey, actor, action)
        db.session.flush()
        audit.record(db.session, "supervision.recorded", actor=actor.label, unit=record.units,
                     payload={**_state(record), "survey_period": survey.label,
                              "skm_actions": [_action_state(action)]})
    else:
        record.actions.append(action)
        record.updated_at = utcnow()
        db.session.flush()
        audit.record(db.session, "supervision.action_added", actor=actor.label, unit=record.units,
                     payload={"id": record.id, "survey_period": survey.label,
                              "actions": _state(record)["actions"][-1:],
                              "skm_actions": [_action_state(action)]})
    return action


def update_action(survey: SurveyPeriod, action: SupervisionAction, actor: Actor,
                  raw: dict) -> SupervisionAction:
    """Mark an action done (on a day, with what proves it), drop it, or open it again
    (`raw`: status, completed_on, evidence). Flushes only."""
    _may(actor, survey)
    if action.record.survey_period_id != survey.id:
        raise Forbidden(str(_l("this action does not follow up this survey")))
    errors: dict = {}
    status = raw.get("status")
    if status not in ACTION_STATUSES:
        errors["status"] = _l("choose one of the options")
    evidence = text(raw, "evidence", errors, LIMITS)
    done_on = None
    if status == "done":
        done_on = day(raw.get("completed_on"), "completed_on", errors, latest=local_today(survey.unit))
        if done_on is None and "completed_on" not in errors:
            done_on = local_today(survey.unit)
        started = created_on(action, survey)
        if done_on is not None and started is not None and done_on < started and "completed_on" not in errors:
            errors["completed_on"] = _l("cannot be before the action was set (%(day)s)", day=started.isoformat())
        if not evidence and "evidence" not in errors:
            errors["evidence"] = _l("say what shows the action was done")
    if errors:
        raise InvalidFields(errors)
    before = action.status
    action.status, action.completed_on = status, done_on
    action.evidence = evidence if status != "open" else (evidence or action.evidence)
    action.record.updated_at = utcnow()
    db.session.flush()
    audit.record(db.session, "supervision.action_status", actor=actor.label, unit=action.record.units,
                 payload={"id": action.record_id, "action": action.id, "before": before, "after": status,
                          "completed_on": done_on.isoformat() if done_on else None,
                          "survey_period": survey.label, "skm_actions": [_action_state(action)]})
    return action


def created_on(action: SupervisionAction, survey: SurveyPeriod) -> date | None:
    """The local day the action was set (where the unit is)."""
    return local_today(survey.unit, action.created_at) if action.created_at else None


@dataclass
class FollowUp:
    """The period's improvement actions and what the evaluation scores of them."""
    record: SupervisionRecord | None = None
    actions: list[SupervisionAction] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    days: list[int] = field(default_factory=list)  # of each action done: completed_on - set on

    @property
    def total(self) -> int:
        return len(self.actions)

    @property
    def share_done(self) -> float | None:
        """Done out of the actions not dropped."""
        counted = self.total - self.counts.get("dropped", 0)
        return self.counts.get("done", 0) / counted if counted else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days) if self.days else None

    @property
    def max_days(self) -> int | None:
        return max(self.days) if self.days else None

    def by_element(self, code: str) -> list[SupervisionAction]:
        return [a for a in self.actions if a.element == code]


def follow_up_of(survey: SurveyPeriod) -> FollowUp:
    record = record_of(survey)
    if record is None:
        return FollowUp()
    actions = sorted(record.actions, key=lambda a: (ELEMENTS.index(a.element) if a.element in ELEMENTS
                                                    else len(ELEMENTS), a.id))
    counts = {status: sum(1 for a in actions if a.status == status) for status in ACTION_STATUSES}
    days = []
    for action in actions:
        started = created_on(action, survey)
        if action.status == "done" and action.completed_on and started:
            days.append((action.completed_on - started).days)
    return FollowUp(record, actions, counts, days)
