"""The citizen's side: file a complaint, get a receipt, track it with code and PIN."""
from __future__ import annotations

import hmac
import time
from functools import partial

from flask import (Blueprint, abort, after_this_request, current_app, flash, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..errors import ConcurrentChange, DomainError, InvalidFields, TriggerNotAllowed
from ..database import reads_first
from ..extensions import csrf, db, limiter
from ..i18n import label
from ..i18n import lazy_gettext as _l
from ..models import Attachment, Category, Complaint, Unit
from ..policy import Actor, Role, can_fire
from ..services import advance
from ..services.attachments import limits, stored_files
from ..services.complaints.citizen import (can_rate, citizen_deadline, closed_as, filed_files,
                                           find_for_citizen, identity_as_given, name_in_part, office_words,
                                           original_progress, public_timeline, rate, replace_pin,
                                           waits_for_original)
from ..services.complaints.conversation import is_open, post_message
from ..services.complaints.publication import RULES as PUBLICATION
from ..services.complaints.intake import new_submission, submission_digest
from ..services.complaints import pin_recovery
from ..services.complaints.receipts import receipt_sent, tracking_qr
from ..services.complaints.tracking import is_legacy_pin, pin_fingerprint, seal_pin, unseal_pin
from ..services.surveys import opening as survey_opening
from ..workflow import current_workflow
from .downloads import send_stored
from .forms import PRIVACY_CHOICES, ActionForm, ComplaintForm, ForgotPinForm, TrackForm
from ..http.filing import file_form
from ..http.links import external_url
from ..http.throttle import checking_pin, pin_failures_per_address, pin_guesses, pin_in_form
from ..http.uow import checked_uploads, rerender

bp = Blueprint("citizen", __name__)

TRACKED_KEY = "tracked"  # [complaint id, PIN fingerprint] this browser proved code + PIN for
OLD_PIN_KEY = "old_pin"  # ... of those, the ones it opened with an old receipt's 6-digit PIN
NEW_PIN_KEY = "new_pin"  # a replacement PIN, sealed, shown once
RECEIPT_KEY = "receipt"
RESET_KEY = "pin_reset"  # the emailed link's token, kept here rather than in the address
MAX_TRACKED = 10
RECEIPT_SECONDS = 30 * 60  # how long the receipt page may show the PIN again


def _unit_choices():
    units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    return [SelectChoice("", _("Choose a unit"))] + [SelectChoice(u.code, u.name) for u in units]


def _category_choices():
    """Categories grouped by the units that handle them, so no script is needed to filter."""
    categories = db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.name)).all()
    everywhere = str(_("All units"))
    choices = [SelectChoice("", _("Choose a category (optional)"))]
    choices += [SelectChoice(c.code, c.name, optgroup=everywhere) for c in categories if not c.units]
    by_unit = sorted((unit.name, c.code, c.name) for c in categories for unit in c.units)
    choices += [SelectChoice(code, name, optgroup=unit) for unit, code, name in by_unit]
    return choices


def _complaint_form() -> ComplaintForm:
    form = ComplaintForm()
    form.unit.choices = _unit_choices()
    form.category.choices = _category_choices()
    form.classification.choices = [SelectChoice(code, text) for code, text in _classifications()]
    return form


def _classifications():
    return [(code, label(labels)) for code, labels in current_workflow().classifications.items()]


def form_context(form) -> dict:
    """What the complaint form's fields (templates/_complaint_fields.html) need, for the
    citizen's form and the staff entry; a corrected form keeps its one-time token."""
    if submission_digest(form.submission.data) is None:
        form.submission.data = new_submission()
    max_bytes, max_count = limits()
    return {"form": form, "privacy_choices": PRIVACY_CHOICES, "max_mb": max_bytes // (1024 * 1024),
            "max_files": max_count, "filing_window": current_workflow().filing_window_days}


