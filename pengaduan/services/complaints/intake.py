"""Registering a new complaint (the citizen form, the API and integrations share this)."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context
from flask_babel import get_locale
from sqlalchemy import exists, select

from ... import audit, sla
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import CHANNELS, CONTACT_NEEDS, PRIVACY_MODES, Category, Complaint, ComplaintEvent, Unit, utcnow
from ...policy import Actor
from ...workflow import FILE_TRIGGER, current_workflow
from . import notifications
from ..attachments import StoredFile, attach, attachment_digests
from ..inputs import EMAIL, day, local_today, text
from .tracking import hash_pin, new_pin, new_tracking_code

NIK = re.compile(r"^\d{16}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
SUBMISSION = re.compile(r"^[A-Za-z0-9_-]{32}$")  # what new_submission() makes
LIMITS = {"title": 200, "description": 10000, "incident_location": 300,
          "requested_resolution": 5000, "name": 200, "email": 254, "phone": 32, "address": 1000,
          "contact_needs_note": 500}

# The consent asked of whoever gives an identity (UU 27/2022 on Personal Data Protection).
# Each complaint keeps the version its complainant agreed to: change CONSENT_VERSION whenever
# CONSENT_TEXT changes (in any language).
CONSENT_TEXT = _l("I agree that my personal data is processed to handle this complaint "
                  "(UU 27/2022 on Personal Data Protection).")
CONSENT_VERSION = "2026-12-07"
_YES = {"true", "1", "on", "yes", "y"}


@dataclass
class Filed:
    complaint: Complaint
    pin: str  # shown once on the receipt; only its hash is stored


def validate_complaint(raw: dict, at: datetime | None = None) -> dict:
    """Check a filing; return clean values or raise InvalidFields naming every bad field.

    Dates are judged in the timezone of the unit complained about (WIB, WITA or WIT).
    """
    workflow = current_workflow()
    errors: dict[str, str] = {}
    unit = Unit.by_code(str(raw.get("unit") or "")) if raw.get("unit") else None
    today = local_today(unit, at)
    clean = {
        "title": text(raw, "title", errors, LIMITS, required=True),
        "description": text(raw, "description", errors, LIMITS, required=True),
        "incident_location": text(raw, "incident_location", errors, LIMITS),
        "requested_resolution": text(raw, "requested_resolution", errors, LIMITS),
        "incident_date": day(raw.get("incident_date"), "incident_date", errors, latest=today),
        "service_date": day(raw.get("service_date"), "service_date", errors, latest=today),
    }
    if unit is None or not unit.active:
        errors["unit"] = _l("choose the unit the complaint is about")
    category = None
    if raw.get("category"):
        category = Category.by_code(str(raw["category"]).strip())
        if category is None or not category.active:
            errors["category"] = _l("unknown category")
        elif unit is not None and not unit.offers(category):
            errors["category"] = _l("not handled by %(unit)s", unit=unit.name)
    classification = raw.get("classification") or next(iter(workflow.classifications))
    if not isinstance(classification, str) or classification not in workflow.classifications:
        errors["classification"] = _l("choose one of the options")  # JSON may send a list
    privacy = raw.get("privacy") or "public"
    if not isinstance(privacy, str) or privacy not in PRIVACY_MODES:
        errors["privacy"] = _l("choose one of the options")

    identity = {f: text(raw, f, errors, LIMITS) for f in ("name", "email", "phone", "address")}
    nik = str(raw.get("nik") or "").strip().replace(" ", "")
    if nik and not NIK.match(nik):
        errors["nik"] = _l("must be 16 digits")
    identity["nik"] = nik or None
    if privacy != "anonymous" and not identity["name"]:
        errors.setdefault("name", _l("is required unless you file anonymously"))
    if identity["email"] and not EMAIL.match(identity["email"]):
        errors["email"] = _l("is not a valid email address")
    if identity["phone"] and not PHONE.match(identity["phone"]):
        errors["phone"] = _l("is not a valid phone number")
    consent = agreed(raw.get("consent"))
    if any(identity.values()) and not consent:
        errors["consent"] = _l("You must agree to the processing of your personal data.")
    needs = contact_needs(raw.get("contact_needs"), errors)
    needs_note = text(raw, "contact_needs_note", errors, LIMITS)
    if errors:
        raise InvalidFields(errors)

    late = False
    if clean["service_date"] is not None:
        late = clean["service_date"] < today - timedelta(days=workflow.filing_window_days)
    return {**clean, "unit": unit, "category": category, "classification": classification,
            "privacy": privacy, "identity": identity, "late_filing": late, "consent": consent,
            "contact_needs": needs, "contact_needs_note": needs_note}


def contact_needs(value, errors: dict) -> list[str] | None:
    """The needs ticked (CONTACT_NEEDS codes, in their order), None for none; a form sends
    each ticked box, JSON a list."""
    values = [value] if isinstance(value, str) else value or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values) \
            or not set(values) <= set(CONTACT_NEEDS):
        errors["contact_needs"] = _l("choose one of the options")
        return None
    return [code for code in CONTACT_NEEDS if code in values] or None


def agreed(value) -> bool:
    """A consent box ticked: JSON true, or a form's true/on/1/yes."""
    return value is True or (isinstance(value, str) and value.strip().lower() in _YES)


