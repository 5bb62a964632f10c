"""Latency of the staff home page (/staff) on a filled database, per role.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/home_latency.py --database-url URL [--requests 100]

Requests go through the whole Flask stack in-process (WSGI test client), as in
queue_latency.py: routing, the sign-in session, the policy, every query and the template with
its charts. Each role's page is asked `--requests` times after a warm-up; p50 and p95 are
printed with the number of SQL statements one request issues. The figures (twelve months of
charts) are kept between views until anything changes (services/oversight/dashboard.py), so
a second line per supervisor and auditor gives the cost of a view that computes them again
(`--cold` requests, the kept figures dropped before each).

generate.py writes complaints, their steps and the clock of the stage they are in, but no
complainant replies, escalations or instructions. So that the home page's lists have
something to read, the first run adds, in unit U00 and marked in their data as
`{"bench": "home"}`: 300 complainant replies (information supplied) in the last 30 days,
100 ratings, 200 escalations nobody acknowledged and 40 instructions addressed to officer0;
later runs find them and add nothing.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from common import database, machine, migrated_app, parser, percentile, timings

ROLES = [
    ("officer (1 unit of 20)", "officer0.u00@bench.id", "/staff"),
    ("supervisor (1 unit of 20)", "supervisor0.u00@bench.id", "/staff"),
    ("auditor (every unit)", "auditor@bench.id", "/staff"),
]
MARK = {"bench": "home"}


def add_activity(db) -> int:
    """The replies, ratings, escalations and instructions of unit U00 (once); rows added."""
    from sqlalchemy import select

    from pengaduan.models import Complaint, ComplaintClock, ComplaintEvent, Escalation, Unit, User, utcnow

    unit = db.session.scalar(select(Unit).where(Unit.code == "U00"))
    if db.session.scalar(select(Escalation.id).where(Escalation.unit_id == unit.id).limit(1)) is not None:
        return 0
    rng = random.Random(11)
    now = utcnow()
    officer = db.session.scalar(select(User).where(User.email == "officer0.u00@bench.id"))
    supervisor = db.session.scalar(select(User).where(User.email == "supervisor0.u00@bench.id"))
    open_ = db.session.execute(
        select(Complaint.id, Complaint.assignee_id).where(Complaint.unit_id == unit.id, Complaint.state != "closed")
        .order_by(Complaint.id.desc()).limit(2000)).all()
    closed = db.session.scalars(
        select(Complaint.id).where(Complaint.unit_id == unit.id, Complaint.state == "closed")
        .order_by(Complaint.id.desc()).limit(100)).all()
    clocks = db.session.execute(
        select(ComplaintClock.id, ComplaintClock.complaint_id, ComplaintClock.rule, ComplaintClock.due_at)
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(Complaint.unit_id == unit.id, ComplaintClock.due_at < now).limit(200)).all()
    rows = []
    for complaint_id, _ in rng.sample(open_, min(300, len(open_))):
        rows.append(ComplaintEvent(complaint_id=complaint_id, kind="transition", trigger="provide_info",
                                   from_state="awaiting_info", to_state="received", actor_role="citizen",
                                   unit_id=unit.id, public=True, data=dict(MARK),
                                   occurred_at=now - timedelta(minutes=rng.randrange(30 * 24 * 60))))
    for complaint_id in closed:
        rows.append(ComplaintEvent(complaint_id=complaint_id, kind="rating", actor_role="citizen",
                                   unit_id=unit.id, public=True, data={**MARK, "rating": rng.choice((3, 4, 5))},
                                   occurred_at=now - timedelta(minutes=rng.randrange(30 * 24 * 60))))
    for complaint_id, _ in rng.sample(open_, min(40, len(open_))):
        rows.append(ComplaintEvent(complaint_id=complaint_id, kind="instruction", actor_role="supervisor",
                                   actor_id=supervisor.id, unit_id=unit.id, public=False,
                                   data={**MARK, "note": "Mohon segera ditindaklanjuti.", "to_user": officer.id,
                                         "to_unit": unit.id},
                                   occurred_at=now - timedelta(hours=rng.randrange(24 * 14))))
    for clock_id, complaint_id, rule, due_at in clocks:
        rows.append(Escalation(complaint_id=complaint_id, clock_id=clock_id, unit_id=unit.id, rule=rule, cycle=1,
                               level="overdue", due_at=due_at, fired_at=due_at + timedelta(minutes=5)))
    db.session.add_all(rows)
    db.session.commit()
    return len(rows)


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--requests", type=int, default=100)
    options.add_argument("--cold", type=int, default=20, help="requests with the figures recomputed")
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import event, func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint
    from pengaduan.services.oversight import dashboard

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context():
        added = add_activity(db)
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        queries = {"n": 0}
        event.listen(db.engine, "before_cursor_execute", lambda *_: queries.__setitem__("n", queries["n"] + 1))

    print(machine(url))
    print(f"{total:,} complaints; {added} rows of activity added to unit U00 now; "
          f"{args.requests} requests a page after 10 warm-up requests")
    print("| home page of | p50 | p95 | queries |\n|---|---|---|---|")
    for label, email, path in [*ROLES, ("for comparison: the officer's queue", ROLES[0][1], "/staff/queue")]:
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"].endswith("/staff"), response.status_code
        for _ in range(10):
            response = client.get(path)
            assert response.status_code == 200, response.status_code
        queries["n"] = 0
        samples = timings(lambda: client.get(path), args.requests)
        print(f"| {label} | {statistics.median(samples):.1f} ms | {percentile(samples, 0.95):.1f} ms "
              f"| {queries['n'] / args.requests:.0f} |", flush=True)
        if path != "/staff" or "officer" in label:
            continue
        samples = []  # as on the first view, or after any change: the figures computed again
        queries["n"] = 0
        for _ in range(args.cold):
            dashboard._kept.clear()
            started = time.perf_counter()
            client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        print(f"| {label}, figures recomputed | {statistics.median(samples):.1f} ms | "
              f"{percentile(samples, 0.95):.1f} ms | {queries['n'] / args.cold:.0f} |", flush=True)


if __name__ == "__main__":
    main()
