"""Units, categories, staff accounts and API tokens (the administrative verbs)."""
from __future__ import annotations

import secrets
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import select

from ... import audit
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import STAFF_ROLES, ApiKey, ApiToken, Category, Unit, User, hash_token, utcnow
from ...policy import Actor, handles_cases
from .. import inputs
from ..inputs import EMAIL
from .auth import MIN_PASSWORD, record_reset

INDONESIAN_TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")  # WIB, WITA, WIT


def _new_code_and_name(model, code: str, name: str, errors: dict) -> tuple[str, str]:
    """Check a new unit's or category's code (unique, simple) and name; return both."""
    code = (code or "").strip().upper()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
        errors["code"] = _l("use 1-32 letters, digits, '-' or '_'")
    elif model.by_code(code):
        errors["code"] = (_l("unit %(code)s already exists", code=code) if model is Unit else
                          _l("category %(code)s already exists", code=code))
    return code, inputs.name(name, "name", errors, model.name)


def create_unit(code: str, name: str, *, timezone: str = "Asia/Jakarta",
                working_days: str = "12345", cuti_bersama_off: bool = True,
                parent: Unit | None = None, actor: Actor = Actor.system()) -> Unit:
    errors: dict[str, str] = {}
    code, name = _new_code_and_name(Unit, code, name, errors)
    _check_unit_settings(timezone, working_days, errors)
    if errors:
        raise InvalidFields(errors)
    unit = Unit(code=code, name=name, timezone=timezone, working_days=working_days,
                cuti_bersama_off=cuti_bersama_off, parent=parent)
    db.session.add(unit)
    audit.record(db.session, "unit.created", actor=actor.label, unit=code, payload={
        "code": code, "name": unit.name, "timezone": timezone, "working_days": working_days,
        "cuti_bersama_off": cuti_bersama_off, "parent": parent.code if parent else None})
    return unit


def _units(codes, errors) -> list[Unit]:
    units = []
    for code in codes or ():
        unit = Unit.by_code(code.strip().upper())
        if unit is None:
            errors["unit"] = _l("unknown unit %(code)s", code=code)
        else:
            units.append(unit)
    return units


def create_category(code: str, name: str, *, unit_codes=(), actor: Actor = Actor.system()) -> Category:
    errors: dict[str, str] = {}
    code, name = _new_code_and_name(Category, code, name, errors)
    units = _units(unit_codes, errors)
    if errors:
        raise InvalidFields(errors)
    category = Category(code=code, name=name, units=units)
    db.session.add(category)
    audit.record(db.session, "category.created", actor=actor.label, unit=units, payload={
        "code": code, "name": category.name, "units": [u.code for u in units]})
    return category


def create_user(email: str, role: str, *, name: str | None = None, password: str | None = None,
                unit_codes=(), actor: Actor = Actor.system()) -> tuple[User, str | None]:
    """Create a staff account; returns it with the generated password if none was given."""
    errors: dict[str, str] = {}
    email = (email or "").strip().lower()
    if not EMAIL.match(email) or len(email) > inputs.column_length(User.email):
        errors["email"] = _l("is not a valid email address")
    elif User.by_email(email):
        errors["email"] = _l("a user %(email)s already exists", email=email)
    if role not in STAFF_ROLES:
        errors["role"] = _l("must be one of: %(roles)s", roles=", ".join(STAFF_ROLES))
    name = (inputs.name(name, "name", errors, User.name) if isinstance(name, str) and name.strip()
            else email.split("@")[0][:inputs.column_length(User.name)])
    units = _units(unit_codes, errors)
    if handles_cases(role) and not units and "unit" not in errors:
        errors["unit"] = _l("officers and supervisors need at least one unit")
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(12)
    elif len(password) < MIN_PASSWORD:
        errors["password"] = _l("must be at least %(n)d characters", n=MIN_PASSWORD)
    if errors:
        raise InvalidFields(errors)
    user = User(email=email, name=name, role=role, units=units)
    user.set_password(password)
    db.session.add(user)
    audit.record(db.session, "user.created", actor=actor.label, unit=units, payload={
        "email": email, "role": role, "units": [u.code for u in units]})
    return user, generated


def issue_token(user: User, *, actor: Actor = Actor.system()) -> str:
    """A new bearer token for the user; only its hash is stored, so show it once."""
    token = "pgd_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=hash_token(token)))
    audit.record(db.session, "user.token_issued", actor=actor.label, unit=user.units,
                 payload={"email": user.email})
    return token


