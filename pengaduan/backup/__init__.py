"""Backups that restore: `backup create` writes the database (in one snapshot), the files its
rows name, the instance secrets and a manifest (written last) with the SHA-256 of every file
and the audit chain head; `backup restore` checks all of it, restores into an empty database
and proves the chain against the manifest's head."""
from .create import Created, create
from .database import Failed
from .manifest import Refused
from .restore import Restored, restore

__all__ = ["Created", "Failed", "Refused", "Restored", "create", "restore"]
