"""Backups that restore (`flask --app run backup create` / `backup restore`), on SQLite and
PostgreSQL: the drill (fill, back up while filings go on, destroy, restore into an empty
database, compare), and the refusals (a tampered, incomplete or partly missing backup, a
database that is not empty, secrets that differ)."""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import stat
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from live import png
from pengaduan import create_app, unit_of_work
from pengaduan import storage as stores
from pengaduan.backup.database import libpq
from pengaduan.extensions import db
from pengaduan.models import Attachment, AuditCheckpoint, AuditEvent, Complaint, JobRun
from pengaduan.services import file_complaint
from pengaduan.services.attachments import stored_files


def _raw(i: int) -> dict:
    return {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
            "title": f"Lampu jalan mati {i}", "description": "Sudah seminggu gelap.",
            "privacy": "public", "name": "Budi Hartono", "consent": True}


def _file(app, i: int) -> str:
    """File one complaint with a photo as the web form does; its code once committed."""
    with app.app_context():
        def work():
            with stored_files([(f"foto{i}.png", png(i), "image/png")]) as stored:
                return file_complaint(_raw(i), attachments=stored).complaint.tracking_code
        try:
            return unit_of_work.run(work)
        finally:
            db.session.remove()


def _is_pg(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@pytest.fixture
def source(app, world):
    """The test's app with its organisation, its secret key in the instance folder (as in
    production), and no transaction left open by the fixtures (SQLite: no write lock)."""
    _with_secret_file(app)
    db.session.remove()
    return app


@pytest.fixture
def empty_database(app, backend, tmp_path):
    """A new, empty database of the test's kind to restore into."""
    if not _is_pg(app):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"{backend.url.database}_{uuid.uuid4().hex[:10]}"
    backend._execute(f'CREATE DATABASE "{name}"')
    url = backend._url(name)
    yield url
    backend.drop(url)


def _target(url: str, folder: Path, **config):
    """A fresh instance (its own folder, upload folder and secrets) on the database `url`."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
                      "PENGADUAN_UPLOAD_DIR": str(folder / "uploads"), **config},
                     instance_path=str(folder / "instance"))
    return app


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _destroy(app) -> None:
    """Lose the database, the attachments and the instance secrets."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    _dispose(app)
    if url.startswith("postgresql"):
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT",
                              poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    shutil.rmtree(app.config["PENGADUAN_UPLOAD_DIR"])
    Path(app.config["PENGADUAN_SIGNING_KEY"]).unlink()
    (Path(app.instance_path) / "secret_key").unlink()


def _with_secret_file(app) -> None:
    """The source instance reads its secret key from the instance folder, as in production."""
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(app.config["SECRET_KEY"])


def _cli(app, *args: str):
    """Run a command of `app` (in a context of its own: a command runs in the current one)."""
    with app.app_context():
        try:
            return app.test_cli_runner().invoke(args=list(args))
        finally:
            db.session.remove()


def _backup(app, out: Path):
    db.session.remove()  # the test's own context holds no transaction (SQLite: no lock)
    return _cli(app, "backup", "create", "--out", str(out))


def _restore(app, folder: Path, *more: str):
    return _cli(app, "backup", "restore", str(folder), *more)


def test_the_drill_backup_while_filing_destroy_restore(source, empty_database, tmp_path):
    """Filings go on while the backup is taken; after losing everything, the restore holds
    every complaint acknowledged before the backup began, with its file, and a chain that ends
    exactly at the manifest's head and verifies."""
    app = source
    before = {_file(app, i) for i in range(4)}
    assert _cli(app, "audit", "checkpoint").exit_code == 0

    during: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_filing():
        i = 100
        try:
            while not stop.is_set():
                during.append(_file(app, i))
                i += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    def wait_for(n: int) -> None:
        while len(during) < n and filer.is_alive():
            stop.wait(0.01)

    filer = threading.Thread(target=keep_filing)
    filer.start()
    try:
        wait_for(2)  # filings are under way when the backup begins
        acknowledged = before | set(during)
        result = _backup(app, tmp_path / "backup")
        wait_for(len(acknowledged) - len(before) + 2)  # and go on after it
    finally:
        stop.set()
        filer.join()
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert "backup written to" in result.output

    folder = tmp_path / "backup"
    said = json.loads((folder / "manifest.json").read_text())
    seq, head = said["audit_head"]["seq"], said["audit_head"]["hash"]
    assert said["database"]["kind"] == ("postgresql" if _is_pg(app) else "sqlite")
    assert said["database"]["alembic_revision"]
    assert said["secrets"]["secret_key"]["file"] == "secrets/secret_key"
    assert "test-secret-key" not in (folder / "manifest.json").read_text()  # a fingerprint only
    for name, entry in said["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == entry["sha256"]
    for name in ("secrets/secret_key", "secrets/signing_key.pem"):
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600
    with app.app_context():
        all_codes = set(db.session.scalars(select(Complaint.tracking_code)))
        # The manifest's head is the source chain's event at that seq: the dump's own head.
        assert db.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq)) == head
        assert db.session.scalar(select(func.max(AuditEvent.seq))) > seq  # filings went on
        run = db.session.get(JobRun, "backup")
        assert run.last_success_at is not None and run.consecutive_failures == 0
    assert acknowledged <= all_codes
    source_key = Path(app.config["PENGADUAN_SIGNING_KEY"]).read_bytes()

    _destroy(app)
    target = _target(empty_database, tmp_path / "new")
    result = _restore(target, folder)
    assert result.exit_code == 0, result.output
    assert f"OK {seq} events head {head}" in result.output

    with target.app_context():
        restored = set(db.session.scalars(select(Complaint.tracking_code)))
        assert acknowledged <= restored <= all_codes
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == \
            said["database"]["rows"]["complaints"]
        assert db.session.scalar(select(func.max(AuditEvent.seq))) == seq
        uploads = Path(target.config["PENGADUAN_UPLOAD_DIR"])
        rows = db.session.execute(select(Attachment.stored_name, Attachment.sha256)).all()
        assert len(rows) == len(restored)
        for name, sha in rows:
            assert hashlib.sha256((uploads / name).read_bytes()).hexdigest() == sha
    assert (tmp_path / "new" / "instance" / "signing_key.pem").read_bytes() == source_key
    assert (tmp_path / "new" / "instance" / "secret_key").read_text() == "test-secret-key"
    verified = _cli(target, "audit", "verify", "--expect-head", f"{seq}:{head}")
    assert verified.exit_code == 0, verified.output
    _dispose(target)


