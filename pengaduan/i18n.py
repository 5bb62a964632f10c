"""Languages: Indonesian first, English available; the choice is kept in a cookie."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import force_locale, get_locale, gettext, ngettext
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
    if request.path.startswith(("/api/", "/open311/")):  # programs say what they want; people get Indonesian
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


def format_moment_or_day(moment, timezone: str | None = None) -> str:
    """As format_moment, but a moment at exactly local midnight as its date alone: what a date
    typed without a time (an SP4N-LAPOR! date, say) is stored as."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(ZoneInfo(timezone or current_app.config["PENGADUAN_TIMEZONE"]))
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return format_day(local.date(), "d MMM y")
    return format_moment(moment, timezone)


def in_language(locale: str | None, caller) -> str:
    """A template block in another language than the page's, as `{% call in_language(code) %}`:
    the complainant's copy of a receipt on a staff page. An unknown language is the default."""
    if locale not in current_app.config["LANGUAGES"]:
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        return caller()


def format_day(day, fmt: str = "long") -> str:
    if day is None:
        return ""
    from babel.dates import format_date

    return format_date(day, fmt, locale=str(get_locale() or "id"))


@lru_cache(maxsize=16)
def _number_pattern(digits: int):
    from babel.numbers import parse_pattern

    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


def format_number(value, digits: int = 0) -> str:
    """A number in the reader's language: 1.234 and 85,5 in Indonesian, 1,234 and 85.5 in English.
    (babel's format_decimal, with the pattern parsed once: a report page formats hundreds.)"""
    if value is None:
        return "—"
    from babel import Locale

    return _number_pattern(digits).apply(value, Locale.parse(get_locale() or "id"))


def channel_label(channel: str | None) -> str:
    """How a complaint arrived (models.CHANNELS), in the reader's language."""
    return {"web": gettext("Web form"), "api": gettext("API"), "open311": "Open311",
            "walk_in": gettext("At the counter"), "phone": gettext("Phone"),
            "letter": gettext("Letter"), "email": gettext("Email"), "whatsapp": "WhatsApp",
            "sms": "SMS", "social_media": gettext("Social media"),
            "complaint_box": gettext("Complaint box"), "sp4n_lapor": "SP4N-LAPOR!",
            "other": gettext("Other channel")}.get(channel or "", channel or "")


def contact_need_label(need: str) -> str:
    """A need the complainant ticked (models.CONTACT_NEEDS), in the reader's language."""
    return {"sign_language": gettext("A sign-language interpreter"),
            "voice_call": gettext("A phone call rather than writing"),
            "large_print": gettext("Letters in large print"),
            "counter_help": gettext("Help in person at the counter")}.get(need, need)


def role_label(role: str | None) -> str:
    """A role in the reader's language: models/user.py's Role (a str) or the value stored for it.
    Every role shown on a page, in a list or a form, is named through here."""
    return {"citizen": gettext("Complainant"), "officer": gettext("Complaint officer"),
            "supervisor": gettext("Supervisor"), "auditor": gettext("Auditor"),
            "admin": gettext("Administrator"), "system": gettext("System")}.get(role or "", role or "")


TZ_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
                    "Asia/Jayapura": "WIT"}


def init_app(app, babel) -> None:

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["channel_label"] = channel_label
    app.jinja_env.globals["role_label"] = role_label
    app.jinja_env.globals["contact_need_label"] = contact_need_label
    app.jinja_env.globals["return_path"] = return_path
    app.jinja_env.globals["in_language"] = in_language
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment_or_day"] = format_moment_or_day
    app.jinja_env.filters["number"] = format_number
    app.context_processor(lambda: {"current_locale": str(get_locale() or "id")})
