"""Blueprints: public pages and the citizen's filing and tracking."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, uow
    from .citizen import bp as citizen
    from .public import bp as public

    auth.init_app(app)
    uow.init_app(app)
    app.register_blueprint(public)
    app.register_blueprint(citizen)