def test_a_backup_that_does_not_match_its_manifest_is_refused(source, empty_database, tmp_path):
    """Tampered, missing, unlisted or without a manifest: refused naming the file, and the
    empty target stays empty."""
    app = source
    _file(app, 1)
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    said = json.loads((folder / "manifest.json").read_text())
    attachment = next(name for name in said["files"] if name.startswith("files/"))
    target = _target(empty_database, tmp_path / "new")

    data = (folder / attachment).read_bytes()
    (folder / attachment).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    result = _restore(target, folder)
    assert result.exit_code == 1
    assert f"FAIL {attachment}: its SHA-256 differs from the manifest's: altered" in result.output

    (folder / attachment).unlink()
    result = _restore(target, folder)
    assert result.exit_code == 1
    assert f"FAIL {attachment}: missing" in result.output

    (folder / attachment).write_bytes(data)
    (folder / "files" / "extra.png").write_bytes(b"x")
    result = _restore(target, folder)
    assert result.exit_code == 1 and "files/extra.png: a file the manifest does not list" in result.output
    (folder / "files" / "extra.png").unlink()

    original = (folder / "manifest.json").read_text()
    outside = {**said, "files": {**said["files"], "files/../../instance/evil": said["files"][attachment]}}
    (folder / "manifest.json").write_text(json.dumps(outside))
    result = _restore(target, folder)
    assert result.exit_code == 1
    assert "files/../../instance/evil: not a file a backup holds" in result.output
    (folder / "manifest.json").write_text(original)

    (folder / "manifest.json").rename(folder / "manifest.json.partial")
    result = _restore(target, folder)
    assert result.exit_code == 1 and "no manifest.json: not a complete backup" in result.output
    (folder / "manifest.json.partial").rename(folder / "manifest.json")

    with target.app_context():
        assert db.inspect(db.engine).get_table_names() == []
    assert not Path(target.config["PENGADUAN_UPLOAD_DIR"], attachment.removeprefix("files/")).exists()
    result = _restore(target, folder)  # intact again: restored
    assert result.exit_code == 0, result.output
    _dispose(target)


def test_restore_refuses_a_database_that_is_not_empty(source, tmp_path):
    app = source
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    result = _restore(app, folder)
    assert result.exit_code == 1
    assert "FAIL the target database is not empty" in result.output


def test_restore_refuses_to_overwrite_a_different_secret(source, empty_database, tmp_path):
    """A secret key already in use that differs from the backup's is kept unless told; told,
    it is replaced and kept beside the restored one."""
    app = source
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    instance = tmp_path / "new" / "instance"
    instance.mkdir(parents=True)
    (instance / "secret_key").write_text("a key in use")
    target = _target(empty_database, tmp_path / "new")
    result = _restore(target, folder)
    assert result.exit_code == 1
    assert "holds another secret key than the backup's: rerun with --replace-secrets" in result.output
    with target.app_context():
        assert db.inspect(db.engine).get_table_names() == []

    result = _restore(target, folder, "--replace-secrets")
    assert result.exit_code == 0, result.output
    assert (instance / "secret_key").read_text() == "test-secret-key"
    assert [p.read_text() for p in instance.glob("secret_key.replaced-*")] == ["a key in use"]
    _dispose(target)


