"""Every error is answered in one place: `answer` turns a domain error, an HTTP error
(werkzeug's: 401, 404, 405, 413...; Flask-Limiter's 429) or an unreachable database into a
DomainError whose message is translated when shown, then hands it to the one mapping of the
surface that asked: friendly pages for people (`page`), `{"error": {"code", "message", ...}}`
for the JSON API and any client asking for JSON (api.v1.error_answer), the spec's shape
under /open311/ (api.open311.error_answer)."""
from __future__ import annotations

from flask import Flask, current_app, g, make_response, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import ConcurrentChange, DomainError
from ..i18n import lazy_gettext as _l
from ..unit_of_work import abandon

RETRY_AFTER_SECONDS = 30
# What an HTTP error says, in the reader's language (werkzeug's own texts are English only).
HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Sign-in is required."),
    403: _l("You may not do this."),
    404: _l("There is nothing at this address."),
    405: _l("This method is not allowed here."),
    409: _l("The request conflicts with the current state."),
    413: _l("The request is too large."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("Something went wrong on the server. Try again later."),
    503: _l("The service is unavailable for a moment. Try again later."),
}
PAGES = (400, 403, 404, 413, 429, 503)  # statuses with a page of their own in errors/


class HTTPError(DomainError):
    """An HTTP error as the surfaces answer it: its code from the status's name
    (`too_many_requests`), its message translated unless the raiser wrote one."""

    def __init__(self, exc: HTTPException):
        self.status = exc.code or 500
        self.code = (exc.name or "error").lower().replace(" ", "_")
        written = exc.description != type(exc).description and self.status != 429  # 429: the limit
        super().__init__(exc.description if written
                         else HTTP_MESSAGES.get(self.status, exc.description))


class DatabaseUnavailable(DomainError):
    code, status = "service_unavailable", 503
    default_message = _l("The database is unreachable; retry later.")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def page(error: DomainError):
    """The page for people: a status's own page, a domain error's message, "changed
    meanwhile" with a way back for a conflict (a form that can keep what was typed catches
    ConcurrentChange itself and shows the form again)."""
    if isinstance(error, DatabaseUnavailable):
        return render_template("errors/unavailable.html"), error.status
    if isinstance(error, ConcurrentChange):
        return render_template("errors/409.html", error=error), error.status
    if isinstance(error, HTTPError) and error.status in PAGES:
        return render_template(f"errors/{error.status}.html", error=error), error.status
    return render_template("errors/generic.html", error=error), error.status


def answer(exc: Exception):
    """The one handler of every error, whatever the surface."""
    headers = {}
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database is down or unreachable: nothing was committed by this request, and
        # everything committed before is safe, so say so and ask to retry.
        current_app.logger.error("database unavailable: %s", exc.orig if hasattr(exc, "orig") else exc)
        abandon()
        # Answer as nobody: loading the signed-in user would need the database again.
        g._login_user = current_app.login_manager.anonymous_user()
        error, headers = DatabaseUnavailable(), {"Retry-After": str(RETRY_AFTER_SECONDS)}
    elif isinstance(exc, HTTPException):
        if exc.code == 500:  # an unexpected failure: the page must not reuse its broken transaction
            abandon()
        error = HTTPError(exc)
    else:
        error = exc
    if request.path.startswith("/open311/"):
        from ..api.open311 import error_answer
    elif _wants_json():
        from ..api.v1 import error_answer
    else:
        error_answer = page
    response = make_response(error_answer(error))
    response.headers.update(headers)
    return response


def register_error_handlers(app: Flask) -> None:
    for kind in (HTTPException, DomainError, OperationalError, InterfaceError):
        app.register_error_handler(kind, answer)
