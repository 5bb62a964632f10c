"""Attachment storage (PENGADUAN_STORAGE): the upload folder or rows of the database, and the
`storage move` / `storage verify` commands that carry files between them and check them.

Runs on every test database (SQLite, and PostgreSQL when PENGADUAN_TEST_DATABASE_URL is set).
"""
from __future__ import annotations

import hashlib
import json
import math
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from pengaduan import storage, unit_of_work
from pengaduan.config import load_config
from pengaduan.errors import InvalidFields
from pengaduan.extensions import db
from pengaduan.models import Attachment, FileChunk, utcnow
from pengaduan.services import file_complaint
from pengaduan.services.attachments import remove_orphans, store, stored_files
from pengaduan.storage import transfer
from pengaduan.storage.database import CHUNK
from live import problems, uploaded_files
from test_citizen import browser, file_and_read_receipt, noise_png, pdf_bytes  # noqa: F401  (browser: fixture)
from test_evidence import build_scene, entries, export
from test_supervision import org  # noqa: F401  (the fixture: two units and their staff)


@pytest.fixture
def in_database(app):
    """The app storing attachments in the database."""
    app.config["PENGADUAN_STORAGE"] = "database"
    return app


def folder(app) -> Path:
    return Path(app.config["PENGADUAN_UPLOAD_DIR"])


def files_on_disk(app) -> list[str]:
    return sorted(p.name for p in folder(app).iterdir()) if folder(app).exists() else []


def chunk_rows(app, name: str | None = None) -> int:
    with app.app_context():
        query = select(func.count()).select_from(FileChunk)
        if name is not None:
            query = query.where(FileChunk.stored_name == name)
        return db.session.scalar(query)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_complaint() -> dict:
    return {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
            "title": "Jalan berlubang", "description": "Sudah sebulan.", "privacy": "public",
            "name": "Budi Hartono", "consent": True}


class Statements:
    """The SQL statements the app's engine runs that read file_chunks' data."""

    def __init__(self, engine):
        self.engine, self.reads = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if "file_chunks.data" in statement:
            self.reads.append(statement)


# --- the backends' calls, as other parts (backups, several nodes) use them ----------------------

@pytest.mark.parametrize("kind", storage.KINDS)
def test_both_backends_save_read_list_and_delete(app, kind):
    data = bytes(range(256)) * 2100  # 537,600 bytes: three pieces in the database
    with app.app_context():
        app.config["PENGADUAN_STORAGE"] = kind
        backend = storage.current()
        assert backend.kind == kind
        backend.save("a" * 32 + ".png", data)
        backend.save("b" * 32 + ".pdf", b"%PDF-1.4 small")
        db.session.commit()
        assert sorted(backend.names()) == ["a" * 32 + ".png", "b" * 32 + ".pdf"]
        pieces = list(backend.chunks("a" * 32 + ".png"))
        assert b"".join(pieces) == data and max(len(p) for p in pieces) <= CHUNK
        assert backend.has("b" * 32 + ".pdf") and not backend.has("c" * 32 + ".png")
        with pytest.raises(FileNotFoundError):
            backend.chunks("c" * 32 + ".png")
        backend.delete("a" * 32 + ".png")
        db.session.commit()
        assert list(backend.names()) == ["b" * 32 + ".pdf"]
    assert (files_on_disk(app) != []) == (kind == "local")
    assert (chunk_rows(app) != 0) == (kind == "database")


def test_an_unknown_storage_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="PENGADUAN_STORAGE"):
        load_config(str(tmp_path), env={"PENGADUAN_STORAGE": "s3"})
    assert load_config(str(tmp_path), env={})["PENGADUAN_STORAGE"] == "local"


# --- filing and downloading --------------------------------------------------------------------

