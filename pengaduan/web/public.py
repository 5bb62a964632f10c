"""Public pages that need no account."""
from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import csrf, db
from ..i18n import LANGUAGE_COOKIE
from ..workflow import current_workflow

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    """What the service is, its time limits and its confidentiality promise."""
    workflow = current_workflow()
    return render_template("public/home.html", workflow=workflow)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the interface language and return to the page the person was on."""
    target = request.args.get("next") or url_for("public.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.home")  # never redirect off-site
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True)
    return response
