"""Start, pause, resume and stop a complaint's statutory clocks as the workflow moves.

The workflow service calls `on_event` after every state change (and at filing); which
clocks react to which trigger is data in the workflow file's `sla` section.
"""
from __future__ import annotations

from datetime import datetime

from ..models import Complaint, ComplaintClock
from .calendar import WorkingCalendar
from .deadlines import compute_due, units_elapsed


def _schedule(clock: ComplaintClock, rule, cal: WorkingCalendar) -> None:
    due, explanation = compute_due(clock.counting_from, rule.amount, rule.unit, cal, clock.consumed)
    previous = clock.explanation or {}
    explanation["pauses"] = previous.get("pauses", [])
    explanation["clock_started"] = previous.get("clock_started", explanation["start"])
    clock.due_at = due
    clock.calendar_version = cal.version
    clock.explanation = explanation


def on_event(complaint: Complaint, workflow, trigger: str, from_state: str | None,
             to_state: str, at: datetime) -> None:
    """Apply the SLA rules to one step of the complaint's life."""
    cal = WorkingCalendar.for_unit(complaint.unit)
    entering_terminal = workflow.is_terminal(to_state)
    for rule in workflow.sla.values():
        clock = complaint.clock(rule.name)
        if trigger in rule.start and not entering_terminal:
            if clock is None:
                clock = ComplaintClock(rule=rule.name, counting_from=at, consumed=0, explanation={})
                complaint.clocks.append(clock)
            elif rule.restart:
                clock.counting_from, clock.consumed = at, 0
                clock.stopped_at = clock.paused_at = None
                clock.explanation = {}
            elif clock.stopped_at is not None:
                clock.stopped_at = None  # resumed with its original deadline (e.g. reopen)
                continue
            else:
                continue
            _schedule(clock, rule, cal)
            if to_state in rule.pause_in:
                _pause(clock, rule, cal, at)
            continue
        if clock is None or clock.stopped_at is not None:
            continue
        if trigger in rule.stop or entering_terminal:
            clock.stopped_at = at
            if clock.paused_at is not None:
                _resume(clock, rule, cal, at, reschedule=False)
        elif to_state in rule.pause_in and clock.paused_at is None:
            _pause(clock, rule, cal, at)
        elif to_state not in rule.pause_in and clock.paused_at is not None:
            _resume(clock, rule, cal, at)
    refresh_due_dates(complaint, workflow)


def _pause(clock: ComplaintClock, rule, cal, at: datetime) -> None:
    clock.consumed += units_elapsed(clock.counting_from, at, rule.unit, cal)
    explanation = dict(clock.explanation or {})
    explanation["pauses"] = [*explanation.get("pauses", []), [at.isoformat(), None]]
    if clock.due_at is not None:
        explanation["due_before_pause"] = clock.due_at.isoformat()
    clock.explanation = explanation
    clock.paused_at = at
    clock.due_at = None  # a paused clock is never due; the explanation keeps the last one


def _resume(clock: ComplaintClock, rule, cal, at: datetime, reschedule: bool = True) -> None:
    explanation = dict(clock.explanation or {})
    pauses = [list(p) for p in explanation.get("pauses", [])]
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = at.isoformat()
    explanation["pauses"] = pauses
    clock.explanation = explanation
    clock.paused_at = None
    if not reschedule:
        return
    if clock.consumed >= rule.amount and explanation.get("due_before_pause"):
        # The time had already run out before the pause: it stays overdue since then.
        clock.due_at = datetime.fromisoformat(explanation["due_before_pause"])
        return
    clock.counting_from = at  # the resume day is day 0 again; `consumed` carries the rest
    _schedule(clock, rule, cal)


def refresh_due_dates(complaint: Complaint, workflow) -> None:
    """Denormalise the running clocks onto the complaint for indexed queues."""
    stage, resolution = [], None
    for clock in complaint.clocks:
        rule = workflow.sla.get(clock.rule)
        if rule is None or not clock.running or clock.due_at is None:
            continue
        if rule.track == "stage":
            stage.append(clock.due_at)
        elif rule.track == "resolution":
            resolution = clock.due_at
    complaint.stage_due_at = min(stage) if stage else None
    complaint.resolution_due_at = resolution