def test_filing_in_database_mode_keeps_no_file_on_disk_and_streams_it_back(in_database, browser):
    app = in_database
    photo = noise_png(700_000)  # random pixels: still above 2 pieces once re-encoded
    receipt = file_and_read_receipt(browser, [(photo, "foto.png"), (pdf_bytes(), "surat.pdf")])
    assert files_on_disk(app) == []
    with app.app_context():
        rows = {a.filename: (a.id, a.stored_name, a.size, a.sha256)
                for a in db.session.scalars(select(Attachment))}
    attachment_id, name, size, digest = rows["foto.png"]
    pieces = math.ceil(size / CHUNK)
    assert pieces >= 3 and chunk_rows(app, name) == pieces

    with Statements(_engine(app)) as seen:
        response = browser.get(f"/track/{receipt.code}/files/{attachment_id}", buffered=False)
        assert response.status_code == 200
        assert len(seen.reads) == 1  # the first piece (the test client takes a first block)
        body = b"".join(response.iter_encoded())
        response.close()
    assert len(seen.reads) == pieces and all("seq" in statement for statement in seen.reads)
    assert sha256(body) == digest and len(body) == size
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(size)
    assert response.headers["Content-Disposition"] == "inline; filename=foto.png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"

    pdf_id, pdf_name, pdf_size, pdf_digest = rows["surat.pdf"]
    response = browser.get(f"/track/{receipt.code}/files/{pdf_id}")
    assert sha256(response.data) == pdf_digest
    assert response.headers["Content-Disposition"] == "attachment; filename=surat.pdf"
    assert response.headers["Content-Type"] == "application/pdf"
    found, orphans = problems(app)  # the fault tests' checks read the database's files too
    assert found == [] and orphans == set()
    assert set(uploaded_files(app)) == {name, pdf_name}


def _engine(app):
    with app.app_context():
        return db.engine


def test_a_failed_unit_of_work_leaves_no_chunk_rows(in_database, org):
    app = in_database
    photo = noise_png(300_000)

    def file_then_fail():
        with stored_files([("foto.png", photo, "image/png")]) as stored:
            file_complaint(raw_complaint(), attachments=stored)
            db.session.flush()
            assert db.session.scalar(select(func.count()).select_from(FileChunk)) >= 2
            raise RuntimeError("the request failed after its rows were written")

    with app.app_context():
        with pytest.raises(RuntimeError):
            unit_of_work.run(file_then_fail)
    assert chunk_rows(app) == 0

    def refused_but_committed():  # as a refused email: the refusal itself is committed
        try:
            with stored_files([("foto.png", photo, "image/png")]):
                raise InvalidFields({"attachments": "refused"})
        except InvalidFields:
            pass

    with app.app_context():
        unit_of_work.run(refused_but_committed)
    assert chunk_rows(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def _database_error(app, full: bool):
    """The error the app's database driver raises when its disk is full (or another one)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        import psycopg

        return (psycopg.errors.DiskFull if full else psycopg.errors.QueryCanceled)(
            "could not extend file: No space left on device")
    import sqlite3

    error = sqlite3.OperationalError("database or disk is full" if full else "disk I/O error")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL if full else sqlite3.SQLITE_IOERR
    return error


@pytest.mark.parametrize("full", [True, False], ids=["database-full", "other-error"])
def test_a_full_database_is_storage_full_not_a_crash(in_database, org, full):
    """With database storage, the database's own "no space" (PostgreSQL SQLSTATE 53100,
    SQLite SQLITE_FULL) is StorageFull like a full disk, with the second piece of a file
    refused: nothing stays, and the request's transaction can still be used (savepoint).
    Any other database error is not taken for a full disk."""
    from pengaduan.errors import StorageFull

    app = in_database
    photo = noise_png(300_000)  # two pieces
    inserts = []

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO FILE_CHUNKS"):
            inserts.append(statement)
            if len(inserts) == 2:
                raise _database_error(app, full)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", refuse)
        try:
            if full:
                with pytest.raises(StorageFull) as caught:
                    store([("foto.png", photo, "image/png")])
                assert caught.value.status == 507 and "attachments" in caught.value.errors
                assert db.session.scalar(select(func.count()).select_from(FileChunk)) == 0
                db.session.commit()  # the transaction was left usable
            else:
                with pytest.raises(SQLAlchemyError) as caught:
                    store([("foto.png", photo, "image/png")])
                assert not isinstance(caught.value, StorageFull)
                db.session.rollback()
        finally:
            event.remove(db.engine, "before_cursor_execute", refuse)
    assert len(inserts) == 2
    assert chunk_rows(app) == 0


def test_the_evidence_pack_carries_files_stored_in_the_database(in_database, org, tmp_path):
    app = in_database
    with app.app_context():
        scene = build_scene()
        files = entries(_exported(tmp_path / "pack.zip", scene))
    assert files_on_disk(app) == []
    assert chunk_rows(app) >= 3
    assert files[next(n for n in files if n.startswith(f"supervision/{scene.record_a}/"))] == scene.photo
    assert files[next(n for n in files if n.startswith("documents/"))] == scene.decree


def _exported(path: Path, scene) -> Path:
    export(path, scene)
    return path


# --- storage move and storage verify -----------------------------------------------------------

def run(runner, *args):
    result = runner.invoke(args=["storage", *args])
    counts = json.loads(result.stdout.splitlines()[0]) if result.stdout.strip() else None
    return result, counts


def digests(app) -> dict[str, str]:
    """Every file row's stored name and SHA-256."""
    with app.app_context():
        return {name: digest for _, name, digest in transfer.file_rows()}


