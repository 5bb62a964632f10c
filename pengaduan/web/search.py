"""Search from every staff page: by tracking code or words (GET, the box in the staff menu
bar), and by the complainant's name, NIK or phone (POST: recorded in the audit chain, and
kept out of addresses, browser history and access logs)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..models import utcnow
from ..policy import Actor
from ..policy.search import can_search, can_search_identity
from ..services.complaints.search import (MAX_LENGTH, STATES, InvalidQuery, Results, search,
                                          search_identity)
from ..sla import WorkingCalendar, remaining
from ..workflow import current_workflow

bp = Blueprint("search", __name__, url_prefix="/staff")


def searchers_only(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not can_search(Actor.staff(current_user)):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _state(value: str | None) -> str:
    return value if value in STATES else "any"


@bp.get("/search")
@searchers_only
def results():
    """Complaints by tracking code or words; a whole code opens its complaint at once."""
    typed = request.args.get("q", "")
    state = _state(request.args.get("state"))
    if "q" not in request.args:
        return _page(typed="", state=state)
    try:
        found = search(Actor.staff(current_user), typed[:MAX_LENGTH + 1], state, request.args.get("cursor"))
    except InvalidQuery as problem:
        return _page(typed=typed, state=state, error=str(problem))
    if found.exact is not None:
        return redirect(url_for("staff.complaint", code=found.exact.tracking_code))
    return _page(typed=typed, state=state, found=found)


@bp.post("/search/complainant")
@searchers_only
def complainant():
    """Complaints by the complainant's name, NIK or phone: only those whose identity this
    person sees anyway; each search is an audit event (the term only as a keyed digest)."""
    if not can_search_identity(Actor.staff(current_user)):
        abort(403)
    typed = request.form.get("who", "")
    state = _state(request.form.get("state"))
    try:
        found = search_identity(Actor.staff(current_user), typed[:MAX_LENGTH + 1], state,
                                request.form.get("cursor"))
    except InvalidQuery as problem:
        return _page(who=typed, state=state, identity_error=str(problem), status=422)
    response = make_response(_page(who=typed, state=state, found=found, by_identity=True))
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(typed: str = "", who: str = "", state: str = "any", found: Results | None = None,
          error: str | None = None, identity_error: str | None = None, by_identity: bool = False,
          status: int = 200):
    now = utcnow()
    due = {c.id: remaining(c.stage_due_at, WorkingCalendar.for_unit(c.unit), now)
           for c in (found.items if found else []) if c.stage_due_at}
    return render_template("search/results.html", typed=typed, who=who, state=state, found=found,
                           error=error, identity_error=identity_error, by_identity=by_identity,
                           due=due, workflow=current_workflow(), max_length=MAX_LENGTH,
                           states=STATES), status
