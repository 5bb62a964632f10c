"""Improvement actions from a quarter's complaint evaluation: each answers one group of the
report (a recurring root cause, a form of maladministration, a category, a unit). They are
supervision actions on one record of kind `complaint_evaluation` per unit and quarter: the report
a supervisor files (adopts and signs, with the quarter's figures as its findings, with or without
actions; nothing closed in the quarter is a report too), or made with the first action, so the supervision pages and the evidence pack carry them like every other
follow-up; setting, finishing, dropping and reopening them is services/oversight/improvement.py."""
from __future__ import annotations

from sqlalchemy import select

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import SupervisionAction, SupervisionRecord, Unit, utcnow
from ...policy import Actor, can_act_on_evaluation
from ..inputs import local_today
from ..oversight.improvement import add_to_report, change_status, evidence_state, parse_action
from ..oversight.supervision import EVALUATION_KIND
from ..surveys.periods import Period
from .report import evaluation, group_counts, record_for

DETAIL = "evaluation_actions"


def _action_state(action: SupervisionAction) -> dict:
    return {**evidence_state(action), "group": action.evaluation_group}


def _may(actor: Actor, unit: Unit) -> None:
    if not can_act_on_evaluation(actor, unit):
        raise Forbidden(str(_l("only the unit's supervisors act on its complaint evaluation")))


def _new_record(unit: Unit, period: Period, actor: Actor, actions: list[SupervisionAction]) -> SupervisionRecord:
    now = utcnow()
    return SupervisionRecord(
        kind=EVALUATION_KIND, held_on=local_today(unit), evaluation_period=period.label,
        title=str(_l("Follow-up of the complaint evaluation %(period)s — %(unit)s", period=period.label,
                     unit=unit.name)),
        findings=summary(unit, period, actor),
        supervisor=actor.user, units=[unit], actions=actions, created_at=now, updated_at=now)


def summary(unit: Unit, period: Period, actor: Actor) -> str:
    """The report's figures as the record keeps them when it is filed."""
    report = evaluation(actor, [unit], period, unit)
    if not report.closed:
        return str(_l("Complaint evaluation %(period)s: no complaint was closed in the quarter.", period=period.label))
    recurring = sum(g.recurring for rows in report.groups.values() for g in rows)
    return str(_l("Complaint evaluation %(period)s: %(closed)d closed, %(founded)d founded (%(systemic)d "
                  "systemic), %(unfounded)d unfounded, %(gaps)d without a finding; %(recurring)d recurring "
                  "groups.", period=period.label, closed=report.closed, founded=report.founded,
                  systemic=report.systemic, unfounded=report.unfounded, gaps=report.gap_count,
                  recurring=recurring))


def _lock(unit: Unit) -> None:
    # One record per unit and quarter: two supervisors filing it or adding its first action wait.
    db.session.execute(select(Unit.id).where(Unit.id == unit.id).with_for_update())


def file_report(unit: Unit, period: Period, actor: Actor) -> SupervisionRecord:
    """Adopt the unit's report of `period` (tetapkan laporan evaluasi): the record signed by
    `actor` today with the quarter's figures, with or without improvement actions. A record made
    by a first action before is signed now; a signed one is not filed again. Flushes only."""
    _may(actor, unit)
    _lock(unit)
    record = record_for(unit, period)
    if record is not None and record.findings:
        raise InvalidFields({"file": _l("the report of this quarter was already filed")})
    if record is None:
        record = _new_record(unit, period, actor, [])
        db.session.add(record)
        db.session.flush()
        audit.record(db.session, "supervision.recorded", actor=actor.label, unit=record.units,
                     payload={"id": record.id, "kind": record.kind, "evaluation_period": period.label,
                              "held_on": record.held_on.isoformat(), "findings": record.findings})
        return record
    record.findings, record.supervisor, record.held_on = summary(unit, period, actor), actor.user, local_today(unit)
    record.updated_at = utcnow()
    db.session.flush()
    audit.record(db.session, "supervision.updated", actor=actor.label, unit=record.units,
                 payload={"id": record.id, "kind": record.kind, "evaluation_period": period.label,
                          "held_on": record.held_on.isoformat(), "findings": record.findings})
    return record


def add_action(unit: Unit, period: Period, actor: Actor, raw: dict) -> SupervisionAction:
    """An improvement action answering one group of the unit's report of `period` (`raw`: group,
    description, owner, due_on); files the report with the first one. Flushes only."""
    _may(actor, unit)
    errors: dict = {}
    group = (raw.get("group") or "").strip()
    if group not in group_counts(unit, period):
        errors["group"] = _l("choose one of the report's groups")
    action = parse_action(raw, errors)
    if errors:
        raise InvalidFields(errors)
    action.evaluation_group = group
    _lock(unit)
    add_to_report(action, actor, record_for(unit, period),
                  lambda first: _new_record(unit, period, actor, [first]),
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
