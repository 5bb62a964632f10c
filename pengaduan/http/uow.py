"""What views need of the request's unit of work (pengaduan.unit_of_work owns the commit)."""
from __future__ import annotations

from ..database import before_writing
from ..services.attachments import check_uploads
from ..unit_of_work import rerender

__all__ = ["checked_uploads", "rerender"]


def checked_uploads(files, field: str = "attachments") -> list[tuple[str, bytes, str]]:
    """The request's uploads checked and stripped before it writes anything (its view is
    `reads_first`): decoding takes time, and a write lock held meanwhile would make every
    other write wait. Raises InvalidFields like check_uploads."""
    with before_writing():
        return check_uploads(files, field)
