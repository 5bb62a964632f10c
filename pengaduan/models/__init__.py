"""Typed SQLAlchemy models, one module per aggregate."""
from .audit import AuditCheckpoint, AuditEvent
from .base import UTCDateTime, utcnow
from .complaint import (
    CHANNELS,
    IDENTITY_FIELDS,
    PRIVACY_MODES,
    Attachment,
    Complaint,
    ComplaintClock,
    ComplaintEvent,
)
from .outbox import OutboxMessage
from .template import ResponseTemplate
from .unit import Category, Unit
from .user import STAFF_ROLES, ApiToken, User, hash_token

__all__ = [
    "ApiToken", "Attachment", "AuditCheckpoint", "AuditEvent", "CHANNELS", "Category",
    "Complaint", "ComplaintClock", "ComplaintEvent", "IDENTITY_FIELDS", "OutboxMessage", "PRIVACY_MODES", "ResponseTemplate",
    "STAFF_ROLES", "UTCDateTime", "Unit", "User", "hash_token", "utcnow",
]