def _render_form(form, errors=None, status=200, files_dropped=False):
    return render_template("citizen/new.html", errors=errors or {}, files_dropped=files_dropped,
                           **form_context(form)), status


@bp.route("/complaints/new", methods=["GET", "POST"])
@reads_first  # the photos are decoded before the write transaction begins
@csrf.exempt  # the form checks its own token so that a stale token keeps what was typed
@limiter.limit("10 per minute;60 per hour", methods=["POST"])
def new_complaint():
    """The complaint form; a rejected submission re-renders with everything typed."""
    form = _complaint_form()
    if request.method == "GET":
        form.unit.data = form.unit.data or request.args.get("unit", "")
        return _render_form(form)

    filing = file_form(form, Actor.channel("web"), refused=partial(_render_form, form),
                       already_filed=_already_filed,
                       expired=_l("The form expired. Please check your answers and send it again."))
    _remember(filing.complaint)
    session[RECEIPT_KEY] = filing.receipt()
    return redirect(url_for("citizen.receipt"))


def _already_filed(complaint: Complaint):
    """A form sent again files nothing: its receipt if this browser still holds it, else a
    message (the form's token alone does not show a complaint)."""
    flash(_("This form was already sent, so nothing was filed again. To file another "
            "complaint, open a new form."), "notice")
    if (session.get(RECEIPT_KEY) or {}).get("code") == complaint.tracking_code:
        return redirect(url_for("citizen.receipt"))
    return redirect(url_for("citizen.track"))


@bp.get("/complaints/receipt")
def receipt():
    """Tracking code and PIN, what happens next and by when; printable for a short while."""
    data = session.get(RECEIPT_KEY) or {}
    pin = unseal_pin(data.get("pin", ""), RECEIPT_SECONDS)
    complaint = Complaint.by_code(data.get("code", "")) if pin else None
    if complaint is None:
        session.pop(RECEIPT_KEY, None)  # the PIN is not shown again later on a shared computer
        return redirect(url_for("citizen.track"))
    tracking_url = external_url("citizen.track", code=complaint.tracking_code)
    return render_template("citizen/receipt.html", complaint=complaint, pin=pin,
                           deadline=citizen_deadline(complaint), emailed=data.get("email"),
                           email_sent=receipt_sent(data.get("message")), tracking_url=tracking_url,
                           qr=tracking_qr(tracking_url, _("QR code of the address to follow your complaint")))


def _tracked() -> list[list]:
    """This browser's [complaint id, PIN fingerprint] pairs (entries of another shape, such
    as the bare ids kept before, count as nothing)."""
    return [entry for entry in session.get(TRACKED_KEY, [])
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
            and isinstance(entry[1], str)]


def _remember(complaint: Complaint) -> None:
    """Remember that this browser opened the complaint with its current PIN."""
    tracked = [entry for entry in _tracked() if entry[0] != complaint.id]
    session[TRACKED_KEY] = ([[complaint.id, pin_fingerprint(complaint.pin_hash)]] + tracked)[:MAX_TRACKED]


def _tracked_complaint(code: str) -> Complaint | None:
    """The complaint with this code if this browser opened it with the PIN it has now: a PIN
    set anew (it may have leaked) shuts out every other browser that had opened it."""
    complaint = Complaint.by_code(code)
    if complaint is None:
        return None
    fingerprint = pin_fingerprint(complaint.pin_hash)
    tracked = _tracked()
    if any(i == complaint.id and hmac.compare_digest(held, fingerprint) for i, held in tracked):
        return complaint
    if any(i == complaint.id for i, _held in tracked):  # opened with a PIN that no longer works
        session[TRACKED_KEY] = [entry for entry in tracked if entry[0] != complaint.id]
        session[OLD_PIN_KEY] = [i for i in session.get(OLD_PIN_KEY, []) if i != complaint.id]
    return None


