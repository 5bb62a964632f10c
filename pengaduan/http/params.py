"""What arrives in paths, query strings and bodies: checked once for every view, before
anything reads or parses a body."""
import io
import re
from datetime import date

import flask
from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from ..errors import BadRequest, NulCharacter
from ..i18n import lazy_gettext as _l
from ..models import MAX_ID


class RowIdConverter(IntegerConverter):
    """`<int:id>` up to the largest id a row can have: a longer number is a 404 like any id
    that names nothing, instead of an error from the database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def row_id(value: str | None) -> int | None:
    """A positive id from a query string (`?before=`), or None for anything else."""
    if not value or len(value) > len(str(MAX_ID)) or not (value.isascii() and value.isdigit()):
        return None
    return int(value) if 0 < int(value) <= MAX_ID else None


def query_day(name: str, default: date) -> date:
    """A day from the query string (`?from=2026-01-01`), or `default` when absent or not a date."""
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


class Request(flask.Request):
    """Only a multipart form (attachments) may be as large as MAX_CONTENT_LENGTH; every other
    body (JSON, a plain form, anything else) is read whole into memory and parsed there, so it
    is held to PENGADUAN_MAX_BODY_KB. refuse_large_bodies applies the limit before any hook
    reads a body; Werkzeug applies it again wherever a body is read."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None or not current_app:
            return super().max_content_length
        if self.mimetype == "multipart/form-data":
            return current_app.config["MAX_CONTENT_LENGTH"]
        return current_app.config["PENGADUAN_MAX_BODY_KB"] * 1024

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def refuse_large_bodies() -> None:
    """A declared length over the limit is refused before anyone reads the body, on any URL,
    before sign-in, CSRF and rate limits (a body nobody reads would otherwise be answered as
    if it were fine). A chunked body declares none: one that is not a multipart form is read
    now, and refused as soon as it passes the limit."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    if (limit is not None and request.content_length is None and request.mimetype != "multipart/form-data"
            and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
            and request.environ.get("wsgi.input_terminated")):
        # Werkzeug would silently cut such a stream at the limit; one byte more tells.
        body = request.environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise RequestEntityTooLarge()
        request.environ["wsgi.input"] = io.BytesIO(body)


NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # NUL, and halves of a surrogate pair


def _refuse_bad_text(document) -> None:
    """Every string (keys too) of a JSON document, walked in a loop (the nesting depth is the
    sender's): a NUL no column can hold; a lone surrogate (`"\\ud800"`) is no character at all
    and cannot even be encoded to be stored."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = NOT_TEXT.search(item)
            if found and found.group() == "\x00":
                raise NulCharacter()
            if found:
                raise BadRequest(_l("The JSON document holds a lone surrogate (\\ud800-\\udfff), "
                                    "which is not a character."))
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def json_document():
    """The request's JSON document (None if the body is not JSON), parsed only by the views
    that take one, and refused whole if any text in it could not be stored."""
    try:
        document = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser follows: refused, never a 500
        raise BadRequest(_l("The JSON document is nested too deeply.")) from None
    _refuse_bad_text(document)
    return document


def refuse_nul_characters() -> None:
    """PostgreSQL refuses text with a NUL byte, as a lookup value as much as a stored one, so
    the request is refused whole before any view reads it (SQLite would store it silently).
    Strings only: a JSON body is checked where a view parses it (json_document)."""
    if ("\x00" in request.path
            or any("\x00" in v for values in request.args.listvalues() for v in values)
            or any("\x00" in v for values in request.form.listvalues() for v in values)):
        raise NulCharacter()


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    app.request_class = Request
    # First of all the hooks: CSRF protection, registered earlier, reads the form.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_large_bodies)
    app.before_request(refuse_nul_characters)
