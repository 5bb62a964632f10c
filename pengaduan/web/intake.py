"""Staff enter a complaint that arrived at the counter, by phone, by letter, WhatsApp, SMS,
social media, the complaint box or SP4N-LAPOR!: the citizen's form plus the channel, the
arrival and LAPOR!'s fields; it files through the same intake service and ends on a receipt
to print (A5) or send by WhatsApp (never with the PIN)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, render_template_string,
                   request, session, url_for)
from markupsafe import Markup
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ..database import reads_first
from ..errors import InvalidFields, StorageFull
from ..extensions import csrf, db
from ..http.links import external_url
from ..http.uow import checked_uploads, rerender
from ..i18n import TZ_ABBREVIATIONS, channel_label
from ..i18n import lazy_gettext as _l
from ..models import STAFF_CHANNELS, Complaint, Unit, utcnow
from ..policy import Actor, can_view
from ..policy.intake import can_enter_complaints
from ..services import file_complaint
from ..services.attachments import stored_files
from ..services.complaints.citizen import citizen_deadline
from ..services.complaints.complainant_mail import whatsapp_contact
from ..services.complaints.intake import (CONSENT_TEXT, CONSENT_VERSION, LAPOR, READ_OUT_CHANNELS, filed_from,
                                          validate_complaint)
from ..services.complaints.publication import RULES as PUBLICATION
from ..services.complaints.receipts import receipt_sent, send_receipt, tracking_qr
from ..services.complaints.tracking import seal_pin, unseal_pin
from .citizen import RECEIPT_SECONDS, _category_choices, _classifications, form_context
from .forms import PRIVACY_CHOICES, ComplaintForm

bp = Blueprint("intake", __name__, url_prefix="/staff")

RECEIPT_KEY = "entered_receipt"  # the last complaint this browser entered: code, sealed PIN, who


class StaffIntakeForm(ComplaintForm):
    """The citizen's complaint form (the same field names and checks) and how it arrived."""

    channel = SelectField(_l("How it arrived"), validate_choice=False)
    arrival = StringField(_l("When it arrived"), render_kw={"type": "datetime-local"})
    arrival_note = TextAreaField(_l("Why it is entered only now"), render_kw={"rows": 2})
    locale = SelectField(_l("Language of the complainant"), validate_choice=False,
                         choices=[SelectChoice("id", "Bahasa Indonesia"), SelectChoice("en", "English")])
    lapor_id = StringField(_l("LAPOR! tracking ID"), render_kw={"autocomplete": "off"})
    lapor_received_at = StringField(_l("Date LAPOR! received it"), render_kw={"type": "date"})
    lapor_disposed_at = StringField(_l("Date LAPOR! disposed it to this office"), render_kw={"type": "date"})
    lapor_anonim = BooleanField(_l("Anonim (the reporter's identity is hidden)"))
    lapor_rahasia = BooleanField(_l("Rahasia (the report is not public)"))
    consent = BooleanField(_l("The complainant agreed after hearing this"))

    ENTRY_FIELDS = ("arrival", "arrival_note", "lapor_id", "lapor_received_at", "lapor_disposed_at")

    def raw(self) -> dict:
        raw = super().raw() | {name: self[name].data for name in self.ENTRY_FIELDS} | {
            "lapor_anonim": self.lapor_anonim.data, "lapor_rahasia": self.lapor_rahasia.data}
        if self.channel.data not in READ_OUT_CHANNELS:
            raw["consent"] = False  # nobody heard the words: the complaint keeps that it was not asked
        return raw


def _entering() -> Actor:
    """The signed-in officer or supervisor; everyone else is refused (403)."""
    actor = Actor.staff(current_user)
    if not can_enter_complaints(actor):
        abort(403)
    return actor


def _my_units() -> list[Unit]:
    return db.session.scalars(select(Unit).where(Unit.id.in_(current_user.unit_ids),
                                                 Unit.active.is_(True)).order_by(Unit.name)).all()


def _form(units: list[Unit]) -> StaffIntakeForm:
    form = StaffIntakeForm()
    form.unit.choices = ([SelectChoice("", _("Choose a unit"))] if len(units) != 1 else []) + [
        SelectChoice(u.code, u.name) for u in units]
    form.category.choices = _category_choices()
    form.classification.choices = [SelectChoice(code, text) for code, text in _classifications()]
    form.channel.choices = [SelectChoice("", _("Choose how it arrived"))] + [
        SelectChoice(code, channel_label(code)) for code in STAFF_CHANNELS]
    return form


def _read_out() -> list[dict]:
    """The words to read out to the complainant (privacy modes, then the consent), in each
    language, the deployment's default first."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    texts = []
    for code in sorted(current_app.config["LANGUAGES"], key=lambda c: c != default):
        language = _("In Bahasa Indonesia") if code == "id" else _("In English")  # the reader's words
        with force_locale(code):
            texts.append({"locale": code, "modes": [(str(label), str(PUBLICATION[mode].explanation))
                                                    for mode, label, _hint in PRIVACY_CHOICES],
                          "question": _("Who may know it is you?"), "consent": str(CONSENT_TEXT),
                          "language": language})
    return texts


def _render(form, units, errors=None, status=200, files_dropped=False):
    return render_template(
        "staff/intake.html", errors=errors or {}, files_dropped=files_dropped, units=units,
        read_out=_read_out(), consent_version=CONSENT_VERSION, lapor=LAPOR, channel=form.channel.data,
        channels=STAFF_CHANNELS, read_out_channels=READ_OUT_CHANNELS,
        zone=TZ_ABBREVIATIONS.get(_zone(units), _zone(units)), **form_context(form)), status


def _zone(units: list[Unit]) -> str:
    """The timezone the arrival is typed in: the unit's (the first of several)."""
    return units[0].timezone if units else current_app.config["PENGADUAN_TIMEZONE"]