@bp.route("/track", methods=["GET", "POST"])
@csrf.exempt  # TrackForm checks its own token and answers with a friendly message
@limiter.limit("10 per minute;100 per day", methods=["POST"])
@pin_guesses(pin_in_form, methods=["POST"])
@pin_failures_per_address(methods=["POST"])
def track():
    """Code + PIN open the complaint; a wrong code and a wrong PIN get the same answer."""
    form = TrackForm()
    if request.method == "GET":
        form.code.data = request.args.get("code", "")
        return render_template("citizen/track.html", form=form, error=None)
    if form.validate():
        checking_pin()
        complaint = find_for_citizen(form.code.data, form.pin.data)
        if complaint is not None:
            _remember(complaint)
            if is_legacy_pin(form.pin.data):  # offer a longer PIN on the complaint's page
                session[OLD_PIN_KEY] = [complaint.id] + [i for i in session.get(OLD_PIN_KEY, [])
                                                         if i != complaint.id][:MAX_TRACKED - 1]
            return redirect(url_for("citizen.view", code=complaint.tracking_code))
        error = _l("We could not find a complaint with this tracking code and PIN.")
    else:
        error = _l("The form expired. Please enter the code and PIN again.")
    form.pin.data = ""
    return render_template("citizen/track.html", form=form, error=error), 404


def _citizen_triggers(complaint: Complaint):
    workflow = current_workflow()
    return workflow.offered(complaint, Role.CITIZEN)


def _render_view(complaint, errors=None, typed=None, status=200, action=None, files_dropped=False):
    workflow = current_workflow()
    triggers = _citizen_triggers(complaint)
    timeline = public_timeline(complaint)
    return render_template(
        "citizen/view.html", complaint=complaint, state=workflow.states[complaint.state],
        timeline=timeline, latest_words=office_words(complaint, timeline),
        deadline=citizen_deadline(complaint),
        actions=[t for t in triggers if t.confirm is None],
        confirmed_steps=[t for t in triggers if t.confirm is not None],  # each a page of its own
        can_message=is_open(complaint), filed=filed_files(complaint),
        identity=identity_as_given(complaint), name_in_part=name_in_part(complaint),
        privacy_rule=PUBLICATION.get(complaint.privacy), original=original_progress(complaint),
        form=ActionForm(), errors=errors or {},
        typed=typed or {}, open_action=action, workflow=workflow, files_dropped=files_dropped,
        can_rate=can_rate(complaint), closed_as=closed_as(complaint),
        rates_later=complaint.rating is None and waits_for_original(complaint),
        max_files=limits()[1], old_pin=complaint.id in session.get(OLD_PIN_KEY, []),
        skm_link=_survey_link(complaint, workflow),
    ), status


def _survey_link(complaint: Complaint, workflow) -> str | None:
    """Once the complaint is closed, its unit's satisfaction survey taking answers today, if
    any: the survey's own address, nothing of the complaint in it."""
    if not workflow.is_terminal(complaint.state):
        return None
    survey = survey_opening.open_for(complaint.unit)
    return url_for("survey.questionnaire", unit_code=survey.unit.code, period=survey.label) if survey else None


@bp.get("/track/<code>")
def view(code):
    """The complaint as its complainant sees it: its status and deadline, what the office
    last said with the step it asks for right under it, what she filed, and the history."""
    complaint = _tracked_complaint(code)
    if complaint is None:
        return redirect(url_for("citizen.track", code=code))
    return _render_view(complaint)


@bp.post("/track/<code>/act/<trigger>")
@reads_first  # the photos are decoded before the write transaction begins
@csrf.exempt  # ActionForm checks the token and keeps the typed text on failure
@limiter.limit("30 per hour")
def act(code, trigger):
    """A complainant's step: provide information, accept, dispute (a step the workflow has
    her confirm, withdrawing, has its page)."""
    complaint = _tracked_complaint(code)
    if complaint is None:
        return redirect(url_for("citizen.track", code=code))
    transition = current_workflow().transition(trigger)
    if transition is None or not can_fire(Actor.citizen(complaint), complaint, transition):
        abort(404)
    if transition.confirm is not None:  # never in one click: the page that asks first, with what was typed
        names = transition.requires + transition.accepts
        return _render_confirm(complaint, transition, {}, {n: request.form.get(n, "") for n in names})
    return _take_step(complaint, transition, _render_view)


