"""Friendly error pages for people, JSON errors for API clients."""
from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import DomainError
from ..unit_of_work import abandon

RETRY_AFTER_SECONDS = 30


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 500:  # an unexpected failure: the page must not reuse its broken transaction
            abandon()
        if request.path.startswith("/open311/"):
            from ..api.open311 import http_error as open311_error

            return open311_error(exc.code, exc.description)
        if _wants_json():
            return {"error": {"code": exc.name.lower().replace(" ", "_"),
                              "message": exc.description}}, exc.code
        template = f"errors/{exc.code}.html" if exc.code in (400, 403, 404, 413, 429, 503) else "errors/generic.html"
        return render_template(template, error=exc), exc.code

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if _wants_json():
            return {"error": exc.to_dict()}, exc.status
        return render_template("errors/generic.html", error=exc), exc.status

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(exc):
        """The database is down or unreachable: nothing was committed by this request, and
        everything committed before is safe, so say so and ask to retry."""
        current_app.logger.error("database unavailable: %s", exc.orig if hasattr(exc, "orig") else exc)
        abandon()
        # Render as nobody: loading the signed-in user would need the database again.
        g._login_user = current_app.login_manager.anonymous_user()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if _wants_json():
            return {"error": {"code": "service_unavailable",
                              "message": "the database is unreachable; retry later"}}, 503, headers
        return render_template("errors/unavailable.html"), 503, headers
