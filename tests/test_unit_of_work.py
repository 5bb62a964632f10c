"""One transaction boundary: views never commit or roll back; the unit of work does, and what
waits for its outcome (audit events, email, callbacks, stored files) lives on it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select

import pengaduan
from pengaduan import audit
from pengaduan.extensions import db
from pengaduan.models import Complaint, OutboxMessage
from pengaduan.unit_of_work import UnitOfWork
from test_citizen import (assert_nothing_saved, browser, file_complaint_via_form,  # noqa: F401
                          jpeg_bytes, org, pdf_bytes, stored_files)

PACKAGE = Path(pengaduan.__file__).parent
TRANSACTION_CALLS = {"commit", "rollback"}


def _transaction_calls(path: Path) -> list[str]:
    """Every call or import of commit/rollback in a module, as file:line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        name = None
        if isinstance(node, ast.Call):
            func_ = node.func
            name = func_.attr if isinstance(func_, ast.Attribute) else getattr(func_, "id", None)
        elif isinstance(node, ast.ImportFrom):
            name = next((a.name for a in node.names if a.name in TRANSACTION_CALLS), None)
        if name in TRANSACTION_CALLS:
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_view_or_api_handler_commits_or_rolls_back():
    """The request's unit of work is the only place a web or API change commits."""
    modules = sorted((PACKAGE / "web").rglob("*.py")) + sorted((PACKAGE / "api").rglob("*.py")) \
        + sorted((PACKAGE / "http").rglob("*.py"))
    assert modules
    assert [hit for path in modules for hit in _transaction_calls(path)] == []


def test_services_and_the_deadline_arithmetic_never_commit():
    """Services flush; sla/ computes deadlines; only boundaries and jobs end transactions."""
    modules = sorted((PACKAGE / "services").rglob("*.py")) + sorted((PACKAGE / "sla").rglob("*.py"))
    assert [hit for path in modules for hit in _transaction_calls(path)] == []


def test_the_scan_finds_a_commit(tmp_path):
    """The check above would see a commit, however it is spelled."""
    module = tmp_path / "view.py"
    module.write_text("from x import commit\ndef v():\n    db.session.commit()\n    s.rollback()\n")
    assert _transaction_calls(module) == ["view.py:1", "view.py:3", "view.py:4"]


def test_every_view_is_one_unit_of_work(app):
    views = {name: view for name, view in app.view_functions.items() if name != "static"}
    assert views and all(getattr(view, "in_unit_of_work", False) for view in views.values())


def test_files_are_removed_when_the_commit_itself_fails(app, browser, monkeypatch):
    """Stored files belong to the unit of work: when its commit fails after the view returned,
    they go with the rows that were never written."""
    real_append = audit.chain.append_pending
    seen = []

    def fail_at_commit(session):
        if not UnitOfWork.of(session).audit_events:  # the read before the files: nothing to fail
            return real_append(session)
        seen.append(stored_files(app))
        raise RuntimeError("the disk of the database is full")

    monkeypatch.setattr(audit.chain, "append_pending", fail_at_commit)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = file_complaint_via_form(browser, [(jpeg_bytes(), "a.jpg"), (pdf_bytes(), "b.pdf")],
                                       email="budi@example.id")
    assert response.status_code == 500
    assert len(seen) == 1 and len(seen[0]) == 2  # written, then the commit failed
    assert_nothing_saved(app)
    monkeypatch.setattr(audit.chain, "append_pending", real_append)


def test_a_refused_form_writes_nothing_and_keeps_what_was_typed(app, browser):
    """A domain error from a view rolls its changes back; the form comes back filled in."""
    response = file_complaint_via_form(browser, title="", description="Masih menunggu.")
    assert response.status_code == 422
    assert "Masih menunggu." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Complaint.id))) == 0