def _take_step(complaint, transition, render):
    """Fire the complainant's step from its form; a refusal shows `render`'s page again with
    what was typed. `render(complaint, errors, typed, status, trigger, files_dropped)`."""
    trigger = transition.trigger
    form = ActionForm()
    names = transition.requires + transition.accepts
    typed = {name: request.form.get(name, "") for name in names}
    files = request.files.getlist("attachments") if transition.attachments else []
    dropped = any(f.filename for f in files)
    if not form.validate():
        return render(complaint, {"csrf_token": _l(
            "The form expired. Please send it again.")}, typed, 422, trigger, dropped)
    fields = {name: value for name, value in typed.items() if value.strip()}
    try:
        with stored_files(checked_uploads(files)) as stored:
            advance(complaint, trigger, Actor.citizen(complaint),
                    expected_version=form.version.data or None, attachments=stored, **fields)
    except InvalidFields as exc:
        rerender(render, complaint, exc.errors, typed, exc.status, trigger, dropped)
    except (ConcurrentChange, TriggerNotAllowed):
        rerender(render, complaint, {"version": _l(
            "The complaint changed while you were writing. Please check its current state; "
            "what you typed is kept below.")}, typed, 409, trigger, dropped)
    flash(label(transition.done_message) if transition.done_message
          else str(_l("Thank you. Your answer was recorded.")), "success")
    return redirect(url_for("citizen.view", code=complaint.tracking_code))


def _render_confirm(complaint, transition, errors=None, typed=None, status=200, *_ignored):
    return render_template("citizen/confirm.html", complaint=complaint, transition=transition,
                           workflow=current_workflow(), state=current_workflow().states[complaint.state],
                           form=ActionForm(), errors=errors or {}, typed=typed or {}), status


@bp.route("/track/<code>/<trigger>", methods=["GET", "POST"])
@csrf.exempt  # ActionForm checks the token and keeps the typed reason on failure
@limiter.limit("30 per hour", methods=["POST"])
def confirm(code, trigger):
    """A step the workflow has the complainant confirm (`confirm`: withdrawing), on a page of
    its own: what it means, its optional field, then the confirmation. /track/<code>/withdraw."""
    complaint = _tracked_complaint(code)
    if complaint is None:
        return redirect(url_for("citizen.track", code=code))
    transition = current_workflow().transition(trigger)
    if transition is None or transition.confirm is None:
        abort(404)
    if not can_fire(Actor.citizen(complaint), complaint, transition) \
            or complaint.state not in transition.sources:  # closed meanwhile, say
        flash(_("This step can no longer be taken on this complaint."), "notice")
        return redirect(url_for("citizen.view", code=complaint.tracking_code))
    if request.method == "GET":
        return _render_confirm(complaint, transition)

    def render(complaint, errors, typed, status, *_rest):
        return _render_confirm(complaint, transition, errors, typed, status)

    return _take_step(complaint, transition, render)


