"""`backup restore DIR`: check the backup against its manifest, restore it into an empty
database, put back the files and the instance secrets, and prove the restored audit chain
against the head the manifest recorded (the check of `audit verify --expect-head`).

Nothing is touched until every check that can be made beforehand has passed: the manifest
and every file's SHA-256, the kind of database and its revision, an empty target, secrets
that would not overwrite different ones, files that would not overwrite different ones.

A restored backup is as old as it is: its newest checkpoint was signed before the backup was
taken, so its age is judged at the time of the backup, not now (a backup whose newest
checkpoint was already stale then is restored with a warning: the worker was not running,
or checkpoints were removed before the backup). Once the chain is proven, the restore signs
the restored head, so `audit verify` passes from then on; the stretch between the backup and
the restore shows as a NOTE (a time without checkpoints), which is what happened."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import update

from .. import audit, storage, unit_of_work
from ..database import read_only
from ..extensions import db
from ..models import OutboxMessage
from . import database, instance, manifest
from .manifest import Refused


@dataclass
class Restored:
    said: dict  # the manifest
    files: int  # attachment files put back
    secrets: list[str]
    upgraded_from: str | None = None
    events: int = 0
    head: tuple[int, str] | None = None
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _revision_refusal(revision: str | None) -> tuple[str | None, bool]:
    """(a reason to refuse, whether the database must be upgraded after loading)."""
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    heads = script.get_heads()
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        return (f"the backup's database is at revision {revision}, which this release does not "
                f"know (it knows up to {', '.join(heads)}): restore it with the release that made "
                "it, or a newer one"), False
    return None, revision not in heads


def _file_conflicts(backend, directory: Path, said: dict) -> list[str]:
    """Files of the backup a local upload folder already holds with other contents."""
    if backend.kind != "local":
        return []  # the database is empty: it holds no files yet
    reasons = []
    for name, expected in said["files"].items():
        if not name.startswith("files/"):
            continue
        try:
            pieces = backend.chunks(name.removeprefix("files/"))
        except FileNotFoundError:
            continue
        digest = hashlib.sha256()
        for piece in pieces:
            digest.update(piece)
        if digest.hexdigest() != expected["sha256"]:
            reasons.append(f"the upload folder already holds {name.removeprefix('files/')} with "
                           "other contents than the backup's: move it away first")
    return reasons


def _pieces(path: Path):
    with open(path, "rb") as fh:
        while piece := fh.read(manifest.CHUNK):
            yield piece


def _put_files(backend, directory: Path, said: dict) -> int:
    names = sorted(name for name in said["files"] if name.startswith("files/"))
    for name in names:
        stored = name.removeprefix("files/")
        if backend.kind == "local" and (backend.folder / stored).is_file():
            continue  # the same file (checked before anything was restored)
        unit_of_work.run(lambda stored=stored, name=name: backend.write(stored, _pieces(directory / name)))
    return len(names)


def _hold_mail() -> int:
    """Mark the restored outbox's unsent mail as held, so no worker sends it (again)."""
    def work() -> int:
        return db.session.execute(update(OutboxMessage)
                                  .where(OutboxMessage.status.in_(("pending", "sending", "failed")))
                                  .values(status="held")).rowcount
    return unit_of_work.run(work)


def restore(directory: Path, *, replace_secrets: bool = False, hold_mail: bool = False) -> Restored:
    """Restore the backup in `directory`; Refused (nothing touched) when it must not be.
    `hold_mail` (a drill): the restored outbox's unsent mail is held, never sent from here."""
    said = manifest.read(directory)
    reasons = manifest.problems(directory, said)
    if reasons:
        raise Refused(reasons)
    engine = db.engine
    kind, wanted = said["database"]["kind"], database.kind(engine)
    if kind != wanted:
        raise Refused([f"the backup holds a {kind} database; DATABASE_URL names a {wanted} one"])
    refusal, older = _revision_refusal(said["database"]["alembic_revision"])
    if refusal:
        raise Refused([refusal])
    db.session.remove()
    database.refuse_unless_empty(engine)
    placements = instance.plan(directory, said["secrets"], replace_secrets)
    backend = storage.current()
    reasons = _file_conflicts(backend, directory, said)
    if reasons:
        raise Refused(reasons)

    engine.dispose()  # no connection of this process may hold the target open meanwhile
    source = directory / said["database"]["file"]
    if kind == "postgresql":
        database.pg_restore(engine, source)  # one transaction: a failure leaves it empty
        return _after_loading(directory, said, older, backend, placements, hold_mail)
    try:
        database.sqlite_copy(source, database.sqlite_path(engine))
    except BaseException as exc:
        raise database.Failed(f"the restore failed ({exc}): {RECOVERY}") from exc
    return _after_loading(directory, said, older, backend, placements, hold_mail)


