"""Blueprints: public pages now; staff, supervisor, auditor and admin join them."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth
    from .public import bp as public

    auth.init_app(app)
    app.register_blueprint(public)
