"""What arrives in paths and query strings, parsed once for every view."""
from flask import Flask, request
from werkzeug.exceptions import BadRequest
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
    if not value or len(value) > len(str(MAX_ID)) or not (value.isascii() and value.isdigit()):
        return None
    return int(value) if 0 < int(value) <= MAX_ID else None


def _holds_nul(value) -> bool:
    """Whether any text in a JSON document holds a NUL (a loop: nesting depth is the sender's)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _json_or_none():
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser follows: refused, never a 500
        raise BadRequest("the JSON document is nested too deeply") from None


def refuse_nul_characters() -> None:
    """PostgreSQL refuses text with a NUL byte, as a lookup value as much as a stored one, so
    the request is refused whole before any view reads it (SQLite would store it silently)."""
    if ("\x00" in request.path
            or any(_holds_nul(v) for v in request.args.listvalues())
            or any(_holds_nul(v) for v in request.form.listvalues())
            or (request.is_json and _holds_nul(_json_or_none()))):
        raise NulCharacter()


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    app.before_request(refuse_nul_characters)
