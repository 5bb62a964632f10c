"""The audit log viewer for auditors and admins: the chain's events in plain words, filtered
and a page at a time, and a button that verifies the whole chain (itself an audit event)."""
from __future__ import annotations

import threading

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..database import before_writing, reads_first
from ..i18n import format_moment, format_number
from ..policy import Actor, can_read_audit_log
from ..services.complaints.tracking import normalise_code
from ..services.oversight import audit_log
from ..http.params import row_id

bp = Blueprint("audit_log", __name__, url_prefix="/staff/audit")
# One verification at a time in this process: two presses at once (before either is recorded,
# which is what the once-a-minute rule reads) would read the whole chain twice.
_VERIFYING = threading.Lock()


@bp.before_request
@login_required
def _readers_only():
    if not can_read_audit_log(Actor.staff(current_user)):
        abort(403)


@bp.get("")
def index():
    """Events newest first; `before` continues below a seq (keyset pagination)."""
    filters = audit_log.read_filters(request.args, normalise_code)
    before = row_id(request.args.get("before"))
    page = audit_log.page(filters, Actor.staff(current_user), before=before)
    status = 422 if filters.errors else 200
    return render_template("audit_log/index.html", filters=filters, page=page, before=before,
                           actions=audit_log.known_actions(), last=audit_log.last_verification(),
                           next_at=audit_log.next_verification_at()), status


@bp.post("/verify")
@reads_first  # the seconds of verification hold no write lock; only its audit event writes
def verify():
    """Verify the whole chain now (at most once a minute for the deployment) and record it."""
    next_at = audit_log.next_verification_at()
    if next_at is not None:
        flash(_("The chain was verified less than a minute ago; its answer is shown below. "
                "It can be verified again from %(time)s.", time=format_moment(next_at, fmt="HH:mm:ss")),
              "info")
        return redirect(url_for("audit_log.index"))
    if not _VERIFYING.acquire(blocking=False):
        flash(_("The chain is being verified right now; its answer will be shown here."), "info")
        return redirect(url_for("audit_log.index"))
    try:
        with before_writing():
            result = audit_log.verify_chain()
    finally:
        _VERIFYING.release()
    audit_log.record_verification(result, Actor.staff(current_user))
    if result.ok:
        flash(_("The chain is intact: %(count)s events, head hash %(head)s.", count=format_number(result.count),
                head=result.head), "success")
    else:
        flash(_("The chain is broken at seq %(seq)s: %(kind)s.", seq=result.problem.seq,
                kind=audit_log.PROBLEMS.get(result.problem.kind, result.problem.kind)), "error")
    return redirect(url_for("audit_log.index"))
