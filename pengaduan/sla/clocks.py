"""Start, pause, resume and stop a complaint's statutory clocks as the workflow moves.

The workflow service calls `on_event` after every state change (and at filing); which
clocks react to which trigger is data in the workflow file's `sla` section.
"""
from __future__ import annotations

from datetime import datetime

from ..models import Complaint, ComplaintClock
from .calendar import WorkingCalendar
from .deadlines import compute_due, units_elapsed
from .ladder import plan_next


def recount(clock: ComplaintClock, rule, cal: WorkingCalendar) -> None:
    """Count again, on the calendar as it is now, the units consumed before each pause: the
    segments from the start to the first pause, from each resume to the next pause."""
    explanation = clock.explanation or {}
    pauses, started = explanation.get("pauses") or [], explanation.get("clock_started")
    if not pauses or not started:
        return  # never paused: nothing was set aside
    consumed, segment = 0, datetime.fromisoformat(started)
    for paused, resumed in pauses:
        consumed += units_elapsed(segment, datetime.fromisoformat(paused), rule.unit, cal)
        if resumed is None:
            break
        segment = datetime.fromisoformat(resumed)
    clock.consumed = consumed


def reschedule(clock: ComplaintClock, rule, cal: WorkingCalendar) -> None:
    """Recompute a clock on the calendar as it is now: the units set aside before pauses and,
    if it runs, its deadline (a clock whose time ran out before a pause stays due when it was)."""
    recount(clock, rule, cal)
    if clock.paused_at is None and clock.consumed < rule.amount:
        _schedule(clock, rule, cal)


def _schedule(clock: ComplaintClock, rule, cal: WorkingCalendar) -> None:
    due, explanation = compute_due(clock.counting_from, rule.amount, rule.unit, cal, clock.consumed)
    previous = clock.explanation or {}
    explanation["pauses"] = previous.get("pauses", [])
    explanation["clock_started"] = previous.get("clock_started", explanation["start"])
    clock.due_at = due
    clock.calendar_version = cal.version
    clock.explanation = explanation
    plan_next(clock, rule, cal)


def first_day(complaint: Complaint, rule, at: datetime) -> datetime:
    """Day 0 of a clock's first cycle: the complaint's date the rule counts from (LAPOR!'s
    disposition, say) when it has one, else the time of the step that starts it. A restart
    counts from its own step."""
    since = getattr(complaint, rule.counting_from) if rule.counting_from and not rule.waits_for_posting else None
    return since or at


WAITING = "waits_for_posting"  # the explanation's mark of a clock held until its answer is posted


def _waits_for_posting(complaint: Complaint, rule) -> bool:
    """A clock counting from the posting to SP4N-LAPOR! of the answer that started it waits,
    on a complaint that has a LAPOR! ID, until that posting is recorded (`restart_from`)."""
    return bool(rule.waits_for_posting and complaint.lapor_id)


def is_waiting(clock: ComplaintClock) -> bool:
    """Whether the clock is held until the answer that started it is posted to SP4N-LAPOR!."""
    return clock.paused_at is not None and bool((clock.explanation or {}).get(WAITING))


def restart_from(clock: ComplaintClock, rule, at: datetime, cal: WorkingCalendar) -> None:
    """Count a running clock afresh from `at` (day 0), the time the answer that started it was
    posted to SP4N-LAPOR!: no time consumed, no pause, its ladder from the first rung."""
    clock.counting_from, clock.consumed = at, 0
    clock.paused_at = None
    clock.explanation = {}
    clock.next_step = 0
    _schedule(clock, rule, cal)


def on_event(complaint: Complaint, workflow, trigger: str, from_state: str | None,
             to_state: str, at: datetime) -> None:
    """Apply the SLA rules to one step of the complaint's life."""
    cal = WorkingCalendar.for_unit(complaint.unit)
    entering_terminal = workflow.is_terminal(to_state)
    for rule in workflow.sla.values():
        if not rule.applies_to(complaint.channel):
            continue  # a clock of other channels (SP4N-LAPOR!'s own limits, say)
        clock = complaint.clock(rule.name)
        if trigger in rule.start and not entering_terminal:
            if clock is None:
                clock = ComplaintClock(rule=rule.name, counting_from=first_day(complaint, rule, at),
                                       consumed=0, explanation={}, cycle=1, next_step=0)
                complaint.clocks.append(clock)
            elif rule.restart:
                clock.counting_from, clock.consumed = at, 0
                clock.stopped_at = clock.paused_at = None
                clock.explanation = {}
                clock.cycle, clock.next_step = clock.cycle + 1, 0  # a new ladder
            elif clock.stopped_at is not None:
                clock.stopped_at = None  # resumed with its original deadline (e.g. reopen)
                plan_next(clock, rule, cal)
                continue
            else:
                continue
            _schedule(clock, rule, cal)
            if _waits_for_posting(complaint, rule):
                _pause(clock, rule, cal, at)  # no deadline until the answer stands on LAPOR!
                clock.explanation = {**clock.explanation, WAITING: True}
            elif to_state in rule.pause_in:
                _pause(clock, rule, cal, at)
            continue
        if clock is None or clock.stopped_at is not None:
            continue
        if trigger in rule.stop or entering_terminal:
            clock.stopped_at = at
            clock.next_check_at = None
            if clock.paused_at is not None:
                _resume(clock, rule, cal, at, reschedule=False)
        elif to_state in rule.pause_in and clock.paused_at is None:
            _pause(clock, rule, cal, at)
        elif to_state not in rule.pause_in and clock.paused_at is not None and not is_waiting(clock):
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
    clock.next_check_at = None


def _resume(clock: ComplaintClock, rule, cal, at: datetime, reschedule: bool = True) -> None:
    explanation = dict(clock.explanation or {})
    pauses = [list(p) for p in explanation.get("pauses", [])]
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = at.isoformat()
    explanation["pauses"] = pauses
    clock.explanation = explanation
    clock.paused_at = None
    if not reschedule:
        if clock.consumed >= rule.amount and explanation.get("due_before_pause"):
            # Stopped while paused after its time had run out: it finished late.
            clock.due_at = datetime.fromisoformat(explanation["due_before_pause"])
        return
    if clock.consumed >= rule.amount and explanation.get("due_before_pause"):
        # The time had already run out before the pause: it stays overdue since then.
        clock.due_at = datetime.fromisoformat(explanation["due_before_pause"])
        plan_next(clock, rule, cal)
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
