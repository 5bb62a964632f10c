"""Workflow definitions as data (workflows/*.yaml) and the one machine per definition."""
from __future__ import annotations

from . import labels
from .current import EXTENSION, current_workflow
from .definition import (
    FILE_TRIGGER,
    LadderStep,
    SlaRule,
    StateDef,
    TransitionDef,
    Workflow,
    WorkflowError,
    load_workflow,
    parse_workflow,
)
from .fields import FIELDS


def init_app(app) -> None:
    """Load and validate the workflow in force once, at start-up."""
    app.extensions[EXTENSION] = load_workflow(app.config["PENGADUAN_WORKFLOW"])
    # Step forms draw each field from its spec (templates/_step_field.html).
    app.jinja_env.globals["field_spec"] = FIELDS.__getitem__
    app.jinja_env.globals.update({function.__name__: function for function in labels.TEMPLATE_GLOBALS})


__all__ = [
    "FILE_TRIGGER", "LadderStep", "SlaRule", "StateDef", "TransitionDef", "Workflow", "WorkflowError",
    "current_workflow", "init_app", "load_workflow", "parse_workflow",
]
