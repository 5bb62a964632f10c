"""Languages: Indonesian first, English available; the choice is kept in a cookie."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import get_locale, gettext, ngettext
from flask_babel.speaklater import LazyString
from markupsafe import escape

LANGUAGE_COOKIE = "lang"


class LazyText(LazyString):
    """A message translated when shown. flask_babel's own lazy string tells Jinja it is safe
    HTML, so a value interpolated into it (a file name, a code someone typed) would be
    rendered as markup; this one is text, escaped like any other string."""

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables) -> LazyText:
    return LazyText(gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> LazyText:
    return LazyText(ngettext, singular, plural, num, **variables)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, scheduler: the deployment's default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    if request.path.startswith("/api/"):  # programs say what they want; people get Indonesian
        return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def label(labels: dict | None, locale: str | None = None) -> str:
    """Pick the current language's text from a workflow label mapping {id: ..., en: ...}."""
    if not labels:
        return ""

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
    if isinstance(moment, str):  # as kept in timeline data
        moment = datetime.fromisoformat(moment)
    from babel.dates import format_datetime

    tz = ZoneInfo(timezone or current_app.config["PENGADUAN_TIMEZONE"])
    locale = str(get_locale() or "id")
    text = format_datetime(moment, fmt, tzinfo=tz, locale=locale)
    return f"{text} {TZ_ABBREVIATIONS.get(tz.key, tz.key)}"


def format_day(day, fmt: str = "long") -> str:
    if day is None:
        return ""
    from babel.dates import format_date

    return format_date(day, fmt, locale=str(get_locale() or "id"))


def field_label(name: str) -> str:
    """The label of a workflow field (message, response, ...) in the reader's language."""

    from .workflow.fields import FIELDS

    if name == "attachments":
        return gettext("Photos or documents")
    return str(FIELDS[name].label) if name in FIELDS else name


def level_label(rule: str | None, level: str | None) -> str:
    """The label of a rung of a clock's ladder (warning, overdue, ...) in the reader's language."""
    from .workflow import current_workflow

    sla_rule = current_workflow().sla.get(rule or "")
    step = next((s for s in sla_rule.steps if s.level == level), None) if sla_rule else None
    return label(step.label) if step else (level or "")


def state_label(state: str | None) -> str:
    """A workflow state's label in the reader's language."""
    from .workflow import current_workflow

    spec = current_workflow().states.get(state or "")
    return label(spec.label) if spec else (state or "")


def closure_label(code: str | None) -> str:
    from .workflow import current_workflow

    labels = current_workflow().closure_reasons.get(code or "")
    return label(labels) if labels else (code or "")


def classification_label(code: str | None) -> str:
    from .workflow import current_workflow

    labels = current_workflow().classifications.get(code or "")
    return label(labels) if labels else (code or "")


def channel_label(channel: str | None) -> str:

    return {"web": gettext("Web form"), "api": gettext("API"), "open311": "Open311",
            "walk_in": gettext("At the counter"), "phone": gettext("Phone"),
            "letter": gettext("Letter"), "email": gettext("Email"),
            "social_media": gettext("Social media"), "sp4n_lapor": "SP4N-LAPOR!"}.get(channel or "", channel or "")


def levels_label(data: dict) -> str:
    """The levels named by an acknowledgement, as their labels."""
    from .workflow import current_workflow

    labels = {s.level: s.label for rule in current_workflow().sla.values() for s in rule.steps}
    return ", ".join(label(labels[lv]) if lv in labels else lv for lv in data.get("levels", []))


TZ_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
                    "Asia/Jayapura": "WIT"}


def init_app(app, babel) -> None:

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["field_label"] = field_label
    app.jinja_env.globals["level_label"] = level_label
    app.jinja_env.globals["levels_label"] = levels_label
    app.jinja_env.globals["state_label"] = state_label
    app.jinja_env.globals["classification_label"] = classification_label
    app.jinja_env.globals["closure_label"] = closure_label
    app.jinja_env.globals["channel_label"] = channel_label
    app.jinja_env.globals["return_path"] = return_path
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["day"] = format_day
    app.context_processor(lambda: {"current_locale": str(get_locale() or "id")})
