"""Cost of the SLA sweep: escalate the overdue complaints among many, then an idle sweep.

    python bench/sweep.py [--complaints 100000] [--overdue 8800] [--database-url URL]

The table is filled with bulk inserts (not through the services: that would take longer
than the thing measured). Every complaint has a running verification clock; `--overdue` of
them passed their deadline a day ago and were never escalated, the rest are due in ten
days. The sweep fires the overdue level once for each (warning skipped: the deadline has
passed), with its timeline event, audit event and notifications to the unit's officers and
supervisor. A PostgreSQL URL must name an empty database (createdb it first).
"""
from __future__ import annotations

import time
from datetime import timedelta

from common import bulk_insert, database, machine, migrated_app, parser, settle

UNITS = 10
CHUNK = 10_000


def fill(n: int, overdue: int, now) -> None:
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, ComplaintClock, Unit
    from pengaduan.services import create_category, create_user
    from pengaduan.sla import WorkingCalendar
    from pengaduan.sla.ladder import step_time

    unit_ids = []
    for u in range(UNITS):
        db.session.add(Unit(code=f"U{u}", name=f"Unit {u}"))
    db.session.flush()
    for u in range(UNITS):
        create_user(f"officer{u}a@bench.id", "officer", unit_codes=[f"U{u}"])
        create_user(f"officer{u}b@bench.id", "officer", unit_codes=[f"U{u}"])
        create_user(f"supervisor{u}@bench.id", "supervisor", unit_codes=[f"U{u}"])
        unit_ids.append(Unit.by_code(f"U{u}").id)
    create_category("GEN", "General")
    db.session.commit()
    cal = WorkingCalendar()
    late_due = now - timedelta(days=1)
    future_due = now + timedelta(days=10)
    late_check = step_time(late_due, -1, cal)
    future_check = step_time(future_due, -1, cal)
    for start in range(0, n, CHUNK):
        complaints, clocks = [], []
        for i in range(start, min(n, start + CHUNK)):
            late = i % max(1, n // overdue) == 0 and i // max(1, n // overdue) < overdue
            due = late_due if late else future_due
            received = due - timedelta(days=4)
            complaints.append({
                "id": i + 1, "tracking_code": f"B{i:07d}", "pin_hash": "-", "title": "Judul",
                "description": "Isi", "classification": "pengaduan", "channel": "web",
                "privacy": "public", "late_filing": False, "unit_id": unit_ids[i % UNITS],
                "state": "received", "received_at": received, "state_changed_at": received,
                "updated_at": received, "stage_due_at": due, "version": 1})
            clocks.append({
                "complaint_id": i + 1, "rule": "verification", "counting_from": received,
                "due_at": due, "consumed": 0, "explanation": {}, "cycle": 1, "next_step": 0,
                "next_check_at": late_check if late else future_check,
                "calendar_version": cal.version})
        bulk_insert(db, Complaint, complaints)
        bulk_insert(db, ComplaintClock, clocks)
        db.session.commit()
    settle(db)


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--complaints", type=int, default=100_000)
    options.add_argument("--overdue", type=int, default=8_800)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import event, func, select

    from pengaduan.extensions import db
    from pengaduan.models import Escalation, Notification, utcnow
    from pengaduan.jobs.sweep import sweep

    app = migrated_app(url, tmp)
    with app.app_context():
        now = utcnow()
        started = time.perf_counter()
        fill(args.complaints, args.overdue, now)
        filled = time.perf_counter() - started

        queries = 0

        def count(*_):
            nonlocal queries
            queries += 1

        event.listen(db.engine, "before_cursor_execute", count)
        started = time.perf_counter()
        report = sweep(now)
        swept = time.perf_counter() - started
        busy_queries, queries = queries, 0
        escalations = db.session.scalar(select(func.count()).select_from(Escalation))
        notices = db.session.scalar(select(func.count()).select_from(Notification))

        started = time.perf_counter()
        idle = sweep(now + timedelta(minutes=1))
        idle_seconds = time.perf_counter() - started
        assert escalations == report.get("overdue") == args.overdue, (report, escalations)
        assert not idle.get("overdue")

    print(machine(url))
    print(f"filled {args.complaints} complaints with running clocks in {filled:.1f} s")
    print(f"sweep: {escalations} escalated ({notices} notifications) in {swept:.2f} s, "
          f"{busy_queries} queries, {swept / escalations * 1000:.3f} ms per escalation")
    print(f"idle sweep over the same table: {idle_seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
