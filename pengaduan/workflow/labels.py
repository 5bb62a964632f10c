"""The workflow's words in the reader's language, as pages show them: the labels of fields,
states, ladder rungs, closure reasons and classifications. workflow.init_app hands them to
the templates."""
from __future__ import annotations

from flask_babel import gettext

from ..i18n import label
from .current import current_workflow
from .fields import FIELDS


def field_label(name: str) -> str:
    """The label of a workflow field (message, response, ...) in the reader's language."""
    if name == "attachments":
        return gettext("Photos or documents")
    return str(FIELDS[name].label) if name in FIELDS else name


def level_label(rule: str | None, level: str | None) -> str:
    """The label of a rung of a clock's ladder (warning, overdue, ...) in the reader's language."""
    sla_rule = current_workflow().sla.get(rule or "")
    step = next((s for s in sla_rule.steps if s.level == level), None) if sla_rule else None
    return label(step.label) if step else (level or "")


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
TEMPLATE_GLOBALS = (field_label, level_label, levels_label, state_label, classification_label,
                    closure_label)
