"""Blueprints: public pages, the citizen's filing and tracking, staff sign-in and workspace."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, links, params, security
    from .admin import bp as admin
    from .citizen import bp as citizen
    from .public import bp as public
    from .reporting import bp as reporting
    from .staff import bp as staff
    from .supervision import bp as supervision

    params.init_app(app)
    links.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    app.register_blueprint(public)
    app.register_blueprint(citizen)
    app.register_blueprint(staff)
    app.register_blueprint(supervision)
    app.register_blueprint(reporting)
    app.register_blueprint(admin)