def test_move_to_the_database_and_back_keeps_every_file(app, org, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "BATCH", 2)  # three files: two transactions each way
    with app.app_context():
        scene = build_scene()
    rows = digests(app)
    assert len(rows) == 3 and sorted(files_on_disk(app)) == sorted(rows)
    before = {name: sha256(data) for name, data in uploaded_files(app).items()}

    result, counts = run(runner, "move", "--to", "database")
    assert result.exit_code == 0, result.output
    assert counts == {"already_there": 0, "mismatched": 0, "missing": 0, "moved": 3}
    assert "PENGADUAN_STORAGE=database" in result.stderr  # the setting still says local
    assert files_on_disk(app) == []
    app.config["PENGADUAN_STORAGE"] = "database"
    assert {name: sha256(data) for name, data in uploaded_files(app).items()} == before == rows
    result, counts = run(runner, "verify")
    assert result.exit_code == 0, result.output
    assert counts == {"checked": 3, "missing": 0, "mismatched": 0, "unreferenced": 0}
    with app.app_context():
        files = entries(_exported(tmp_path / "pack.zip", scene))
    assert scene.decree in files.values() and scene.photo in files.values()

    result, counts = run(runner, "move", "--to", "database")  # again: nothing left to do
    assert result.exit_code == 0 and counts["already_there"] == 3 and counts["moved"] == 0

    result, counts = run(runner, "move", "--to", "local")
    assert result.exit_code == 0, result.output
    assert counts["moved"] == 3 and chunk_rows(app) == 0
    app.config["PENGADUAN_STORAGE"] = "local"
    assert {name: sha256(data) for name, data in uploaded_files(app).items()} == rows
    result, counts = run(runner, "verify")
    assert result.exit_code == 0 and counts["checked"] == 3


def test_a_move_cut_short_is_finished_by_running_it_again(app, org, runner):
    with app.app_context():
        build_scene()
    rows = digests(app)
    first, second, third = sorted(rows)
    with app.app_context():  # as a run killed after committing copies, before removing sources
        database = storage.backend("database")
        database.write(first, storage.backend("local").chunks(first))
        database.write(second, [b"half of it"])  # and one copy cut short
        db.session.commit()
    (folder(app) / third).unlink()  # and one source removed after its copy was committed
    with app.app_context():
        storage.backend("database").write(third, [b"x"])
        db.session.commit()
    result, counts = run(runner, "move", "--to", "database")
    assert counts == {"already_there": 1, "mismatched": 0, "missing": 1, "moved": 1}
    assert result.exit_code == 1 and third in result.stderr  # no good copy anywhere: said so

    app.config["PENGADUAN_STORAGE"] = "database"
    result, counts = run(runner, "verify")
    assert result.exit_code == 1 and counts["mismatched"] == 1
    assert {first: rows[first], second: rows[second]}.items() <= {
        name: sha256(data) for name, data in uploaded_files(app).items()}.items()