@bp.post("/track/<code>/message")
@reads_first  # the photos are decoded before the write transaction begins
@csrf.exempt  # ActionForm checks the token and keeps the typed text on failure
@limiter.limit("10 per hour;30 per day")
def message(code):
    """A message to the office, at any open state; it does not move the complaint."""
    complaint = _tracked_complaint(code)
    if complaint is None:
        return redirect(url_for("citizen.track", code=code))
    typed = {"message": request.form.get("message", "")}
    files = request.files.getlist("attachments")
    dropped = any(f.filename for f in files)
    if not ActionForm().validate():
        return _render_view(complaint, {"csrf_token": _l("The form expired. Please send it again.")},
                            typed, 422, "message", dropped)
    try:
        with stored_files(checked_uploads(files)) as stored:
            post_message(complaint, Actor.citizen(complaint), typed["message"], stored)
    except InvalidFields as exc:
        rerender(_render_view, complaint, exc.errors, typed, exc.status, "message", dropped)
    flash(_("Your message was sent to the officer."), "success")
    return redirect(url_for("citizen.view", code=complaint.tracking_code))


@bp.post("/track/<code>/rate")
@csrf.exempt  # ActionForm checks the token
@limiter.limit("10 per hour")
def rate_service(code):
    """Rate the service (1-5, with a comment) once the complaint is closed."""
    complaint = _tracked_complaint(code)
    if complaint is None:
        return redirect(url_for("citizen.track", code=code))
    form = ActionForm()
    typed = {"rating": request.form.get("rating", ""), "comment": request.form.get("comment", "")}
    if not form.validate():
        return _render_view(complaint, {"csrf_token": _l("The form expired. Please send it again.")},
                            typed, 422, "rate")
    try:
        rate(complaint, Actor.citizen(complaint), typed["rating"] or None, typed["comment"] or None)
    except DomainError as exc:
        errors = exc.errors if isinstance(exc, InvalidFields) else {"rating": exc.message}
        rerender(_render_view, complaint, errors, typed, 422, "rate")
    flash(_("Thank you for rating our service."), "success")
    return redirect(url_for("citizen.view", code=complaint.tracking_code))


@bp.post("/track/<code>/pin")
@csrf.exempt  # ActionForm checks the token
@limiter.limit("10 per hour")
def replace_old_pin(code):
    """Replace the 6-digit PIN of an old receipt, which this browser just used, by a long one."""
    complaint = _tracked_complaint(code)
    if complaint is None or complaint.id not in session.get(OLD_PIN_KEY, []):
        return redirect(url_for("citizen.track", code=code))
    if not ActionForm().validate():
        flash(_("The form expired. Please send it again."), "error")
        return redirect(url_for("citizen.view", code=complaint.tracking_code))
    pin = replace_pin(complaint, Actor.citizen(complaint))
    _remember(complaint)  # with the new PIN: other browsers that opened it are shut out
    session[OLD_PIN_KEY] = [i for i in session.get(OLD_PIN_KEY, []) if i != complaint.id]
    session[NEW_PIN_KEY] = {"code": complaint.tracking_code, "pin": seal_pin(pin)}
    return redirect(url_for("citizen.show_new_pin", code=complaint.tracking_code))


@bp.get("/track/<code>/pin")
def show_new_pin(code):
    """The replacement PIN, shown only to the browser that asked for it, for a short while."""
    complaint = _tracked_complaint(code)
    data = session.get(NEW_PIN_KEY) or {}
    pin = unseal_pin(data.get("pin", ""), RECEIPT_SECONDS)
    if complaint is None or pin is None or data.get("code") != complaint.tracking_code:
        session.pop(NEW_PIN_KEY, None)
        return redirect(url_for("citizen.view", code=code))
    return render_template("citizen/new_pin.html", complaint=complaint, pin=pin)


FORGOT_PIN_SECONDS = 0.4  # every accepted request of the forgot-PIN form takes this long at least


