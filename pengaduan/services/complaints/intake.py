"""Registering a new complaint (the citizen form, the API and integrations share this)."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context
from flask_babel import get_locale
from sqlalchemy import exists, select

from ... import audit, sla
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import (CHANNELS, CONTACT_NEEDS, PRIVACY_MODES, STAFF_CHANNELS, Category, Complaint,
                       ComplaintEvent, Unit, utcnow)
from ...policy import Actor, can_view
from ...policy.intake import can_enter_for
from ...workflow import FILE_TRIGGER, current_workflow
from . import notifications
from ..attachments import StoredFile, attach, attachment_digests
from ..inputs import EMAIL, day, in_calendar, local_today, out_of_calendar, text
from .tracking import hash_pin, new_pin, new_tracking_code

NIK = re.compile(r"^\d{16}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
SUBMISSION = re.compile(r"^[A-Za-z0-9_-]{32}$")  # what new_submission() makes
LIMITS = {"title": 200, "description": 10000, "incident_location": 300,
          "requested_resolution": 5000, "name": 200, "email": 254, "phone": 32, "address": 1000,
          "contact_needs_note": 500, "arrival_note": 500}

# A complaint typed in or relayed (STAFF_CHANNELS) may say when it really arrived (`arrival`,
# the unit's local time): never later than the filing, and more than ARRIVAL_GRACE earlier
# only with a reason (`arrival_note`), as when a letter of Friday is entered on Monday. Its
# clocks start at the arrival.
ARRIVAL_GRACE = timedelta(hours=1)
LOCAL_MOMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::\d{2})?)?$")

# SP4N-LAPOR!: its tracking ID (digits, letters, dashes; a leading "#" as LAPOR! writes it is
# dropped) and its flags: "rahasia" hides the report from the public, "anonim" the reporter
# from the office. Each maps to the privacy mode that hides at least as much; the stricter of
# that and the privacy chosen wins, so both flags make the complaint confidential, and with
# "anonim" no name is asked for (LAPOR! does not pass it on).
LAPOR = "sp4n_lapor"
LAPOR_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
LAPOR_FIELDS = ("lapor_id", "lapor_received_at", "lapor_disposed_at", "lapor_anonim", "lapor_rahasia")
STRICTNESS = {"public": 0, "anonymous": 1, "confidential": 2}

# The consent asked of whoever gives an identity (UU 27/2022 on Personal Data Protection).
# Each complaint keeps the version its complainant agreed to: change CONSENT_VERSION whenever
# CONSENT_TEXT changes (in any language).
CONSENT_TEXT = _l("I agree that my personal data is processed to handle this complaint "
                  "(UU 27/2022 on Personal Data Protection).")
CONSENT_VERSION = "2026-12-07"
# Where nobody can ask for that consent, the identity a complaint gives is processed because
# handling it is carrying out the public service (UU 27/2022 art. 20(2)(e): "pelaksanaan
# tugas dalam rangka kepentingan umum, pelayanan publik"), and the complaint keeps, instead
# of a version of the text, that consent was not asked and why:
# - mail read from the office's mailbox: its sender wrote to the office herself, giving her
#   address and words, and was shown no consent text (file_complaint's `consent_unasked`);
# - a complaint staff type in from a channel where the words cannot be read out to the
#   complainant: anything but the counter and the phone (READ_OUT_CHANNELS), such as a
#   letter, the complaint box, WhatsApp, SMS or SP4N-LAPOR! (the channel is the complaint's).
# At the counter and on the phone the words are read out and her agreement is still required.
CONSENT_UNASKED = "unasked:email"
CONSENT_UNASKED_ENTERED = "unasked:staff"
READ_OUT_CHANNELS = ("walk_in", "phone")
PUBLIC_SERVICE_BASIS = "UU 27/2022 art. 20(2)(e)"
_YES = {"true", "1", "on", "yes", "y"}


@dataclass
class Filed:
    complaint: Complaint
    pin: str  # shown once on the receipt; only its hash is stored


def validate_complaint(raw: dict, at: datetime | None = None, *, channel: str = "web",
                       actor: Actor | None = None, consent_unasked: bool = False) -> dict:
    """Check a filing; return clean values or raise InvalidFields naming every bad field.

    Dates are judged in the timezone of the unit complained about (WIB, WITA or WIT). `at`
    is when it is filed (now by default); a complaint of STAFF_CHANNELS may name an earlier
    `arrival` (see ARRIVAL_GRACE), one of SP4N-LAPOR! carries LAPOR_FIELDS. `actor` files it:
    a LAPOR! ID already used is named by its complaint's code only to whoever may open it.
    """
    workflow = current_workflow()
    errors: dict[str, str] = {}
    unit = Unit.by_code(str(raw.get("unit") or "")) if raw.get("unit") else None
    at = at or utcnow()
    arrival = arrival_time(raw, unit, at, errors) if channel in STAFF_CHANNELS else None
    today = local_today(unit, arrival or at)
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
    elif actor is not None and actor.user is not None and not can_enter_for(actor, unit):
        errors["unit"] = _l("you may enter complaints only for the units you belong to")
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
    lapor = lapor_fields(raw, channel, unit, arrival or at, at, errors, actor)
    consent_unasked = consent_unasked or entered_unasked(channel, actor)
    if lapor.get("privacy") and privacy in STRICTNESS \
            and STRICTNESS[lapor["privacy"]] > STRICTNESS[privacy]:
        privacy = lapor["privacy"]

    identity = {f: text(raw, f, errors, LIMITS) for f in ("name", "email", "phone", "address")}
    nik = str(raw.get("nik") or "").strip().replace(" ", "")
    if nik and not NIK.match(nik):
        errors["nik"] = _l("must be 16 digits")
    identity["nik"] = nik or None
    staff = actor is not None and actor.user is not None
    if privacy != "anonymous" and not lapor.get("lapor_anonim") and not identity["name"]:
        errors.setdefault("name", _l(
            "is required: LAPOR!'s Rahasia flag makes the complaint confidential, and a confidential "
            "complaint keeps the complainant's name (hidden). Leave it empty only if LAPOR! also marked "
            "the report Anonim") if raw.get("privacy") == "anonymous"
            else _l("is required unless the complaint is anonymous") if staff
            else _l("is required unless you file anonymously"))
    if identity["email"] and not EMAIL.match(identity["email"]):
        errors["email"] = _l("is not a valid email address")
    if identity["phone"] and not PHONE.match(identity["phone"]):
        errors["phone"] = _l("is not a valid phone number")
    consent = agreed(raw.get("consent"))
    if any(identity.values()) and not consent and not consent_unasked:
        errors["consent"] = (_l("Tick it once the complainant has agreed, or leave the identity empty.")
                             if staff else _l("You must agree to the processing of your personal data."))
    needs = contact_needs(raw.get("contact_needs"), errors)
    needs_note = text(raw, "contact_needs_note", errors, LIMITS)
    if errors:
        raise InvalidFields(errors)

    late = False
    if clean["service_date"] is not None:
        late = clean["service_date"] < today - timedelta(days=workflow.filing_window_days)
    return {**clean, "unit": unit, "category": category, "classification": classification,
            "privacy": privacy, "identity": identity, "late_filing": late, "consent": consent,
            "contact_needs": needs, "contact_needs_note": needs_note,
            "arrival": arrival, "arrival_note": text(raw, "arrival_note", {}, LIMITS) if arrival else None,
            "lapor": lapor}


def local_moment(value, name: str, errors: dict, zone: str, required: bool = False) -> datetime | None:
    """A local date and time given as YYYY-MM-DDTHH:MM (a date alone is its first minute) in
    the timezone `zone`, as UTC; None if empty."""
    if value in (None, ""):
        if required:
            errors[name] = _l("is required")
        return None
    match = LOCAL_MOMENT.match(value.strip()) if isinstance(value, str) else None
    try:
        moment = datetime.fromisoformat(f"{match[1]}T{match[2] or '00:00'}") if match else None
    except ValueError:
        moment = None
    if moment is None:
        errors[name] = _l("must be a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)")
        return None
    if not in_calendar(moment.date()):
        errors[name] = out_of_calendar()
        return None
    return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def _zone(unit: Unit | None) -> str:
    return unit.timezone if unit is not None else current_app.config["PENGADUAN_TIMEZONE"]


def arrival_time(raw: dict, unit: Unit | None, at: datetime, errors: dict) -> datetime | None:
    """When the complaint really arrived (`arrival`, local), None when not given (it arrives
    as it is filed): never after `at`; more than ARRIVAL_GRACE before it only with a reason."""
    arrival = local_moment(raw.get("arrival"), "arrival", errors, _zone(unit))
    if arrival is None:
        return None
    if arrival > at:
        errors["arrival"] = _l("cannot be in the future: give the date and time it really arrived")
    elif arrival < at - ARRIVAL_GRACE and not text(raw, "arrival_note", errors, LIMITS):
        errors.setdefault("arrival_note", _l(
            "is required when the complaint arrived more than an hour ago: say why it is entered only now"))
    else:
        text(raw, "arrival_note", errors, LIMITS)  # its length
    return arrival


def lapor_fields(raw: dict, channel: str, unit: Unit | None, arrival: datetime, at: datetime,
                 errors: dict, actor: Actor | None) -> dict:
    """The SP4N-LAPOR! fields of a complaint of that channel (LAPOR_FIELDS, checked), with
    the privacy mode its flags ask for; refused on any other channel."""
    if channel != LAPOR:
        for key in LAPOR_FIELDS:
            value = raw.get(key)
            if (agreed(value) if key in ("lapor_anonim", "lapor_rahasia") else value not in (None, "")):
                errors[key] = _l("only for a complaint received through SP4N-LAPOR!: choose SP4N-LAPOR! "
                                 "as the channel, or empty the LAPOR! fields and untick its flags")
        return {}
    zone = _zone(unit)
    lapor_id = raw.get("lapor_id")
    lapor_id = lapor_id.strip().lstrip("#").strip().upper() if isinstance(lapor_id, str) else lapor_id
    if not lapor_id:
        errors["lapor_id"] = _l("is required for a complaint received through SP4N-LAPOR!")
    elif not isinstance(lapor_id, str) or not LAPOR_ID.match(lapor_id):
        errors["lapor_id"] = _l("must be LAPOR!'s tracking ID: 3 to 32 letters, digits or dashes")
    elif (used := db.session.scalar(select(Complaint).where(Complaint.lapor_id == lapor_id))) is not None:
        errors["lapor_id"] = (_l("is already recorded, as complaint %(code)s", code=used.tracking_code)
                              if actor is not None and can_view(actor, used)
                              else _l("is already recorded for another complaint"))
    disposed = local_moment(raw.get("lapor_disposed_at"), "lapor_disposed_at", errors, zone, required=True)
    if disposed is not None and disposed > at:
        errors["lapor_disposed_at"] = _l("cannot be in the future")
    elif disposed is not None and disposed > arrival:
        errors["lapor_disposed_at"] = _l("cannot be after the complaint arrived here")
    received = local_moment(raw.get("lapor_received_at"), "lapor_received_at", errors, zone)
    if received is not None and received > at:
        errors["lapor_received_at"] = _l("cannot be in the future")
    elif received is not None and disposed is not None and received > disposed:
        errors["lapor_received_at"] = _l("cannot be after LAPOR! disposed it to this office")
    anonim, rahasia = agreed(raw.get("lapor_anonim")), agreed(raw.get("lapor_rahasia"))
    privacy = "confidential" if rahasia else "anonymous" if anonim else None
    return {"lapor_id": lapor_id, "lapor_received_at": received, "lapor_disposed_at": disposed,
            "lapor_anonim": anonim, "lapor_rahasia": rahasia, "privacy": privacy}


def consent_given(channel: str, actor: Actor) -> str:
    """How the complainant agreed to CONSENT_TEXT: on the form she sent herself ("online"),
    read out to her at the counter or on the phone ("orally"), or in writing (a letter, a
    message, SP4N-LAPOR!) as the staff member who typed it in confirms, where that is
    asked at all (see entered_unasked)."""
    if actor.user is None:
        return "online"
    return "orally" if channel in READ_OUT_CHANNELS else "in_writing"


def entered_unasked(channel: str, actor: Actor | None) -> bool:
    """Whether a staff member types in a complaint from a channel where the consent words
    cannot be read out (not READ_OUT_CHANNELS): its identity is then taken without the
    consent box, on the public-service basis (CONSENT_UNASKED_ENTERED)."""
    return actor is not None and actor.user is not None and channel in STAFF_CHANNELS \
        and channel not in READ_OUT_CHANNELS


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
                   locale: str | None = None, consent_unasked: bool = False) -> Filed:
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

    `at` is when it is filed (now by default). A complaint of a channel staff type in or
    relay (STAFF_CHANNELS) may carry in `raw` when it really arrived: `arrival` (the unit's
    local time, YYYY-MM-DDTHH:MM) and, more than ARRIVAL_GRACE before `at`, `arrival_note`;
    it is then received, and its clocks start, at the arrival. One of SP4N-LAPOR! carries
    `lapor_id` (required, unique), `lapor_disposed_at` (required, not after the arrival),
    `lapor_received_at` (YYYY-MM-DD or YYYY-MM-DDTHH:MM, local) and the flags `lapor_anonim`
    and `lapor_rahasia` (see LAPOR_ID); other channels refuse them.

    `consent_unasked` is for mail read from the office's mailbox (`Actor.channel("email")`
    only, services.complaints.mail_intake): the sender wrote to the office herself and was
    shown no consent text, so the identity her mail carries is taken without the consent box
    and the complaint keeps CONSENT_UNASKED instead of a version of the text. A staff member
    typing in a complaint from a channel where the words cannot be read out (a letter, a
    message, SP4N-LAPOR!: entered_unasked) needs no consent box either; it keeps
    CONSENT_UNASKED_ENTERED. Either way the audit event names the basis (PUBLIC_SERVICE_BASIS).
    Every other filing (the web form, the API, the counter, the phone) still needs the consent.
    """
    channel = actor.intake
    if channel not in CHANNELS:
        raise InvalidFields({"channel": _l("unknown channel")})
    if consent_unasked and (channel != "email" or actor.user is not None):
        raise ValueError("consent_unasked is only for mail read from the office's mailbox")
    workflow = current_workflow()
    entered = at or utcnow()
    values = validate_complaint(raw, entered, channel=channel, actor=actor, consent_unasked=consent_unasked)
    identity = values.pop("identity")
    consent = values.pop("consent")
    unasked = None  # consent not asked, and why: only where there is an identity to process
    if not consent and any(identity.values()):
        unasked = (CONSENT_UNASKED if consent_unasked
                   else CONSENT_UNASKED_ENTERED if entered_unasked(channel, actor) else None)
    arrival, arrival_note = values.pop("arrival"), values.pop("arrival_note")
    lapor = values.pop("lapor")
    at = arrival or entered  # the clocks start when it arrived
    # What the filed event and the audit chain keep of how it came in: when it arrived and
    # why it is entered later, when it was typed in (who: the actor), the LAPOR! ID and flags,
    # and how the complainant agreed to the consent text.
    entry = {}
    if arrival is not None:
        entry |= {"arrival": arrival.isoformat(), "arrival_note": arrival_note,
                  "entered_at": entered.isoformat()}
    if lapor:
        entry["lapor"] = {"id": lapor["lapor_id"], "anonim": lapor["lapor_anonim"],
                          "rahasia": lapor["lapor_rahasia"]}
    if consent and actor.user is not None:
        entry["consent"] = {"version": CONSENT_VERSION, "given": consent_given(channel, actor), "basis": "consent"}
    elif unasked:
        entry["consent"] = {"version": unasked, "given": "unasked", "basis": PUBLIC_SERVICE_BASIS}
    pin = new_pin()
    complaint = Complaint(
        tracking_code=_unused_tracking_code(), pin_hash=hash_pin(pin), channel=channel,
        state=workflow.initial, received_at=at, state_changed_at=at, updated_at=at,
        complainant_name=identity["name"], complainant_nik=identity["nik"],
        complainant_email=identity["email"], complainant_phone=identity["phone"],
        complainant_address=identity["address"], submission_digest=submission_digest(submission),
        consent_at=entered if consent or unasked else None,
        consent_version=CONSENT_VERSION if consent else unasked,
        locale=filing_locale(locale), lapor_id=lapor.get("lapor_id"),
        lapor_received_at=lapor.get("lapor_received_at"), lapor_disposed_at=lapor.get("lapor_disposed_at"),
        **values,
    )
    db.session.add(complaint)
    event = ComplaintEvent(
        kind="filed", trigger=FILE_TRIGGER, to_state=workflow.initial,
        actor_role=actor.role, actor_id=actor.user.id if actor.user else None,
        unit=values["unit"],
        public=True, occurred_at=at, data={"channel": channel, "late_filing": values["late_filing"],
                                           **entry},
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
                     **entry, **attachment_digests(attachments),
                 })
    notifications.after_filing(complaint)
    return Filed(complaint, pin)
