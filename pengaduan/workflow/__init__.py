"""Workflow definitions as data (workflows/*.yaml) and the one machine per definition."""
from __future__ import annotations

from flask import current_app

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


def init_app(app) -> None:
    """Load and validate the workflow in force once, at start-up."""
    app.extensions["pengaduan.workflow"] = load_workflow(app.config["PENGADUAN_WORKFLOW"])


def current_workflow() -> Workflow:
    return current_app.extensions["pengaduan.workflow"]


__all__ = [
    "FILE_TRIGGER", "LadderStep", "SlaRule", "StateDef", "TransitionDef", "Workflow", "WorkflowError",
    "current_workflow", "init_app", "load_workflow", "parse_workflow",
]
