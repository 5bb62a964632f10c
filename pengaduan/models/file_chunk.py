"""The bytes of uploaded files kept in the database (PENGADUAN_STORAGE=database)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class FileChunk(db.Model):
    """One piece (at most storage.database.CHUNK bytes) of the file stored as `stored_name`,
    the name its FileColumns row carries; pieces are numbered from 0. Rows are written in the
    transaction of the rows that point at them, so a rollback takes both."""

    __tablename__ = "file_chunks"

    stored_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
