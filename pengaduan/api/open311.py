"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2/.

Services are unit + category pairs (`UNIT.CATEGORY`); requests are complaints. Filing goes
through the same intake service as the web form (channel `open311`); what a listing shows of
each privacy mode is services.complaints.publication's rule (never a confidential complaint, never the
text of an anonymous one, never a complainant's identity). Every resource answers
in `.json` and `.xml`; errors take the spec's shape. Every text meant for people (errors,
notices, status notes, attribute descriptions) is in the reader's language: the one of
Accept-Language (i18n.select_locale), Indonesian when the client names none.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.http import HTTP_STATUS_CODES

from ..errors import DomainError, InvalidFields
from ..extensions import csrf, db, limiter
from ..i18n import LazyText, label
from ..i18n import lazy_gettext as _l
from ..models import ApiKey, Category, Complaint, Unit, hash_token, utcnow
from ..policy import Actor
from ..services import file_complaint
from ..services.complaints.citizen import citizen_deadline
from ..services.complaints.intake import CONSENT_TEXT, CONSENT_VERSION
from ..services.complaints.publication import listed, publishable
from ..services.inputs import EARLIEST, LATEST, in_calendar
from ..http.links import external_url
from ..workflow import current_workflow

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)
FORMATS = {"json": "application/json", "xml": "text/xml"}
# Characters XML 1.0 cannot carry even escaped (C0 controls but tab and newlines, lone
# surrogates, U+FFFE/U+FFFF); a complainant may still type them, so they are shown as U+FFFD.
NOT_IN_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
SEPARATOR = "."


class Open311Error(DomainError):
    """A refusal of the GeoReport API: its HTTP status (the `code` of the spec's error body)
    and a translatable message (its `description`), answered by error_answer like every
    error under /open311/."""

    def __init__(self, status: int, message: LazyText):
        super().__init__(message)
        self.status = status
        self.code = HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_")


def _render(data, fmt: str, root: str, item: str, status: int = 200):
    """JSON as is; XML as <root><item>...</item></root> (lists) or <root>...</root>."""
    if fmt == "json":
        return jsonify(data), status
    element = ET.Element(root)
    for entry in data if isinstance(data, list) else [data]:
        _to_xml(ET.SubElement(element, item) if isinstance(data, list) else element, entry)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="utf-8")
    return Response(body, status=status, mimetype="text/xml")


def _to_xml(parent, value) -> None:
    for key, child in value.items():
        node = ET.SubElement(parent, key)
        if isinstance(child, dict):
            _to_xml(node, child)
        elif isinstance(child, list):
            singular = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute",
                        "values": "value", "keywords": "keyword"}.get(key, "item")
            for entry in child:
                if isinstance(entry, dict):
                    _to_xml(ET.SubElement(node, singular), entry)
                else:
                    ET.SubElement(node, singular).text = _text(entry)
        else:
            node.text = _text(child)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_IN_XML.sub("\ufffd", str(value))


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, _l("format must be json or xml"))
    return fmt


def error_answer(error: Exception):
    """Open311's one error shape, for every error under /open311/ (http/errors.py hands each
    one here): `[{"code": status, "description"}]`, as JSON unless the URL asked for XML.
    An invalid field names the Open311 parameter; a 422 is a 400, as the spec has it."""
    if isinstance(error, InvalidFields):
        status = 400
        description = "; ".join(f"{_open311_name(k)}: {v}" for k, v in error.errors.items())
    else:  # an Open311Error, any other domain error, an HTTP error
        status, description = 400 if error.status == 422 else error.status, str(error.message)
    fmt = request.view_args.get("fmt") if request.view_args else None
    data = [{"code": status, "description": description}]
    return _render(data, fmt if fmt in FORMATS else "json", "errors", "error", status)



def _open311_name(field: str) -> str:
    return {"title": "description", "unit": "service_code", "category": "service_code",
            "name": "first_name", "nik": "attribute[nik]",
            "consent": "attribute[consent]"}.get(field, field)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _services() -> list[tuple[Unit, Category]]:
    categories = db.session.scalars(select(Category).options(selectinload(Category.units))
                                    .where(Category.active.is_(True)).order_by(Category.name)).all()
    units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    return [(u, c) for u in units for c in categories if not c.units or u in c.units]


def _service_json(unit: Unit, category: Category) -> dict:
    return {"service_code": f"{unit.code}{SEPARATOR}{category.code}",
            "service_name": f"{category.name} ({unit.name})",
            "description": f"{category.name}: {unit.name}", "metadata": True, "type": "realtime",
            "keywords": [category.code, unit.code], "group": unit.name}


def _service(code: str) -> tuple[Unit, Category]:
    unit_code, _, category_code = (code or "").partition(SEPARATOR)
    unit, category = Unit.by_code(unit_code) if unit_code else None, \
        Category.by_code(category_code) if category_code else None
    if unit is None or category is None or not unit.active or not category.active or not unit.offers(category):
        raise Open311Error(404, _l("unknown service_code %(code)s", code=repr(code)))
    return unit, category


