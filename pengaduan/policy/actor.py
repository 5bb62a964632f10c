"""Who acts: the actor every service is given, and how it appears in the audit chain."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import Complaint, User

STAFF_WITH_UNITS = ("officer", "supervisor")


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a staff user, a citizen holding a complaint's code and PIN, or the system."""

    role: str
    user: User | None = None
    complaint_id: int | None = None

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(role=user.role, user=user)

    @classmethod
    def citizen(cls, complaint: Complaint) -> Actor:
        return cls(role="citizen", complaint_id=complaint.id)

    @classmethod
    def system(cls) -> Actor:
        return cls(role="system")

    @property
    def label(self) -> str:
        """How the actor appears in the audit chain (never a complainant's identity)."""
        if self.user is not None:
            return f"user:{self.user.id}:{self.user.email}"
        return self.role
