"""Domain errors: services raise them, views and the API turn them into answers."""
from __future__ import annotations

from .i18n import lazy_gettext as _l


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        # str(): a lazy message would be escaped as HTML by the JSON encoder (it has __html__)
        return {"code": self.code, "message": str(self.message)}


class NotFound(DomainError):
    code, status = "not_found", 404


class Forbidden(DomainError):
    code, status = "forbidden", 403


class NulCharacter(DomainError):
    """A NUL byte (0x00) in a text: no text column can hold it, and no person types it."""

    code, status = "nul_character", 400

    def __init__(self):
        super().__init__(_l("The request contains a NUL character (0x00), which no text may hold."))


class TriggerNotAllowed(DomainError):
    """The trigger does not exist in the complaint's current state."""

    code, status = "trigger_not_allowed", 409

    def __init__(self, trigger: str, state: str, allowed: list[str]):
        super().__init__(f"'{trigger}' is not allowed in state '{state}'")
        self.trigger, self.state, self.allowed = trigger, state, allowed

    def to_dict(self) -> dict:
        return {**super().to_dict(), "allowed_triggers": self.allowed}


class ConcurrentChange(DomainError):
    """Someone else changed the complaint since the caller read it."""

    code, status = "conflict", 409

    def __init__(self, message: str = "the complaint was changed by someone else meanwhile"):
        super().__init__(message)


class InvalidFields(DomainError):
    """Missing or invalid input, keyed by field name."""

    code, status = "invalid_fields", 422

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

    def to_dict(self) -> dict:
        return {**super().to_dict(), "fields": {name: str(text) for name, text in self.errors.items()}}


class StorageFull(InvalidFields):
    """The server could not store an upload (disk or quota full). Nothing was saved; the form
    is shown again with what was typed, like any invalid field."""

    code, status = "storage_full", 507
