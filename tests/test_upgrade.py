"""Upgrading a database filled by an earlier release keeps every complaint, clock and the
audit chain: the schema is built at the earlier revision (the real migrations from the
start, as an old installation has it), filled with what that release's own code wrote, then
upgraded to the head with `db upgrade`, on SQLite and PostgreSQL.

The data, tests/data/upgrade_0030.json.gz, was written by the code of git revision 13255f7
(the last commit whose newest migration is 0030, before the compensations, service
standards, Ombudsman register, findings, job runs and later migrations): its demo seed
(complaints in every state, their clocks, timelines and notifications, supervision records,
documents, survey answers), three complaints with attachments filed through its public form,
a sweep (escalations) and signed checkpoints of the audit chain. Each table's rows are
loaded into the 0030 schema as they were.

Refreshing it for the next release (once this release is tagged, or from the last commit of
it): run

    python tests/upgrade_fixture.py <last commit of the release> tests/data/upgrade_NNNN.json.gz

where NNNN is that commit's newest migration, point FIXTURE below at the new file (the
revision comes from the file), run this test on both databases, and delete the old file. The
script's snippet that files complaints through the form may need the form's field names of
that release, and its demo seed must still run.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import json
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import DateTime, MetaData, func, select, text

from pengaduan.extensions import db
from pengaduan.models import AuditCheckpoint, AuditEvent, Complaint, ComplaintClock
from pengaduan.workflow import current_workflow

FIXTURE = Path(__file__).parent / "data" / "upgrade_0030.json.gz"


@pytest.fixture(scope="module")
def fixture() -> dict:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        return json.load(f)


def decode(value, column):
    """The Python value `encode` of tests/upgrade_fixture.py wrote, for this database's column."""
    if not isinstance(value, dict):
        return value
    (kind, raw), = value.items()
    if kind == "datetime":
        moment = dt.datetime.fromisoformat(raw)
        if isinstance(column.type, DateTime) and column.type.timezone and moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)  # SQLite kept UTC without a zone
        return moment
    if kind == "date":
        return dt.date.fromisoformat(raw)
    if kind == "bytes":
        return base64.b64decode(raw)
    if kind == "decimal":
        return decimal.Decimal(raw)
    return raw  # a JSON column's value


def reflect(names) -> MetaData:
    metadata = MetaData()
    metadata.reflect(db.engine, only=list(names))
    return metadata


def load(data: dict) -> None:
    """Insert the fixture's rows as they are (ids included) into the schema at its revision;
    foreign keys are checked at commit (SQLite) or, as in a restore, not at all (PostgreSQL,
    whose triggers, the audit chain's guard among them, are for changes, not for loading)."""
    metadata = reflect(data["tables"])
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica" if postgres
                          else "PRAGMA defer_foreign_keys = ON"))
        for table in metadata.sorted_tables:
            dumped = data["tables"][table.name]
            columns = [table.c[name] for name in dumped["columns"]]
            rows = [{c.name: decode(v, c) for c, v in zip(columns, row)} for row in dumped["rows"]]
            if rows:
                conn.execute(table.insert(), rows)
        if postgres:
            conn.execute(text("SET session_replication_role = origin"))
            for table in metadata.sorted_tables:  # new rows after the upgrade take the next ids
                if "id" in table.c and table.c.id.primary_key:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                      f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A raw value as today's models read it (SQLite keeps UTC without a zone)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.timezone.utc)


def snapshot(tables: dict) -> dict[str, list[dict]]:
    """Every row of the fixture's tables, with only the columns the old schema had."""
    metadata = reflect(tables)
    found = {}
    with db.engine.connect() as conn:
        for name, dumped in tables.items():
            table = metadata.tables[name]
            order = list(table.primary_key.columns) or [table.c[c] for c in dumped["columns"]]
            found[name] = [dict(row._mapping) for row in conn.execute(
                select(*[table.c[c] for c in dumped["columns"]]).order_by(*order))]
    return found


def test_an_upgrade_keeps_every_complaint_clock_and_the_audit_chain(app, fixture):
    Path(app.config["PENGADUAN_SIGNING_KEY"]).write_text(fixture["signing_key_pem"])
    app.config["SECRET_KEY"] = fixture["secret_key"]
    # The fixture's newest checkpoint was signed when it was made: not "stale" here.
    app.config["PENGADUAN_CHECKPOINT_MINUTES"] = 10_000_000
    runner = app.test_cli_runner()
    with app.app_context():
        downgrade(revision="base")
        upgrade(revision=fixture["alembic_revision"])
        load(fixture)
        before = snapshot(fixture["tables"])
        assert {name: len(rows) for name, rows in before.items()} == \
               {name: len(t["rows"]) for name, t in fixture["tables"].items()}
        db.session.remove()

        upgrade()  # what `flask --app run db upgrade` does

        after = snapshot(fixture["tables"])
        for name in fixture["tables"]:
            assert after[name] == before[name], f"{name}: rows changed by the upgrade"
        clocks = {c.id: c for c in db.session.scalars(select(ComplaintClock))}
        old_clocks = {row["id"]: row for row in before["complaint_clocks"]}
        assert set(clocks) == set(old_clocks)
        for cid, clock in clocks.items():  # read by today's models: the same deadlines, in UTC
            assert clock.due_at == as_utc(old_clocks[cid]["due_at"]), cid
            assert clock.complaint_id == old_clocks[cid]["complaint_id"], cid
        states = set(current_workflow().states)
        complaints = list(db.session.scalars(select(Complaint)))
        assert len(complaints) == len(fixture["tables"]["complaints"]["rows"])
        assert {c.state for c in complaints} <= states
        assert len({c.state for c in complaints}) >= 5  # several states, closed ones among them
        assert sum(len(c.attachments) for c in complaints) == len(fixture["tables"]["attachments"]["rows"]) > 0
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        signed = db.session.scalar(select(func.count()).select_from(AuditCheckpoint))
        assert signed >= 2
        db.session.remove()

    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith(f"OK {events} events"), verified.output

    # Today's code goes on writing on the upgraded data: a sweep, a signed head, the chain.
    swept = runner.invoke(args=["sla", "sweep"])
    assert swept.exit_code == 0, swept.output
    signed_now = runner.invoke(args=["audit", "checkpoint"])
    assert signed_now.exit_code == 0, signed_now.output
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and verified.output.startswith("OK "), verified.output
