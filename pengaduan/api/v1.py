"""JSON API v1 (design.md section 5). Thin views over the same services and policy as the
web pages; errors are `{"error": {"code", "message", ...}}` with the status codes of the
design."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..errors import BadRequest, DomainError, Forbidden, InvalidFields, NotFound
from ..extensions import csrf, db, limiter
from ..i18n import lazy_gettext as _l
from ..models import Category, ComplaintEvent, Unit
from ..policy import Actor, can_browse_queue, can_view
from ..services import advance, file_complaint
from ..services.complaints.citizen import citizen_deadline
from ..services.complaints.queue import PAGE_SIZE, QueueFilter, queue_page
from ..http.params import json_document
from ..http.throttle import pin_failures_per_address, pin_guesses, pin_in_header
from ..workflow import current_workflow
from . import openapi
from .auth import authenticated_staff, caller_for, staff_actor
from .representations import complaint_json, event_json, iso, list_item, unit_json

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies: callers authenticate with a bearer token or the PIN header
MAX_LIMIT = 100


def error_answer(error: DomainError):
    """The API's one error shape, for every error (http/errors.py hands each one here):
    `{"error": {"code", "message", ...}}` with the error's status; `code` is a stable
    English identifier, `message` is in the language the caller asked for."""
    return jsonify(error=error.to_dict()), error.status


def _json_body() -> dict:
    body = json_document()
    if not isinstance(body, dict):
        raise BadRequest(_l("Send a JSON object with Content-Type: application/json."))
    return body


def _not_found(actor) -> NotFound:
    """Unknown code and wrong PIN look the same to a complainant; staff are told plainly
    (nothing in their request was a PIN)."""
    if actor is not None and actor.user is not None:
        return NotFound(_l("There is no such complaint."))
    return NotFound(_l("No complaint has this tracking code and PIN."))


@bp.get("/units")
def units():
    """Active units with the categories each offers (a category without units: every unit)."""
    categories = db.session.scalars(select(Category).options(selectinload(Category.units))
                                    .where(Category.active.is_(True)).order_by(Category.name)).all()
    rows = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    return jsonify([unit_json(u, [c for c in categories if not c.units or u in c.units]) for u in rows])


@bp.post("/complaints")
@limiter.limit("10 per minute;60 per hour")
def file():
    """File a complaint for a citizen (a portal, a bot, a call centre): the answer carries
    the tracking code and the PIN, shown this once."""
    raw = _json_body()
    filed = file_complaint({k: v for k, v in raw.items() if k != "attachments"},
                           actor=Actor.channel("api"))
    complaint = filed.complaint
    deadline = citizen_deadline(complaint)
    # The answer is built before the commit, which expires what was loaded (no re-reading).
    answer = jsonify(tracking_code=complaint.tracking_code, pin=filed.pin, state=complaint.state,
                     received_at=iso(complaint.received_at), late_filing=complaint.late_filing,
                     due_at=iso(deadline[1]) if deadline else None)
    return answer, 201


@bp.get("/complaints/<code>")
@pin_guesses(pin_in_header, exempt_when=authenticated_staff)
@pin_failures_per_address(exempt_when=authenticated_staff)
def complaint(code):
    found, actor = caller_for(code)
    if found is None or not can_view(actor, found):
        raise _not_found(actor)  # never say which was wrong
    return jsonify(complaint_json(found, actor))


@bp.get("/complaints")
def complaints():
    """A page of the complaints the staff member may see, nearest deadline first."""
    actor = staff_actor()
    if not can_browse_queue(actor):
        raise Forbidden(_l("Your role does not list complaints."))
    args = request.args
    try:
        limit = int(args.get("limit", PAGE_SIZE))
    except ValueError:
        raise InvalidFields({"limit": _l("must be a whole number")}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidFields({"limit": _l("must be between 1 and %(most)s", most=MAX_LIMIT)})
    state = args.get("state") or None
    if state is not None and state not in current_workflow().states:
        raise InvalidFields({"state": _l("unknown state")})
    overdue = args.get("overdue", "").lower()
    if overdue not in ("", "true", "false", "1", "0"):
        raise InvalidFields({"overdue": _l("must be true or false")})
    page = queue_page(actor.user, QueueFilter(state=state, unit=args.get("unit") or None,
                                              overdue=overdue in ("true", "1")),
                      args.get("cursor"), limit=limit)
    return jsonify(items=[list_item(c) for c in page.items], next_cursor=page.next_cursor)


@bp.post("/complaints/<code>/transitions")
@pin_guesses(pin_in_header, exempt_when=authenticated_staff)
@pin_failures_per_address(exempt_when=authenticated_staff)
def transition(code):
    """Fire a workflow step: staff triggers with a token, the complainant's with the PIN."""
    found, actor = caller_for(code)
    if found is None or not can_view(actor, found):
        raise _not_found(actor)
    body = _json_body()
    trigger = body.pop("trigger", None)
    if not isinstance(trigger, str) or not trigger:
        raise InvalidFields({"trigger": _l("is required")})
    version = body.pop("version", None)
    fields = {k: v for k, v in body.items() if v is not None}
    advance(found, trigger, actor, expected_version=version, **fields)
    return jsonify(complaint_json(found, actor))


@bp.get("/complaints/<code>/events")
def events(code):
    """The whole timeline, internal steps included (staff only)."""
    actor = staff_actor()
    found, _ = caller_for(code)
    if found is None or not can_view(actor, found):
        raise NotFound(_l("There is no such complaint."))
    rows = db.session.scalars(
        select(ComplaintEvent).options(joinedload(ComplaintEvent.actor), joinedload(ComplaintEvent.unit))
        .where(ComplaintEvent.complaint_id == found.id).order_by(ComplaintEvent.id)).all()
    return jsonify([event_json(e) for e in rows])


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(openapi.document())


@bp.get("/docs")
def docs():
    """The OpenAPI document as a page for people (no external assets)."""
    return render_template("api/docs.html", spec=openapi.document())



