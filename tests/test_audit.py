"""The tamper-evident audit chain (design.md section 6): append, append-only, verify, sign,
and concurrent appenders. Runs on SQLite and, with PENGADUAN_TEST_DATABASE_URL, PostgreSQL."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import event, exc, func, insert, select, text

from pengaduan import audit
from pengaduan.audit.chain import iso_utc
from pengaduan.audit.checkpoints import checkpoint_message, verify_checkpoint
from pengaduan.errors import ConcurrentChange, TriggerNotAllowed
from pengaduan.extensions import db
from pengaduan.models import AuditCheckpoint, AuditEvent, Complaint, ComplaintEvent, Unit, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint

# --------------------------------------------------------------------------- helpers


def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def chain() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def count_events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def checkpoints() -> list[AuditCheckpoint]:
    return list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))


def verify(**kw) -> audit.VerifyResult:
    return audit.verify_chain(db.session, audit.public_key_hex(), **kw)


def record_n(n: int, prefix: str = "test.event") -> None:
    """n events, each in its own transaction."""
    for i in range(n):
        audit.record(db.session, prefix, actor="tester", unit=None, payload={"i": i})
        db.session.commit()


def run_verify_cli(runner):
    return runner.invoke(args=["audit", "verify"])


def assert_cli_ok(runner, count: int, head: str) -> None:
    result = run_verify_cli(runner)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"OK {count} events head {head}"


def assert_cli_fails(runner, seq: int, kind: str) -> None:
    result = run_verify_cli(runner)
    assert result.exit_code == 1, result.output
    assert re.search(rf"^FAIL seq {seq}: {kind}: ", result.output, re.M), result.output
    assert "OK " not in result.output


def assert_problem(seq: int, kinds) -> audit.VerifyResult:
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    result = verify()
    assert not result.ok, "verify did not notice the tampering"
    assert result.problem.seq == seq, str(result.problem)
    assert result.problem.kind in kinds, str(result.problem)
    return result


def disable_append_only(app) -> None:
    """What an attacker with DDL rights does first (the tests then tamper with raw SQL)."""
    if is_postgres(app):
        db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        db.session.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
    else:
        for table in ("audit_events", "audit_checkpoints"):
            for verb in ("update", "delete"):
                db.session.execute(text(f"DROP TRIGGER {table}_no_{verb}"))
    db.session.commit()


def tamper(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def shift_up(from_seq: int) -> None:
    """seq += 1 for every event from from_seq on, in two steps so the primary key stays unique."""
    db.session.execute(text("UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= :s"), {"s": from_seq})
    db.session.execute(text("UPDATE audit_events SET seq = seq - 999999 WHERE seq >= 1000000"))


def forged_row(seq: int, prev_hash: str, action: str = "complaint.forged") -> dict:
    now = utcnow()
    body = audit.canonical({"seq": seq, "occurred_at": iso_utc(now), "actor": "mallory",
                            "action": action, "complaint": None, "payload": {"forged": True}})
    return {"seq": seq, "occurred_at": now, "actor": "mallory", "action": action,
            "complaint_code": None, "body": body, "prev_hash": prev_hash,
            "hash": audit.chain_hash(prev_hash, body)}


@pytest.fixture
def filed_chain(app, world):
    """The world (9 administrative events) plus three filed complaints: 12 events."""
    for title in ("Satu", "Dua", "Tiga"):
        world.file(title=f"Pengaduan {title}")
    events = chain()
    assert [e.seq for e in events] == list(range(1, 13))
    return events


# --------------------------------------------------------------------------- 1. basics


def test_seq_gap_free_and_hashes_cover_the_exact_stored_body(filed_chain):
    events = filed_chain
    assert events[0].prev_hash == "0" * 64 == audit.GENESIS
    prev = audit.GENESIS
    for expected_seq, ev in enumerate(events, start=1):
        assert ev.seq == expected_seq
        assert ev.prev_hash == prev
        assert ev.hash == hashlib.sha256((ev.prev_hash + ev.body).encode("utf-8")).hexdigest()
        # body is canonical JSON: sorted keys, no insignificant whitespace, exactly as stored
        parsed = json.loads(ev.body)
        assert ev.body == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert list(parsed) == sorted(parsed)
        assert set(parsed) == {"seq", "occurred_at", "actor", "action", "complaint", "units", "payload"}
        assert parsed["seq"] == ev.seq and parsed["action"] == ev.action
        assert parsed["units"] == (ev.units.split() if ev.units else None)
        assert parsed["actor"] == ev.actor and parsed["complaint"] == ev.complaint_code
        assert parsed["occurred_at"] == iso_utc(ev.occurred_at)
        prev = ev.hash
    assert [e.action for e in events[-3:]] == ["complaint.filed"] * 3
    assert len({e.hash for e in events}) == len(events)
    result = verify()
    assert result.ok and result.count == 12 and result.head == events[-1].hash


def test_hash_is_over_the_stored_string_not_a_reparsed_value(ctx):
    """Non-ASCII text and microsecond timestamps survive the round trip bit for bit."""
    audit.record(db.session, "test.unicode", actor="tester", unit=None,
                 payload={"teks": "Pelayanan \u00e9\u00e8 \u2014 \U0001f600", "n": 1, "z": None, "a": [1, 2]})
    db.session.commit()
    db.session.expire_all()
    (ev,) = chain()
    assert "\u2014" in ev.body and "\\u" not in ev.body
    assert ev.hash == hashlib.sha256((audit.GENESIS + ev.body).encode("utf-8")).hexdigest()
    assert json.loads(ev.body)["occurred_at"] == iso_utc(ev.occurred_at)
    assert verify().ok


def test_rolled_back_session_appends_nothing(world):
    before = chain()
    unit = db.session.scalar(select(Unit).where(Unit.code == "UNIT-A"))  # transaction begun
    audit.record(db.session, "test.rolled_back", actor="tester", unit=None, complaint=None)
    db.session.rollback()
    world.file()  # a later, unrelated unit of work commits
    after = chain()
    assert unit is not None
    assert [e.action for e in after[len(before):]] == ["complaint.filed"]
    assert "test.rolled_back" not in {e.action for e in after}
    assert verify().ok


def test_record_then_rollback_without_prior_query_appends_nothing(world):
    """record() only touches session.info; a rollback must discard it even if the session
    had not begun a transaction yet (e.g. right after a commit)."""
    before = count_events()
    db.session.commit()  # no transaction open now
    audit.record(db.session, "test.rolled_back", actor="tester", unit=None)
    db.session.rollback()
    audit.record(db.session, "test.kept", actor="tester", unit=None)
    db.session.commit()
    actions = [e.action for e in chain()[before:]]
    assert actions == ["test.kept"]


def test_rolled_back_savepoint_keeps_the_outer_transactions_events(world):
    """Rolling back a SAVEPOINT must not drop events recorded by the enclosing transaction,
    which still commits its change."""
    before = count_events()
    filed = file_complaint({"unit": "UNIT-A", "category": "GENERAL", "title": "Jalan rusak",
                            "description": "Berlubang.", "name": "Ani", "consent": True})
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            audit.record(db.session, "test.inside_savepoint", actor="tester", unit=None)
            raise RuntimeError("undo the savepoint")
    db.session.commit()
    code = filed.complaint.tracking_code
    assert db.session.scalar(select(Complaint).where(Complaint.tracking_code == code)) is not None
    actions = [(e.action, e.complaint_code) for e in chain()[before:]]
    assert actions == [("complaint.filed", code)]


def test_service_events_join_the_chain_only_at_commit(world):
    before = count_events()
    filed = file_complaint({"unit": "UNIT-A", "category": "GENERAL", "title": "Air mati",
                            "description": "Sudah dua hari.", "name": "Sari", "consent": True})
    db.session.flush()
    assert count_events() == before  # queued, not yet appended
    db.session.commit()
    events = chain()
    assert len(events) == before + 1
    assert events[-1].action == "complaint.filed"
    assert events[-1].complaint_code == filed.complaint.tracking_code
    assert verify().ok


def test_failure_at_commit_leaves_neither_the_change_nor_the_event(app, world):
    """The event is written inside the same transaction as the change: when the commit
    fails after the append, both disappear, and the chain continues without a gap."""
    c = world.file().complaint
    cid, version = c.id, c.version
    before = count_events()
    seen_inside = {}

    def fail_after_append(session):
        # listeners run in registration order: the chain's hook has appended already
        seen_inside["events"] = session.scalar(select(func.count()).select_from(AuditEvent))
        raise RuntimeError("commit fails")

    session_class = db.session.session_factory.class_
    event.listen(session_class, "before_commit", fail_after_append)
    try:
        advance(c, "verify", world.officer_a, unit="UNIT-A", category="GENERAL",
                classification="pengaduan")
        with pytest.raises(RuntimeError):
            db.session.commit()
    finally:
        event.remove(session_class, "before_commit", fail_after_append)
    db.session.rollback()
    assert seen_inside["events"] == before + 1  # appended in the same transaction...
    assert count_events() == before  # ...and gone with it
    c = db.session.get(Complaint, cid)
    assert (c.state, c.version) == ("received", version)
    assert not [e for e in c.events if e.trigger == "verify"]

    # a failure while flushing the change at commit time: same outcome
    advance(c, "verify", world.officer_a, unit="UNIT-A", category="GENERAL",
            classification="pengaduan")
    db.session.add(Unit(code="UNIT-A", name="duplicate", timezone="Asia/Jakarta"))
    with pytest.raises(exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count_events() == before
    assert db.session.get(Complaint, cid).state == "received"

    # the next successful commit continues the chain gap-free
    c = db.session.get(Complaint, cid)
    advance(c, "verify", world.officer_a, unit="UNIT-A", category="GENERAL",
            classification="pengaduan")
    db.session.commit()
    events = chain()
    assert [e.seq for e in events] == list(range(1, before + 2))
    assert events[-1].action == "complaint.verify"
    assert verify().ok


def test_verify_walks_in_batches(filed_chain):
    result = verify(batch=5)
    assert result.ok and result.count == 12 and result.head == filed_chain[-1].hash
    assert verify(batch=1).ok


def test_empty_chain_verifies(ctx, runner):
    assert_cli_ok(runner, 0, audit.GENESIS)


# --------------------------------------------------------------------------- 2. CLI


def test_cli_verify_healthy_chain(filed_chain, runner):
    assert_cli_ok(runner, 12, filed_chain[-1].hash)


def test_cli_checkpoint_signs_the_head_once(filed_chain, runner):
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"signed seq 12 head {filed_chain[-1].hash}"
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0 and result.output.strip() == "head already signed"
    (cp,) = checkpoints()
    assert (cp.seq, cp.hash, cp.public_key) == (12, filed_chain[-1].hash, audit.public_key_hex())
    assert verify_checkpoint(cp, audit.public_key_hex())
    assert_cli_ok(runner, 12, filed_chain[-1].hash)


# --------------------------------------------------------------------------- 3. append-only


@pytest.mark.parametrize("sql", [
    "UPDATE audit_events SET body = body || ' ' WHERE seq = 2",
    "UPDATE audit_events SET action = 'x' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 12",
    "DELETE FROM audit_events",
    "UPDATE audit_checkpoints SET seq = 1",
    "DELETE FROM audit_checkpoints",
])
def test_database_refuses_update_and_delete(app, filed_chain, sql):
    audit.checkpoint(db.session)
    db.session.commit()
    snapshot = [(e.seq, e.action, e.body, e.hash) for e in chain()]
    with pytest.raises(exc.DBAPIError, match="append-only"):
        db.session.execute(text(sql))
        db.session.flush()
    db.session.rollback()
    assert [(e.seq, e.action, e.body, e.hash) for e in chain()] == snapshot
    assert len(checkpoints()) == 1
    assert verify().ok


def test_orm_delete_is_refused_too(filed_chain):
    db.session.delete(filed_chain[5])
    with pytest.raises(exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert count_events() == 12


def test_postgres_refuses_truncate(app, filed_chain):
    if not is_postgres(app):
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(exc.DBAPIError, match="append-only"):
        db.session.execute(text("TRUNCATE audit_events"))
    db.session.rollback()
    assert count_events() == 12


# --------------------------------------------------------------------------- 4. tampering


def test_altered_body_is_detected(app, filed_chain, runner):
    body = json.loads(filed_chain[6].body)
    body["payload"]["email"] = "mallory@example.id"
    disable_append_only(app)
    tamper("UPDATE audit_events SET body = :b WHERE seq = 7", b=audit.canonical(body))
    assert_problem(7, "altered")
    assert_cli_fails(runner, 7, "altered")


def test_altered_action_column_is_detected(app, filed_chain, runner):
    disable_append_only(app)
    tamper("UPDATE audit_events SET action = 'complaint.withdrawn' WHERE seq = 11")
    assert_problem(11, "altered")
    assert_cli_fails(runner, 11, "altered")


@pytest.mark.parametrize("column,value", [
    ("actor", "mallory"), ("complaint_code", "XXXX-0000"),
])
def test_altered_indexed_column_is_detected(app, filed_chain, runner, column, value):
    disable_append_only(app)
    tamper(f"UPDATE audit_events SET {column} = :v WHERE seq = 10", v=value)
    assert_problem(10, "altered")
    assert_cli_fails(runner, 10, "altered")


def test_altered_occurred_at_is_detected(app, filed_chain, runner):
    disable_append_only(app)
    moved = filed_chain[3].occurred_at - timedelta(days=3)
    db.session.execute(AuditEvent.__table__.update().where(AuditEvent.seq == 4).values(occurred_at=moved))
    db.session.commit()
    assert_problem(4, "altered")
    assert_cli_fails(runner, 4, "altered")


def test_deleted_middle_event_is_missing(app, filed_chain, runner):
    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq = 6")
    result = assert_problem(6, "missing")
    assert result.count == 5 and result.head == filed_chain[4].hash
    assert_cli_fails(runner, 6, "missing")
    assert verify(batch=5).problem.seq == 6  # also when the gap is at a batch boundary


def test_deleted_first_event_is_missing(app, filed_chain, runner):
    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq = 1")
    assert_problem(1, "missing")
    assert_cli_fails(runner, 1, "missing")


def test_forged_event_inserted_in_the_middle(app, filed_chain, runner):
    disable_append_only(app)
    shift_up(8)
    db.session.execute(insert(AuditEvent), [forged_row(8, secrets.token_hex(32))])
    db.session.commit()
    db.session.expire_all()
    assert [e.seq for e in chain()] == list(range(1, 14))
    assert_problem(8, ("inserted", "altered"))
    assert_cli_fails(runner, 8, "(inserted|altered)")


def as_rows(events) -> list[dict]:
    return [{c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns} for e in events]


def rechain(rows: list[dict], prev_hash: str) -> list[dict]:
    """What a forger with write access does: renumber the bodies and recompute every hash."""
    out = []
    for row in rows:
        body = json.loads(row["body"])
        body["seq"] = row["seq"]
        new_body = audit.canonical(body)
        digest = audit.chain_hash(prev_hash, new_body)
        out.append({**row, "body": new_body, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    return out


def test_forged_event_linked_to_its_predecessor(app, filed_chain, runner):
    """The forger links the new event 8 to event 7 properly and points the genuine event
    (now 9) at it; event 9's own hash no longer matches. (The unique prev_hash is dodged by
    deleting and re-inserting the tail.)"""
    disable_append_only(app)
    genuine = as_rows(filed_chain[7:])
    db.session.execute(text("DELETE FROM audit_events WHERE seq >= 8"))
    forged = forged_row(8, filed_chain[6].hash)
    shifted = [{**row, "seq": row["seq"] + 1} for row in genuine]
    shifted[0]["prev_hash"] = forged["hash"]
    db.session.execute(insert(AuditEvent), [forged, *shifted])
    db.session.commit()
    db.session.expire_all()
    result = assert_problem(9, "altered")
    assert result.count == 8  # the well-forged event itself is indistinguishable
    assert_cli_fails(runner, 9, "altered")


def test_full_rewrite_of_the_tail_is_caught_by_the_checkpoint(app, filed_chain, runner):
    """Re-chaining every later event leaves consistent links; only the signed head remains."""
    assert audit.checkpoint(db.session).seq == 12
    db.session.commit()
    disable_append_only(app)
    genuine = as_rows(filed_chain[7:])
    db.session.execute(text("DELETE FROM audit_events WHERE seq >= 8"))
    forged = forged_row(8, filed_chain[6].hash)
    tail = rechain([{**row, "seq": row["seq"] + 1} for row in genuine], forged["hash"])
    db.session.execute(insert(AuditEvent), [forged, *tail])
    db.session.commit()
    db.session.expire_all()
    result = assert_problem(12, "altered")
    assert "checkpoint" in result.problem.detail
    assert_cli_fails(runner, 12, "altered")


def test_altered_body_with_recomputed_hash_is_named_as_that_event(app, filed_chain, runner):
    """Event 9 changed and re-hashed: event 10 still names the old hash. The sound event 10
    was not inserted; event 9 was altered, and the chain is good up to event 8."""
    ev = filed_chain[8]
    body = json.loads(ev.body)
    body["payload"]["note"] = "rewritten history"
    new_body = audit.canonical(body)
    disable_append_only(app)
    tamper("UPDATE audit_events SET body = :b, hash = :h WHERE seq = 9",
           b=new_body, h=audit.chain_hash(ev.prev_hash, new_body))
    result = assert_problem(9, "altered")
    assert "hash recomputed" in result.problem.detail
    assert (result.count, result.head) == (8, filed_chain[7].hash)
    assert_cli_fails(runner, 9, "altered")
    assert verify(batch=9).problem.seq == 9  # also when event 10 starts the next batch


def test_forged_newest_event_after_a_signed_head_is_named_inserted(app, filed_chain, runner):
    """A sound event 13 that names no real predecessor, after the signed event 12: the
    checkpoint vouches for event 12, so event 13 is the one named."""
    audit.checkpoint(db.session)
    db.session.commit()
    disable_append_only(app)
    db.session.execute(insert(AuditEvent), [forged_row(13, secrets.token_hex(32))])
    db.session.commit()
    assert_problem(13, "inserted")
    assert_cli_fails(runner, 13, "inserted")


def test_rewritten_newest_event_is_caught_by_its_checkpoint(app, filed_chain, runner):
    """Recomputing the hash of the newest event breaks no link; the signed checkpoint does."""
    runner.invoke(args=["audit", "checkpoint"])
    ev = filed_chain[-1]
    body = json.loads(ev.body)
    body["payload"]["channel"] = "letter"
    new_body = audit.canonical(body)
    disable_append_only(app)
    tamper("UPDATE audit_events SET body = :b, hash = :h WHERE seq = 12",
           b=new_body, h=audit.chain_hash(ev.prev_hash, new_body))
    assert_problem(12, "altered")
    assert_cli_fails(runner, 12, "altered")


@pytest.mark.parametrize("via_cli", [True, False])
def test_truncation_after_a_signed_checkpoint(app, filed_chain, runner, via_cli):
    if via_cli:
        result = runner.invoke(args=["audit", "checkpoint"])
        assert result.exit_code == 0 and "signed seq 12" in result.output
    else:
        assert audit.checkpoint(db.session).seq == 12
        db.session.commit()
    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq > 10")
    result = assert_problem(11, "truncated")
    assert result.count == 10 and result.head == filed_chain[9].hash
    assert "12" in result.problem.detail
    assert_cli_fails(runner, 11, "truncated")


def test_truncation_of_everything_after_checkpoint(app, filed_chain, runner):
    audit.checkpoint(db.session)
    db.session.commit()
    disable_append_only(app)
    tamper("DELETE FROM audit_events")
    assert_problem(1, "truncated")
    assert_cli_fails(runner, 1, "truncated")


@pytest.mark.parametrize("claimed_key", ["other", "ours"])
def test_checkpoint_signed_with_another_key(filed_chain, runner, claimed_key):
    other = Ed25519PrivateKey.generate()
    now = utcnow()
    head = filed_chain[-1]
    db.session.add(AuditCheckpoint(
        seq=head.seq, hash=head.hash, signed_at=now,
        public_key=audit.public_key_hex(other) if claimed_key == "other" else audit.public_key_hex(),
        signature=other.sign(checkpoint_message(head.seq, head.hash, iso_utc(now))).hex()))
    db.session.commit()
    assert_problem(12, "checkpoint")
    assert_cli_fails(runner, 12, "checkpoint")


def test_checkpoint_with_tampered_fields_fails(app, filed_chain, runner):
    cp = audit.checkpoint(db.session)
    db.session.commit()
    disable_append_only(app)
    tamper("UPDATE audit_checkpoints SET seq = 11, hash = :h WHERE id = :id",
           h=filed_chain[10].hash, id=cp.id)
    assert_problem(11, "checkpoint")
    assert_cli_fails(runner, 11, "checkpoint")


# --------------------------------------------------------------------------- 5. auto checkpoints


def test_automatic_checkpoints_every_n_events(app, ctx, runner):
    app.config["PENGADUAN_CHECKPOINT_EVERY"] = 5
    record_n(12)
    events = chain()
    assert [e.seq for e in events] == list(range(1, 13))
    cps = checkpoints()
    assert [cp.seq for cp in cps] == [5, 10]
    for cp in cps:
        assert cp.hash == events[cp.seq - 1].hash
        assert verify_checkpoint(cp, audit.public_key_hex())
    assert verify().ok
    assert_cli_ok(runner, 12, events[-1].hash)


def test_automatic_checkpoint_at_the_end_of_a_crossing_batch(app, ctx, runner):
    app.config["PENGADUAN_CHECKPOINT_EVERY"] = 5
    for size in (3, 4, 5):  # seq 1-3, 4-7 (crosses 5), 8-12 (crosses 10)
        for i in range(size):
            audit.record(db.session, "test.batch", actor="tester", unit=None, payload={"i": i})
        db.session.commit()
    events = chain()
    assert [e.seq for e in events] == list(range(1, 13))
    assert [(cp.seq, cp.hash) for cp in checkpoints()] == [(7, events[6].hash), (12, events[11].hash)]
    assert_cli_ok(runner, 12, events[-1].hash)


def test_automatic_checkpoint_detects_truncation(app, ctx, runner):
    app.config["PENGADUAN_CHECKPOINT_EVERY"] = 5
    record_n(12)
    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq >= 9")
    assert_problem(9, "truncated")
    assert_cli_fails(runner, 9, "truncated")


def test_no_automatic_checkpoint_when_disabled(app, ctx):
    app.config["PENGADUAN_CHECKPOINT_EVERY"] = 0
    record_n(12)
    assert checkpoints() == []
    assert verify().ok


# --------------------------------------------------------------------------- 6. concurrency


def run_threads(target, n: int) -> list:
    results: list = [None] * n
    errors: list = []

    def wrapper(i):
        try:
            results[i] = target(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=wrapper, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results


def test_concurrent_appenders_never_fork_the_chain(app, ctx, runner):
    if not is_postgres(app):
        pytest.skip("concurrent appenders are exercised on PostgreSQL")
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads, timeout=30)

    def appender(i):
        with app.app_context():
            barrier.wait()
            for j in range(per_thread):
                audit.record(db.session, "test.concurrent", actor=f"thread:{i}", unit=None,
                             payload={"thread": i, "j": j})
                db.session.commit()
        return i

    db.session.rollback()
    run_threads(appender, threads)
    db.session.rollback()
    events = chain()
    total = threads * per_thread
    assert [e.seq for e in events] == list(range(1, total + 1))
    assert len({e.prev_hash for e in events}) == total  # no two events extend the same head
    for prev, ev in zip(events, events[1:]):
        assert ev.prev_hash == prev.hash
    per_actor = {}
    for ev in events:
        per_actor.setdefault(ev.actor, []).append(json.loads(ev.body)["payload"]["j"])
    assert all(js == list(range(per_thread)) for js in per_actor.values()) and len(per_actor) == threads
    # PENGADUAN_CHECKPOINT_EVERY defaults to 100: the heads at 100 and 200 were signed
    assert [cp.seq for cp in checkpoints()] == [100, 200]
    result = verify()
    assert result.ok and result.count == total
    assert_cli_ok(runner, total, events[-1].hash)


STEPS = [
    ("verify", "verified", {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}),
    ("follow_up", "followed_up", {"response": "Sudah kami proses."}),
    ("close", "closed", {"resolution": "KTP-el sudah diserahkan."}),
]


def race(app, complaint_id: int, user_id: int, trigger: str, fields: dict, threads: int = 8) -> list:
    """Every thread fires the same trigger on the same complaint at the same moment.

    PostgreSQL: each thread loads the complaint, then all meet at the barrier and advance,
    so every thread acts on the same (soon stale) version. SQLite: a write transaction holds
    the database's single write lock from its first statement (BEGIN IMMEDIATE), so a thread
    that loaded the complaint would wait at the barrier while holding the lock the others need
    to load it (deadlock until busy_timeout); there the threads meet at the barrier just
    before loading, and the write lock serialises load-and-advance."""
    load_before_barrier = is_postgres(app)
    barrier = threading.Barrier(threads, timeout=30)

    def contender(i):
        with app.app_context():
            try:
                if not load_before_barrier:
                    barrier.wait()
                actor = Actor.staff(db.session.get(User, user_id))
                complaint = db.session.get(Complaint, complaint_id)
                if load_before_barrier:
                    assert actor.user.unit_ids and complaint.state  # loaded now, not later
                    barrier.wait()
                advance(complaint, trigger, actor, **fields)
                db.session.commit()
                return ("ok", complaint.version)
            except (ConcurrentChange, TriggerNotAllowed) as e:
                db.session.rollback()
                return (type(e).__name__, None)
            except Exception as e:  # noqa: BLE001 - the test asserts on it
                db.session.rollback()
                return (f"unexpected {type(e).__name__}: {e}", None)

    return run_threads(contender, threads)


def advance_by_id(complaint_id: int, actor: Actor, trigger: str, fields: dict) -> int:
    """One uncontended advance, committed; returns how much it raised the version."""
    c = db.session.get(Complaint, complaint_id)
    before = c.version
    advance(c, trigger, actor, **fields)
    db.session.commit()
    return db.session.get(Complaint, complaint_id).version - before


def test_concurrent_advance_has_exactly_one_winner_per_step(app, world, runner, request):
    c = world.file().complaint
    cid, code, version = c.id, c.tracking_code, c.version
    reference = world.file().complaint.id  # advanced alone, to compare the version bump
    user_id = world.officer_a.user.id

    for trigger, state, fields in STEPS:
        bump = advance_by_id(reference, world.officer_a, trigger, fields)
        assert bump >= 1
        db.session.rollback()  # hold no transaction (SQLite: no write lock) while threads run
        outcomes = race(app, cid, user_id, trigger, fields)
        db.session.rollback()
        kinds = [kind for kind, _ in outcomes]
        assert kinds.count("ok") == 1, kinds
        assert all(k in ("ok", "ConcurrentChange", "TriggerNotAllowed") for k in kinds), kinds
        c = db.session.get(Complaint, cid)
        assert c.state == state
        # incremented by exactly one advance (the winner's), by no loser
        (winner_version,) = [v for kind, v in outcomes if kind == "ok"]
        assert c.version == winner_version == version + bump
        version = c.version
        assert len([e for e in c.events if e.trigger == trigger]) == 1
        bodies = db.session.scalars(select(AuditEvent.body).where(
            AuditEvent.complaint_code == code, AuditEvent.action == f"complaint.{trigger}")).all()
        assert len(bodies) == 1
        assert json.loads(bodies[0])["payload"]["version"] == c.version
        result = verify()
        assert result.ok, str(result.problem)
        db.session.rollback()

    events = chain()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.action for e in events if e.complaint_code == code] == [
        "complaint.filed", "complaint.verify", "complaint.follow_up", "complaint.close"]
    assert db.session.scalar(select(func.count()).select_from(ComplaintEvent).where(
        ComplaintEvent.complaint_id == cid)) == 4
    assert_cli_ok(runner, len(events), events[-1].hash)


def test_one_advance_increments_version_exactly_once(world):
    c = world.file().complaint
    for trigger, state, fields in STEPS:
        assert advance_by_id(c.id, world.officer_a, trigger, fields) == 1, trigger


# --------------------------------------------------------------------------- 7. explicit units


def test_record_needs_an_explicit_unit(ctx):
    """No guessing from payload keys: every caller says whose event it is (None: the whole
    deployment)."""
    with pytest.raises(TypeError):
        audit.record(db.session, "test.no_unit", actor="tester", payload={"unit": "UNIT-A"})
    db.session.rollback()


def test_events_name_their_units_in_the_column_and_the_hashed_body(filed_chain, world):
    """The world's and the complaints' events carry the unit they belong to; the staff
    account of two units names both; a change of units names the units before and after."""
    from pengaduan.services import create_user
    from pengaduan.services.administration.accounts import update_user

    both, _ = create_user("both@example.id", "officer", password="correct horse battery",
                          unit_codes=["UNIT-B", "UNIT-A"])
    update_user(world.officer_b.user, name="Officer B", role="officer", unit_codes=["UNIT-A"],
                active=True, actor=Actor.cli("admin"))
    db.session.commit()
    units = {(e.action, json.loads(e.body)["payload"].get("email") or json.loads(e.body)["payload"].get("code")):
             (e.units, json.loads(e.body)["units"]) for e in chain()}
    assert units[("unit.created", "UNIT-B")] == ("UNIT-B", ["UNIT-B"])
    assert units[("category.created", "GENERAL")] == (None, None)  # every unit's category
    assert units[("category.created", "ONLY-B")] == ("UNIT-B", ["UNIT-B"])
    assert units[("user.created", "officer.a@example.id")] == ("UNIT-A", ["UNIT-A"])
    assert units[("user.created", "auditor@example.id")] == (None, None)
    assert units[("user.created", "both@example.id")] == ("UNIT-A UNIT-B", ["UNIT-A", "UNIT-B"])
    assert units[("user.updated", "officer.b@example.id")] == ("UNIT-A UNIT-B", ["UNIT-A", "UNIT-B"])
    filed = [e for e in chain() if e.action == "complaint.filed"]
    assert {(e.units, json.loads(e.body)["units"][0]) for e in filed} == {("UNIT-A", "UNIT-A")}
    assert verify().ok


def test_altered_units_column_is_detected(app, filed_chain, runner):
    """The column a unit's pack is cut by is checked against the hashed body."""
    disable_append_only(app)
    tamper("UPDATE audit_events SET units = 'UNIT-B' WHERE seq = 10")
    assert_problem(10, "altered")
    assert_cli_fails(runner, 10, "altered")