def new_submission() -> str:
    """A one-time token for one rendering of the complaint form (a hidden field)."""
    return secrets.token_urlsafe(24)


def submission_digest(token: str | None) -> str | None:
    """What is stored of a well-formed form token; None for anything else."""
    if not isinstance(token, str) or not SUBMISSION.match(token):
        return None
    return hashlib.sha256(token.encode()).hexdigest()


def filed_from(token: str | None) -> Complaint | None:
    """The complaint this form token already filed, if any."""
    digest = submission_digest(token)
    if digest is None:
        return None
    return db.session.scalar(select(Complaint).where(Complaint.submission_digest == digest))


def _unused_tracking_code() -> str:
    while True:
        code = new_tracking_code()
        if not db.session.scalar(select(exists().where(Complaint.tracking_code == code))):
            return code


def filing_locale(locale: str | None = None) -> str:
    """The language a complaint is filed in: the one given, else the request's, else the default."""
    languages = current_app.config["LANGUAGES"]
    if locale not in languages:
        locale = str(get_locale()) if has_request_context() else None
    return locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def file_complaint(raw: dict, *, actor: Actor = Actor.channel("web"), at: datetime | None = None,
                   attachments: list[StoredFile] = (), submission: str | None = None,
                   locale: str | None = None) -> Filed:
    """Validate and register a complaint in the workflow's initial state; flushes only.

    `actor` says who files and through which channel: `Actor.channel("web")` for a citizen
    filing online (the default), `Actor.channel("api")` and the like for the integrations,
    `Actor.staff(user).via("walk_in")` for a staff member typing in a complaint received at
    the counter, by phone or by letter.

    `attachments` are files already checked and stored (services.attachments); the caller
    discards them if this unit of work fails.

    `submission` is the web form's one-time token: a second filing with it fails on the
    unique digest (IntegrityError) even when both arrive at once; check filed_from first.

    `locale` is the language the complaint is filed in, which the complainant is later
    written to in; by default the request's (the web form's chosen language, an API
    client's Accept-Language), else the deployment's default.
    """
    channel = actor.intake
    if channel not in CHANNELS:
        raise InvalidFields({"channel": _l("unknown channel")})
    workflow = current_workflow()
    at = at or utcnow()
    values = validate_complaint(raw, at)
    identity = values.pop("identity")
    consent = values.pop("consent")
    pin = new_pin()
    complaint = Complaint(
        tracking_code=_unused_tracking_code(), pin_hash=hash_pin(pin), channel=channel,
        state=workflow.initial, received_at=at, state_changed_at=at, updated_at=at,
        complainant_name=identity["name"], complainant_nik=identity["nik"],
        complainant_email=identity["email"], complainant_phone=identity["phone"],
        complainant_address=identity["address"], submission_digest=submission_digest(submission),
        consent_at=at if consent else None, consent_version=CONSENT_VERSION if consent else None,
        locale=filing_locale(locale), **values,
    )
    db.session.add(complaint)
    event = ComplaintEvent(
        kind="filed", trigger=FILE_TRIGGER, to_state=workflow.initial,
        actor_role=actor.role, actor_id=actor.user.id if actor.user else None,
        unit=values["unit"],
        public=True, occurred_at=at, data={"channel": channel, "late_filing": values["late_filing"]},
    )
    complaint.events.append(event)
    attach(complaint, list(attachments), event=event)
    sla.on_event(complaint, workflow, FILE_TRIGGER, None, workflow.initial, at)
    db.session.flush()
    audit.record(db.session, "complaint.filed", actor=actor.label, unit=values["unit"],
                 complaint=complaint.tracking_code, payload={
                     "unit": values["unit"].code,
                     "category": values["category"].code if values["category"] else None,
                     "classification": values["classification"], "channel": channel,
                     "privacy": values["privacy"], "late_filing": values["late_filing"],
                     "state": workflow.initial,
                     # Whether special needs were given, never which (possibly health data).
                     "contact_needs": bool(values["contact_needs"] or values["contact_needs_note"]),
                     **attachment_digests(attachments),
                 })
    notifications.after_filing(complaint)
    return Filed(complaint, pin)
