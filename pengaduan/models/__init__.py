"""Typed SQLAlchemy models, one module per aggregate."""
from .audit import AuditCheckpoint, AuditEvent
from .base import MAX_ID, UTCDateTime, utcnow
from .calendar import OVERRIDE_KINDS, CalendarOverride
from .compensation import COMPENSATION_KINDS, Compensation, CompensationFile
from .complaint import (
    CHANNELS,
    STAFF_CHANNELS,
    CONTACT_NEEDS,
    IDENTITY_FIELDS,
    PRIVACY_MODES,
    Attachment,
    Complaint,
    ComplaintClock,
    ComplaintEvent,
    ComplaintLink,
    Escalation,
    LaporPosting,
)
from .file_chunk import FileChunk
from .inbound_mail import InboundMail
from .lease import JobLease, JobRun, record_run
from .notification import NOTIFICATION_KINDS, Notification
from .ombudsman import (ITEM_STATUSES, PRODUCT_KINDS, OmbudsmanEscalation, OmbudsmanItem, OmbudsmanItemFile,
                        OmbudsmanProduct, OmbudsmanProductFile)
from .office import OFFICE_ROW_ID, OfficeProfile
from .outbox import MailReference, OutboxMessage
from .standard import PUBLISHED_COMPONENTS, STANDARD_COMPONENTS, ServiceStandard
from .supervision import (
    ACTION_STATUSES,
    DOCUMENT_KINDS,
    SUPERVISION_KINDS,
    StandingDocument,
    SupervisionAction,
    SupervisionFile,
    SupervisionRecord,
)
from .survey import ELEMENTS, PROFILE_FIELDS, RESPONSE_CHANNELS, PublicStatistics, SurveyPeriod, SurveyResponse
from .template import ResponseTemplate
from .unit import Category, Unit
from .user import STAFF_ROLES, ApiKey, ApiToken, RecoveryCode, Role, SignInAttempt, User, hash_token

__all__ = [
    "ITEM_STATUSES", "PRODUCT_KINDS", "OmbudsmanEscalation", "OmbudsmanItem", "OmbudsmanItemFile",
    "OmbudsmanProduct", "OmbudsmanProductFile",
    "COMPENSATION_KINDS", "Compensation", "CompensationFile",
    "PUBLISHED_COMPONENTS", "STANDARD_COMPONENTS", "ServiceStandard",
    "ApiKey", "ApiToken", "Attachment", "AuditCheckpoint", "AuditEvent", "CHANNELS", "CONTACT_NEEDS", "CalendarOverride",
    "Category", "Complaint", "ComplaintClock", "ComplaintEvent", "ComplaintLink", "Escalation", "FileChunk", "IDENTITY_FIELDS",
    "InboundMail", "JobLease", "JobRun", "LaporPosting", "MAX_ID", "MailReference", "NOTIFICATION_KINDS", "Notification", "OFFICE_ROW_ID", "OVERRIDE_KINDS", "OfficeProfile", "OutboxMessage",
    "PRIVACY_MODES", "RecoveryCode", "ResponseTemplate", "Role", "STAFF_CHANNELS", "STAFF_ROLES", "SignInAttempt", "UTCDateTime", "Unit", "User",
    "hash_token", "record_run", "utcnow", "ACTION_STATUSES", "DOCUMENT_KINDS", "SUPERVISION_KINDS",
    "StandingDocument", "SupervisionAction", "SupervisionFile", "SupervisionRecord",
    "ELEMENTS", "PROFILE_FIELDS", "RESPONSE_CHANNELS", "PublicStatistics", "SurveyPeriod", "SurveyResponse",
]
