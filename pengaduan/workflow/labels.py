"""The workflow's words in the reader's language, as pages show them: the labels of fields,
states, ladder rungs (and a clock's delay in words), closure reasons and classifications.
workflow.init_app hands them to the templates."""
from __future__ import annotations

from flask_babel import gettext, ngettext

from ..i18n import label
from .current import current_workflow
from .fields import FIELDS


def field_label(name: str) -> str:
    """The label of a workflow field (message, response, ...) in the reader's language."""
    if name == "attachments":
        return gettext("Photos or documents")
    if name == "related":  # the case page's form linking a related complaint
        return gettext("Related complaint")
    if name == "posted_at":  # the case page's "posted to SP4N-LAPOR! at" form
        return gettext("Posted to LAPOR! on")
    if name == "event":  # ... and the answer it confirms
        return gettext("Answer chosen")
    return str(FIELDS[name].label) if name in FIELDS else name


def level_label(rule: str | None, level: str | None) -> str:
    """The label of a rung of a clock's ladder (warning, overdue, ...) in the reader's language."""
    sla_rule = current_workflow().sla.get(rule or "")
    step = next((s for s in sla_rule.steps if s.level == level), None) if sla_rule else None
    return label(step.label) if step else (level or "")


def _left(unit: str, num: int, clock: str) -> str:
    if unit == "hours":
        return ngettext("%(clock)s due in %(num)d hour", "%(clock)s due in %(num)d hours", num, clock=clock)
    if unit == "calendar_days":
        return ngettext("%(clock)s due in %(num)d day", "%(clock)s due in %(num)d days", num, clock=clock)
    return ngettext("%(clock)s due in %(num)d working day", "%(clock)s due in %(num)d working days",
                    num, clock=clock)


def _late(unit: str, num: int, clock: str) -> str:
    if unit == "hours":
        return ngettext("%(clock)s late by %(num)d hour", "%(clock)s late by %(num)d hours", num, clock=clock)
    if unit == "calendar_days":
        return ngettext("%(clock)s late by %(num)d day", "%(clock)s late by %(num)d days", num, clock=clock)
    return ngettext("%(clock)s late by %(num)d working day", "%(clock)s late by %(num)d working days",
                    num, clock=clock)


def _done_late(unit: str, num: int, clock: str) -> str:
    if unit == "hours":
        return ngettext("%(clock)s done %(num)d hour late", "%(clock)s done %(num)d hours late", num,
                        clock=clock)
    if unit == "calendar_days":
        return ngettext("%(clock)s done %(num)d day late", "%(clock)s done %(num)d days late", num,
                        clock=clock)
    return ngettext("%(clock)s done %(num)d working day late", "%(clock)s done %(num)d working days late",
                    num, clock=clock)


def delay_words(status: str, unit: str, num: int, clock: str) -> str:
    """A clock and its delay in the reader's language: `status` "left" (due in `num`),
    "late" (late by `num`) or "done_late" (stopped `num` late); `unit` the clock's unit
    (working_days, calendar_days, hours)."""
    return {"left": _left, "late": _late, "done_late": _done_late}[status](unit, num, clock)


def rung_label(rule: str | None, level: str | None) -> str:
    """A rung of a clock's ladder named by its clock and its distance from the deadline
    ("Verification due in 1 working day", "Verification late by 5 working days"), as a
    message about that rung says it; the rung's own label for a clock not in the workflow."""
    sla_rule = current_workflow().sla.get(rule or "")
    step = next((s for s in sla_rule.steps if s.level == level), None) if sla_rule else None
    if step is None:
        return level_label(rule, level)
    clock = label(sla_rule.label)
    if step.offset == 0:
        return gettext("%(clock)s past its deadline", clock=clock)
    return delay_words("left" if step.offset < 0 else "late", "working_days", abs(step.offset), clock)


def state_label(state: str | None) -> str:
    """A workflow state's label in the reader's language."""
    spec = current_workflow().states.get(state or "")
    return label(spec.label) if spec else (state or "")


def closure_label(code: str | None) -> str:
    labels = current_workflow().closure_reasons.get(code or "")
    return label(labels) if labels else (code or "")


def classification_label(code: str | None) -> str:
    labels = current_workflow().classifications.get(code or "")
    return label(labels) if labels else (code or "")


def levels_label(data: dict) -> str:
    """The levels named by an acknowledgement, as their labels."""
    labels = {s.level: s.label for rule in current_workflow().sla.values() for s in rule.steps}
    return ", ".join(label(labels[lv]) if lv in labels else lv for lv in data.get("levels", []))


# What templates call by these names.
TEMPLATE_GLOBALS = (field_label, level_label, levels_label, rung_label, state_label, classification_label,
                    closure_label)
