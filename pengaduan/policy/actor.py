"""Who acts: the actor every service is given, and how it appears in the audit chain."""
from __future__ import annotations

from dataclasses import dataclass, replace

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
    """Whoever acts: a staff user, a citizen holding a complaint's code and PIN, a complaint
    arriving through an intake channel, a command, or the system (scheduled jobs).

    Every service that changes something is given one; `label` is how it is written into
    the audit chain."""

    role: Role
    user: User | None = None
    complaint_id: int | None = None
    intake: str | None = None  # the channel a complaint arrives through (see `channel`)
    name: str | None = None  # how a command appears in the audit chain ("cli", "demo")

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(role=Role(user.role), user=user)

    @classmethod
    def citizen(cls, complaint: Complaint) -> Actor:
        return cls(role=Role.CITIZEN, complaint_id=complaint.id)

    @classmethod
    def system(cls) -> Actor:
        """The scheduled jobs (the SLA sweep, outbox, checkpoints)."""
        return cls(role=Role.SYSTEM)

    @classmethod
    def cli(cls, name: str = "cli") -> Actor:
        """A command run by an operator: system-like in what it may do, written as `name`."""
        return cls(role=Role.SYSTEM, name=name)

    @classmethod
    def channel(cls, name: str) -> Actor:
        """A complainant filing through an intake channel (web, api, open311, ...) without
        signing in: a citizen who holds no complaint yet."""
        return cls(role=Role.CITIZEN, intake=name)

    def via(self, channel: str) -> Actor:
        """This staff member typing in a complaint received through `channel` (the
        counter, a phone call, a letter)."""
        return replace(self, intake=channel)

    @property
    def label(self) -> str:
        """How the actor appears in the audit chain (never a complainant's identity): a
        staff member by account, a complaint filed online as "citizen" and through other
        channels as "channel:<name>", a command by its name, else the role."""
        if self.user is not None:
            return f"user:{self.user.id}:{self.user.email}"
        if self.intake is not None and self.intake != "web":
            return f"channel:{self.intake}"
        if self.name is not None:
            return self.name
        return str(self.role)
