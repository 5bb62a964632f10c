"""Internal supervision: supervisors' records of monitoring, case reviews, coaching and
meetings, their follow-up actions and files, and each unit's standing documents."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..database import reads_first
from ..errors import ConcurrentChange, Forbidden, InvalidFields
from ..extensions import db
from ..models import (ACTION_STATUSES, DOCUMENT_KINDS, SUPERVISION_KINDS, StandingDocument,
                      SupervisionAction, SupervisionFile, SupervisionRecord)
from ..policy import (Actor, can_edit_record, can_read_supervision, can_record_supervision,
                      can_upload_document, can_view_documents, can_view_record,
                      keeps_every_unit_documents)
from ..services.oversight import documents as docs
from ..services.oversight import supervision as sv
from ..services.attachments import stored_files
from ..services.oversight.timeliness import units_in_view
from .downloads import send_stored
from ..http.params import query_day
from ..http.uow import checked_uploads, rerender

bp = Blueprint("supervision", __name__, url_prefix="/staff/supervision")
# Admins keep the standing documents of every unit, but do not read supervision records.
ADMIN_ENDPOINTS = {"supervision.documents", "supervision.document_file"}


def actor() -> Actor:
    return Actor.staff(current_user)


@bp.before_request
@login_required
def _signed_in_staff():
    if can_read_supervision(actor()):
        return None
    if keeps_every_unit_documents(actor()) and request.endpoint in ADMIN_ENDPOINTS:
        return None
    abort(403)


@bp.get("")
def index():
    """Records of my units (all units for auditors), filtered, with their frequency."""
    units = units_in_view(current_user)
    today = sv.today()
    start, end = query_day("from", date(today.year, 1, 1)), query_day("to", today)
    unit = next((u for u in units if u.code == request.args.get("unit")), None)
    kind = request.args.get("kind") if request.args.get("kind") in SUPERVISION_KINDS else None
    records = sv.records_for(actor(), unit=unit, kind=kind, start=start, end=end)
    return render_template("supervision/index.html", records=records, units=units,
                           counts=sv.frequency([u.id for u in units], start, end),
                           kinds=SUPERVISION_KINDS, start=start, end=end, unit=unit, kind=kind,
                           can_record=can_record_supervision(actor()))


def _form_raw() -> dict:
    raw = request.form.to_dict()
    raw["units"] = request.form.getlist("units")
    rows = zip(request.form.getlist("action_description"), request.form.getlist("action_owner"),
               request.form.getlist("action_due_on"))
    raw["actions"] = [{"description": d, "owner": o, "due_on": due} for d, o, due in rows]
    return raw


def _form(record=None, errors=None, typed=None, status=200):
    return render_template("supervision/form.html", record=record, errors=errors or {},
                           typed=typed, kinds=SUPERVISION_KINDS,
                           units=units_in_view(current_user)), status


@bp.route("/new", methods=["GET", "POST"])
@reads_first  # the files are decoded before the write transaction begins
def new():
    if not can_record_supervision(actor()):
        abort(403)
    if request.method == "GET":
        return _form(typed={"held_on": sv.today().isoformat(), "units": request.args.getlist("unit"),
                            "complaints": request.args.get("complaint", ""), "actions": []})
    raw = _form_raw()
    errors: dict = {}
    status = 422
    try:
        checked = checked_uploads(request.files.getlist("files"), field="files")
    except InvalidFields as exc:
        checked, errors = [], dict(exc.errors)
    if not errors:
        try:
            with stored_files(checked, field="files") as stored:
                record = sv.record_supervision(actor(), raw, stored)
        except InvalidFields as exc:
            rerender(_form, errors=exc.errors, typed=raw, status=exc.status)
        flash(_("Supervision record saved."), "success")
        return redirect(url_for("supervision.record", record_id=record.id))
    return _form(errors=errors, typed=raw, status=status)


def _record_or_404(record_id: int) -> SupervisionRecord:
    record = db.session.get(SupervisionRecord, record_id)
    if record is None or not can_view_record(actor(), record):
        abort(404)
    return record


def _page(record, errors=None, typed=None, status=200):
    return render_template("supervision/record.html", record=record, errors=errors or {},
                           typed=typed or {}, statuses=ACTION_STATUSES,
                           can_edit=can_edit_record(actor(), record)), status


@bp.get("/<int:record_id>")
def record(record_id):
    return _page(_record_or_404(record_id))


@bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
def edit(record_id):
    record = _record_or_404(record_id)
    if not can_edit_record(actor(), record):
        abort(403)
    if request.method == "GET":
        return _form(record, typed={
            "kind": record.kind, "held_on": record.held_on.isoformat(), "title": record.title,
            "participants": record.participants or "", "findings": record.findings or "",
            "units": [u.code for u in record.units],
            "complaints": " ".join(c.tracking_code for c in record.complaints),
            "version": record.version})
    raw = _form_raw()
    try:
        sv.update_supervision(record, actor(), raw, expected_version=raw.get("version"))
    except InvalidFields as exc:
        rerender(_form, record, exc.errors, raw, 422)
    except ConcurrentChange:
        rerender(_conflict, record, raw)
    flash(_("Supervision record updated."), "success")
    return redirect(url_for("supervision.record", record_id=record.id))


def _conflict(record, raw):
    """The form again after a concurrent change, offering the record's current version."""
    return _form(record, {"version": _("Someone else changed this record meanwhile. "
                                       "What you typed is kept; check and send it again.")},
                 {**raw, "version": record.version}, 409)