def test_a_backup_goes_only_into_a_new_folder(source, tmp_path):
    app = source
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    result = _backup(app, tmp_path / "used")
    assert result.exit_code == 1 and "exists and is not an empty folder" in result.output
    with app.app_context():
        assert db.session.get(JobRun, "backup").consecutive_failures == 1


def _restored(url: str, tmp_path: Path, folder: Path, codes: set[str], storage: str):
    """The backup in `folder` restored into a new instance on `url` with that storage: it
    holds exactly the complaints `codes`, each file readable with its row's SHA-256."""
    target = _target(url, tmp_path / "new", PENGADUAN_STORAGE=storage)
    result = _restore(target, folder)
    assert result.exit_code == 0, result.output
    with target.app_context():
        assert set(db.session.scalars(select(Complaint.tracking_code))) == codes
        for name, sha in db.session.execute(select(Attachment.stored_name, Attachment.sha256)):
            data = b"".join(stores.holding(name).chunks(name))
            assert hashlib.sha256(data).hexdigest() == sha
    return target


@pytest.mark.parametrize("kinds", [("database", "database"), ("local", "database")],
                         ids=["database-to-database", "local-to-database"])
def test_files_kept_in_the_database_travel_in_the_dump(source, empty_database, tmp_path, kinds):
    """With PENGADUAN_STORAGE=database the files are rows of the dump (no files/ folder); a
    backup of the upload folder restores into database storage too."""
    app = source
    app.config["PENGADUAN_STORAGE"] = kinds[0]
    codes = {_file(app, i) for i in range(2)}
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    said = json.loads((folder / "manifest.json").read_text())
    assert said["storage"] == kinds[0]
    assert any(name.startswith("files/") for name in said["files"]) == (kinds[0] == "local")

    target = _restored(empty_database, tmp_path, folder, codes, storage=kinds[1])
    assert not (tmp_path / "new" / "uploads").exists() or not any((tmp_path / "new" / "uploads").iterdir())
    _dispose(target)


def test_the_database_password_never_goes_on_a_command_line():
    """pg_dump and pg_restore read it from PGPASSWORD (`ps` shows their arguments)."""
    engine = create_engine("postgresql+psycopg://pengaduan:s3cret%40x@db.example:5432/pengaduan?sslmode=require")
    dsn, env = libpq(engine)
    assert dsn == "postgresql://pengaduan@db.example:5432/pengaduan?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret@x"


def test_a_checkpoint_already_stale_when_the_backup_was_taken_is_a_note(source, empty_database, tmp_path):
    """The newest checkpoint's age is judged at the time of the backup: stale then is a NOTE
    (nothing older to restore instead), and the restore signs the restored head, so `audit
    verify` passes afterwards."""
    app = source
    _file(app, 1)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    said = json.loads((folder / "manifest.json").read_text())
    said["started_at"] = "2099-01-01T00:00:00.000000Z"  # as if the worker had stopped long before
    (folder / "manifest.json").write_text(json.dumps(said))

    target = _target(empty_database, tmp_path / "new")
    result = _restore(target, folder)
    assert result.exit_code == 0, result.output
    assert "NOTE at the time of the backup: seq" in result.output and ": stale: " in result.output
    with target.app_context():  # the restored head, signed by the restored key
        assert db.session.scalar(select(func.count()).select_from(AuditCheckpoint)) == \
            said["database"]["rows"]["audit_checkpoints"] + 1
    assert _cli(target, "audit", "verify").exit_code == 0
    _dispose(target)


@pytest.mark.parametrize("kinds", [("local", "database"), ("database", "local")],
                         ids=["folder-while-set-to-database", "database-while-set-to-local"])
def test_files_are_backed_up_wherever_they_are_during_a_move(source, empty_database, tmp_path, kinds):
    """PENGADUAN_STORAGE changed and `storage move` not run yet: files still in the folder are
    copied, files in the database travel in the dump; no warning, and all restore."""
    app = source
    app.config["PENGADUAN_STORAGE"] = kinds[0]
    codes = {_file(app, i) for i in range(2)}
    app.config["PENGADUAN_STORAGE"] = kinds[1]
    folder = tmp_path / "backup"
    result = _backup(app, folder)
    assert result.exit_code == 0, result.output
    assert "WARN" not in result.output
    said = json.loads((folder / "manifest.json").read_text())
    assert said["problems"] == [] and said["attachments"] == 2
    assert sum(name.startswith("files/") for name in said["files"]) == (2 if kinds[0] == "local" else 0)

    _dispose(_restored(empty_database, tmp_path, folder, codes, storage=kinds[1]))


