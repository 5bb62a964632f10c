"""Who may search which complaints: by tracking code and words, and by the complainant's
identity. Each scope is the set of complaints the matching decision in complaints.py lets the
person open, written as a filter a query can apply to a million rows at once."""
from __future__ import annotations

from ..models import Role, User
from .actor import Actor, handles_cases, reads_cases

# The privacy modes whose identity staff of the unit see without a reveal (can_see_identity).
IDENTITY_VISIBLE_PRIVACY = ("public",)


def can_search(actor: Actor) -> bool:
    """Officers, supervisors and auditors search the complaints they may open."""
    return reads_cases(actor.role)


def searchable_unit_ids(user: User) -> set[int] | None:
    """The units whose complaints a search may find, as can_view decides: an officer's own
    units, a supervisor's and the units below them, every unit for an auditor (None)."""
    if user.role == Role.AUDITOR:
        return None
    if handles_cases(user.role):
        return set(user.overseen_unit_ids)
    return set()


def can_search_identity(actor: Actor) -> bool:
    """Search by a complainant's name, NIK or phone: only staff who see identities at all
    (officers and supervisors of the unit); auditors never see them."""
    return handles_cases(actor.role)


def identity_search_scope(actor: Actor) -> tuple[set[int], tuple[str, ...]]:
    """(units, privacy modes) an identity search may match: the complaints whose identity the
    person sees without a reveal (can_see_identity), never an anonymous or confidential one,
    whose identity only an audited reveal with a stated reason shows."""
    if not can_search_identity(actor) or actor.user is None:
        return set(), ()
    return set(actor.user.unit_ids), IDENTITY_VISIBLE_PRIVACY
