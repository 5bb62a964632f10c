"""Languages: Indonesian first, English available; the choice is kept in a cookie."""
from __future__ import annotations

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


def init_app(app, babel) -> None:
    from flask_babel import get_locale

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["label"] = label
    app.context_processor(lambda: {"current_locale": str(get_locale() or "id")})
