"""Improvement actions from a quarter's complaint evaluation: each answers one group of the
report (a recurring root cause, a form of maladministration, a category, a unit). They are
supervision actions on one record of kind `complaint_evaluation` per unit and quarter, made with
the first action, so the supervision pages and the evidence pack carry them like every other
follow-up; setting, finishing, dropping and reopening them is services/oversight/improvement.py."""
from __future__ import annotations

from sqlalchemy import select

from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import SupervisionAction, SupervisionRecord, Unit, utcnow
from ...policy import Actor, can_act_on_evaluation
from ..inputs import local_today
from ..oversight.improvement import add_to_report, change_status, evidence_state, parse_action
from ..oversight.supervision import EVALUATION_KIND
from ..surveys.periods import Period
from .report import record_for

DETAIL = "evaluation_actions"


def _action_state(action: SupervisionAction) -> dict:
    return {**evidence_state(action), "group": action.evaluation_group}


def _may(actor: Actor, unit: Unit) -> None:
    if not can_act_on_evaluation(actor, unit):
        raise Forbidden(str(_l("only the unit's supervisors act on its complaint evaluation")))


def _new_record(unit: Unit, period: Period, actor: Actor, action: SupervisionAction) -> SupervisionRecord:
    now = utcnow()
    return SupervisionRecord(
        kind=EVALUATION_KIND, held_on=local_today(unit), evaluation_period=period.label,
        title=str(_l("Follow-up of the complaint evaluation %(period)s — %(unit)s", period=period.label,
                     unit=unit.name)),
        supervisor=actor.user, units=[unit], actions=[action], created_at=now, updated_at=now)


def add_action(unit: Unit, period: Period, actor: Actor, raw: dict, groups: set[str]) -> SupervisionAction:
    """An improvement action answering one of the report's `groups` (`raw`: group, description,
    owner, due_on); makes the quarter's record with the first one. Flushes only."""
    _may(actor, unit)
    errors: dict = {}
    group = (raw.get("group") or "").strip()
    if group not in groups:
        errors["group"] = _l("choose one of the report's groups")
    action = parse_action(raw, errors)
    if errors:
        raise InvalidFields(errors)
    action.evaluation_group = group
    # One record per unit and quarter: two supervisors adding the first action wait for each other.
    db.session.execute(select(Unit.id).where(Unit.id == unit.id).with_for_update())
    add_to_report(action, actor, record_for(unit, period),
                  lambda first: _new_record(unit, period, actor, first),
                  {"evaluation_period": period.label}, (DETAIL, _action_state))
    return action


def update_action(unit: Unit, period: Period, action: SupervisionAction, actor: Actor,
                  raw: dict) -> SupervisionAction:
    """Mark an action done (with its evidence), drop it, or reopen it. Flushes only."""
    _may(actor, unit)
    record = action.record
    if record.kind != EVALUATION_KIND or record.evaluation_period != period.label or unit not in record.units:
        raise Forbidden(str(_l("this action does not follow up this evaluation")))
    started = local_today(unit, action.created_at) if action.created_at else None
    return change_status(action, actor, raw, today=local_today(unit), started=started,
                         context={"evaluation_period": period.label}, detail=(DETAIL, _action_state))