# --------------------------------------------------------------------------- 8. chained checkpoints


def sign_at(monkeypatch, moment, *, heartbeat: bool = True) -> AuditCheckpoint:
    """A checkpoint signed as if the clock said `moment` (the worker's, some time ago)."""
    from pengaduan.audit import checkpoints as module

    monkeypatch.setattr(module, "utcnow", lambda: moment)
    try:
        cp = audit.checkpoint(db.session, heartbeat=heartbeat)
        db.session.commit()
    finally:
        monkeypatch.undo()
    return cp


def chained_checkpoints(app, monkeypatch) -> list[AuditCheckpoint]:
    """Events 1-12 with checkpoints 1 (seq 5, 90 minutes ago), 2 (seq 8, 60 minutes ago),
    3 (seq 12, 30 minutes ago) and 4 (seq 12 again, the worker's last interval: a minute ago)."""
    now = utcnow()
    cps = []
    for n, minutes in ((5, 90), (3, 60), (4, 30), (0, 1)):
        record_n(n)
        cps.append(sign_at(monkeypatch, now - timedelta(minutes=minutes)))
    return cps


def test_checkpoints_sign_their_counter_and_the_previous_checkpoint(app, ctx, runner, monkeypatch):
    from pengaduan.audit.checkpoints import checkpoint_hash, message_of

    cps = chained_checkpoints(app, monkeypatch)
    assert [(cp.counter, cp.seq) for cp in cps] == [(1, 5), (2, 8), (3, 12), (4, 12)]
    assert cps[0].prev_checkpoint_hash == audit.GENESIS
    for before, cp in zip(cps, cps[1:]):
        assert cp.prev_checkpoint_hash == checkpoint_hash(message_of(before))
    message = json.loads(message_of(cps[1]))
    assert message == {"counter": 2, "seq": 8, "hash": chain()[7].hash, "signed_at": iso_utc(cps[1].signed_at),
                       "prev_checkpoint_hash": checkpoint_hash(message_of(cps[0]))}
    assert all(verify_checkpoint(cp, audit.public_key_hex()) for cp in cps)
    assert_cli_ok(runner, 12, chain()[-1].hash)


