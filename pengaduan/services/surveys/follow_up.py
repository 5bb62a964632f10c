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

from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import ACTION_STATUSES, ELEMENTS, SupervisionAction, SupervisionRecord, SurveyPeriod, utcnow
from ...policy import Actor, can_follow_up_survey
from ..inputs import local_today
from ..oversight.improvement import add_to_report, change_status, evidence_state, parse_action
from ..oversight.supervision import SKM_KIND as KIND


def record_of(survey: SurveyPeriod) -> SupervisionRecord | None:
    """The supervision record holding the period's improvement actions, if any yet."""
    return db.session.scalars(select(SupervisionRecord).where(
        SupervisionRecord.survey_period_id == survey.id, SupervisionRecord.kind == KIND)
        .order_by(SupervisionRecord.id).limit(1)).first()


def _action_state(action: SupervisionAction) -> dict:
    """What the chain keeps of an action beyond supervision's own: the element and the
    evidence (as a digest)."""
    return {**evidence_state(action), "element": action.element}


def _may(actor: Actor, survey: SurveyPeriod) -> None:
    if not can_follow_up_survey(actor, survey.unit):
        raise Forbidden(str(_l("only the unit's supervisors follow up its survey results")))


def _new_record(survey: SurveyPeriod, actor: Actor, action: SupervisionAction) -> SupervisionRecord:
    now = utcnow()
    return SupervisionRecord(
        kind=KIND, held_on=local_today(survey.unit), survey_period_id=survey.id,
        title=str(_l("Follow-up of the SKM results %(period)s — %(unit)s", period=survey.label,
                     unit=survey.unit.name)),
        supervisor=actor.user, units=[survey.unit], actions=[action], created_at=now, updated_at=now)


def add_action(survey: SurveyPeriod, actor: Actor, raw: dict) -> SupervisionAction:
    """An improvement action for an element of `survey` (`raw`: element, description, owner,
    due_on); makes the period's follow-up record with the first one. Flushes only."""
    _may(actor, survey)
    errors: dict = {}
    element = (raw.get("element") or "").strip().upper()
    if element not in ELEMENTS:
        errors["element"] = _l("choose one of the options")
    action = parse_action(raw, errors)
    if errors:
        raise InvalidFields(errors)
    action.element = element
    # One record per period: two supervisors adding the first action at once wait for each other.
    db.session.execute(select(SurveyPeriod.id).where(SurveyPeriod.id == survey.id).with_for_update())
    add_to_report(action, actor, record_of(survey), lambda first: _new_record(survey, actor, first),
                  {"survey_period": survey.label}, ("skm_actions", _action_state))
    return action


def update_action(survey: SurveyPeriod, action: SupervisionAction, actor: Actor,
                  raw: dict) -> SupervisionAction:
    """Mark an action done (on a day, with what proves it), drop it, or open it again
    (`raw`: status, completed_on, evidence). Flushes only."""
    _may(actor, survey)
    if action.record.survey_period_id != survey.id:
        raise Forbidden(str(_l("this action does not follow up this survey")))
    return change_status(action, actor, raw, today=local_today(survey.unit), started=created_on(action, survey),
                         context={"survey_period": survey.label}, detail=("skm_actions", _action_state))


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