@bp.route("/track/forgot-pin", methods=["GET", "POST"])
@csrf.exempt  # ForgotPinForm checks its own token and keeps the typed code
@limiter.limit("5 per minute;30 per day", methods=["POST"])
def forgot_pin():
    """Ask for a link to set a new PIN. The answer is the same whether the code exists, has
    an email address or had its links for today: same page, same status, same time. No limit
    per code answers otherwise: the codes of public complaints are published, and a stranger
    asking for one must not keep its complainant from asking herself (the service sends her
    a link at most while none works and a few a day, whoever asks)."""
    form = ForgotPinForm()
    if request.method == "GET" or not current_app.config.get("MAIL_SERVER"):  # the page says why not
        form.code.data = request.args.get("code", "")
        return render_template("citizen/forgot_pin.html", form=form, errors={},
                               minutes=pin_recovery.LINK_MINUTES)
    if not form.validate():
        errors = {"csrf_token": _l("The form expired. Please send it again.")}
    elif not pin_recovery.well_formed(form.code.data):
        errors = {"code": _l("A tracking code has 8 letters and digits, for example K7QM-3X9D. Please check it.")}
    else:
        started = time.monotonic()
        pin_recovery.request_reset(form.code.data)

        @after_this_request  # after the commit: the same floor for every answer
        def same_time(response):
            time.sleep(max(0.0, FORGOT_PIN_SECONDS - (time.monotonic() - started)))
            return response

        return render_template("citizen/forgot_pin_sent.html", minutes=pin_recovery.LINK_MINUTES)
    return render_template("citizen/forgot_pin.html", form=form, errors=errors,
                           minutes=pin_recovery.LINK_MINUTES), 422


@bp.route("/track/reset-pin", methods=["GET", "POST"])
@csrf.exempt  # the page checks its own token and says so
@limiter.limit("10 per minute;50 per day", methods=["POST"])
def reset_pin():
    """The emailed link (`?token=`): its token moves into the session and the page reloads
    without it (no access log, Referer or language link repeats it); a POST sets a new PIN,
    shows it once and remembers the complaint here; an expired, used or altered link says so
    and offers to ask again. Reading the link changes nothing (mail scanners open links)."""
    @after_this_request
    def no_referrer(response):
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    if request.method == "GET" and "token" in request.args:
        token = request.args.get("token", "")
        if pin_recovery.complaint_for(token) is None:
            session.pop(RESET_KEY, None)
            return render_template("citizen/reset_expired.html", minutes=pin_recovery.LINK_MINUTES), 410
        session[RESET_KEY] = token
        return redirect(url_for("citizen.reset_pin"))
    complaint = pin_recovery.complaint_for(session.get(RESET_KEY) or "")
    if complaint is None:
        session.pop(RESET_KEY, None)
        return render_template("citizen/reset_expired.html", minutes=pin_recovery.LINK_MINUTES), 410
    form = ActionForm()
    if request.method == "GET":
        return render_template("citizen/reset_pin.html", complaint=complaint, form=form)
    if not form.validate():
        return render_template("citizen/reset_pin.html", complaint=complaint, form=form,
                               error=_l("The form expired. Please send it again.")), 422
    pin = pin_recovery.reset_pin(complaint)
    session.pop(RESET_KEY, None)
    _remember(complaint)
    session[OLD_PIN_KEY] = [i for i in session.get(OLD_PIN_KEY, []) if i != complaint.id]
    session[NEW_PIN_KEY] = {"code": complaint.tracking_code, "pin": seal_pin(pin)}
    return redirect(url_for("citizen.show_new_pin", code=complaint.tracking_code))


@bp.get("/track/<code>/files/<int:attachment_id>")
def attachment(code, attachment_id):
    """A file the complainant may see, served with its checked type and never executed."""
    complaint = _tracked_complaint(code)
    item = db.session.get(Attachment, attachment_id)
    if complaint is None or item is None or item.complaint_id != complaint.id or not item.public:
        abort(404)
    return send_stored(item)


@bp.post("/track/forget")
def forget():
    """Remove the complaints this browser remembers (on a shared computer)."""
    for key in (TRACKED_KEY, RECEIPT_KEY, OLD_PIN_KEY, NEW_PIN_KEY, RESET_KEY):
        session.pop(key, None)
    flash(_("This browser no longer remembers your complaints."), "success")
    return redirect(url_for("citizen.track"))