def test_deleted_middle_checkpoint_is_detected(app, ctx, runner, monkeypatch):
    chained_checkpoints(app, monkeypatch)
    disable_append_only(app)
    tamper("DELETE FROM audit_checkpoints WHERE counter = 2")
    result = assert_problem(12, "checkpoint")
    assert "checkpoint 2 is missing" in result.problem.detail
    assert_cli_fails(runner, 12, "checkpoint")


def test_checkpoint_moved_to_another_link_is_detected(app, ctx, runner, monkeypatch):
    """Renumbering the checkpoints after removing one breaks the signatures."""
    chained_checkpoints(app, monkeypatch)
    disable_append_only(app)
    tamper("DELETE FROM audit_checkpoints WHERE counter = 2")
    tamper("UPDATE audit_checkpoints SET counter = counter - 1 WHERE counter > 2")
    assert_problem(12, "checkpoint")
    assert_cli_fails(runner, 12, "checkpoint")


def test_truncated_with_its_checkpoints_leaves_a_stale_head(app, ctx, runner, monkeypatch):
    """Deleting every event after seq 5 together with the checkpoints after it leaves a
    consistent chain, but its newest checkpoint is 90 minutes old: more than twice the
    worker's interval (15 minutes)."""
    chained_checkpoints(app, monkeypatch)
    assert_cli_ok(runner, 12, chain()[-1].hash)
    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq > 5")
    tamper("DELETE FROM audit_checkpoints WHERE counter > 1")
    assert verify().ok  # nothing inside the chain shows it...
    result = verify(max_age=timedelta(minutes=30))
    assert (result.problem.seq, result.problem.kind) == (5, "stale")
    assert "checkpoint 1, seq 5" in result.problem.detail
    assert_cli_fails(runner, 5, "stale")  # ...its age does


