"""Administration: staff accounts, units, categories, response templates, the calendar and
the office's identity. Admins only; every change audited."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from ..database import before_writing, reads_first
from ..errors import InvalidFields
from ..extensions import db
from ..models import STAFF_ROLES, Category, ResponseTemplate, Unit, User
from ..policy import Actor, can_administer, must_use_two_factor, two_factor_roles_unprotected
from ..services.administration.accounts import (INDONESIAN_TIMEZONES, create_category, create_unit,
                                 create_user, reset_password, update_category, update_unit,
                                 update_user)
from ..services.administration.auth import recent_attempts
from ..services.administration.two_factor import recovery_codes_left
from ..services.administration.two_factor import reset as reset_two_factor
from ..services.administration.calendar import add_day_off, calendar_year, default_year, make_working_day
from ..services.administration.office import (LOGO_MAX_BYTES, LOGO_MAX_SIDE, LOGO_STORED_SIDE,
                                              check_logo, current_office, save_office)
from ..services.complaints.responses import save_response_template
from ..sla import current_overrides
from ..http.uow import rerender

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_only(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not can_administer(me()):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def me() -> Actor:
    return Actor.staff(current_user)


def _all(model, order):
    return db.session.scalars(select(model).order_by(order)).all()


def _apply(change, page):
    """Run one administrative change; bad input rolls the request back and answers
    `page(errors)`, the form again with what was typed."""
    try:
        return change()
    except InvalidFields as exc:
        rerender(page, exc.errors)


def _form_page(template: str, status: int = 200, **context):
    return render_template(template, roles=STAFF_ROLES, timezones=INDONESIAN_TIMEZONES,
                           units=_all(Unit, Unit.name), **context), status


@bp.get("/")
@admin_only
def index():
    return redirect(url_for("admin.users"))


@bp.route("/users", methods=["GET", "POST"])
@admin_only
def users():
    """All accounts, and a form to create one (the password is shown once)."""
    typed = request.form.to_dict()

    def page(errors=None):
        accounts = _all(User, User.email)
        unprotected = two_factor_roles_unprotected(current_app.config["TWO_FACTOR_ROLES"])
        return _form_page("admin/users.html", 422 if errors else 200, users=accounts,
                          errors=errors or {}, typed=typed, chosen=request.form.getlist("units"),
                          unprotected=unprotected, exposed=[
                              u for u in accounts if u.active and not u.two_factor_enabled
                              and u.role in unprotected])

    if request.method == "POST":
        user, password = _apply(lambda: create_user(
            typed.get("email", ""), typed.get("role", ""), name=typed.get("name") or None,
            unit_codes=request.form.getlist("units"), actor=me()), page)
        flash(_("Account %(email)s created. Its first password, shown only now: %(password)s",
                email=user.email, password=password), "success")
        return redirect(url_for("admin.users"))
    return page()


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_only
def user(user_id):
    account = db.session.get(User, user_id) or abort(404)

    def page(errors=None):
        return _form_page("admin/user.html", 422 if errors else 200, account=account,
                          errors=errors or {}, attempts=recent_attempts(account),
                          codes_left=recovery_codes_left(account),
                          two_factor_required=must_use_two_factor(
                              Actor.staff(account), current_app.config["TWO_FACTOR_ROLES"]))

    if request.method == "POST":
        _apply(lambda: update_user(
            account, name=request.form.get("name", ""), role=request.form.get("role", ""),
            unit_codes=request.form.getlist("units"), active=request.form.get("active") == "1",
            actor=me()), page)
        flash(_("Account saved."), "success")
        return redirect(url_for("admin.users"))
    return page()


@bp.post("/users/<int:user_id>/password")
@admin_only
def user_password(user_id):
    """Reset the password (confirmed on the account's page): the new one is shown in this
    answer only, never through the session cookie, and the account must change it."""
    account = db.session.get(User, user_id) or abort(404)
    password = reset_password(account, actor=me())
    return render_template("admin/password_reset.html", account=account, password=password)


@bp.post("/users/<int:user_id>/two-factor")
@admin_only
def user_two_factor(user_id):
    """Reset the account's two-step verification (a lost phone); its sessions end."""
    account = db.session.get(User, user_id) or abort(404)
    if account.two_factor_enabled:
        reset_two_factor(account, actor=me())
        flash(_("Two-step verification of %(email)s was reset. The account signs in with its "
                "password alone until it sets it up again.", email=account.email), "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/units", methods=["GET", "POST"])
@admin_only
def units():
    typed = request.form.to_dict()

    def page(errors=None):
        return _form_page("admin/units.html", 422 if errors else 200, errors=errors or {}, typed=typed)

    if request.method == "POST":
        _apply(lambda: create_unit(
            typed.get("code", ""), typed.get("name", ""),
            timezone=typed.get("timezone", "Asia/Jakarta"),
            working_days=typed.get("working_days", "12345"),
            cuti_bersama_off=typed.get("cuti_bersama_off") == "1", actor=me()), page)
        flash(_("Unit created."), "success")
        return redirect(url_for("admin.units"))
    return page()


@bp.route("/units/<code>", methods=["GET", "POST"])
@admin_only
def unit(code):
    item = Unit.by_code(code) or abort(404)

    def page(errors=None):
        return _form_page("admin/unit.html", 422 if errors else 200, item=item, errors=errors or {})

    if request.method == "POST":
        _apply(lambda: update_unit(
            item, name=request.form.get("name", ""), timezone=request.form.get("timezone", ""),
            working_days=request.form.get("working_days", ""),
            cuti_bersama_off=request.form.get("cuti_bersama_off") == "1",
            active=request.form.get("active") == "1", actor=me()), page)
        flash(_("Unit saved."), "success")
        return redirect(url_for("admin.units"))
    return page()


@bp.route("/categories", methods=["GET", "POST"])
@admin_only
def categories():
    typed = request.form.to_dict()

    def page(errors=None):
        return _form_page("admin/categories.html", 422 if errors else 200,
                          categories=_all(Category, Category.name), errors=errors or {}, typed=typed,
                          chosen=request.form.getlist("units"))

    if request.method == "POST":
        _apply(lambda: create_category(typed.get("code", ""), typed.get("name", ""),
                                       unit_codes=request.form.getlist("units"), actor=me()), page)
        flash(_("Category created."), "success")
        return redirect(url_for("admin.categories"))
    return page()


@bp.route("/categories/<code>", methods=["GET", "POST"])
@admin_only
def category(code):
    item = Category.by_code(code) or abort(404)

    def page(errors=None):
        return _form_page("admin/category.html", 422 if errors else 200, item=item, errors=errors or {})

    if request.method == "POST":
        _apply(lambda: update_category(
            item, name=request.form.get("name", ""), unit_codes=request.form.getlist("units"),
            active=request.form.get("active") == "1", actor=me()), page)
        flash(_("Category saved."), "success")
        return redirect(url_for("admin.categories"))
    return page()


@bp.route("/responses", methods=["GET", "POST"])
@admin_only
def responses():
    """Standard answers officers can start from, per category or for all categories."""
    typed = request.form.to_dict()

    def page(errors=None):
        return _form_page("admin/responses.html", 422 if errors else 200, errors=errors or {},
                          typed=typed, templates=_all(ResponseTemplate, ResponseTemplate.title),
                          categories=_all(Category, Category.name))

    if request.method == "POST":
        _apply(lambda: save_response_template(
            None, title=typed.get("title", ""), body=typed.get("body", ""),
            category_code=typed.get("category") or None, actor=me()), page)
        flash(_("Response template created."), "success")
        return redirect(url_for("admin.responses"))
    return page()


@bp.route("/responses/<int:template_id>", methods=["GET", "POST"])
@admin_only
def response(template_id):
    item = db.session.get(ResponseTemplate, template_id) or abort(404)

    def page(errors=None):
        return _form_page("admin/response.html", 422 if errors else 200, item=item,
                          errors=errors or {}, categories=_all(Category, Category.name))

    if request.method == "POST":
        _apply(lambda: save_response_template(
            item, title=request.form.get("title", ""), body=request.form.get("body", ""),
            category_code=request.form.get("category") or None,
            active=request.form.get("active") == "1", actor=me()), page)
        flash(_("Response template saved."), "success")
        return redirect(url_for("admin.responses"))
    return page()


@bp.route("/calendar", methods=["GET", "POST"])
@admin_only
def calendar():
    """The year's holidays and cuti bersama, and the deployment's overrides. A change moves
    the open deadlines it affects, each one audited."""
    year = request.args.get("year", type=int) or default_year()
    if not 1970 <= year <= 2100:
        year = default_year()
    typed = request.form.to_dict()

    def page(errors=None):
        return render_template("admin/calendar.html", year=year, days=calendar_year(year),
                               version=current_overrides().version, errors=errors or {},
                               typed=typed, action=typed.get("action")), 422 if errors else 200

    if request.method == "POST":
        action = typed.get("action")
        if action == "add":
            row, moved = _apply(lambda: add_day_off(typed.get("day", ""), typed.get("kind", ""),
                                                    typed.get("reason"), actor=me()), page)
        elif action == "remove":
            row, moved = _apply(lambda: make_working_day(typed.get("day", ""), typed.get("reason"),
                                                         actor=me()), page)
        else:
            abort(400)
        flash(ngettext("Calendar changed for %(day)s; %(num)d open deadline recomputed.",
                       "Calendar changed for %(day)s; %(num)d open deadlines recomputed.",
                       moved, day=row.day.isoformat()), "success")
        return redirect(url_for("admin.calendar", year=row.day.year))
    return page()


@bp.route("/office", methods=["GET", "POST"])
@admin_only
@reads_first  # a new logo is decoded before the write transaction begins
def office():
    """The office's identity as citizens see it: its name, logo and contacts on every public
    page, the receipt, every email and the reports. Every change is audited."""
    typed = request.form.to_dict()

    def page(errors=None):
        return render_template("admin/office.html", errors=errors or {}, typed=typed,
                               current=current_office(), logo_max_mb=LOGO_MAX_BYTES // (1024 * 1024),
                               logo_max_side=LOGO_MAX_SIDE,
                               logo_stored_side=LOGO_STORED_SIDE), 422 if errors else 200

    if request.method == "POST":
        refused: dict = {}
        logo = None
        try:
            with before_writing():
                logo = check_logo(request.files.get("logo"))
        except InvalidFields as exc:
            refused = exc.errors
        changed = _apply(lambda: save_office(
            typed, logo=logo, remove_logo=typed.get("remove_logo") == "1", actor=me(),
            errors=refused), page)
        flash(_("Office identity saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("admin.office"))
    return page()
