"""Audit events name their unit; checkpoints form a chain of their own.

Events gain `units` (the codes of the units they belong to, NULL for the whole deployment).
New events carry it in their hashed body as well; the events already in the chain cannot be
re-hashed, so their column is filled here, once, from what the rows tell (the unit of the
timeline step or escalation they record, the complaint's unit, the supervision record's
units, the staff account's units, the unit a payload names) and is not part of their hash.

Checkpoints gain `counter` and `prev_checkpoint_hash`. Existing checkpoints cannot be signed
again here (the signing key is not the database's), so they stay as they are, without a
counter: `audit verify` checks each legacy one alone (its signature, and its head against the
chain), and the chain of checkpoints starts at counter 1 with the first one signed after this
migration. Downgrading removes the chained checkpoints, which the older code cannot read.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:00:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BATCH = 1000


def _json_text(dialect: str, *path: str) -> str:
    """SQL for a text value inside the event's body."""
    if dialect == "postgresql":
        return f"(body::jsonb #>> '{{{','.join(path)}}}')"
    return f"json_extract(body, '$.{'.'.join(path)}')"


def _allow_updates(dialect: str, allowed: bool) -> None:
    """The audit tables refuse UPDATE and DELETE (migration 0001): lifted for this migration."""
    if dialect == "postgresql":
        verb = "DISABLE" if allowed else "ENABLE"
        for table in ("audit_events", "audit_checkpoints"):
            op.execute(f"ALTER TABLE {table} {verb} TRIGGER {table}_append_only")
    elif dialect == "sqlite":
        for table in ("audit_events", "audit_checkpoints"):
            for verb in ("UPDATE", "DELETE"):
                name = f"{table}_no_{verb.lower()}"
                if allowed:
                    op.execute(f"DROP TRIGGER IF EXISTS {name}")
                else:
                    op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                               f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _complaint_event_units(dialect: str) -> None:
    """A complaint's events: the unit of the timeline step or escalation the event records,
    the unit a filing names, else the complaint's unit now."""
    as_int = "CAST({} AS INTEGER)"
    op.execute(f"""
        UPDATE audit_events SET units = COALESCE(
            (SELECT u.code FROM complaint_events ce JOIN units u ON u.id = ce.unit_id
              WHERE ce.id = {as_int.format(_json_text(dialect, 'payload', 'event_id'))}),
            (SELECT u.code FROM escalations x JOIN units u ON u.id = x.unit_id
              WHERE x.id = {as_int.format(_json_text(dialect, 'payload', 'escalation_id'))}),
            CASE WHEN action = 'complaint.filed' THEN {_json_text(dialect, 'payload', 'unit')} END,
            (SELECT u.code FROM complaints c JOIN units u ON u.id = c.unit_id
              WHERE c.tracking_code = audit_events.complaint_code))
        WHERE complaint_code IS NOT NULL
    """)


def _other_units(bind, action: str, payload: dict, cache: dict) -> list:
    """Units of an event about no complaint, from its payload (the one-off guess the new
    events no longer need)."""
    def record_units(record_id):
        key = ("record", record_id)
        if key not in cache:
            cache[key] = list(bind.execute(sa.text(
                "SELECT u.code FROM supervision_units s JOIN units u ON u.id = s.unit_id "
                "WHERE s.record_id = :id"), {"id": record_id}).scalars())
        return cache[key]

    def user_units(email):
        key = ("user", email)
        if key not in cache:
            cache[key] = list(bind.execute(sa.text(
                "SELECT u.code FROM users a JOIN user_units uu ON uu.user_id = a.id "
                "JOIN units u ON u.id = uu.unit_id WHERE a.email = :email"), {"email": email}).scalars())
        return cache[key]

    codes = set()
    if action.startswith("supervision."):
        if isinstance(payload.get("id"), int):
            codes.update(record_units(payload["id"]))
        return sorted(codes)
    if action.startswith("unit.") and isinstance(payload.get("code"), str):
        return [payload["code"]]
    for part in (payload, payload.get("before"), payload.get("after")):
        if isinstance(part, dict) and isinstance(part.get("units"), list):
            codes.update(code for code in part["units"] if isinstance(code, str))
    if isinstance(payload.get("unit"), str):
        codes.add(payload["unit"])
    if action.startswith("user.") and isinstance(payload.get("email"), str):
        codes.update(user_units(payload["email"]))
    return sorted(codes)


def _backfill_units(bind) -> None:
    dialect = bind.dialect.name
    _complaint_event_units(dialect)
    cache: dict = {}
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT seq, action, body FROM audit_events WHERE complaint_code IS NULL AND seq > :last "
            "ORDER BY seq LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        updates = []
        for seq, action, body in rows:
            try:
                payload = json.loads(body).get("payload") or {}
            except (ValueError, AttributeError):
                payload = {}
            codes = _other_units(bind, action, payload if isinstance(payload, dict) else {}, cache)
            if codes:
                updates.append({"seq": seq, "units": " ".join(codes)})
        if updates:
            bind.execute(sa.text("UPDATE audit_events SET units = :units WHERE seq = :seq"), updates)
        last = rows[-1].seq


def upgrade():
    bind = op.get_bind()
    op.add_column('audit_events', sa.Column('units', sa.Text(), nullable=True))
    op.add_column('audit_checkpoints', sa.Column('counter', sa.Integer(), nullable=True))
    op.add_column('audit_checkpoints', sa.Column('prev_checkpoint_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_audit_checkpoints_counter', 'audit_checkpoints', ['counter'], unique=True)
    op.create_index('ix_audit_checkpoints_prev_checkpoint_hash', 'audit_checkpoints',
                    ['prev_checkpoint_hash'], unique=True)
    _allow_updates(bind.dialect.name, True)
    _backfill_units(bind)
    _allow_updates(bind.dialect.name, False)


def downgrade():
    bind = op.get_bind()
    _allow_updates(bind.dialect.name, True)
    op.execute("DELETE FROM audit_checkpoints WHERE counter IS NOT NULL")
    _allow_updates(bind.dialect.name, False)
    op.drop_index('ix_audit_checkpoints_prev_checkpoint_hash', table_name='audit_checkpoints')
    op.drop_index('ix_audit_checkpoints_counter', table_name='audit_checkpoints')
    # SQLite drops columns in place (3.35+): no table copy, so the append-only triggers stay.
    op.drop_column('audit_checkpoints', 'prev_checkpoint_hash')
    op.drop_column('audit_checkpoints', 'counter')
    op.drop_column('audit_events', 'units')