@bp.route("/complaints/new", methods=["GET", "POST"])
@reads_first  # the scans are decoded before the write transaction begins
@csrf.exempt  # the form checks its own token so that a stale token keeps what was typed
@login_required
def new():
    """Record a complaint received through another channel; a refusal keeps what was typed."""
    actor = _entering()
    units = _my_units()
    form = _form(units)
    if request.method == "GET":
        session.pop(RECEIPT_KEY, None)  # the last receipt's PIN is not shown again
        form.unit.data = request.args.get("unit") or (units[0].code if len(units) == 1 else "")
        form.channel.data = request.args.get("channel", "")
        form.arrival.data = utcnow().astimezone(ZoneInfo(_zone(units))).strftime("%Y-%m-%dT%H:%M")
        form.locale.data = current_app.config["BABEL_DEFAULT_LOCALE"]
        return _render(form, units)

    errors: dict = {}
    if not form.validate():  # only the CSRF token has validators here
        errors["csrf_token"] = _l("The form expired. Please check what was typed and send it again.")
    elif (already := filed_from(form.submission.data)) is not None:
        return _already_entered(already)
    channel = form.channel.data
    if channel not in STAFF_CHANNELS:
        errors["channel"] = _l("choose how the complaint arrived")
    files = request.files.getlist("attachments")
    try:
        checked = checked_uploads(files)
    except InvalidFields as exc:
        errors.update(exc.errors)
    try:
        validate_complaint(form.raw(), channel=channel if channel in STAFF_CHANNELS else "other",
                           actor=actor.via(channel))
    except InvalidFields as exc:
        errors.update(exc.errors)
    if errors:
        return _render(form, units, errors, 422, files_dropped=any(f.filename for f in files))

    locale = form.locale.data if form.locale.data in current_app.config["LANGUAGES"] else None
    try:
        with stored_files(checked) as stored:
            filed = file_complaint(form.raw(), actor=actor.via(channel), attachments=stored,
                                   submission=form.submission.data, locale=locale)
            complaint = filed.complaint
            emailed = send_receipt(complaint, complaint.locale)
    except InvalidFields as exc:  # changed since the check (a LAPOR! ID used meanwhile, say)
        rerender(_render, form, units, exc.errors, exc.status, files_dropped=True)
    except StorageFull as exc:
        rerender(_render, form, units, exc.errors, exc.status, files_dropped=True)
    except IntegrityError as exc:  # sent twice at once, or its LAPOR! ID recorded meanwhile
        rerender(_conflict, form, units, exc)
    session[RECEIPT_KEY] = {"code": complaint.tracking_code, "pin": seal_pin(filed.pin),
                            "user": current_user.id, "email": emailed and emailed.status,
                            "message": emailed and emailed.message}
    return redirect(url_for("intake.receipt"))


def _conflict(form, units, conflict: IntegrityError):
    """After the rollback: the complaint this form already filed, or the LAPOR! ID's."""
    if (already := filed_from(form.submission.data)) is not None:
        return _already_entered(already)
    try:
        validate_complaint(form.raw(), channel=form.channel.data, actor=Actor.staff(current_user).via(form.channel.data))
    except InvalidFields as exc:
        return _render(form, units, exc.errors, 409, files_dropped=True)
    raise conflict


def _already_entered(complaint: Complaint):
    """The form sent again files nothing: back to its receipt, or to the complaint."""
    flash(_("This form was already sent, so nothing was recorded again."), "notice")
    if (session.get(RECEIPT_KEY) or {}).get("code") == complaint.tracking_code:
        return redirect(url_for("intake.receipt"))
    if can_view(Actor.staff(current_user), complaint):
        return redirect(url_for("staff.complaint", code=complaint.tracking_code))
    return redirect(url_for("intake.new"))


@bp.get("/complaints/new/receipt")
@login_required
def receipt():
    """The receipt of the complaint just entered, to print on A5 or read out: the PIN shows
    here only, for a short while, to the staff member who entered it."""
    actor = _entering()
    data = session.get(RECEIPT_KEY) or {}
    pin = unseal_pin(data.get("pin", ""), RECEIPT_SECONDS) if data.get("user") == current_user.id else None
    complaint = Complaint.by_code(data.get("code", "")) if pin else None
    if complaint is None or not can_view(actor, complaint):
        session.pop(RECEIPT_KEY, None)
        flash(_("The receipt with the PIN is shown only once, right after recording."), "notice")
        return redirect(url_for("intake.new"))
    tracking_url = external_url("citizen.track", code=complaint.tracking_code)
    # The number the staff member has just typed in (the complaint's own, whatever its privacy
    # mode); the message carries the code and the address, never the PIN.
    whatsapp = whatsapp_contact(complaint, {"name": complaint.complainant_name,
                                            "phone": complaint.complainant_phone}, tracking_url)
    with force_locale(complaint.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        sheet = Markup(render_template_string(  # the complainant's copy, in her language
            '{% from "citizen/_receipt_sheet.html" import receipt_sheet with context %}'
            '{{ receipt_sheet(complaint, pin, qr, tracking_url, deadline) }}',
            complaint=complaint, pin=pin, deadline=citizen_deadline(complaint), tracking_url=tracking_url,
            qr=tracking_qr(tracking_url, _("QR code of the address to follow your complaint"))))
    return render_template("staff/intake_receipt.html", complaint=complaint, sheet=sheet,
                           whatsapp=whatsapp, emailed=data.get("email"),
                           email_sent=receipt_sent(data.get("message")))