def test_a_backup_appears_under_its_name_only_when_complete(source, tmp_path, monkeypatch):
    """Written into DIR.partial and renamed when complete: a copy job (rsync) never sees a
    backup in progress under DIR, and a failed one leaves neither folder."""
    from pengaduan.backup import instance

    app = source
    _file(app, 1)
    folder = tmp_path / "backup"
    seen = {}
    real = instance.back_up

    def failing(directory):
        seen["during"] = (folder.exists(), (tmp_path / "backup.partial").is_dir())
        real(directory)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(instance, "back_up", failing)
    result = _backup(app, folder)
    assert result.exit_code != 0 and isinstance(result.exception, OSError)
    assert seen["during"] == (False, True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == []

    monkeypatch.setattr(instance, "back_up", real)
    result = _backup(app, folder)
    assert result.exit_code == 0, result.output
    assert (folder / "manifest.json").is_file() and not (tmp_path / "backup.partial").exists()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_a_secret_key_from_the_environment_must_be_the_backups(app, world, empty_database, tmp_path):
    """The backup does not hold a SECRET_KEY set in the environment, only its fingerprint: a
    restore under another key (every PIN, two-step secret and recovery link broken) is refused,
    even with --replace-secrets (there is nothing to replace it with)."""
    file = Path(app.instance_path) / "secret_key"
    assert not file.exists() or file.read_text().strip() != app.config["SECRET_KEY"]  # not from a file
    db.session.remove()
    _file(app, 1)
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    said = json.loads((folder / "manifest.json").read_text())
    assert said["secrets"]["secret_key"]["from"] == "environment"
    assert "test-secret-key" not in (folder / "manifest.json").read_text()

    target = _target(empty_database, tmp_path / "new", SECRET_KEY="another-key")
    for more in ((), ("--replace-secrets",)):
        result = _restore(target, folder, *more)
        assert result.exit_code == 1
        assert "SECRET_KEY came from the environment" in result.output
    with target.app_context():
        assert db.inspect(db.engine).get_table_names() == []
    _dispose(target)

    target = _target(empty_database, tmp_path / "new", SECRET_KEY="test-secret-key")
    result = _restore(target, folder)
    assert result.exit_code == 0, result.output
    _dispose(target)


def test_a_drill_restore_holds_the_unsent_mail(source, empty_database, tmp_path):
    """--hold-mail: the restored outbox's pending, sending and failed mail is held, so a drill
    machine's worker never mails citizens again; without it the mail is left to be sent."""
    from pengaduan.models import OutboxMessage

    app = source
    with app.app_context():
        for status in ("pending", "sending", "failed", "sent"):
            db.session.add(OutboxMessage(recipient="warga@example.test", subject=status,
                                         body_text="x", status=status))
        db.session.commit()
        db.session.remove()
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    target = _target(empty_database, tmp_path / "new")
    result = _restore(target, folder, "--hold-mail")
    assert result.exit_code == 0, result.output
    assert "NOTE 3 unsent messages of the outbox held" in result.output
    with target.app_context():
        statuses = dict(db.session.execute(select(OutboxMessage.subject, OutboxMessage.status)).all())
    assert statuses == {"pending": "held", "sending": "held", "failed": "held", "sent": "sent"}
    _dispose(target)


def test_a_restore_failing_after_loading_says_how_to_start_again(source, empty_database, tmp_path, monkeypatch):
    """The database is no longer empty once loaded: a failure after that names the way back
    (drop and recreate it, then rerun), which then succeeds."""
    restoring = importlib.import_module("pengaduan.backup.restore")

    app = source
    _file(app, 1)
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    target = _target(empty_database, tmp_path / "new")
    real = restoring._put_files

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(restoring, "_put_files", full_disk)
    result = _restore(target, folder)
    assert result.exit_code == 1
    assert "the restore failed after loading the database" in result.output
    assert "drop and recreate it" in result.output and "then run the restore again" in result.output
    assert "the target database is not empty" in _restore(target, folder).output

    monkeypatch.setattr(restoring, "_put_files", real)
    _dispose(target)
    if _is_pg(target):
        url = target.config["SQLALCHEMY_DATABASE_URI"]
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT",
                              poolclass=NullPool)
        with admin.connect() as conn:
            name = url.rsplit("/", 1)[1]
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    else:
        Path(empty_database.removeprefix("sqlite:///")).unlink()
    result = _restore(target, folder)
    assert result.exit_code == 0, result.output
    _dispose(target)
