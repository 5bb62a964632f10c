"""The accessibility statement's date (/aksesibilitas): changed with the statement's content;
the readiness page reads it to tell whether the statement was reviewed within the year."""
from __future__ import annotations

from datetime import date

STATEMENT_DATE = date(2026, 12, 7)
