"""Who may administer accounts, units, categories, templates and the calendar; who must sign
in with two-step verification."""
from __future__ import annotations

from ..models import STAFF_ROLES, Role
from .actor import Actor

# The roles that can do the most harm with a stolen password: admins create accounts and
# reset passwords, auditors export every unit's records. The administration warns while
# two-step verification is not required of them.
TWO_FACTOR_RECOMMENDED = (Role.ADMIN, Role.AUDITOR)


def can_administer(actor: Actor) -> bool:
    return actor.role == Role.ADMIN


def two_factor_roles(setting: str | None) -> frozenset[Role]:
    """The roles named by PENGADUAN_REQUIRE_2FA_ROLES ("admin,auditor"; empty: none); an
    unknown name is refused at start-up rather than silently requiring nothing."""
    names = [name.strip().lower() for name in (setting or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in STAFF_ROLES]
    if unknown:
        raise ValueError(f"PENGADUAN_REQUIRE_2FA_ROLES names unknown roles {', '.join(unknown)}; "
                         f"use a comma-separated list of {', '.join(STAFF_ROLES)}")
    return frozenset(Role(name) for name in names)


def must_use_two_factor(actor: Actor, required: frozenset[Role]) -> bool:
    """Whether this staff member may do nothing before switching two-step verification on."""
    return actor.user is not None and actor.role in required


def two_factor_roles_unprotected(required: frozenset[Role]) -> list[Role]:
    """The recommended roles the deployment does not require two-step verification of."""
    return [role for role in TWO_FACTOR_RECOMMENDED if role not in required]