def test_a_truncation_signed_over_by_the_worker_leaves_a_gap_between_checkpoints(app, ctx, runner, monkeypatch):
    """Once the worker has signed the cut head again, the age of the newest checkpoint says
    nothing; the 90 minutes without a checkpoint before it still show (downtime or removal:
    only a saved head tells which). An unbroken run of checkpoints shows no gap."""
    chained_checkpoints(app, monkeypatch)
    assert verify(max_age=timedelta(minutes=30)).gaps == []
    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq > 5")
    tamper("DELETE FROM audit_checkpoints WHERE counter > 1")
    sign_at(monkeypatch, utcnow())
    result = verify(max_age=timedelta(minutes=30))
    assert result.ok and result.count == 5
    [gap] = result.gaps
    assert gap.startswith("no checkpoint between checkpoint 1 (") and "and checkpoint 2 (" in gap
    printed = runner.invoke(args=["audit", "verify"])
    assert printed.exit_code == 0 and printed.output.startswith("OK 5 events")
    assert f"NOTE {gap}: the service was down, or checkpoints were removed" in printed.output


def test_stale_head_follows_the_configured_interval(app, ctx, runner, monkeypatch):
    chained_checkpoints(app, monkeypatch)
    disable_append_only(app)
    tamper("DELETE FROM audit_checkpoints WHERE counter = 4")  # the newest: 30 minutes old now
    app.config["PENGADUAN_CHECKPOINT_MINUTES"] = 20
    assert_cli_ok(runner, 12, chain()[-1].hash)
    app.config["PENGADUAN_CHECKPOINT_MINUTES"] = 10
    assert_cli_fails(runner, 12, "stale")


