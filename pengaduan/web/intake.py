"""Staff enter a complaint that arrived at the counter, by phone, by letter, WhatsApp, SMS,
social media, the complaint box or SP4N-LAPOR!: the citizen's form plus the channel, the
arrival and LAPOR!'s fields; it files through the same intake service and ends on a receipt
to print (A5) or send by WhatsApp (never with the PIN)."""
from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ..database import reads_first
from ..extensions import csrf, db
from ..http.links import external_url
from ..http.filing import file_form
from ..i18n import TZ_ABBREVIATIONS, channel_label
from ..i18n import lazy_gettext as _l
from ..models import STAFF_CHANNELS, Complaint, Unit, utcnow
from ..policy import Actor, can_view
from ..policy.intake import can_enter_complaints
from ..services.complaints.citizen import citizen_deadline
from ..services.complaints.complainant_mail import whatsapp_contact
from ..services.complaints.intake import CONSENT_TEXT, CONSENT_VERSION, LAPOR, READ_OUT_CHANNELS
from ..services.complaints.publication import RULES as PUBLICATION
from ..services.complaints.receipts import receipt_sent, tracking_qr
from ..services.complaints.tracking import unseal_pin
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
    # The citizen's labels speak to her; the officer's speak of her.
    STAFF_LABELS = {"unit": _l("Unit complained about"),
                    "service_date": _l("Date the complainant received the service"),
                    "requested_resolution": _l("What the complainant would like to happen"),
                    "contact_needs": _l("Special needs and how to reach the complainant"),
                    "contact_needs_note": _l("Other needs, or the best way to reach the complainant")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in self.STAFF_LABELS.items():
            self[name].label.text = text

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

    channel = form.channel.data
    known = channel in STAFF_CHANNELS
    filing = file_form(form, actor.via(channel if known else "other"), refused=partial(_render, form, units),
                       already_filed=_already_entered,
                       expired=_l("The form expired. Please check what was typed and send it again."),
                       errors={} if known else {"channel": _l("choose how the complaint arrived")},
                       locale=form.locale.data)
    session[RECEIPT_KEY] = filing.receipt() | {"user": current_user.id}
    return redirect(url_for("intake.receipt"))


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
    return render_template("staff/intake_receipt.html", complaint=complaint, pin=pin,
                           deadline=citizen_deadline(complaint), tracking_url=tracking_url,
                           qr=partial(tracking_qr, tracking_url), whatsapp=whatsapp, emailed=data.get("email"),
                           email_sent=receipt_sent(data.get("message")))
