"""The workflow in force: loaded once at start-up (workflow.init_app) and read through
`current_workflow()`. A module of its own, so that modules of this package (labels.py) read
it without importing the package that imports them."""
from __future__ import annotations

from flask import current_app

from .definition import Workflow

EXTENSION = "pengaduan.workflow"  # its key in app.extensions


def current_workflow() -> Workflow:
    return current_app.extensions[EXTENSION]
