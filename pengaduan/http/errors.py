"""Every error is answered in one place: `answer` turns a domain error, an HTTP error
(werkzeug's: 401, 404, 405, 413...; Flask-Limiter's 429) or an unreachable database into a
DomainError whose message is translated when shown, then hands it to the one mapping of the
surface that asked: friendly pages for people (web.errors.page), `{"error": {"code",
"message", ...}}` for the JSON API and any client asking for JSON (api.v1.error_answer), the
spec's shape under /open311/ (api.open311.error_answer). create_app hands each surface's
mapping to `register_error_handlers`, so this module imports neither web/ nor api/."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g, make_response, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import DomainError
from ..i18n import lazy_gettext as _l
from ..unit_of_work import abandon

RETRY_AFTER_SECONDS = 30
EXTENSION = "pengaduan.error_answers"  # each surface's mapping, in app.extensions
Answer = Callable[[DomainError], ResponseReturnValue]
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
    answers = current_app.extensions[EXTENSION]
    if request.path.startswith("/open311/"):
        error_answer = answers["open311"]
    elif _wants_json():
        error_answer = answers["json"]
    else:
        error_answer = answers["page"]
    response = make_response(error_answer(error))
    response.headers.update(headers)
    return response


def register_error_handlers(app: Flask, *, page: Answer, json: Answer, open311: Answer) -> None:
    """Answer every error of `app` here, with the mapping of the surface that asked: `page`
    for people, `json` for the JSON API and any client asking for JSON, `open311` under
    /open311/."""
    app.extensions[EXTENSION] = {"page": page, "json": json, "open311": open311}
    for kind in (HTTPException, DomainError, OperationalError, InterfaceError):
        app.register_error_handler(kind, answer)
