"""Where the bytes of uploaded files live: a folder of this machine (`local`, the default) or
rows of the database (`database`, which every web node reaches), chosen by PENGADUAN_STORAGE.

Both backends answer the same calls, by the random `stored_name` a FileColumns row carries:

- `save(name, data)`: write a new file (in the database: in the session's transaction, which
  its caller commits);
- `write(name, chunks)`: write a file from pieces, replacing a copy an interrupted run left;
- `chunks(name)`: the file's bytes piece by piece, never whole in memory; FileNotFoundError
  at once when there is no such file (in the database: no committed one);
- `has(name)`, `delete(name)`, `names()`, `stale_names(cutoff)` (files written before
  `cutoff`);
- `remove_on_rollback(names)`: what to do about these files if the transaction rolls back;
- `kind`: "local" or "database".
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app

from .database import DatabaseStorage
from .local import LocalStorage

KINDS = ("local", "database")


def backend(kind: str) -> LocalStorage | DatabaseStorage:
    """The backend of that kind, for this app's configuration."""
    if kind == "local":
        return LocalStorage(Path(current_app.config["PENGADUAN_UPLOAD_DIR"]))
    if kind == "database":
        return DatabaseStorage()
    raise ValueError(f"PENGADUAN_STORAGE must be one of {', '.join(KINDS)}, not {kind!r}")


def current() -> LocalStorage | DatabaseStorage:
    """The backend new files are stored in and read from (PENGADUAN_STORAGE)."""
    return backend(current_app.config.get("PENGADUAN_STORAGE", "local"))


def holding(name: str) -> LocalStorage | DatabaseStorage:
    """The backend that has the file: the current one, or else the other one (files not yet
    moved by `storage move` stay readable after PENGADUAN_STORAGE changed); the current one
    when neither has it."""
    first = current()
    if first.has(name):
        return first
    other = backend("local" if first.kind == "database" else "database")
    return other if other.has(name) else first


__all__ = ["KINDS", "DatabaseStorage", "LocalStorage", "backend", "current", "holding"]
