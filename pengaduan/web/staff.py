"""The staff workspace: the home page, the queue (with bulk assignment and its CSV export),
the complaint page with its one-step-at-a-time forms, the overdue review and notifications."""
from __future__ import annotations

import os
import tempfile
from types import SimpleNamespace
from functools import wraps
from urllib.parse import parse_qsl

from flask import (Blueprint, Response, abort, flash, make_response, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..database import read_apart, reads_first
from ..errors import ConcurrentChange, Forbidden, InvalidFields, TriggerNotAllowed
from ..extensions import csrf, db
from ..http.links import external_url
from ..http.params import row_id
from ..http.uow import checked_uploads, rerender
from ..i18n import label
from ..i18n import lazy_gettext as _l
from ..models import (Attachment, Category, Complaint, ComplaintEvent, Escalation, Notification,
                      Unit, User, utcnow)
from ..policy import (STAFF_WITH_UNITS, Actor, can_add_note, can_browse_queue, can_post_message,
                      can_review_overdue,
                      can_reveal_identity, can_see_identity, can_supervise, can_view, has_home,
                      sees_all_units, sees_own_work, sees_setup_status, sees_unit_figures, watches_units)
from ..policy.complaints import can_assign_in_bulk, can_export_queue, can_record_lapor_posting
from ..services import advance, allowed_triggers, ombudsman
from ..services.complaints.lifecycle import prefilled, standing_notice
from ..services.oversight.compensation import of_complaint as compensations_of
from ..policy import can_record_compensation, can_record_finding
from ..services.administration.setup import setup_status
from ..services.attachments import limits, masked_file_name, stored_files
from ..services.complaints.bulk import (MAX_BATCH, BatchRefused, ExportTooLarge, assign_batch,
                                        assignee_choices, record_export, refusal_groups,
                                        selection_of, write_view)
from ..services.complaints.casework import (acknowledge_escalations, add_note, assign,
                                            give_instruction, mark_instruction_done,
                                            reveal_identity, visible_identity)
from ..services.complaints.complainant_mail import whatsapp_contact
from ..services.complaints.conversation import is_open, post_message
from ..services.complaints.lapor import case_view, confirm_posted, days_waiting
from ..services.complaints.duplicates import duplicate_form, duplicate_step, link, related, suggestions, unlink
from ..services.complaints.lapor_oversight import waiting_for_lapor
from ..services.complaints.instructions import (instructions_of, open_instructions_for,
                                                open_instructions_on)
from ..services.complaints.notifications import INBOX_PAGE, inbox, mark_read, unread_count
from ..services.complaints.queue import COUNT_CAP, QueueFilter, queue_page
from ..services.complaints.responses import templates_for
from ..services.complaints.search import exact_match
from ..services.complaints.worklist import worklist
from ..services.inputs import local_today
from ..services.oversight.dashboard import figures, watch
from ..services.oversight.lateness import clock_standing, overdue_review
from ..services.oversight.timeliness import default_period_start, unit_performance, units_in_view
from ..sla import WorkingCalendar, remaining
from ..workflow import current_workflow
from ..workflow.fields import FIELDS, answer_field
from .downloads import attachment_header, send_stored
from .forms import ActionForm, Form

bp = Blueprint("staff", __name__, url_prefix="/staff")
MAX_DUE_WITHIN_DAYS = 3650


@bp.app_context_processor
def _unread():
    """The unread count beside the notifications link, for signed-in staff."""
    def unread_notifications() -> int:
        return unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_notifications": unread_notifications}


def staff_only(view):
    """Signed-in staff of the given kinds; everyone else is refused (403)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not can_browse_queue(actor()):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def actor() -> Actor:
    return Actor.staff(current_user)


def complaint_or_404(code: str) -> Complaint:
    """The complaint, if this user may see it; a complaint of another unit does not exist."""
    complaint = Complaint.by_code(code)
    if complaint is None or not can_view(actor(), complaint):
        abort(404)
    return complaint


# The query parameters of a queue view (its tab, filters and page), and nothing else: what
# the bulk form sends back to return to the same view.
QUEUE_ARGS = ("state", "category", "overdue", "due_within", "mine", "unassigned", "lapor", "q", "cursor")


def _queue_filter(args) -> QueueFilter:
    """The tab and filters a queue view's query string asks for (nonsense is ignored)."""
    try:
        within = int(args["due_within"]) if args.get("due_within") else None
    except ValueError:
        within = None
    if within is not None and not 0 <= within <= MAX_DUE_WITHIN_DAYS:
        within = None

    def flag(name: str) -> bool:
        return args.get(name) in ("1", "on", "true")

    return QueueFilter(
        state=args.get("state") or None, category=args.get("category") or None,
        overdue=flag("overdue"), due_within_days=within, mine=flag("mine"),
        unassigned=flag("unassigned"), search=args.get("q", "")[:100], lapor_unposted=flag("lapor"),
    )


@bp.get("/queue")
@staff_only
def queue():
    """The complaints of my units, nearest deadline first, with tabs and filters; officers
    and supervisors tick several to assign them at once, anyone downloads the view as CSV."""
    if not can_browse_queue(actor()):
        abort(403)
    typed = request.args.get("q", "")
    exact = exact_match(current_user, typed) if typed else None
    if exact is not None:  # a whole tracking code opens its complaint, in any state and from any tab
        return redirect(url_for("staff.complaint", code=exact.tracking_code))
    view = {k: v for k, v in request.args.items() if k in QUEUE_ARGS}
    return _render_queue(view, select_page=request.args.get("select") == "page")


def _render_queue(view: dict, select_page: bool = False, selected=(), chosen: str = "",
                  errors: dict | None = None, refused: dict | None = None, status: int = 200):
    """The queue view `view` (its query parameters) as a page; after a refused batch, with
    what was ticked and chosen kept, and the refused rows marked."""
    filters = _queue_filter(view)
    page = queue_page(current_user, filters, view.get("cursor"))
    now = utcnow()
    due = {c.id: remaining(c.stage_due_at, WorkingCalendar.for_unit(c.unit), now)
           for c in page.items if c.stage_due_at}
    categories = db.session.scalars(select(Category).order_by(Category.name)).all()
    me = actor()
    picked = {c.tracking_code for c in page.items} if select_page else set(selected)
    return render_template("staff/queue.html", page=page, filters=filters, due=due,
                           workflow=current_workflow(), categories=categories, count_cap=COUNT_CAP,
                           args={k: v for k, v in view.items() if k != "cursor"}, view=view,
                           bulk=can_assign_in_bulk(me), assignees=assignee_choices(me),
                           can_export=can_export_queue(me), picked=picked, chosen=chosen,
                           errors=errors or {}, refused=dict(refused or {}), max_batch=MAX_BATCH,
                           refusal_groups=refusal_groups,
                           lapor_days={c.id: days_waiting(c.lapor_unposted_since, now)
                                       for c in page.items if c.lapor_unposted_since},
                           form=Form()), status


@bp.post("/queue/assign")
@staff_only
@csrf.exempt  # the form checks its token itself, so that a refusal keeps what was ticked
def queue_assign():
    """Assign the ticked complaints to one officer, all or none, then return to the same view."""
    me = actor()
    if not can_assign_in_bulk(me):
        abort(403)
    view = {k: v for k, v in parse_qsl(request.form.get("view", "")) if k in QUEUE_ARGS}
    codes = request.form.getlist("codes")
    chosen = request.form.get("assignee", "")
    if not Form().validate():
        return _render_queue(view, selected=codes, chosen=chosen, status=422, errors={
            "csrf_token": _l("The form expired. Please send it again.")})
    versions = {key[len("version-"):]: value for key, value in request.form.items()
                if key.startswith("version-")}
    try:
        assigned, officer = assign_batch(me, selection_of(codes, versions), chosen)
    except BatchRefused as exc:
        rerender(_render_queue, view, selected=codes, chosen=chosen, status=409,
                 errors={"selection": exc.errors["selection"]}, refused=exc.refusals)
    except InvalidFields as exc:
        rerender(_render_queue, view, selected=codes, chosen=chosen, status=422, errors=exc.errors)
    except ConcurrentChange:
        rerender(_render_queue, view, selected=codes, chosen=chosen, status=409, errors={
            "selection": _l("Someone else changed one of these complaints at the same moment. "
                            "Nothing was assigned; check the list below and assign again.")})
    flash(ngettext("%(num)d complaint assigned to %(name)s.", "%(num)d complaints assigned to %(name)s.",
                   len(assigned), name=officer.name), "success")
    return redirect(url_for("staff.queue", **view))


@bp.post("/queue.csv")
@staff_only
@reads_first
def queue_csv():
    """Every complaint of the queue view (all its pages) as CSV. A POST with the page's token,
    since the export is recorded in the audit chain (no GET changes anything)."""
    me = actor()
    if not can_export_queue(me):
        abort(403)
    view = {k: v for k, v in request.form.items() if k in QUEUE_ARGS and k != "cursor"}
    filters = _queue_filter(view)
    out = tempfile.TemporaryFile()  # no name on disk: nothing of the list stays behind
    try:
        with read_apart():
            export = write_view(me, filters, out)
        record_export(me, filters, export)  # committed with the request, before anything is sent
        size = out.seek(0, os.SEEK_END)
    except ExportTooLarge as exc:
        out.close()
        rerender(_back_with, exc.message, "error", url_for("staff.queue", **view))
    except BaseException:
        out.close()
        raise
    name = f"antrean-pengaduan-{local_today(None).isoformat()}.csv"
    response = Response(_file_chunks(out), mimetype="text/csv", headers={
        "Content-Disposition": attachment_header(name), "Content-Length": str(size),
        "Cache-Control": "private, no-store", "X-Row-Count": str(export.rows)})
    response.call_on_close(out.close)  # also when the body is never read
    return response


def _file_chunks(out, size: int = 1 << 16):
    """A temporary file's bytes from the start; it is closed at the end or when the client leaves."""
    try:
        out.seek(0)
        while data := out.read(size):
            yield data
    finally:
        out.close()


@bp.get("")
@login_required
def home():
    """The signed-in person's home: an officer's due work, replies and instructions; a
    supervisor's late cases, escalations and figures; an auditor's figures across units; an
    administrator's setup. The policy decides which sections each person sees."""
    me = actor()
    if not has_home(me):
        abort(403)
    now = utcnow()
    own = sees_own_work(me)
    return render_template(
        "staff/home.html", now=now, workflow=current_workflow(),
        work=worklist(current_user, now) if own else None,
        instructions=open_instructions_for(me) if own else None,
        watch=watch(current_user, now) if watches_units(me) else None,
        figures=figures(units_in_view(current_user), now) if sees_unit_figures(me) else None,
        setup=setup_status() if sees_setup_status(me) else None)


def _choices(complaint: Complaint) -> dict:
    """Options of the select inputs that workflow steps may ask for."""
    units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    officers = db.session.scalars(select(User).where(
        User.active.is_(True), User.role.in_(STAFF_WITH_UNITS)).order_by(User.name)).all()
    return {
        "unit": [(u.code, u.name) for u in units],
        "category": [(c.code, c.name) for c in db.session.scalars(
            select(Category).where(Category.active.is_(True)).order_by(Category.name))],
        "assignee": [(u.email, f"{u.name} ({', '.join(x.code for x in u.units)})") for u in officers],
    }


# The steps of the case page that are not workflow transitions (each opens its own form).
CASEWORK_STEPS = ("reply", "assign", "note", "instruction", "acknowledge")


def _case_steps(actions, can_note: bool, can_instruct: bool, open_escalations,
                can_reply: bool = False) -> list[tuple]:
    """The steps this person may take now, as the case page offers them: (key, label, kind)."""
    steps = [(t.trigger, label(t.label), "secondary" if t.secondary else "workflow") for t in actions]
    if can_reply:
        steps.append(("reply", _("Reply to the complainant"), "casework"))
    if can_note:
        steps += [("assign", _("Assign to an officer"), "casework"),
                  ("note", _("Write an internal note"), "casework")]
    if can_instruct:
        steps.append(("instruction", _("Give instruction"), "supervision"))
        if open_escalations:
            steps.append(("acknowledge", _("Acknowledge escalations"), "supervision"))
    return steps


def _event_fields(events, workflow) -> dict[int, list[tuple]]:
    """Each timeline event's fields as people read them: (name, label, words, public), the
    officer named instead of an email and a unit or category by its name, never a code."""
    emails = {e.data.get("assignee") for e in events if e.data and e.data.get("assignee")}
    names = dict(db.session.execute(select(User.email, User.name).where(User.email.in_(emails)))
                 .all()) if emails else {}
    shown: dict[int, list[tuple]] = {}
    for event in events:
        for name, value in (event.data or {}).items():
            if name not in FIELDS or value in (None, ""):
                continue
            spec = FIELDS[name]
            words = names.get(value, value) if name == "assignee" else spec.show(workflow, value)
            shown.setdefault(event.id, []).append(
                (name, spec.label, words, event.public and spec.public))
    return shown


def _render(complaint: Complaint, errors=None, typed=None, open_action=None, status=200,
            identity=None, revealed=False):
    workflow = current_workflow()
    me = actor()
    events = db.session.scalars(
        select(ComplaintEvent).options(joinedload(ComplaintEvent.actor), joinedload(ComplaintEvent.unit))
        .where(ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.id)).all()
    now = utcnow()
    cal = WorkingCalendar.for_unit(complaint.unit)
    actions = [workflow.transition(t) for t in allowed_triggers(complaint, me, workflow)]
    # A step sent from a stale page that is no longer offered: show what was typed, unsent.
    stale = (workflow.transition(open_action)
             if open_action and workflow.transition(open_action) and typed
             and any(str(v).strip() for v in typed.values())
             and open_action not in {t.trigger for t in actions} else None)
    clocks = sorted(complaint.clocks, key=lambda c: list(workflow.sla).index(c.rule)
                    if c.rule in workflow.sla else 99)
    files: dict[int | None, list[Attachment]] = {}  # by the step that brought them
    for attachment in sorted(complaint.attachments, key=lambda a: a.id):
        files.setdefault(attachment.event_id, []).append(attachment)
    escalations: dict[int, list[Escalation]] = {}
    for escalation in db.session.scalars(select(Escalation).where(
            Escalation.complaint_id == complaint.id).order_by(Escalation.id)):
        escalations.setdefault(escalation.clock_id, []).append(escalation)
    can_note, can_instruct = can_add_note(me, complaint), can_supervise(me, complaint)
    open_escalations = [e for found in escalations.values() for e in found
                        if e.acknowledged_at is None and e.level in workflow.escalation_levels]
    can_reply = can_post_message(me, complaint) and is_open(complaint)
    steps = _case_steps(actions, can_note, can_instruct, open_escalations, can_reply)
    if stale is None and open_action == "reply" and not can_reply and (typed or {}).get("message", "").strip():
        stale = SimpleNamespace(label=_("Message to the complainant"))  # closed meanwhile: kept, unsent
    identity = identity or visible_identity(complaint, me)
    if open_action == "reveal":
        open_step = None  # the reveal form stays in the identity panel
    else:
        open_step = open_action if open_action in {key for key, _text, _kind in steps} else None
    return render_template(
        "staff/complaint.html", complaint=complaint, workflow=workflow, events=events,
        clocks=clocks, rules=workflow.sla, now=now, escalations=escalations, files=files,
        masked_file_name=masked_file_name,
        staff_levels=workflow.escalation_levels,
        countdown={c.id: clock_standing(c, workflow.sla[c.rule].unit, cal, now)
                   for c in clocks if c.due_at and c.running and c.rule in workflow.sla},
        actions=actions, steps=steps, open_step=open_step, open_escalations=open_escalations,
        event_fields=_event_fields(events, workflow),
        max_files=limits()[1], free_text_fields=[n for n, spec in FIELDS.items() if spec.free_text],
        stale=stale,
        choices=_choices(complaint), form=ActionForm(), errors=errors or {}, typed=typed or {},
        open_action=open_action, identity=identity,
        whatsapp=whatsapp_contact(complaint, identity,
                                  external_url("citizen.track", code=complaint.tracking_code)),
        revealed=revealed, can_note=can_note,
        can_reveal=can_reveal_identity(me, complaint),
        can_instruct=can_instruct,
        instructions=instructions_of(complaint, me, events),
        unit_officers=[(u.email, u.name) for u in complaint.unit_staff()],
        answer_templates=templates_for(complaint),
        answer_fields=[name for name, spec in FIELDS.items() if spec.answer],
        lapor_case=case_view(complaint, events), may_post_lapor=can_record_lapor_posting(me, complaint),
        lapor_now=now.astimezone(cal.tz).strftime("%Y-%m-%dT%H:%M"),
        similar=suggestions(me, complaint, now), related=related(me, complaint),
        notice=standing_notice(complaint, workflow),
        compensations=compensations_of(complaint), can_compensate=can_record_compensation(me, complaint.unit),
        can_record_finding=can_record_finding(me, complaint),
        closes_duplicate=duplicate_step(me, complaint) is not None,
    ), status


@bp.get("/complaints/<code>")
@staff_only
def complaint(code):
    """The whole file: timeline, clocks, identity as permitted, and the steps allowed now.

    `?step=<trigger or casework step>` opens that step's form (and only it), and with
    `&use=<template id>` fills it with a response template's text."""
    complaint = complaint_or_404(code)
    wanted = request.args.get("step", "")
    step = current_workflow().transition(wanted)
    chosen = next((t for t in templates_for(complaint) if str(t.id) == request.args.get("use")), None)
    if step and chosen:
        field = answer_field(step)  # the field spec marked as an answer
        if field:
            return _render(complaint, typed={field: chosen.body}, open_action=step.trigger)
    original = request.args.get("duplicate_of", "")[:20]
    duplicate = duplicate_form(actor(), complaint, original) if original else None
    if duplicate:  # "close as a duplicate of ...": the workflow's step, filled in
        return _render(complaint, typed=duplicate[1], open_action=duplicate[0])
    if step and step.prefill and (draft := prefilled(complaint, step)):
        return _render(complaint, typed=draft, open_action=step.trigger)  # a draft to review
    return _render(complaint, open_action=wanted if step or wanted in CASEWORK_STEPS else None)


@bp.get("/complaints/<code>/files/<int:attachment_id>")
@staff_only
def attachment(code, attachment_id):
    """A photo or document sent with the complaint, to whoever may see the complaint. Its
    content is the complaint's; its file name may name the complainant ("KTP Budi.jpg"), so
    where the identity is masked the name is too."""
    complaint = complaint_or_404(code)
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.complaint_id != complaint.id:
        abort(404)
    masked = not can_see_identity(actor(), complaint)
    return send_stored(item, download_name=masked_file_name(item) if masked else None)


@bp.post("/complaints/<code>/act/<trigger>")
@staff_only
@reads_first  # the files are checked before the write transaction begins
@csrf.exempt  # ActionForm checks the token so that a failure keeps what was typed
def act(code, trigger):
    """A workflow step, with the files a step the complainant sees may carry (checked by
    their content; a refused file leaves nothing saved, neither the step nor any file)."""
    complaint = complaint_or_404(code)
    transition = current_workflow().transition(trigger)
    if transition is None:
        abort(404)
    form = ActionForm()
    typed = {name: request.form.get(name, "") for name in transition.requires + transition.accepts}
    if not form.validate():
        return _render(complaint, {"csrf_token": _l("The form expired. Please send it again.")},
                       typed, trigger, 422)
    fields = {name: value for name, value in typed.items() if value.strip()}
    files = request.files.getlist("attachments") if transition.attachments else []
    try:
        with stored_files(checked_uploads(files)) as stored:
            advance(complaint, trigger, actor(), expected_version=form.version.data or None,
                    attachments=stored, **fields)
    except InvalidFields as exc:
        errors = dict(exc.errors)
        if any(f.filename for f in files) and "attachments" not in errors:
            # A browser cannot keep chosen files across a refused form: say so beside the input.
            errors["attachments"] = _l("were not saved, since the step was not sent.")
        rerender(_render, complaint, errors, typed, trigger, exc.status)
    except (ConcurrentChange, TriggerNotAllowed):  # shown as it is now, after the rollback
        rerender(_render, complaint, {"version": _l(
            "Someone else changed this complaint while you were working on it. Check its "
            "current state below; what you typed is kept.")}, typed, trigger, 409)
    except Forbidden:
        abort(403)
    flash(_("Step completed: %(step)s.", step=label(transition.label)), "success")
    if not can_view(actor(), complaint):  # disposed to a unit this officer does not work for
        return redirect(url_for("staff.queue"))
    return redirect(url_for("staff.complaint", code=complaint.tracking_code))


@bp.post("/complaints/<code>/message")
@staff_only
@reads_first  # the files are checked before the write transaction begins
@csrf.exempt  # ActionForm checks the token so that a failure keeps what was typed
def message(code):
    """A message to the complainant (she reads it on the tracking page); the complaint stays
    in its state. Distinct from an internal note."""
    complaint = complaint_or_404(code)
    typed = {"message": request.form.get("message", "")}
    files = request.files.getlist("attachments")
    dropped = any(f.filename for f in files)
    if not ActionForm().validate():
        return _render(complaint, {"csrf_token": _l("The form expired. Please send it again.")},
                       typed, "reply", 422)
    if not is_open(complaint):
        return _render(complaint, {"version": _l(
            "The complaint was closed meanwhile, so the message was not sent.")}, typed, "reply", 409)
    try:
        with stored_files(checked_uploads(files)) as stored:
            post_message(complaint, actor(), typed["message"], stored)
    except InvalidFields as exc:
        errors = dict(exc.errors)
        if dropped and "attachments" not in errors:
            errors["attachments"] = _l("were not saved, since the step was not sent.")
        rerender(_render, complaint, errors, typed, "reply", exc.status)
    except Forbidden:
        abort(403)
    flash(_("Message sent to the complainant."), "success")
    return redirect(url_for("staff.complaint", code=complaint.tracking_code))


@bp.post("/complaints/<code>/note")
@staff_only
def note(code):
    complaint = complaint_or_404(code)
    typed = {"note": request.form.get("note", "")}
    _casework(complaint, "note", typed, lambda: add_note(complaint, actor(), typed["note"]))
    flash(_("Note added."), "success")
    return redirect(url_for("staff.complaint", code=complaint.tracking_code))


def _casework(complaint: Complaint, open_action: str, typed: dict, change):
    """Run one casework change and return its result; refused input rolls the request back
    and shows the page again with the errors and what was typed; a refused permission is 403."""
    try:
        return change()
    except InvalidFields as exc:
        rerender(_render, complaint, exc.errors, typed, open_action, 422)
    except Forbidden:
        abort(403)


def _back_with(message, category: str, target: str):
    flash(message, category)
    return redirect(target)


@bp.post("/complaints/<code>/assign")
@staff_only
def assign_officer(code):
    """Give the complaint to an officer of its unit, or take it back (empty choice)."""
    complaint = complaint_or_404(code)
    _casework(complaint, "assign", {},
              lambda: assign(complaint, actor(), request.form.get("assignee") or None))
    flash(_("Assignment saved."), "success")
    return redirect(url_for("staff.complaint", code=complaint.tracking_code))


@bp.post("/complaints/<code>/reveal")
@staff_only
def reveal(code):
    """Show a masked identity once, for a stated reason; the reveal is audited."""
    complaint = complaint_or_404(code)
    typed = {"reason": request.form.get("reason", "")}
    identity = _casework(complaint, "reveal", typed,
                         lambda: reveal_identity(complaint, actor(), typed["reason"]))
    response = make_response(_render(complaint, identity=identity, revealed=True))
    response.headers["Cache-Control"] = "no-store"  # the identity must not stay in a cache
    return response


@bp.post("/complaints/<code>/links")
@staff_only
def add_link(code):
    """Link another complaint to this one as related (both case pages show the link)."""
    return _change_link(code, link, lambda other: _("Linked with %(code)s as related.", code=other))


@bp.post("/complaints/<code>/links/delete")
@staff_only
def remove_link(code):
    """Remove the link between this complaint and another."""
    return _change_link(code, unlink, lambda other: _("The link with %(code)s was removed.", code=other))


def _change_link(code: str, change, done):
    complaint = complaint_or_404(code)
    typed = {"related": request.form.get("related", "")}
    other = _casework(complaint, "link", typed, lambda: change(actor(), complaint, typed["related"]))
    flash(done(other.tracking_code), "success")
    return redirect(url_for("staff.complaint", code=complaint.tracking_code) + "#related")


@bp.post("/complaints/<code>/lapor")
@staff_only
def lapor_posted(code):
    """Record that a public answer (`event`) was posted to SP4N-LAPOR! too, at the local time typed."""
    complaint = complaint_or_404(code)
    event_id = row_id(request.form.get("event"))
    typed = {"posted_at": request.form.get("posted_at", "")}
    _casework(complaint, f"lapor-{event_id}", typed,
              lambda: confirm_posted(complaint, event_id, typed["posted_at"], actor()))
    flash(_("Recorded as posted to SP4N-LAPOR!."), "success")
    return redirect(url_for("staff.complaint", code=complaint.tracking_code) + f"#lapor-{event_id}")


@bp.get("/overdue")
@staff_only
def overdue():
    """Supervisor's review: what is late in my units, and each unit's time-limit record."""
    if not can_review_overdue(actor()):
        abort(403)
    return _overdue_page()


def _overdue_scope() -> set[int] | None:
    """The units whose Ombudsman product actions the overdue review lists (None: all)."""
    return None if sees_all_units(current_user) else set(current_user.overseen_unit_ids)


def _overdue_page(errors=None, typed=None, open_code=None, status=200):
    """The overdue review; after a refused instruction, with its error and what was typed."""
    now = utcnow()
    review = overdue_review(actor(), now)
    return render_template("staff/overdue.html", review=review,
                           instructions=open_instructions_on(
                               [case.complaint for group in review for case in group.cases], actor()),
                           performance=unit_performance(current_user, default_period_start(now), now),
                           lapor=waiting_for_lapor(current_user.overseen_unit_ids, now),
                           ombudsman_late=ombudsman.late_items(_overdue_scope(), now),
                           ombudsman_open=ombudsman.open_count(_overdue_scope()),
                           workflow=current_workflow(), errors=errors or {}, typed=typed or {},
                           open_code=open_code), status


@bp.post("/complaints/<code>/acknowledge")
@staff_only
def acknowledge(code):
    """A supervisor acknowledges the case's open escalations, with an optional note."""
    complaint = complaint_or_404(code)
    back = (request.form.get("back") == "overdue" and url_for("staff.overdue")
            or url_for("staff.complaint", code=complaint.tracking_code))
    note = request.form.get("note") or ""
    try:
        acknowledge_escalations(complaint, actor(), note or None)
    except InvalidFields as exc:
        if "note" in exc.errors and request.form.get("back") != "overdue":  # the case, the step open
            rerender(_render, complaint, exc.errors, {"note": note}, "acknowledge", 422)
        rerender(_back_with, " ".join(str(v) for v in exc.errors.values()), "error", back)
    except Forbidden:
        abort(403)
    flash(_("Escalation acknowledged."), "success")
    return redirect(back)


@bp.get("/notifications")
@login_required
def notifications():
    """My messages, newest first (any signed-in staff member sees only their own)."""
    before = row_id(request.args.get("before"))
    messages = inbox(current_user, before, limit=INBOX_PAGE + 1)
    older = len(messages) > INBOX_PAGE
    messages = messages[:INBOX_PAGE]
    return render_template("staff/notifications.html", messages=messages,
                           next_before=messages[-1].id if older else None,
                           workflow=current_workflow())


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_notification(notification_id):
    """Mark one message read and go to its complaint (if I may still see it)."""
    message = db.session.get(Notification, notification_id)
    if message is None or message.user_id != current_user.id:
        abort(404)
    mark_read(current_user, notification_id)
    if message.kind == "standard_review":
        return redirect(url_for("standards.standard", scope=message.data.get("unit") or "default"))
    complaint = message.complaint
    if complaint is not None and can_view(actor(), complaint) and can_browse_queue(actor()):
        return redirect(url_for("staff.complaint", code=complaint.tracking_code))
    if message.kind == "ombudsman_escalation" and isinstance(message.data.get("product"), int):
        return redirect(url_for("ombudsman.product", product_id=message.data["product"]))
    return redirect(url_for("staff.notifications"))


@bp.post("/notifications/read")
@login_required
def read_all_notifications():
    count = mark_read(current_user)
    flash(ngettext("%(num)d message marked as read.", "%(num)d messages marked as read.", count),
          "success")
    return redirect(url_for("staff.notifications"))


@bp.post("/complaints/<code>/instruction")
@staff_only
def instruction(code):
    """A supervisor's instruction on a case (kept on its internal timeline)."""
    complaint = complaint_or_404(code)
    text = request.form.get("instruction", "")
    try:
        give_instruction(complaint, actor(), text)
    except InvalidFields as exc:
        if request.form.get("back") == "overdue":  # the review again, with what was typed
            rerender(_overdue_page, {"instruction": exc.errors.get("note")}, {"instruction": text},
                     complaint.tracking_code, 422)
        # The case page again with the instruction step open and what was typed.
        rerender(_render, complaint, {"instruction": " ".join(map(str, exc.errors.values()))},
                 {"instruction": text}, "instruction", 422)
    except Forbidden:
        abort(403)
    flash(_("Instruction recorded."), "success")
    return redirect(request.form.get("back") == "overdue" and url_for("staff.overdue")
                    or url_for("staff.complaint", code=complaint.tracking_code))


@bp.post("/complaints/<code>/instructions/<int:event_id>/done")
@staff_only
def instruction_done(code, event_id):
    """The person an instruction is for (or the unit, or its supervisor) says it is done."""
    complaint = complaint_or_404(code)
    back = {"overdue": url_for("staff.overdue")}.get(request.form.get("back", ""),
                                                      url_for("staff.complaint", code=complaint.tracking_code)
                                                      + f"#instruction-{event_id}")
    try:
        mark_instruction_done(complaint, actor(), event_id)
    except InvalidFields as exc:
        rerender(_back_with, " ".join(str(v) for v in exc.errors.values()), "error", back)
    except Forbidden:
        abort(403)
    flash(_("Instruction marked done."), "success")
    return redirect(back)
