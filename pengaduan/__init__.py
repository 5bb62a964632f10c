"""pengaduan: complaint management for Indonesian public-service providers."""
from __future__ import annotations

from flask import Flask

from . import audit, cli, database, http, i18n, logs, unit_of_work, workflow
from .api import api_v1, open311
from .api.open311 import error_answer as open311_error_answer
from .api.v1 import error_answer as json_error_answer
from .config import PROJECT_ROOT, load_config
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .http.errors import register_error_handlers
from .http.proxies import TrustedProxies
from .integrations import lapor
from .jobs import outbox
from .services.administration.calendar import load_overrides
from .sla import read_overrides_with
from .sla.calendar import read_day_off
from .web import register_blueprints
from .web.errors import page
from .version import __version__  # noqa: F401 - pengaduan.__version__ as before


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    """The application factory; `config` overrides the environment (tests use it)."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_config(app.instance_path))
    app.config.update(config or {})
    # Largest request: every attachment at its limit plus the form itself (Flask's own
    # default is None, no limit at all).
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = (
            app.config["PENGADUAN_MAX_UPLOAD_MB"] * app.config["PENGADUAN_MAX_ATTACHMENTS"] + 1) * 1024 * 1024
    configure_logging(app)
    configure_proxy(app)
    configure_extensions(app)
    configure_calendar(app)
    workflow.init_app(app)
    lapor.init_app(app)  # the SP4N-LAPOR! bridge answers are handed to (PENGADUAN_LAPOR_ADAPTER)
    configure_blueprints(app)
    configure_error_handlers(app)
    cli.init_app(app)
    return app


def configure_logging(app: Flask) -> None:
    logs.configure(app.config["PENGADUAN_LOG_FORMAT"], debug=app.debug)


def configure_proxy(app: Flask) -> None:
    """Behind PENGADUAN_PROXY_COUNT proxies, believe X-Forwarded-* only from
    PENGADUAN_TRUSTED_PROXIES (http/proxies.py)."""
    count = app.config["PENGADUAN_PROXY_COUNT"]
    if count > 0:
        app.wsgi_app = TrustedProxies(app.wsgi_app, count, app.config["PENGADUAN_TRUSTED_PROXIES"])


def configure_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app, babel)
    database.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine)
    audit.install(db.session.session_factory.class_)


def configure_calendar(app: Flask) -> None:
    """Deadlines (sla/) are pure arithmetic; the calendar overrides come from the database.
    Pages read a deadline explanation's days off back with `read_day_off`, to name them in
    the reader's language."""
    read_overrides_with(load_overrides)
    app.jinja_env.globals["read_day_off"] = read_day_off


def configure_blueprints(app: Flask) -> None:
    http.init_app(app)  # first: the routes need its id converter
    register_blueprints(app)
    app.register_blueprint(api_v1)
    app.register_blueprint(open311)
    # Every view, once all are registered: one transaction each, its email sent after it.
    unit_of_work.init_app(app, deliver_mail=outbox.deliver)


def configure_error_handlers(app: Flask) -> None:
    register_error_handlers(app, page=page, json=json_error_answer, open311=open311_error_answer)
