"""Units (OPD, puskesmas, ...) and complaint categories."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

if TYPE_CHECKING:  # the type of `staff` only: user.py imports this module
    from .user import User

unit_categories = Table(
    "unit_categories",
    db.metadata,
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):
    """An organisational owner of complaints, with its own working calendar."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    # ISO weekdays that are working days, Monday=1: "12345" (Perpres 21/2023) or "123456".
    working_days: Mapped[str] = mapped_column(String(7), default="12345")
    # Whether cuti bersama stop the clock (the default) or count as working days.
    cuti_bersama_off: Mapped[bool] = mapped_column(Boolean, default=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])
    categories: Mapped[list[Category]] = relationship(
        secondary=unit_categories, back_populates="units"
    )
    staff: Mapped[list[User]] = relationship(secondary="user_units", back_populates="units",
                                             viewonly=True)

    @classmethod
    def by_code(cls, code: str) -> Unit | None:
        return db.session.scalar(select(cls).where(cls.code == code.strip().upper()))

    @staticmethod
    def with_descendants(unit_ids: set[int]) -> set[int]:
        """The units given and all units below them (one query over the small units table)."""
        children: dict[int, list[int]] = {}
        for unit_id, parent_id in db.session.execute(select(Unit.id, Unit.parent_id)):
            children.setdefault(parent_id, []).append(unit_id)
        found, todo = set(unit_ids), list(unit_ids)
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def offers(self, category: Category) -> bool:
        """A category without units is offered by every unit."""
        return not category.units or self in category.units

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class Category(db.Model):
    """What a complaint is about; offered by all units or by the ones listed."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    units: Mapped[list[Unit]] = relationship(
        secondary=unit_categories, back_populates="categories"
    )

    @classmethod
    def by_code(cls, code: str) -> Category | None:
        return db.session.scalar(select(cls).where(cls.code == code.strip().upper()))

    def __repr__(self) -> str:
        return f"<Category {self.code}>"