def _attribute_definitions() -> list[dict]:
    """The attributes a request may carry, described in the reader's language (codes, keys
    and datatypes stay as the spec has them)."""
    return [
        {"variable": True, "code": "privacy", "datatype": "singlevaluelist", "required": False,
         "datatype_description": _("public (default), anonymous or confidential"), "order": 1,
         "description": _("How private the complaint is"),
         "values": [{"key": "public", "name": _("Public")}, {"key": "anonymous", "name": _("Anonymous")},
                    {"key": "confidential", "name": _("Confidential")}]},
        {"variable": True, "code": "title", "datatype": "string", "required": False,
         "datatype_description": _("up to 200 characters (default: the start of the description)"),
         "order": 2, "description": _("Short title"), "values": []},
        {"variable": True, "code": "service_date", "datatype": "datetime", "required": False,
         "datatype_description": "YYYY-MM-DD", "order": 3,
         "description": _("When the service was received (the 30-day filing window)"), "values": []},
        {"variable": True, "code": "incident_date", "datatype": "datetime", "required": False,
         "datatype_description": "YYYY-MM-DD", "order": 4, "description": _("When it happened"),
         "values": []},
        {"variable": True, "code": "nik", "datatype": "string", "required": False,
         "datatype_description": _("16 digits"), "order": 5, "description": _("NIK of the complainant"),
         "values": []},
        {"variable": True, "code": "consent", "datatype": "singlevaluelist", "required": False,
         "datatype_description": _("true when the complainant agreed; required with any identity "
                                   "(first_name, last_name, email, phone, attribute[nik])"),
         "order": 6, "description": _("Consent to the processing of personal data (UU 27/2022); show "
                                      "the complainant this text: %(text)s (version %(version)s)",
                                      text=str(CONSENT_TEXT), version=CONSENT_VERSION),
         "values": [{"key": "true", "name": _("Agreed")}]},
    ]


@bp.get("/discovery.<fmt>")
def discovery(fmt):
    fmt = _format(fmt)
    base = external_url("open311.services", fmt="json").rsplit("/", 1)[0] + "/"
    return _render({
        "changeset": "2026-11-22T00:00:00+00:00", "contact": current_app.config["MAIL_DEFAULT_SENDER"],
        "key_service": _("%(command)s (ask the administrator)", command="flask --app run apikeys create NAME"),
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base,
                       "changeset": "2026-11-22T00:00:00+00:00", "type": "production",
                       "formats": list(FORMATS.values())}]}, fmt, "discovery", "discovery")


@bp.get("/services.<fmt>")
def services(fmt):
    fmt = _format(fmt)
    return _render([_service_json(u, c) for u, c in _services()], fmt, "services", "service")


@bp.get("/services/<code>.<fmt>")
def service_definition(code, fmt):
    fmt = _format(fmt)
    unit, category = _service(code)
    return _render({"service_code": f"{unit.code}{SEPARATOR}{category.code}",
                    "attributes": _attribute_definitions()},
                   fmt, "service_definition", "service_definition")


def _check_key() -> None:
    key = (request.form.get("api_key") or request.args.get("api_key") or "").strip()
    if not key:
        raise Open311Error(403, _l("api_key is required"))
    row = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(key)))
    if row is None or row.revoked_at is not None:
        raise Open311Error(403, _l("api_key is not valid"))
    db.session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=utcnow()))


def _attributes() -> dict:
    """attribute[code]=value pairs of the POST."""
    return {key[len("attribute["):-1]: value for key, value in request.form.items()
            if key.startswith("attribute[") and key.endswith("]")}


@bp.post("/requests.<fmt>")
@limiter.limit("30 per minute;600 per hour")
def create_request(fmt):
    fmt = _format(fmt)
    _check_key()
    form, attributes = request.form, _attributes()
    unit, category = _service(form.get("service_code", ""))
    description = (form.get("description") or "").strip()
    place = [form.get("address_string", "").strip()]
    if form.get("lat") and form.get("long"):
        try:
            lat, long = float(form["lat"]), float(form["long"])
        except ValueError:
            raise Open311Error(400, _l("lat and long must be numbers")) from None
        if not (-90 <= lat <= 90 and -180 <= long <= 180):
            raise Open311Error(400, _l("lat and long are out of range"))
        place.append(f"({lat:.6f}, {long:.6f})")
    if not any(place) and not form.get("address_id"):
        raise Open311Error(400, _l("a location is required: lat and long, address_string or address_id"))
    name = " ".join(p for p in (form.get("first_name", "").strip(), form.get("last_name", "").strip()) if p)
    raw = {
        "unit": unit.code, "category": category.code, "classification": None,
        "title": attributes.get("title") or (description[:80] if description else ""),
        "description": description, "privacy": attributes.get("privacy") or ("public" if name else "anonymous"),
        "incident_location": " ".join(p for p in place if p)[:300] or form.get("address_id"),
        "service_date": attributes.get("service_date"), "incident_date": attributes.get("incident_date"),
        "name": name or None, "email": form.get("email") or None, "phone": form.get("phone") or None,
        "nik": attributes.get("nik") or None, "consent": attributes.get("consent"),
    }
    filed = file_complaint(raw, actor=Actor.channel("open311"))
    complaint = filed.complaint
    notice = _("Tracking code %(code)s, PIN %(pin)s: keep this PIN to follow the complaint at %(url)s",
               code=complaint.tracking_code, pin=filed.pin, url=external_url("citizen.track"))
    return _render([{"service_request_id": complaint.tracking_code, "service_notice": notice,
                     "account_id": None}], fmt, "service_requests", "request")