def test_a_rerun_never_overwrites_a_good_copy_with_a_source_gone_bad(app, org, runner):
    """An earlier run committed the copy and stopped before removing the source; the source has
    gone bad since: the rerun keeps the good copy (counted as already there) and removes the
    bad source."""
    with app.app_context():
        build_scene()
    rows = digests(app)
    first = sorted(rows)[0]
    with app.app_context():
        storage.backend("database").write(first, storage.backend("local").chunks(first))
        db.session.commit()
    (folder(app) / first).write_bytes(b"gone bad on the disk")
    result, counts = run(runner, "move", "--to", "database")
    assert result.exit_code == 0, result.output
    assert counts == {"already_there": 1, "mismatched": 0, "missing": 0, "moved": 2}
    assert files_on_disk(app) == []
    app.config["PENGADUAN_STORAGE"] = "database"
    assert {name: sha256(data) for name, data in uploaded_files(app).items()} == rows


def test_a_tampered_file_is_not_moved_and_verify_names_it(app, org, runner):
    with app.app_context():
        build_scene()
    rows = digests(app)
    tampered, *others = sorted(rows)
    (folder(app) / tampered).write_bytes(b"not what was uploaded")
    result, counts = run(runner, "verify")
    assert result.exit_code == 1
    assert counts == {"checked": 3, "missing": 0, "mismatched": 1, "unreferenced": 0}
    assert tampered in result.stderr and not any(name in result.stderr for name in others)

    result, counts = run(runner, "move", "--to", "database")
    assert result.exit_code == 1
    assert counts == {"already_there": 0, "mismatched": 1, "missing": 0, "moved": 2}
    assert tampered in result.stderr and "left where it is" in result.stderr
    assert files_on_disk(app) == [tampered]  # left where it was, as it was
    assert (folder(app) / tampered).read_bytes() == b"not what was uploaded"
    assert chunk_rows(app, tampered) == 0 and all(chunk_rows(app, name) for name in others)

    app.config["PENGADUAN_STORAGE"] = "database"
    result, counts = run(runner, "verify")
    assert result.exit_code == 1 and counts["missing"] == 1 and tampered in result.stderr


def test_files_not_yet_moved_stay_readable_after_the_setting_changed(app, org, browser):
    receipt = file_and_read_receipt(browser, [(noise_png(50_000), "foto.png")])
    app.config["PENGADUAN_STORAGE"] = "database"
    with app.app_context():
        attachment = db.session.scalars(select(Attachment)).one()
        attachment_id, digest = attachment.id, attachment.sha256
    response = browser.get(f"/track/{receipt.code}/files/{attachment_id}")
    assert response.status_code == 200 and sha256(response.data) == digest


# --- orphans -----------------------------------------------------------------------------------

def test_remove_orphans_in_database_mode_removes_only_old_unreferenced_files(in_database, org):
    app = in_database
    with app.app_context():
        referenced = store([("foto.png", noise_png(300_000), "image/png")])
        file_complaint(raw_complaint(), attachments=referenced)
        backend = storage.current()
        backend.save("0" * 32 + ".png", b"left by a crash")
        backend.save("1" * 32 + ".png", b"a request in flight")
        db.session.execute(update(FileChunk).where(FileChunk.stored_name != "1" * 32 + ".png")
                           .values(created_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
        assert unit_of_work.run(remove_orphans) == 1  # default grace: one hour
        assert sorted(backend.names()) == sorted([referenced[0].stored_name, "1" * 32 + ".png"])
        assert unit_of_work.run(lambda: remove_orphans(older_than=timedelta(0))) == 1
        assert list(backend.names()) == [referenced[0].stored_name]
    assert files_on_disk(app) == []
    found, orphans = problems(app)
    assert found == [] and orphans == set()