def test_events_without_any_checkpoint_go_stale(ctx):
    record_n(3)
    assert verify(max_age=timedelta(minutes=30)).ok
    result = verify(max_age=timedelta(minutes=30), now=utcnow() + timedelta(hours=1))
    assert result.problem.kind == "stale" and "no signed checkpoint" in result.problem.detail


def test_worker_signs_the_head_on_its_interval_even_when_nothing_happened(app, ctx, runner):
    from pengaduan.jobs import checkpoint_job

    db.session.rollback()
    checkpoint_job(app)  # an empty chain too: its head is signed
    record_n(2)
    checkpoint_job(app)
    checkpoint_job(app)
    db.session.rollback()
    assert [(cp.counter, cp.seq) for cp in checkpoints()] == [(1, 0), (2, 2), (3, 2)]
    assert_cli_ok(runner, 2, chain()[-1].hash)
    # `audit checkpoint` still signs only a head not yet signed
    assert runner.invoke(args=["audit", "checkpoint"]).output.strip() == "head already signed"


def test_rewritten_history_after_a_kept_checkpoint_is_detected(app, ctx, runner, monkeypatch):
    """The forger keeps checkpoint 1 (seq 5), rewrites events 6-12 consistently and removes
    checkpoint 2, which signed the old event 8: the gap in the checkpoints shows it; keeping
    checkpoint 2 instead, its head no longer matches."""
    chained_checkpoints(app, monkeypatch)
    original = as_rows(chain())
    disable_append_only(app)
    db.session.execute(text("DELETE FROM audit_events WHERE seq > 5"))
    rows = [{**row, "body": row["body"].replace('"i":', '"i_forged":')} for row in original[5:]]
    db.session.execute(insert(AuditEvent), rechain(rows, original[4]["hash"]))
    db.session.commit()
    db.session.expire_all()
    assert_problem(8, "altered")  # checkpoint 2 signed another event 8
    tamper("DELETE FROM audit_checkpoints WHERE counter = 2")
    result = assert_problem(12, "checkpoint")
    assert "checkpoint 2 is missing" in result.problem.detail