def create_api_key(name: str, *, actor: Actor = Actor.system()) -> str:
    """A new key for an integrating system (Open311 `api_key`); only its hash is stored, so
    the key is shown once."""
    errors: dict[str, str] = {}
    name = inputs.name(name, "name", errors, ApiKey.name)
    if errors:
        raise InvalidFields(errors)
    key = "p311_" + secrets.token_urlsafe(24)
    row = ApiKey(name=name, key_hash=hash_token(key))
    db.session.add(row)
    db.session.flush()
    audit.record(db.session, "apikey.created", actor=actor.label, unit=None,
                 payload={"id": row.id, "name": name})
    return key


def revoke_tokens(user: User, *, actor: Actor = Actor.system()) -> int:
    """Revoke every API token of the user; returns how many were still valid."""
    tokens = [t for t in db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))]
    for token in tokens:
        token.revoked_at = utcnow()
    audit.record(db.session, "user.tokens_revoked", actor=actor.label, unit=user.units,
                 payload={"email": user.email, "count": len(tokens)})
    return len(tokens)


@cache
def _timezones() -> frozenset[str]:
    """The system's timezone names, read once: listing them walks the tz database (~20 ms)."""
    return frozenset(available_timezones())


def _check_unit_settings(timezone: str, working_days: str, errors: dict) -> None:
    if timezone not in _timezones():
        errors["timezone"] = _l("unknown timezone (Indonesia: %(zones)s)", zones=", ".join(INDONESIAN_TIMEZONES))
    if not working_days or any(d not in "1234567" for d in working_days):
        errors["working_days"] = _l("ISO weekdays, Monday=1: e.g. 12345 or 123456")


def update_unit(unit: Unit, *, name: str, timezone: str, working_days: str,
                cuti_bersama_off: bool, active: bool, actor: Actor) -> Unit:
    """Change a unit's name, calendar settings or status; the audit event shows the change."""
    errors: dict[str, str] = {}
    name = inputs.name(name, "name", errors, Unit.name)
    _check_unit_settings(timezone, working_days, errors)
    if errors:
        raise InvalidFields(errors)
    before = _unit_state(unit)
    unit.name, unit.timezone, unit.working_days = name, timezone, working_days
    unit.cuti_bersama_off, unit.active = cuti_bersama_off, active
    audit.record(db.session, "unit.updated", actor=actor.label, unit=unit,
                 payload={"code": unit.code, "before": before, "after": _unit_state(unit)})
    return unit


def _unit_state(unit: Unit) -> dict:
    return {"name": unit.name, "timezone": unit.timezone, "working_days": unit.working_days,
            "cuti_bersama_off": unit.cuti_bersama_off, "active": unit.active}


def update_category(category: Category, *, name: str, unit_codes, active: bool,
                    actor: Actor) -> Category:
    errors: dict[str, str] = {}
    name = inputs.name(name, "name", errors, Category.name)
    units = _units(unit_codes, errors)
    if errors:
        raise InvalidFields(errors)
    before = {"name": category.name, "units": [u.code for u in category.units],
              "active": category.active}
    category.name, category.units, category.active = name, units, active
    audit.record(db.session, "category.updated", actor=actor.label, unit=[*before["units"], *units],
                 payload={
        "code": category.code, "before": before,
        "after": {"name": category.name, "units": [u.code for u in units], "active": active}})
    return category


def update_user(user: User, *, name: str, role: str, unit_codes, active: bool,
                actor: Actor) -> User:
    """Change a staff account's name, role, units or status (an admin's edit)."""
    errors: dict[str, str] = {}
    name = inputs.name(name, "name", errors, User.name)
    if role not in STAFF_ROLES:
        errors["role"] = _l("must be one of: %(roles)s", roles=", ".join(STAFF_ROLES))
    units = _units(unit_codes, errors)
    if handles_cases(role) and not units and "unit" not in errors:
        errors["unit"] = _l("officers and supervisors need at least one unit")
    if errors:
        raise InvalidFields(errors)
    before = {"name": user.name, "role": user.role, "units": sorted(u.code for u in user.units),
              "active": user.active}
    if (role, active) != (user.role, user.active):
        user.end_sessions()  # a changed role or a deactivation takes effect at once
    user.name, user.role, user.units, user.active = name, role, units, active
    audit.record(db.session, "user.updated", actor=actor.label, unit=[*before["units"], *units], payload={
        "email": user.email, "before": before,
        "after": {"name": user.name, "role": role, "units": sorted(u.code for u in units),
                  "active": active}})
    return user


def reset_password(user: User, *, actor: Actor) -> str:
    """Give the account a new random password, to be shown once to the admin (never stored
    or logged in the clear): every session of the account ends, failed attempts no longer
    hold it back, and its next sign-in must choose a password of its own before anything
    else. Its two-step verification, if on, stays on; API tokens are not touched."""
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.password_change_required = True
    user.end_sessions()
    record_reset(user)
    audit.record(db.session, "user.password_reset", actor=actor.label, unit=user.units,
                 payload={"email": user.email, "sessions_ended": True, "must_change": True})
    return password
