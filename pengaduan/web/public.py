"""Public pages that need no account."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, jsonify, make_response, redirect, render_template,
                   request, url_for)
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.local import LocalProxy

from .. import audit
from ..extensions import db
from ..i18n import LANGUAGE_COOKIE
from ..services.administration.office import current_office, logo
from ..services.transparency.accessibility import STATEMENT_DATE
from ..workflow import current_workflow
from .forms import PRIVACY_CHOICES
from ..http.uow import rerender

bp = Blueprint("public", __name__)
LOGO_MAX_AGE = 365 * 24 * 3600  # a logo's URL names its version: a new logo has a new URL


@bp.record_once
def _office_global(state) -> None:
    """`office` in every template (pages, emails rendered by the worker, reports): the
    office's identity, read at most once per request or job."""
    state.app.jinja_env.globals["office"] = LocalProxy(current_office)


@bp.get("/")
def home():
    """What the service is, its time limits and its confidentiality promise."""
    workflow = current_workflow()
    return render_template("public/home.html", workflow=workflow, privacy_choices=PRIVACY_CHOICES)


@bp.get("/alur")
def lifecycle():
    """The complaint lifecycle as the workflow in force defines it: its stages and the steps
    between them for everyone; staff also see internal steps and the Mermaid diagram."""
    return render_template("public/lifecycle.html", workflow=current_workflow())


@bp.get("/aksesibilitas")
def accessibility():
    """The accessibility statement: the standard aimed at, how it is checked, the known gaps
    and how to get help."""
    return render_template("public/accessibility.html", stated_on=STATEMENT_DATE)


@bp.get("/audit/head.json")
def audit_head():
    """The newest signed head of the audit chain, public so that the Ombudsman (or anyone)
    can save it and later hold the chain to it (`audit verify --expect-head SEQ:HASH`).
    It holds hashes, a time and a signature: nothing secret, so caches may keep it briefly."""
    head = audit.published_head(db.session)
    if head is None:
        abort(404)  # nothing signed yet: the worker signs the first head within its interval
    response = jsonify(head)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/office/logo-<int:version>.<ext>")
def office_logo(version: int, ext: str):
    """The office's logo as re-encoded when it was uploaded (no metadata), with its checked
    type. Its URL carries the logo's version, so browsers and proxies keep it for a year."""
    stored = logo(version)
    if stored is None or ext != current_office().logo_extension:
        abort(404)
    data, content_type = stored
    response = make_response(data)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = f"public, max-age={LOGO_MAX_AGE}, immutable"
    response.headers["Content-Disposition"] = f"inline; filename=logo.{ext}"
    return response


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        rerender(lambda: ({"status": "unavailable", "database": "unreachable"}, 503))
    return {"status": "ok", "database": "ok"}


def is_local_path(target: str) -> bool:
    """A path on this site: no scheme, no host, no tricks browsers would turn into one."""
    if not target.startswith("/") or "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not target.startswith("//")


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the interface language and return to the page the person was on."""
    target = request.args.get("next") or ""
    if not is_local_path(target):
        target = url_for("public.home")  # never redirect off-site
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True)
    return response
