"""A complaint form sent by a browser (the citizen's /complaints/new and the staff entry
/staff/complaints/new): its one-time token, files and fields checked, then the complaint
filed with its receipt email; or, instead, the form again with what was typed and why."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import request
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidFields, StorageFull
from ..models import Complaint
from ..policy import Actor
from ..services import file_complaint
from ..services.attachments import stored_files
from ..services.complaints.intake import Filed, filed_from, validate_complaint
from ..services.complaints.receipts import ReceiptEmail, send_receipt
from ..services.complaints.tracking import seal_pin
from ..unit_of_work import rerender
from .uow import checked_uploads


@dataclass
class FiledForm:
    """The complaint a form filed, its PIN, and what became of its receipt email."""

    filed: Filed
    emailed: ReceiptEmail | None

    @property
    def complaint(self) -> Complaint:
        return self.filed.complaint

    def receipt(self) -> dict:
        """What the receipt page finds in the session: the code, the PIN sealed, the email."""
        emailed = self.emailed
        return {"code": self.complaint.tracking_code, "pin": seal_pin(self.filed.pin),
                "email": emailed and emailed.status, "message": emailed and emailed.message}


def file_form(form, actor: Actor, *, refused: Callable, already_filed: Callable[[Complaint], object],
              expired: str, errors: dict | None = None, locale: str | None = None) -> FiledForm:
    """File the complaint `form` (web.forms.ComplaintForm) carries, as `actor` (whose `intake`
    is the channel), or answer instead, after rolling the request back (unit_of_work.rerender):
    `already_filed(complaint)` when the form's one-time token filed one already (also when a
    second send of it wins the race), else `refused(errors, status, files_dropped=...)` with
    every problem found: `expired` for a stale CSRF token, the view's own `errors`, the files'
    and the fields'. `locale` is the language the complainant is written to in."""
    found: dict = {}
    if not form.validate():  # only the CSRF token has validators
        found["csrf_token"] = expired
    elif (already := filed_from(form.submission.data)) is not None:
        rerender(already_filed, already)
    found.update(errors or {})
    files = request.files.getlist("attachments")
    checked = []
    try:
        checked = checked_uploads(files)
    except InvalidFields as exc:
        found.update(exc.errors)
    try:
        validate_complaint(form.raw(), channel=actor.intake, actor=actor)
    except InvalidFields as exc:
        found.update(exc.errors)
    if found:
        rerender(refused, found, 422, files_dropped=any(f.filename for f in files))

    try:
        with stored_files(checked) as stored:
            filed = file_complaint(form.raw(), actor=actor, attachments=stored,
                                   submission=form.submission.data, locale=locale)
            emailed = send_receipt(filed.complaint, filed.complaint.locale)
    except (InvalidFields, StorageFull) as exc:  # changed since the check (a LAPOR! ID used meanwhile)
        rerender(refused, exc.errors, exc.status, files_dropped=True)
    except IntegrityError as exc:  # sent twice at once, or a LAPOR! ID recorded meanwhile
        rerender(_after_conflict, form, actor, refused, already_filed, exc)
    return FiledForm(filed, emailed)


def _after_conflict(form, actor: Actor, refused: Callable, already_filed: Callable, conflict: IntegrityError):
    """After the rollback: the complaint this form's token filed in the other request, or
    what the other filing took (a LAPOR! ID); else the failure as it is."""
    if (already := filed_from(form.submission.data)) is not None:
        return already_filed(already)
    try:
        validate_complaint(form.raw(), channel=actor.intake, actor=actor)
    except InvalidFields as exc:
        return refused(exc.errors, 409, files_dropped=True)
    raise conflict
