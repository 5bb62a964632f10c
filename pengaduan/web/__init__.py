"""Blueprints: public pages now; staff, supervisor, auditor and admin join them."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .public import bp as public

    app.register_blueprint(public)
