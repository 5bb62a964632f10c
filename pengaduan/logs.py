"""Log lines: plain text (the default) or one JSON object a line (`PENGADUAN_LOG_FORMAT=json`),
each carrying the id of the request it was written in.

The request id is taken from a well-formed incoming `X-Request-Id` (a proxy's, to follow one
request through nginx and the app) or made here, and is answered in the same header
(http/observe.py sets and clears it). Log messages never carry a PIN, a password or a
complainant's personal data: the callers log ids and counts, and tests/test_logging.py scans
the log of a whole journey for them.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(request_suffix)s"
# A proxy's id (nginx's $request_id is 32 hex digits, others use UUIDs): letters, digits and
# a few separators, short. Anything else is replaced, so no header value reaches a log line.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

_request_id: ContextVar[str | None] = ContextVar("pengaduan_request_id", default=None)
_HANDLER_MARK = "_pengaduan_handler"


def request_id_from(header: str | None) -> str:
    """The incoming id when it is well-formed, otherwise a new one."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def bind_request_id(value: str | None):
    """Attach `value` to the log records of the current request; returns the token to reset."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (None outside a request) and `request_suffix` (for the text format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = getattr(record, "request_id", None) or _request_id.get()
        record.request_id = rid
        record.request_suffix = f" [request {rid}]" if rid else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, the
    fields a caller passed as `extra={"fields": {...}}`, and the exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT)


def make_handler(kind: str, stream=None) -> logging.Handler:
    """A stream handler (standard error by default) writing lines of format `kind`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(kind))
    handler.addFilter(RequestIdFilter())
    setattr(handler, _HANDLER_MARK, True)
    return handler


def configure(kind: str, debug: bool = False) -> None:
    """Install the root handler once per process, unless something else (gunicorn's
    `--log-config`, pytest, a debug run) already configured logging: then only the request
    id is added to the handlers that are there, for formats that name it."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]
    if ours:
        for handler in ours:  # a second app in the process (tests) may ask for the other format
            handler.setFormatter(formatter(kind))
    elif not root.handlers and not debug:
        root.addHandler(make_handler(kind))
        root.setLevel(logging.INFO)
    else:
        for handler in root.handlers:
            if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
                handler.addFilter(RequestIdFilter())
    logging.getLogger("transitions").setLevel(logging.WARNING)  # it logs every callback at INFO
    # Flask-Limiter logs each limit hit at INFO with the client's address, which would tie an
    # address to the anonymous survey and to PIN guesses; its warnings (storage errors) stay.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