# --------------------------------------------------------------------------- 9. saved heads


def run_verify_with(runner, *args):
    return runner.invoke(args=["audit", "verify", *args])


def test_expect_head_passes_while_the_chain_contains_it(app, ctx, runner, monkeypatch):
    chained_checkpoints(app, monkeypatch)
    saved = audit.published_head(db.session)
    record_n(2)
    result = run_verify_with(runner, "--expect-head", f"{saved['seq']}:{saved['hash']}",
                             "--expect-head", f"5:{chain()[4].hash.upper()}")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"OK 14 events head {chain()[-1].hash}",
        f"saved heads contained: 2, the newest seq 12 hash {saved['hash']}"]


@pytest.mark.parametrize("value", ["12", "x:" + "0" * 64, "12:abc", "12:" + "g" * 64])
def test_expect_head_must_be_seq_and_hash(ctx, runner, value):
    result = run_verify_with(runner, "--expect-head", value)
    assert result.exit_code == 2 and "SEQ:HASH" in result.output


def test_expect_head_from_before_a_truncation_fails_naming_it(app, ctx, runner, monkeypatch):
    """An auditor saved the head at seq 12. Events 9-12 and the checkpoints that signed
    them are removed just now (so the remaining head is not stale yet): the saved head names
    the truncation."""
    cps = chained_checkpoints(app, monkeypatch)
    saved = audit.published_head(db.session)
    assert (saved["seq"], saved["counter"]) == (12, 4)
    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq > 8")
    tamper("DELETE FROM audit_checkpoints WHERE counter > 2")
    sign_at(monkeypatch, utcnow())  # the worker's next interval signs the shortened chain
    assert [cp.counter for cp in checkpoints()] == [1, 2, 3] and cps
    alone = run_verify_cli(runner)  # the chain alone holds: only the hour without checkpoints shows
    assert alone.exit_code == 0 and alone.output.splitlines()[0] == f"OK 8 events head {chain()[-1].hash}"
    assert alone.output.splitlines()[1].startswith("NOTE no checkpoint between checkpoint 2 (")
    result = run_verify_with(runner, "--expect-head", f"{saved['seq']}:{saved['hash']}")
    assert result.exit_code == 1, result.output
    assert re.search(r"^FAIL seq 12: truncated: the saved head at seq 12 .* beyond the end of the "
                     r"chain at seq 8", result.output, re.M), result.output
    assert "OK " not in result.output


