"""Who may look across units."""
from __future__ import annotations

from ..models import User
from .actor import CROSS_UNIT


def sees_all_units(user: User) -> bool:
    """Auditors (Inspektorat, Ombudsman) look across units, and admins manage them all;
    officers and supervisors look at their own (and, supervisors, the units below)."""
    return user.role in CROSS_UNIT
