"""Latency of the audit log viewer (/staff/audit) on a filled database, and of its verify button.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/audit_log_latency.py --database-url URL [--requests 100] [--verify]

Requests go through the whole Flask stack in-process (WSGI test client), as in
queue_latency.py: routing, the auditor's session, the policy, the queries and the template.
Each view is asked `--requests` times after a warm-up; p50 and p95 are printed per view with
the number of SQL statements one request issues and the time spent in them (the rest is
Flask, the sign-in, the policy and rendering 50 entries). With `--verify`, the verification
the verify button runs is timed once (without the audit event the button appends, so the
database is left as it was).

generate.py writes staff actors as `user:<id>` (the application writes `user:<id>:<email>`),
so the actor filter is asked for such a label as typed, which the viewer accepts as a label
pasted from an evidence pack.
"""
from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta

from common import database, machine, migrated_app, parser, percentile, timings


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--requests", type=int, default=100)
    options.add_argument("--verify", action="store_true", help="also press the verify button once")
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import event, func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import AuditEvent
    from pengaduan.services.oversight.supervision import today

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context():
        head = db.session.scalar(select(func.max(AuditEvent.seq)))
        # A complaint from the middle of the chain, the busiest staff actor, a day a year ago.
        code = db.session.scalar(select(AuditEvent.complaint_code).where(AuditEvent.seq == head // 2))
        busiest = db.session.execute(select(AuditEvent.actor, func.count()).where(
            AuditEvent.seq > head - 200_000, AuditEvent.actor.like("user:%"))
            .group_by(AuditEvent.actor).order_by(func.count().desc()).limit(1)).first()[0]
        year_ago = today() - timedelta(days=365)
        queries = {"n": 0, "seconds": 0.0, "started": 0.0}

        def before(*_):
            queries["n"] += 1
            queries["started"] = time.perf_counter()

        def after(*_):
            queries["seconds"] += time.perf_counter() - queries["started"]

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)

    views = [
        ("first page (newest 50)", "/staff/audit"),
        ("page 2 (before=)", f"/staff/audit?before={head - 49}"),
        ("a page in the middle of the chain", f"/staff/audit?before={head // 2}"),
        ("complaint (its 4-6 events)", f"/staff/audit?complaint={code}"),
        (f"actor: the busiest officer ({busiest})", f"/staff/audit?actor={busiest}"),
        ("actor: name matching no account", "/staff/audit?actor=nobody+at+all"),
        ("action: step verify (24 % of events)", "/staff/audit?action=complaint.verify"),
        ("action: provide_info (3 %)", "/staff/audit?action=complaint.provide_info"),
        ("action: evidence exported (none)", "/staff/audit?action=evidence.exported"),
        (f"period: one day a year ago ({year_ago})", f"/staff/audit?from={year_ago}&to={year_ago}"),
        ("period: from a year ago on", f"/staff/audit?from={year_ago}"),
        ("period and action", f"/staff/audit?from={year_ago}&to={year_ago}&action=complaint.close"),
        ("actor and action", f"/staff/audit?actor={busiest}&action=complaint.close"),
    ]
    client = app.test_client()
    response = client.post("/login", data={"email": "auditor@bench.id", "password": PASSWORD})
    assert response.status_code == 302, response.status_code

    print(machine(url))
    print(f"{head:,} audit events; {args.requests} requests a view after 10 warm-up requests")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    print("| view | events shown | p50 | p95 | queries | time in SQL (mean) |\n|---|---|---|---|---|---|")
    for label, path in views:
        for _ in range(10):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        shown = response.get_data(as_text=True).count('<tr id="seq-')
        queries["n"], queries["seconds"] = 0, 0.0
        samples = timings(lambda: client.get(path), args.requests)
        print(f"| {label} | {shown} | {statistics.median(samples):.1f} ms | {percentile(samples, 0.95):.1f} ms "
              f"| {queries['n'] / args.requests:.0f} | {queries['seconds'] * 1000 / args.requests:.1f} ms |")

    if args.verify:
        # What the button runs, timed without its audit event: the database stays as it was.
        from pengaduan.services.oversight import audit_log

        with app.test_request_context():
            started = time.perf_counter()
            result = audit_log.verify_chain()
            seconds = time.perf_counter() - started
        answer = "OK" if result.ok else f"FAIL {result.problem}"
        print(f"verification as the button runs it: {seconds:.1f} s for {result.count:,} events "
              f"({result.count / seconds:,.0f} events/s): {answer[:160]}")

if __name__ == "__main__":
    main()
