"""Staff sign-in (the password, then the code of two-step verification when it is on) and
sign-out, the password change page, and what a signed-in account must do before anything
else (change a password an admin reset, switch on a required two-step verification)."""
from __future__ import annotations

import hmac
import time


from flask import (Blueprint, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import PasswordField, StringField

from ..errors import InvalidFields
from ..extensions import client_network, db, limiter, login_manager
from ..i18n import lazy_gettext as _l
from ..models import User
from ..policy.intake import can_enter_complaints
from ..policy.search import can_search, can_search_identity
from ..policy import (Actor, can_administer, can_browse_queue, can_export_evidence, can_read_audit_log,
                      can_read_reports,
                      can_read_supervision, can_review_overdue, can_use_surveys, handles_cases,
                      has_home, keeps_every_unit_documents, sees_all_units, sees_own_work,
                      sees_setup_status, sees_unit_figures, watches_units)
from ..services.administration.auth import MIN_PASSWORD
from ..services.administration.auth import authenticate, change_password
from ..services.administration.two_factor import second_step as check_second_step
from ..policy import must_use_two_factor, two_factor_roles
from ..policy import can_read_evaluation, can_read_ombudsman, can_read_readiness
from .forms import Form
from .public import is_local_path
from ..http.uow import rerender

bp = Blueprint("auth", __name__)


class LoginForm(Form):
    email = StringField(_l("Email"), render_kw={"type": "email", "autocomplete": "username"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "current-password"})


class CodeForm(Form):
    code = StringField(_l("Code"), render_kw={"autocomplete": "one-time-code", "inputmode": "text",
                                              "autocapitalize": "characters", "spellcheck": "false"})


class PasswordForm(Form):
    current = PasswordField(_l("Current password"), render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"), render_kw={"autocomplete": "new-password"})


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user a session cookie names, if that session has not been ended since."""
    user_id, _, token = session_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active:
        return None
    return user if hmac.compare_digest(token, user.session_token or "") else None


# What the page frame and shared templates ask the policy about the signed-in staff member
# (`{% if may("review_overdue") %}`): a link appears exactly when its page lets the user in.
DECISIONS = {
    "browse_queue": can_browse_queue,
    "handle_cases": lambda actor: handles_cases(actor.role),
    "review_overdue": can_review_overdue,
    "read_supervision": can_read_supervision,
    "read_reports": can_read_reports,
    "export_evidence": can_export_evidence,
    "read_audit_log": can_read_audit_log,
    "administer": can_administer,
    "keep_every_unit_documents": keeps_every_unit_documents,
    "see_all_units": lambda actor: sees_all_units(actor.user),
    # The home page's sections (policy/home.py).
    "see_own_work": sees_own_work,
    "watch_units": watches_units,
    "see_unit_figures": sees_unit_figures,
    "see_setup_status": sees_setup_status,
    "search": can_search,
    "search_identity": can_search_identity,
    "enter_complaints": can_enter_complaints,
    # The SKM pages (web/surveys.py): whoever opens, types in or reads some unit's survey.
    "use_surveys": can_use_surveys,
    # The readiness for the assessment (web/readiness.py).
    "read_readiness": can_read_readiness,
    # The register of Ombudsman products (web/ombudsman.py).
    "read_ombudsman": can_read_ombudsman,
    # The complaint evaluation report (web/evaluation.py).
    "read_evaluation": can_read_evaluation,
}


def may(decision: str) -> bool:
    """The policy's answer for the signed-in staff member; no for anybody else. An unknown
    decision is an error, not a silent no."""
    check = DECISIONS[decision]
    return bool(current_user.is_authenticated and check(Actor.staff(current_user)))


def home_for(user: User) -> str:
    """Where staff start their work after signing in: their home page."""
    if has_home(Actor.staff(user)):
        return url_for("staff.home")
    return url_for("public.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute;100 per hour", methods=["POST"])
def login():
    """Sign in; repeated wrong passwords hold back the account from that address."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        # The address as the rate limits see it: an IPv6 subscriber's whole /64.
        sign_in = authenticate(form.email.data, form.password.data, client_network())
        error = sign_in.refusal  # a refusal is answered normally, so the try is kept
        if sign_in.user is not None:
            user = sign_in.user
            target = request.args.get("next", "")
            target = target if is_local_path(target) else ""
            session.clear()  # no data from before the login survives it (fixation)
            if sign_in.needs_code:
                # Not signed in: the session only remembers whose code to ask for, briefly.
                session[PENDING] = {"user": user.id, "token": user.session_token or "",
                                    "at": int(time.time()), "next": target}
                return redirect(url_for("auth.second_step"))
            login_user(user)
            return redirect(target or home_for(user))
    form.password.data = ""
    return render_template("auth/login.html", form=form, error=error), 401 if error else 200


# How long the right password stays good for typing the code (the session is otherwise
# anonymous: it opens no page and no API route).
PENDING, PENDING_SECONDS = "two_step", 5 * 60


def _pending_user() -> User | None:
    """The account whose password was just typed right, while its code is awaited; None when
    there is none, it expired, or the account's sessions were ended meanwhile (a reset)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending.get("user")) if isinstance(pending.get("user"), int) else None
    if user is None or not user.active or not user.two_factor_enabled:
        return None
    return user if hmac.compare_digest(str(pending.get("token", "")), user.session_token or "") else None


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("10 per minute;100 per hour", methods=["POST"])
def second_step():
    """The second step of signing in: the code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Sign in again: the time to type the code ran out."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        result = check_second_step(user, form.code.data, client_network())
        error = result.refusal  # answered normally, so the try is kept
        if result.user is not None:
            target = session.get(PENDING, {}).get("next") or ""
            session.clear()
            login_user(user)
            if result.recovered:
                flash(_("You signed in with a recovery code; it cannot be used again. Set up the "
                        "authenticator app again or make new recovery codes on the account "
                        "security page."), "info")
            return redirect(target if is_local_path(target) else home_for(user))
    form.code.data = ""
    return render_template("auth/second_step.html", form=form, error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    """Sign out: this session and any copy of its cookie stop working."""
    if current_user.is_authenticated:
        current_user.end_sessions()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


# What an account with a duty open may still reach: the page of that duty, signing out, the
# language switch and static files. Anything else sends it to the duty.
ALWAYS_OPEN = {"auth.logout", "public.set_language", "static"}


def open_duty(user: User) -> str | None:
    """The endpoint the signed-in user must go through before anything else, if any: choose a
    password of one's own after an admin's reset, then switch on a required two-step
    verification."""
    if user.password_change_required:
        return "auth.password"
    if not user.two_factor_enabled and must_use_two_factor(
            Actor.staff(user), current_app.config["TWO_FACTOR_ROLES"]):
        return "account.enable_two_factor"
    return None


def _hold_to_duty():
    """Before every request of a signed-in browser: an account with a duty open reaches only
    its duty. (The API takes bearer tokens, never this cookie, and is not affected.)"""
    if (request.endpoint in ALWAYS_OPEN or request.blueprint in ("api_v1", "open311")
            or not current_user.is_authenticated):
        return None
    duty = open_duty(current_user)
    if duty is None or request.endpoint == duty:
        return None
    if duty == "auth.password":
        flash(_("An administrator reset your password. Choose a new password of your own to "
                "continue."), "info")
    else:
        flash(_("Your role requires two-step verification. Set it up to continue."), "info")
    return redirect(url_for(duty))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data, form.confirm.data)
        except InvalidFields as exc:
            rerender(_password_page, form, exc.errors)
        login_user(current_user._get_current_object())  # this browser stays signed in
        flash(_("Your password was changed. Other sessions were signed out."), "success")
        return redirect(home_for(current_user))
    return _password_page(form)


def _password_page(form: PasswordForm, errors=None):
    return render_template("auth/password.html", form=form, errors=errors or {},
                           min_password=MIN_PASSWORD,
                           required=current_user.password_change_required), 422 if errors else 200


def init_app(app) -> None:
    # Refused at start-up when it names a role that does not exist.
    app.config["TWO_FACTOR_ROLES"] = two_factor_roles(app.config.get("PENGADUAN_REQUIRE_2FA_ROLES"))
    app.before_request(_hold_to_duty)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    app.jinja_env.globals["may"] = may
    app.register_blueprint(bp)