def test_expect_head_on_a_fork_fails_naming_it(app, ctx, runner, monkeypatch):
    """History rewritten after the saved head was published, and the newer checkpoints
    removed: the chain verifies on its own, but at seq 12 it holds another event."""
    chained_checkpoints(app, monkeypatch)
    saved = audit.published_head(db.session)
    original = as_rows(chain())
    disable_append_only(app)
    db.session.execute(text("DELETE FROM audit_events WHERE seq > 8"))
    rows = [{**row, "body": row["body"].replace('"i":', '"i_forged":')} for row in original[8:]]
    db.session.execute(insert(AuditEvent), rechain(rows, original[7]["hash"]))
    db.session.commit()
    tamper("DELETE FROM audit_checkpoints WHERE counter > 2")
    db.session.expire_all()
    forged_head = chain()[-1].hash
    assert verify(max_age=timedelta(minutes=90)).ok
    result = run_verify_with(runner, "--expect-head", f"12:{saved['hash']}")
    assert result.exit_code == 1
    assert f"FAIL seq 12: forked: event 12 has hash {forged_head}, the saved head says {saved['hash']}" \
        in result.output


# --------------------------------------------------------------------------- 10. the published head


def test_published_head_is_public_signed_and_verifies_with_the_key(app, client):
    assert client.get("/audit/head.json", headers={"Accept": "application/json"}).status_code == 404
    with app.app_context():
        record_n(3)
        audit.checkpoint(db.session)
        db.session.commit()
        key, head_hash = audit.public_key_hex(), chain()[-1].hash
    response = client.get("/audit/head.json")  # no sign-in
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Set-Cookie" not in response.headers
    head = response.get_json()
    assert set(head) == {"seq", "hash", "time", "counter", "prev_checkpoint_hash", "checkpoint_hash",
                         "message", "algorithm", "signature", "public_key"}
    assert (head["seq"], head["hash"], head["counter"], head["public_key"]) == (3, head_hash, 1, key)
    message = audit.canonical({"counter": head["counter"], "seq": head["seq"], "hash": head["hash"],
                               "signed_at": head["time"], "prev_checkpoint_hash": head["prev_checkpoint_hash"]})
    assert head["message"] == message
    assert head["checkpoint_hash"] == hashlib.sha256(message.encode()).hexdigest()
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(head["public_key"]))
    public.verify(bytes.fromhex(head["signature"]), message.encode())  # raises if not
    with pytest.raises(InvalidSignature):
        public.verify(bytes.fromhex(head["signature"]), message.replace('"seq":3', '"seq":2').encode())


