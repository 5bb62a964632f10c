"""The schema comes from migrations only, and datetimes are UTC on every backend."""
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from pengaduan.extensions import db
from pengaduan.models import User
from pengaduan.models.base import UTCDateTime
from pengaduan.services.complaints.search import SEARCH_INDEXES, SEARCH_TABLES

WIB = timezone(timedelta(hours=7))


def _not_search_index(name, type_, parent_names) -> bool:
    """The search indexes of migrations 0014 and 0018 live outside the models: SQLite's FTS5 tables
    (with their shadow tables), PostgreSQL's generated tsvector column and its indexes."""
    if type_ == "table":
        return not (name or "").startswith(SEARCH_TABLES)
    if type_ == "column":
        return name != "search_vector"
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # see the queue index test
def test_models_match_migrations(ctx):
    """Autogenerate finds nothing to add: every model change has its migration."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_as_batch": True,
                                                         "include_name": _not_search_index})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(ctx):
    """The initial migration can be rolled back and re-applied."""
    downgrade(revision="base")
    assert "complaints" not in inspect(db.engine).get_table_names()
    upgrade()
    assert {"complaints", "audit_events", "complaint_clocks"} <= set(inspect(db.engine).get_table_names())


def test_constraints_are_named(ctx):
    """The naming convention gives every unique constraint and foreign key a stable name."""
    inspector = inspect(db.engine)
    uniques = {u["name"] for u in inspector.get_unique_constraints("audit_events")}
    assert {"uq_audit_events_prev_hash", "uq_audit_events_hash"} <= uniques
    fks = {fk["name"] for fk in inspector.get_foreign_keys("complaints")}
    assert "fk_complaints_unit_id_units" in fks


def test_datetimes_are_stored_and_read_as_utc(world):
    """An aware local time goes in; the same instant comes back in UTC, on every backend."""
    user = User.by_email("auditor@example.id")
    user.last_login_at = datetime(2026, 3, 17, 9, 30, 15, 123456, tzinfo=WIB)
    db.session.commit()
    db.session.expire_all()
    again = User.by_email("auditor@example.id").last_login_at
    assert again.tzinfo is not None and again.utcoffset() == timedelta(0)
    assert again == datetime(2026, 3, 17, 2, 30, 15, 123456, tzinfo=timezone.utc)
    raw = db.session.execute(text("SELECT last_login_at FROM users WHERE email = 'auditor@example.id'")).scalar()
    if db.engine.dialect.name == "sqlite":
        assert str(raw).startswith("2026-03-17 02:30:15")


def test_naive_datetimes_are_refused(ctx):
    """Naive datetimes are a bug: the type refuses them instead of guessing."""
    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), db.engine.dialect)


def test_sqlite_pragmas(ctx):
    """SQLite runs with foreign keys, WAL and a busy timeout."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # autogenerate can't compare it
def test_queue_index_serves_the_queue_order_without_sorting(ctx):
    """Autogenerate cannot compare expression indexes, so this checks the one the queue
    relies on: a unit's complaints in one state come off the index in page order."""
    query = ("SELECT id FROM complaints WHERE unit_id = 1 AND state = 'closed' "
             "ORDER BY stage_due_at IS NULL, stage_due_at, id LIMIT 26")
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(str(row) for row in db.session.execute(text("EXPLAIN QUERY PLAN " + query)))
        assert "ix_complaints_queue" in plan and "TEMP B-TREE" not in plan, plan
    else:
        # An empty table would be scanned whole; forbid that to see which plan the index allows.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.scalars(text("EXPLAIN " + query)))
        assert "ix_complaints_queue" in plan and "Sort" not in plan, plan
