"""What arrives in paths and query strings, parsed once for every view."""
from flask import Flask, request
from werkzeug.routing import IntegerConverter

from ..errors import NulCharacter
from ..models import MAX_ID


class RowIdConverter(IntegerConverter):
    """`<int:id>` up to the largest id a row can have: a longer number is a 404 like any id
    that names nothing, instead of an error from the database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def row_id(value: str | None) -> int | None:
    """A positive id from a query string (`?before=`), or None for anything else."""
    return int(value) if value and value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def refuse_nul_characters() -> None:
    """PostgreSQL refuses text with a NUL byte, as a lookup value as much as a stored one, so
    the request is refused whole before any view reads it (SQLite would store it silently)."""
    if ("\x00" in request.path
            or any(_holds_nul(v) for v in request.args.listvalues())
            or any(_holds_nul(v) for v in request.form.listvalues())
            or (request.is_json and _holds_nul(request.get_json(silent=True)))):
        raise NulCharacter()


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    app.before_request(refuse_nul_characters)
