"""What views need of the request's unit of work (pengaduan.unit_of_work owns the commit)."""
from __future__ import annotations

from flask import abort, request

from ..database import before_writing
from ..errors import Forbidden, InvalidFields
from ..services.attachments import check_uploads, stored_files
from ..unit_of_work import rerender

__all__ = ["checked_uploads", "rerender", "with_uploads"]


def checked_uploads(files, field: str = "attachments") -> list[tuple[str, bytes, str]]:
    """The request's uploads checked and stripped before it writes anything (its view is
    `reads_first`): decoding takes time, and a write lock held meanwhile would make every
    other write wait. Raises InvalidFields like check_uploads."""
    with before_writing():
        return check_uploads(files, field)


def with_uploads(work, render, raw: dict, field: str = "files"):
    """Check the request's files in `field`, store them and return `work(stored)`; files or
    fields refused answer with `render(errors, raw, status)` instead (nothing kept), a
    refusal by the policy with 403. For views that are `reads_first`."""
    try:
        checked = checked_uploads(request.files.getlist(field), field=field)
    except InvalidFields as exc:
        rerender(render, exc.errors, raw, exc.status)
    try:
        with stored_files(checked, field=field) as stored:
            return work(stored)
    except InvalidFields as exc:
        rerender(render, exc.errors, raw, exc.status)
    except Forbidden:
        abort(403)
