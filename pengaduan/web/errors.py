"""Friendly error pages for people, JSON errors for API clients."""
from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import DomainError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
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