def _change(record, change, typed=None):
    """Run one change of a record; a refusal rolls it back and shows the page with errors,
    a refused permission is 403."""
    try:
        change()
    except InvalidFields as exc:
        rerender(_page, record, exc.errors, typed, 422)
    except Forbidden:
        abort(403)
    return redirect(url_for("supervision.record", record_id=record.id))


@bp.post("/<int:record_id>/actions")
def add_action(record_id):
    record = _record_or_404(record_id)
    row = {k: request.form.get(k, "") for k in ("description", "owner", "due_on")}
    return _change(record, lambda: sv.add_actions(record, actor(), [row]), row)


@bp.post("/<int:record_id>/actions/<int:action_id>")
def action_status(record_id, action_id):
    record = _record_or_404(record_id)
    action = db.session.get(SupervisionAction, action_id)
    if action is None or action.record_id != record.id:
        abort(404)
    return _change(record, lambda: sv.set_action_status(
        action, actor(), request.form.get("status", ""), request.form.get("completed_on")))


@bp.post("/<int:record_id>/files")
@reads_first  # the files are decoded before the write transaction begins
def add_files(record_id):
    record = _record_or_404(record_id)
    try:
        checked = checked_uploads(request.files.getlist("files"), field="files")
        with stored_files(checked, field="files") as stored:  # removed again if the change is refused
            sv.add_files(record, actor(), stored)
    except InvalidFields as exc:
        rerender(_page, record, exc.errors, status=exc.status)
    except Forbidden:
        abort(403)
    flash(_("Files added."), "success")
    return redirect(url_for("supervision.record", record_id=record.id))


@bp.get("/files/<int:file_id>")
def record_file(file_id):
    item = db.session.get(SupervisionFile, file_id)
    if item is None:
        abort(404)
    _record_or_404(item.record_id)
    return send_stored(item)


@bp.route("/documents", methods=["GET", "POST"])
@reads_first  # the file is decoded before the write transaction begins
def documents():
    """Each unit's standing documents and the checklist of what is present, missing or out
    of date; supervisors of the unit (and admins) upload."""
    units = units_in_view(current_user)
    code = request.values.get("unit") or (units[0].code if units else None)
    unit = next((u for u in units if u.code == code), None)
    if code and unit is None:
        abort(404)
    typed = request.form.to_dict()

    def page(errors=None, status=200):
        return render_template(
            "supervision/documents.html", units=units, unit=unit, kinds=DOCUMENT_KINDS,
            checklist=docs.checklist(unit) if unit else [],
            documents=docs.documents_of(unit) if unit else [],
            can_upload=unit is not None and can_upload_document(actor(), unit), errors=errors or {},
            typed=typed), status

    if request.method == "POST":
        if unit is None or not can_upload_document(actor(), unit):
            abort(403)
        try:
            checked = checked_uploads(request.files.getlist("file"), field="file")
            with stored_files(checked, field="file") as stored:
                docs.upload_document(actor(), unit, typed, stored)
        except InvalidFields as exc:
            rerender(page, exc.errors, exc.status)
        flash(_("Document saved."), "success")
        return redirect(url_for("supervision.documents", unit=unit.code))
    return page()


@bp.get("/documents/<int:document_id>/file")
def document_file(document_id):
    item = db.session.get(StandingDocument, document_id)
    if item is None or not can_view_documents(actor(), item.unit):
        abort(404)
    return send_stored(item)
