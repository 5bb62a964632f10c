"""Domain errors: services raise them, and each surface (the HTML pages, the JSON API,
Open311) turns them into its answer in one place (http/errors.py). Every message is
translatable and is translated when shown, in the reader's language; `code` is a stable
English identifier for programs."""
from __future__ import annotations

from .i18n import LazyText
from .i18n import lazy_gettext as _l


class DomainError(Exception):
    code = "error"
    status = 400
    default_message = _l("The request could not be completed.")

    def __init__(self, message: str | None = None):
        message = self.default_message if message is None else message
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        # str(): a lazy message would be escaped as HTML by the JSON encoder (it has __html__)
        return {"code": self.code, "message": str(self.message)}


class BadRequest(DomainError):
    code, status = "bad_request", 400
    default_message = _l("The request could not be understood.")


class Unauthorized(DomainError):
    code, status = "unauthorized", 401
    default_message = _l("Sign-in is required.")


class NotFound(DomainError):
    code, status = "not_found", 404
    default_message = _l("There is nothing here.")


class Forbidden(DomainError):
    code, status = "forbidden", 403
    default_message = _l("You may not do this.")


class NulCharacter(DomainError):
    """A NUL byte (0x00) in a text: no text column can hold it, and no person types it."""

    code, status = "nul_character", 400

    def __init__(self):
        super().__init__(_l("The request contains a NUL character (0x00), which no text may hold."))


class TriggerNotAllowed(DomainError):
    """The trigger does not exist in the complaint's current state."""

    code, status = "trigger_not_allowed", 409

    def __init__(self, trigger: str, state: str, allowed: list[str]):
        super().__init__(_l("'%(trigger)s' is not allowed in state '%(state)s'",
                            trigger=trigger, state=state))
        self.trigger, self.state, self.allowed = trigger, state, allowed

    def to_dict(self) -> dict:
        return {**super().to_dict(), "allowed_triggers": self.allowed}


class ConcurrentChange(DomainError):
    """Someone else changed the record (a complaint, a supervision record: any versioned
    model) since the caller read it. Raised by the caller's version check, and by the
    session for every flush or commit whose UPDATE found another version (StaleDataError)."""

    code, status = "conflict", 409
    default_message = _l("Someone else changed this meanwhile. Load it again and retry.")


class InvalidFields(DomainError):
    """Missing or invalid input, keyed by field name."""

    code, status = "invalid_fields", 422

    def __init__(self, errors: dict[str, str]):
        super().__init__(LazyText(lambda: "; ".join(f"{k}: {v}" for k, v in errors.items())))
        self.errors = errors

    def to_dict(self) -> dict:
        return {**super().to_dict(), "fields": {name: str(text) for name, text in self.errors.items()}}


class StorageFull(InvalidFields):
    """The server could not store an upload (disk or quota full). Nothing was saved; the form
    is shown again with what was typed, like any invalid field."""

    code, status = "storage_full", 507