RECOVERY = ("the database is no longer empty, so a rerun would be refused: drop and recreate it "
            "(PostgreSQL: dropdb and createdb; SQLite: delete the file and its -wal and -shm "
            "files), then run the restore again")


def _after_loading(directory: Path, said: dict, older: bool, backend, placements, hold_mail: bool) -> Restored:
    """What follows the loaded database; a failure says how to start again."""
    try:
        done = _complete(directory, said, older, backend, placements, hold_mail)
    except (Refused, database.Failed) as exc:
        raise database.Failed(f"the restore failed after loading the database ({exc}): {RECOVERY}") from exc
    except Exception as exc:
        raise database.Failed(f"the restore failed after loading the database "
                              f"({type(exc).__name__}: {exc}): {RECOVERY}") from exc
    if done.failures:
        done.failures.append(RECOVERY)
    return done


def _complete(directory: Path, said: dict, older: bool, backend, placements, hold_mail: bool) -> Restored:
    engine = db.engine
    engine.dispose()
    done = Restored(said, 0, [])
    rows = database.counts(engine)
    for table, count in sorted(said["database"]["rows"].items()):
        if rows.get(table) != count:
            done.failures.append(f"table {table}: {rows.get(table)} rows restored, the backup "
                                 f"holds {count}")
    if older:
        upgrade()
        done.upgraded_from = said["database"]["alembic_revision"]
    done.files = _put_files(backend, directory, said)
    if said["database"]["rows"].get("file_chunks") and backend.kind == "local":
        done.notes.append("files are in the database too (the backup was taken with "
                          "PENGADUAN_STORAGE=database, or during a move): they are read from "
                          "there; run `flask --app run storage move --to local` to bring them "
                          "into the upload folder")
    for problem in said.get("problems", []):
        done.notes.append(f"the backup was taken with a problem: {problem}")
    if hold_mail:
        done.notes.append(f"{_hold_mail()} unsent messages of the outbox held (--hold-mail): "
                          "none is sent from this restore")
    done.secrets = instance.place(placements)
    _verify(done)
    return done


def _verify(done: Restored) -> None:
    """The restored chain, its checkpoints (their age judged at the time of the backup) and
    its head, which must be exactly the manifest's; then sign the restored head."""
    seq, digest = done.said["audit_head"]["seq"], done.said["audit_head"]["hash"]
    taken = datetime.fromisoformat(done.said["started_at"].replace("Z", "+00:00"))
    with read_only():
        result = audit.verify_chain(db.session, audit.public_key_hex(),
                                    max_age=2 * audit.checkpoint_interval(), now=taken)
        contained = audit.check_heads(db.session, [(seq, digest)])
        done.head = audit.head(db.session)
        db.session.rollback()
    done.events = result.count
    if result.problem is not None and result.problem.kind == "stale":
        done.notes.append(f"at the time of the backup: {result.problem}")
    elif result.problem is not None:
        done.failures.append(str(result.problem))
    if contained is not None:
        done.failures.append(str(contained))
    elif done.head != (seq, digest):
        done.failures.append(f"the restored chain ends at seq {done.head[0]} ({done.head[1]}), "
                             f"the manifest's head is seq {seq} ({digest})")
    if not done.failures:
        unit_of_work.run(lambda: audit.checkpoint(db.session, heartbeat=True))