def _request_json(complaint: Complaint) -> dict:
    """A listed complaint as the public may read it (services.complaints.publication decides)."""
    published = publishable(complaint)
    workflow = current_workflow()
    deadline = citizen_deadline(complaint)
    closed = workflow.is_terminal(complaint.state)
    notes = label(workflow.states[complaint.state].label)
    if complaint.closure_reason:
        notes += f": {label(workflow.closure_reasons.get(complaint.closure_reason))}"
    return {
        "service_request_id": complaint.tracking_code, "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": complaint.category.name if complaint.category else None,
        "service_code": f"{complaint.unit.code}{SEPARATOR}{complaint.category.code}" if complaint.category else None,
        "description": published["description"], "agency_responsible": complaint.unit.name,
        "service_notice": None, "requested_datetime": _iso(complaint.received_at),
        "updated_datetime": _iso(complaint.updated_at),
        # The statutory due date of the current stage (or of the resolution).
        "expected_datetime": _iso(complaint.stage_due_at or complaint.resolution_due_at
                                  or (deadline[1] if deadline else None)),
        "address": published["place"], "address_id": None, "zipcode": None,
        "lat": None, "long": None, "media_url": None,
    }


def _public():
    """Complaints anyone may list (services.complaints.publication: never a confidential one)."""
    return (select(Complaint).options(joinedload(Complaint.unit), joinedload(Complaint.category))
            .where(listed()))


def _date(name: str) -> datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, _l("%(name)s must be a W3C date-time, e.g. 2026-11-01T00:00:00+07:00",
                                   name=name)) from None
    if moment.tzinfo is None:
        raise Open311Error(400, _l("%(name)s needs a timezone", name=name))
    if not in_calendar(moment.date()):  # 90 days earlier, or in UTC, it would fall off the calendar
        raise Open311Error(400, _l("%(name)s must be between %(earliest)s and %(latest)s", name=name,
                                   earliest=EARLIEST.isoformat(), latest=LATEST.isoformat()))
    return moment


@bp.get("/requests.<fmt>")
def list_requests(fmt):
    fmt = _format(fmt)
    query = _public()
    ids = [code.strip().upper() for code in request.args.get("service_request_id", "").split(",") if code.strip()]
    if ids:  # other parameters are ignored, as the spec says
        query = query.where(Complaint.tracking_code.in_(ids[:MAX_RESULTS]))
    else:
        end = _date("end_date") or utcnow()
        start = _date("start_date") or end - timedelta(days=DEFAULT_DAYS)
        if start > end:
            raise Open311Error(400, _l("start_date is after end_date"))
        if end - start > timedelta(days=DEFAULT_DAYS):
            raise Open311Error(400, _l("the date range may span at most %(days)s days", days=DEFAULT_DAYS))
        query = query.where(Complaint.received_at >= start, Complaint.received_at <= end)
        if request.args.get("service_code"):
            unit, category = _service(request.args["service_code"])
            query = query.where(Complaint.unit_id == unit.id, Complaint.category_id == category.id)
        status = request.args.get("status")
        if status:
            terminal = current_workflow().terminal_states
            wanted = {s.strip() for s in status.split(",")}
            if not wanted <= {"open", "closed"}:
                raise Open311Error(400, _l("status must be open or closed"))
            if wanted == {"open"}:
                query = query.where(Complaint.state.not_in(terminal))
            elif wanted == {"closed"}:
                query = query.where(Complaint.state.in_(terminal))
    rows = db.session.scalars(query.order_by(Complaint.received_at.desc()).limit(MAX_RESULTS)).all()
    return _render([_request_json(c) for c in rows], fmt, "service_requests", "request")


@bp.get("/requests/<code>.<fmt>")
def get_request(code, fmt):
    fmt = _format(fmt)
    complaint = db.session.scalar(_public().where(Complaint.tracking_code == code.strip().upper()))
    if complaint is None:
        raise Open311Error(404, _l("no such service request"))
    return _render([_request_json(complaint)], fmt, "service_requests", "request")


@bp.get("/tokens/<token>.<fmt>")
def token(token, fmt):
    """Requests are given their id at once; a token is that id."""
    fmt = _format(fmt)
    complaint = db.session.scalar(_public().where(Complaint.tracking_code == token.strip().upper()))
    if complaint is None:
        raise Open311Error(404, _l("no such token"))
    return _render([{"service_request_id": complaint.tracking_code, "token": token}], fmt,
                   "service_requests", "request")