# --------------------------------------------------------------------------- 11. the migration


def test_migration_leaves_older_events_and_checkpoints_verifiable(app, world, runner):
    """A chain written before migration 0010 (bodies without units, checkpoints without a
    counter) verifies after it: the units column is filled from what the rows tell, the
    legacy checkpoint is checked alone, and the chain of checkpoints starts at counter 1."""
    from flask_migrate import downgrade, upgrade

    from pengaduan.services.administration.accounts import update_user

    world.file(title="Di unit A")
    world.file(unit="UNIT-B", category="ONLY-B", title="Di unit B")
    update_user(world.officer_b.user, name="Officer B", role="officer", unit_codes=["UNIT-B"],
                active=True, actor=Actor.cli("admin"))
    db.session.commit()
    db.session.remove()
    downgrade(revision="0009")

    # Rewrite the chain as the older code wrote it, and sign its head the older way.
    disable_append_only_raw = (["ALTER TABLE audit_events DISABLE TRIGGER USER"] if is_postgres(app)
                               else ["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"])
    for sql in disable_append_only_raw:
        db.session.execute(text(sql))
    rows = [dict(r._mapping) for r in db.session.execute(text(
        "SELECT seq, occurred_at, actor, action, complaint_code, body FROM audit_events ORDER BY seq"))]
    db.session.execute(text("DELETE FROM audit_events"))
    prev = audit.GENESIS
    for row in rows:
        body = json.loads(row["body"])
        del body["units"]
        row["body"] = audit.canonical(body)
        row["prev_hash"], row["hash"] = prev, audit.chain_hash(prev, row["body"])
        prev = row["hash"]
        db.session.execute(text(
            "INSERT INTO audit_events (seq, occurred_at, actor, action, complaint_code, body, prev_hash, hash) "
            "VALUES (:seq, :occurred_at, :actor, :action, :complaint_code, :body, :prev_hash, :hash)"), row)
    signed_at = utcnow()
    db.session.execute(text(
        "INSERT INTO audit_checkpoints (seq, hash, signed_at, public_key, signature) VALUES (:s, :h, :t, :k, :sig)"),
        {"s": rows[-1]["seq"], "h": prev, "t": signed_at.replace(tzinfo=None) if not is_postgres(app) else signed_at,
         "k": audit.public_key_hex(),
         "sig": audit.signing_key().sign(checkpoint_message(rows[-1]["seq"], prev, iso_utc(signed_at))).hex()})
    if is_postgres(app):
        db.session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    db.session.commit()
    db.session.remove()

    upgrade()
    events = chain()
    assert "units" not in json.loads(events[0].body) and len(events) == len(rows)
    units = {(e.action, e.complaint_code or json.loads(e.body)["payload"].get("email")
              or json.loads(e.body)["payload"].get("code")): e.units for e in events}
    assert units[("unit.created", "UNIT-B")] == "UNIT-B"
    assert units[("category.created", "GENERAL")] is None
    assert units[("category.created", "ONLY-B")] == "UNIT-B"
    assert units[("user.created", "officer.a@example.id")] == "UNIT-A"
    assert units[("user.created", "admin@example.id")] is None
    assert units[("user.updated", "officer.b@example.id")] == "UNIT-B"
    assert sorted(e.units for e in events if e.action == "complaint.filed") == ["UNIT-A", "UNIT-B"]
    (legacy,) = checkpoints()
    assert (legacy.counter, legacy.prev_checkpoint_hash) == (None, None)
    assert_cli_ok(runner, len(rows), prev)

    first = audit.checkpoint(db.session, heartbeat=True)
    db.session.commit()
    assert (first.counter, first.prev_checkpoint_hash, first.seq) == (1, audit.GENESIS, len(rows))
    assert_cli_ok(runner, len(rows), prev)
    with pytest.raises(exc.DBAPIError, match="append-only"):  # the triggers are back
        db.session.execute(text("DELETE FROM audit_checkpoints"))
    db.session.rollback()