def test_after_commit_callbacks_run_only_after_a_commit(ctx):
    unit = UnitOfWork.of(db.session)
    ran = []
    unit.on_commit(lambda: ran.append("rolled back"))
    db.session.execute(select(1))
    unit.rollback()
    unit.on_commit(lambda: ran.append("committed"))
    assert ran == []
    unit.commit()
    assert ran == ["committed"]


def test_files_to_discard_go_only_with_a_rollback(ctx, tmp_path):
    unit = UnitOfWork.of(db.session)
    kept, dropped = tmp_path / "kept.jpg", tmp_path / "dropped.jpg"
    kept.write_bytes(b"x")
    dropped.write_bytes(b"x")
    unit.discard_on_failure([kept])
    unit.commit()
    unit.discard_on_failure([dropped])
    unit.rollback()
    assert kept.exists() and not dropped.exists()


def test_mail_of_a_rolled_back_unit_of_work_is_never_handed_to_delivery(ctx):
    unit = UnitOfWork.of(db.session)
    for subject in ("dropped", "sent"):
        message = OutboxMessage(recipient="a@example.id", subject=subject, body_text="...")
        db.session.add(message)
        unit.queue_mail(message)
        if subject == "dropped":
            db.session.flush()
            unit.rollback()
    unit.commit()
    [sent] = unit.take_committed_mail()
    assert db.session.get(OutboxMessage, sent).subject == "sent"


def test_a_failed_unit_of_work_rolls_back_at_the_boundary(ctx):
    audit.record(db.session, "test.failed", actor="tester", unit=None)
    unit = UnitOfWork.of(db.session)
    unit.fail()
    unit.finish()
    assert unit.audit_events == []
    assert "test.failed" not in set(db.session.scalars(select(audit.chain.AuditEvent.action)))


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_pending_audit_events_live_on_the_unit_of_work(ctx, outcome):
    audit.record(db.session, "test.pending", actor="tester", unit=None)
    assert [e[1] for e in UnitOfWork.of(db.session).audit_events] == ["test.pending"]
    getattr(UnitOfWork.of(db.session), outcome)()
    assert UnitOfWork.of(db.session).audit_events == []
    written = set(db.session.scalars(select(audit.chain.AuditEvent.action)))
    assert ("test.pending" in written) == (outcome == "commit")


def test_a_refused_sign_in_is_a_result_and_its_try_is_kept(world):
    """authenticate() answers with the refusal instead of raising, so the boundary commits the
    recorded try like any other change."""
    from pengaduan.models import SignInAttempt
    from pengaduan.services.administration.auth import WRONG, authenticate

    refused = authenticate("officer.a@example.id", "not the password", "192.0.2.1")
    assert refused.user is None and refused.refusal == str(WRONG)
    accepted = authenticate("officer.a@example.id", "correct horse battery", "192.0.2.1")
    assert accepted.user is not None and accepted.user.email == "officer.a@example.id"
    assert accepted.refusal is None
    UnitOfWork.of(db.session).commit()
    assert [a.outcome for a in db.session.scalars(
        select(SignInAttempt).order_by(SignInAttempt.id))] == ["failure", "success"]


def test_a_job_commits_its_work_and_rolls_back_a_failure(app):
    """Scheduled work owns its transactions through one wrapper: done work is committed, a
    failure is rolled back and logged, and the worker goes on."""
    from pengaduan.jobs import job

    @job
    def records():
        audit.record(db.session, "test.job_done", actor="system", unit=None)
        return "done"

    @job
    def fails():
        audit.record(db.session, "test.job_failed", actor="system", unit=None)
        raise RuntimeError("the job broke halfway")

    assert records(app) == "done"
    assert fails(app) is None
    with app.app_context():
        actions = set(db.session.scalars(select(audit.chain.AuditEvent.action)))
    assert "test.job_done" in actions and "test.job_failed" not in actions


def test_deadline_arithmetic_reads_no_database():
    """sla/ computes deadlines from what it is given: it imports neither the session nor the
    models' database extension."""
    for path in sorted((PACKAGE / "sla").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "extensions" not in imported, path.name
