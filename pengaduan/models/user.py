"""Staff accounts, their unit memberships and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask_login import UserMixin
from sqlalchemy import (BigInteger, Boolean, Column, ForeignKey, Index, String, Table, false, func,
                        select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .unit import Unit


class Role(StrEnum):
    """Who someone is to the system. A str, so it equals the value stored in `users.role`,
    `complaint_events.actor_role` and the workflow definitions' `roles`."""

    CITIZEN = "citizen"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SYSTEM = "system"


# The roles a staff account may have (what is left are roles of actors, not of accounts).
STAFF_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)

_hasher = PasswordHasher()

user_units = Table(
    "user_units",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the id kept in the session cookie: changing it ends every session of the user
    # (sign-out, password change, deactivation), also copies of the cookie taken before.
    session_token: Mapped[str | None] = mapped_column(String(32))
    # Set by an admin's password reset: the next sign-in leads to the password page, and
    # nothing else opens until the password is changed.
    password_change_required: Mapped[bool] = mapped_column(Boolean, default=False,
                                                           server_default=false())
    # Two-step verification (services/administration/two_factor.py): the TOTP secret,
    # encrypted with a key derived from SECRET_KEY; when it was switched on (None: off); the
    # time step of the last code accepted, so that no code is accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    units: Mapped[list[Unit]] = relationship(secondary=user_units, lazy="selectin",
                                             back_populates="staff")

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return db.session.scalar(select(cls).where(func.lower(cls.email) == email.strip().lower()))

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot log in
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token or ''}"

    def end_sessions(self) -> None:
        """Invalidate every session cookie issued for this user so far."""
        self.session_token = secrets.token_hex(16)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False

    @property
    def unit_ids(self) -> set[int]:
        return {u.id for u in self.units}

    @property
    def overseen_unit_ids(self) -> set[int]:
        """A supervisor's units and every unit below them (the next escalation level looks
        down the hierarchy); for anyone else, their own units."""
        if self.role != Role.SUPERVISOR:
            return self.unit_ids
        cached = self.__dict__.get("_overseen")
        if cached is None:
            cached = self.__dict__["_overseen"] = Unit.with_descendants(self.unit_ids)
        return cached

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


def hash_token(token: str) -> str:
    """API tokens are random and long, so a fast hash is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    """A bearer token for a staff user; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ApiKey(db.Model):
    """A key for an integrating system (Open311 `api_key`); only its hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app (a lost phone). Only an
    Argon2 hash is kept; `used_at` marks it spent."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInAttempt(db.Model):
    """One try at the sign-in form, kept 30 days for the lockout rules and the admin's view.

    Keyed by a keyed digest of the typed email (accounts that do not exist are counted like
    real ones, so the answers cannot tell them apart) and the address it came from. Nothing
    typed as a password, nor anything derived from it, is kept.
    """

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_digest", "email_digest", "attempted_at"),
        Index("ix_sign_in_attempts_address", "address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    email_digest: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    address: Mapped[str | None] = mapped_column(String(45))  # IPv6 at most; None for an admin's reset
    # success, failure, refused (a lockout rule held), reset (an admin reset the password or
    # the two-step verification), password_ok (right password, the code is awaited),
    # code_failure (a wrong code at the second step), code_refused (the second step held)
    outcome: Mapped[str] = mapped_column(String(16))
