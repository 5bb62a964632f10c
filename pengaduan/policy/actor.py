"""Who acts: the actor every service is given, and how it appears in the audit chain."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import Complaint, Role, User

# Named groups of roles, so that no decision spells out a list of role names.
STAFF_WITH_UNITS = (Role.OFFICER, Role.SUPERVISOR)  # handle the complaints of their units
CASE_READERS = (Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR)  # read complaints, records, reports
CROSS_UNIT = (Role.AUDITOR, Role.ADMIN)  # look at every unit


def handles_cases(role: str | None) -> bool:
    """Officers and supervisors: staff who work the complaints of their own units."""
    return role in STAFF_WITH_UNITS


def reads_cases(role: str | None) -> bool:
    """Officers, supervisors and auditors: staff who read complaints (auditors read-only)."""
    return role in CASE_READERS


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a staff user, a citizen holding a complaint's code and PIN, or the system."""

    role: Role
    user: User | None = None
    complaint_id: int | None = None

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(role=Role(user.role), user=user)

    @classmethod
    def citizen(cls, complaint: Complaint) -> Actor:
        return cls(role=Role.CITIZEN, complaint_id=complaint.id)

    @classmethod
    def system(cls) -> Actor:
        return cls(role=Role.SYSTEM)

    @property
    def label(self) -> str:
        """How the actor appears in the audit chain (never a complainant's identity)."""
        if self.user is not None:
            return f"user:{self.user.id}:{self.user.email}"
        return str(self.role)
