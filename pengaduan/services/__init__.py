"""The verbs of the domain. Services flush but never commit: the request or job commits."""
from .administration.accounts import create_category, create_unit, create_user, issue_token
from .complaints.intake import Filed, file_complaint
from .complaints.lifecycle import advance, allowed_triggers

__all__ = ["Filed", "advance", "allowed_triggers", "create_category", "create_unit",
           "create_user", "file_complaint", "issue_token"]
