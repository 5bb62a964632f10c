"""Forms of the public pages. They carry CSRF and render inputs; the services validate."""
from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from ..i18n import lazy_gettext as _l
from ..models import CONTACT_NEEDS
from ..services.complaints.intake import CONSENT_TEXT
from ..services.complaints.publication import RULES

# Each mode's explanation is the publication rule's own (services.complaints.publication).
PRIVACY_CHOICES = [
    (mode, label, RULES[mode].explanation)
    for mode, label in (("public", _l("Public")), ("anonymous", _l("Anonymous")),
                        ("confidential", _l("Confidential")))
]


class Form(FlaskForm):
    """A web form reads form fields only. Flask-WTF would otherwise take a JSON body as the
    form, and a JSON list, string or nested object there is no form at all."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is _Auto and request.is_json:
                return None
            return super().wrap_formdata(form, formdata)


class ComplaintForm(Form):
    """The complaint form (field names are a contract: design.md section 5)."""

    unit = SelectField(_l("Unit you are complaining about"), validate_choice=False)
    category = SelectField(_l("Category"), validate_choice=False)
    classification = RadioField(_l("Type of report"), validate_choice=False, default="pengaduan")
    title = StringField(_l("Short title"))
    description = TextAreaField(_l("What happened?"))
    incident_date = StringField(_l("Date of the incident"), render_kw={"type": "date"})
    incident_location = StringField(_l("Place of the incident"))
    service_date = StringField(_l("Date you received the service"), render_kw={"type": "date"})
    requested_resolution = TextAreaField(_l("What would you like to happen?"))
    privacy = RadioField(_l("Privacy"), choices=[SelectChoice(v, text) for v, text, _ in PRIVACY_CHOICES],
                         validate_choice=False, default="public")
    name = StringField(_l("Full name"), render_kw={"autocomplete": "name"})
    nik = StringField(_l("NIK (16-digit national identity number)"),
                      render_kw={"inputmode": "numeric", "maxlength": 16, "autocomplete": "off"})
    email = StringField(_l("Email"), render_kw={"type": "email", "autocomplete": "email"})
    phone = StringField(_l("Phone / WhatsApp"), render_kw={"type": "tel", "autocomplete": "tel"})
    address = TextAreaField(_l("Address"), render_kw={"autocomplete": "street-address", "rows": 2})
    # Ticked boxes (the template draws them with i18n.contact_need_label) and free words.
    contact_needs = SelectMultipleField(_l("Special needs and how to reach you"),
                                        choices=[SelectChoice(code, code) for code in CONTACT_NEEDS],
                                        validate_choice=False)
    contact_needs_note = TextAreaField(_l("Other needs, or the best way to reach you"))
    attachments = MultipleFileField(_l("Photos or documents"),
                                    render_kw={"accept": "image/jpeg,image/png,image/webp,image/gif,application/pdf"})
    consent = BooleanField(CONSENT_TEXT)  # required with any identity (services.complaints.intake)
    # One-time token of this rendering of the form: sending it again files nothing new.
    submission = HiddenField()

    DATA_FIELDS = ("unit", "category", "classification", "title", "description", "incident_date",
                   "incident_location", "service_date", "requested_resolution", "privacy",
                   "name", "nik", "email", "phone", "address", "contact_needs", "contact_needs_note")

    def raw(self) -> dict:
        return {name: self[name].data for name in self.DATA_FIELDS} | {"consent": self.consent.data}


class TrackForm(Form):
    code = StringField(_l("Tracking code"), render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    # Shown as typed: ten characters typed blind are mistyped; the field is cleared after a miss.
    pin = StringField(_l("PIN"), render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                            "spellcheck": "false"})


class ForgotPinForm(Form):
    """Ask for a link to set a new PIN: the tracking code only."""

    code = StringField(_l("Tracking code"), render_kw={"autocomplete": "off", "autocapitalize": "characters"})


class ActionForm(Form):
    """A citizen's step on the tracking page; its inputs come from the workflow file."""

    version = HiddenField()
