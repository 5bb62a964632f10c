"""Carrying stored files from one backend to the other, and checking them against their rows.

Every file is copied, its copy committed and read back, and only when what was read back has
the SHA-256 its row recorded is the source removed: a move cut short at any point leaves every
file whole in at least one place, and running it again finishes it. A file whose source
already differs from its row is not moved (and not removed): it is reported. A copy the
target already holds with its row's SHA-256 is never written over nor removed, whatever the
source has become since.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from .. import unit_of_work
from ..extensions import db
from ..models.base import FileColumns
from . import backend, current

BATCH = 50  # files per transaction: a move of many files commits as it goes


@dataclass
class Report:
    """What a move or a check found: counts, and a line per file that is not right."""

    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)

    def add(self, key: str, problem: str | None = None) -> None:
        self.counts[key] += 1
        if problem:
            self.problems.append(problem)


def file_rows() -> Iterator[tuple[str, str, str]]:
    """(table, stored name, sha256) of every row of every table that keeps files, read a page
    at a time."""
    for model in FileColumns.__subclasses__():
        after = ""
        while True:
            page = db.session.execute(
                select(model.stored_name, model.sha256).where(model.stored_name > after)
                .order_by(model.stored_name).limit(500)).all()
            for name, sha256 in page:
                yield model.__tablename__, name, sha256
            if len(page) < 500:
                break
            after = page[-1][0]


def digest(chunks: Iterable[bytes]) -> str:
    hasher = hashlib.sha256()
    for piece in chunks:
        hasher.update(piece)
    return hasher.hexdigest()


def _stored_digest(store, name: str) -> str | None:
    """The SHA-256 of the file in `store`, or None if it has none of that name."""
    try:
        return digest(store.chunks(name))
    except FileNotFoundError:
        return None


class _Hashing:
    """Pieces passed on while their SHA-256 is taken."""

    def __init__(self, chunks: Iterable[bytes]):
        self.chunks, self.hasher = chunks, hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.chunks:
            self.hasher.update(piece)
            yield piece


def move(to: str) -> Report:
    """Move every row's file into the backend `to` from the other one (see the module)."""
    target = backend(to)
    source = backend("database" if to == "local" else "local")
    report = Report({"moved": 0, "already_there": 0, "mismatched": 0, "missing": 0})
    batch: list[tuple[str, str, str]] = []
    for table, name, sha256 in file_rows():
        batch.append((table, name, sha256))
        if len(batch) == BATCH:
            _move_batch(batch, source, target, report)
            batch = []
    _move_batch(batch, source, target, report)
    return report


def _move_batch(batch, source, target, report: Report) -> None:
    unit_of_work.current().commit()  # end the reading transaction (SQLite: hold no lock while copying)
    copied = []
    for table, name, sha256 in batch:
        if target.has(name) and _stored_digest(target, name) == sha256:
            # Copied by an earlier run that stopped before removing the source: the copy is
            # good, so it is never written over (the source may have gone bad since) and the
            # move is finished by removing the source.
            source.delete(name)
            report.add("already_there")
            continue
        try:
            reading = _Hashing(source.chunks(name))
        except FileNotFoundError:
            report.add("missing", f"{table} {name}: no file in {source.kind} or {target.kind} storage")
            continue
        target.write(name, reading)
        if reading.hasher.hexdigest() != sha256:
            target.delete(name)
            report.add("mismatched", f"{table} {name}: the file in {source.kind} storage differs "
                                     f"from its SHA-256; left where it is")
            continue
        copied.append((table, name, sha256))
    unit_of_work.current().commit()
    for table, name, sha256 in copied:
        if _stored_digest(target, name) == sha256:  # read back from what was committed
            source.delete(name)
            report.add("moved")
        else:
            target.delete(name)
            report.add("mismatched", f"{table} {name}: the copy in {target.kind} storage did not "
                                     f"read back right; left in {source.kind} storage")
    unit_of_work.current().commit()


def verify() -> Report:
    """Check that every row's file is in the current backend with the SHA-256 it recorded."""
    store = current()
    report = Report({"checked": 0, "missing": 0, "mismatched": 0, "unreferenced": 0})
    names = set()
    for table, name, sha256 in file_rows():
        report.add("checked")
        names.add(name)
        found = _stored_digest(store, name)
        if found is None:
            report.add("missing", f"{table} {name}: no file in {store.kind} storage")
        elif found != sha256:
            report.add("mismatched", f"{table} {name}: the file differs from its SHA-256")
    report.counts["unreferenced"] = sum(1 for name in store.names() if name not in names)
    return report
