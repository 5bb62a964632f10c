"""The small organisation most tests work in: two units, their staff and a helper to file
complaints. A module of its own (not conftest.py) so that test modules can import it by a name
that no other folder's conftest shadows."""
from __future__ import annotations

from dataclasses import dataclass

from pengaduan.extensions import db
from pengaduan.policy import Actor


@dataclass
class World:
    """A small organisation: two units, their staff, and helpers to file complaints."""

    unit_a: object
    unit_b: object
    officer_a: Actor
    officer_b: Actor
    supervisor_a: Actor
    auditor: Actor
    admin: Actor

    def file(self, **overrides):
        from pengaduan.services import file_complaint

        raw = {
            "unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
            "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.",
            "privacy": "public", "name": "Budi Hartono", "email": "budi@example.id",
            "consent": True,
        }
        raw.update(overrides)
        channel = raw.pop("channel", "web")
        filed = file_complaint(raw, actor=Actor.channel(channel))
        db.session.commit()
        return filed


PASSWORD = "correct horse battery"
STAFF = {"officer_a": ("officer.a@example.id", "officer", ["UNIT-A"]),
         "officer_b": ("officer.b@example.id", "officer", ["UNIT-B"]),
         "supervisor_a": ("supervisor.a@example.id", "supervisor", ["UNIT-A"]),
         "auditor": ("auditor@example.id", "auditor", []),
         "admin": ("admin@example.id", "admin", [])}


def seed_world() -> None:
    """The small organisation of `World`, built with the services (so with its audit events)."""
    from pengaduan.services import create_category, create_unit, create_user

    create_unit("UNIT-A", "Dinas A")
    create_unit("UNIT-B", "Dinas B")
    create_category("GENERAL", "Umum")
    create_category("ONLY-B", "Khusus B", unit_codes=["UNIT-B"])
    for email, role, units in STAFF.values():
        create_user(email, role, password=PASSWORD, unit_codes=units)


def organisation() -> World:
    """The seeded organisation as a `World` (inside an application context)."""
    from pengaduan.models import Unit, User

    staff = {name: Actor.staff(User.by_email(email)) for name, (email, _, _) in STAFF.items()}
    return World(Unit.by_code("UNIT-A"), Unit.by_code("UNIT-B"), **staff)
