"""Blueprints: public pages, the citizen's filing and tracking, staff sign-in and workspace."""
from flask import Flask

# As modules: pengaduan.web.citizen must stay the module (tests patch what its views call).
from . import account, admin, audit_log, auth, citizen, intake, public, reporting, search, staff, supervision
from . import compensation, monitoring, ombudsman, readiness, standards, survey_results
from . import evaluation, statistics
from . import survey, surveys


def register_blueprints(app: Flask) -> None:
    auth.init_app(app)
    for pages in (public, citizen, staff, intake, search, supervision, reporting, admin, account, audit_log,
                  survey_results, statistics, surveys, survey, readiness, compensation, standards, ombudsman,
                  evaluation, monitoring):
        app.register_blueprint(pages.bp)
    app.register_blueprint(standards.public_bp)
