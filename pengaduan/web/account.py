"""The signed-in staff member's account security: the password, and two-step verification
(switch on with an authenticator app, recovery codes, switch off)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import PasswordField, StringField

from ..errors import InvalidFields
from ..extensions import limiter
from ..i18n import lazy_gettext as _l
from ..policy import Actor, must_use_two_factor
from ..services.administration import two_factor
from ..http.uow import rerender
from .forms import Form

bp = Blueprint("account", __name__, url_prefix="/account")

# While enrolling, the new secret waits in the session, sealed (encrypted): it is stored on
# the account only once a code from the app proves the app has it.
ENROLLING = "two_step_enrolling"


class CodeForm(Form):
    code = StringField(_l("Code from the app"), render_kw={
        "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*",
        "maxlength": "8"})


class EnableForm(CodeForm):
    password = PasswordField(_l("Your password"), render_kw={"autocomplete": "current-password"})


class ProofForm(Form):
    proof = PasswordField(_l("A current code from the app, or your password"),
                          render_kw={"autocomplete": "current-password"})


def me() -> Actor:
    return Actor.staff(current_user)


def _required() -> bool:
    return must_use_two_factor(me(), current_app.config["TWO_FACTOR_ROLES"])


@bp.get("")
@login_required
def security():
    """The account's security: password, and the state of two-step verification."""
    user = current_user
    return render_template(
        "account/security.html", required=_required(), disable_form=ProofForm(),
        renew_form=CodeForm(),
        codes_left=two_factor.recovery_codes_left(user) if user.two_factor_enabled else 0)


def _enrol_page(form: EnableForm, errors=None):
    sealed = session.get(ENROLLING)
    secret = two_factor.unseal(sealed)
    if secret is None:  # first visit, or sealed under an earlier key: start afresh
        secret = two_factor.new_secret()
        session[ENROLLING] = two_factor.seal(secret)
    uri = two_factor.provisioning_uri(current_user, secret)
    return render_template(
        "account/enable_two_factor.html", form=form, errors=errors or {}, required=_required(),
        secret=two_factor.grouped(secret), issuer=two_factor.ISSUER,
        qr=two_factor.qr_svg(uri, _("QR code to scan with the authenticator app"))), 422 if errors else 200


@bp.route("/two-factor/enable", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute;100 per hour", methods=["POST"])
def enable_two_factor():
    """Switch on: scan the QR code (or type the secret), then confirm with a code."""
    if current_user.two_factor_enabled:
        return redirect(url_for("account.security"))
    form = EnableForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(current_user, session.get(ENROLLING), form.code.data,
                                      form.password.data, actor=me())
        except InvalidFields as exc:
            form.code.data = form.password.data = ""
            rerender(_enrol_page, form, exc.errors)
        session.pop(ENROLLING, None)
        # Shown in this answer only (pages are sent with no-store), never through the cookie.
        return render_template("account/recovery_codes.html", codes=codes, just_enabled=True)
    return _enrol_page(form)


@bp.post("/two-factor/disable")
@login_required
@limiter.limit("10 per minute;100 per hour")
def disable_two_factor():
    """Switch off, with a current code or the password."""
    form = ProofForm()
    if form.validate_on_submit():
        try:
            two_factor.disable(current_user, form.proof.data, actor=me())
        except InvalidFields as exc:
            rerender(_security_refused, "disable", exc.errors)
        if _required():
            flash(_("Two-step verification is off. Your role requires it: set it up again now."), "info")
            return redirect(url_for("account.enable_two_factor"))
        flash(_("Two-step verification is off."), "success")
    return redirect(url_for("account.security"))


@bp.post("/two-factor/recovery-codes")
@login_required
@limiter.limit("10 per minute;100 per hour")
def renew_recovery_codes():
    """Ten new recovery codes (the old ones stop working), for a current code of the app."""
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.regenerate_recovery_codes(current_user, form.code.data, actor=me())
        except InvalidFields as exc:
            rerender(_security_refused, "renew", exc.errors)
        return render_template("account/recovery_codes.html", codes=codes, just_enabled=False)
    return redirect(url_for("account.security"))


def _security_refused(which: str, errors: dict):
    """The security page again, with the refusal next to the form that was sent."""
    user = current_user
    return render_template(
        "account/security.html", required=_required(), disable_form=ProofForm(),
        renew_form=CodeForm(), errors={which: errors},
        codes_left=two_factor.recovery_codes_left(user) if user.two_factor_enabled else 0), 422
