"""Languages: Indonesian first, English available; the choice is kept in a cookie."""
from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, scheduler: the deployment's default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def label(labels: dict | None, locale: str | None = None) -> str:
    """Pick the current language's text from a workflow label mapping {id: ..., en: ...}."""
    if not labels:
        return ""
    from flask_babel import get_locale

    locale = locale or str(get_locale() or "id")
    return labels.get(locale) or labels.get("id") or next(iter(labels.values()))


def return_path() -> str:
    """Where the language switch returns to: this page, or for a form answer the page it came from."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return request.path


def format_moment(moment, timezone: str | None = None, fmt: str = "d MMM y HH:mm") -> str:
    """A UTC datetime in the reader's language, in a unit's timezone (default: the deployment's)."""
    if moment is None:
        return ""
    from babel.dates import format_datetime
    from flask_babel import get_locale

    tz = ZoneInfo(timezone or current_app.config["PENGADUAN_TIMEZONE"])
    locale = str(get_locale() or "id")
    text = format_datetime(moment, fmt, tzinfo=tz, locale=locale)
    return f"{text} {TZ_ABBREVIATIONS.get(tz.key, tz.key)}"


def format_day(day, fmt: str = "long") -> str:
    if day is None:
        return ""
    from babel.dates import format_date
    from flask_babel import get_locale

    return format_date(day, fmt, locale=str(get_locale() or "id"))


def field_label(name: str) -> str:
    """The label of a workflow field (message, response, ...) in the reader's language."""
    from flask_babel import gettext

    from .workflow.fields import FIELDS

    if name == "attachments":
        return gettext("Photos or documents")
    return str(FIELDS[name].label) if name in FIELDS else name


TZ_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
                    "Asia/Jayapura": "WIT"}


def init_app(app, babel) -> None:
    from flask_babel import get_locale

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["field_label"] = field_label
    app.jinja_env.globals["return_path"] = return_path
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["day"] = format_day
    app.context_processor(lambda: {"current_locale": str(get_locale() or "id")})
