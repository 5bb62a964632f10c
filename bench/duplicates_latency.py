"""Latency of the duplicate suggestions on the case page of a new complaint, in the busiest
unit of a filled database: the candidate query alone, the whole suggestion service (query,
loading the candidates, ranking them again with rapidfuzz), and the case page that shows them.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    flask --app run db upgrade                                          # with DATABASE_URL=URL
    python bench/duplicates_latency.py --database-url URL [--requests 200]

The database is only read (the schema must already be up to date: this script does not
migrate it). The complaints measured are the newest in the initial state of the unit with the
most open complaints received in the last 90 days; each request takes the next of them in turn.
"""
from __future__ import annotations

import itertools
import os
import statistics

from common import database, machine, make_app, parser, percentile, timings


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--requests", type=int, default=200)
    options.add_argument("--complaints", type=int, default=20, help="new complaints rotated over")
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from datetime import timedelta

    from sqlalchemy import func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, User, utcnow
    from pengaduan.policy import Actor
    from pengaduan.services.complaints import duplicates
    from pengaduan.workflow import current_workflow

    app = make_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context():
        workflow = current_workflow()
        open_states = [s for s in workflow.states if s not in workflow.terminal_states]
        since = utcnow() - timedelta(days=duplicates.WINDOW_DAYS)
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        unit_id, in_window = db.session.execute(
            select(Complaint.unit_id, func.count()).where(Complaint.state.in_(open_states),
                                                          Complaint.received_at >= since)
            .group_by(Complaint.unit_id).order_by(func.count().desc()).limit(1)).one()
        new = db.session.scalars(select(Complaint).where(
            Complaint.unit_id == unit_id, Complaint.state == workflow.initial)
            .order_by(Complaint.id.desc()).limit(args.complaints)).all()
        officer = next(u for u in db.session.scalars(select(User).where(User.role == "officer"))
                       if unit_id in u.unit_ids)
        actor = Actor.staff(officer)
        codes = [c.tracking_code for c in new]
        email = officer.email
        found = [len(duplicates.suggestions(actor, c)) for c in new]
        terms = [len(duplicates._terms(c)) for c in new]

        rotation = itertools.cycle(new)

        def candidates():
            complaint = next(rotation)
            duplicates._candidate_ids(complaint, duplicates._terms(complaint), since)

        def service():
            duplicates.suggestions(actor, next(rotation))

        query_ms = timings(candidates, args.requests, warmup=10)
        service_ms = timings(service, args.requests, warmup=10)
        plan = None
        if db.engine.dialect.name == "postgresql":
            complaint = new[0]
            statement = duplicates._candidate_statement(complaint, duplicates._terms(complaint), since)
            compiled = statement.compile(db.engine, compile_kwargs={"render_postcompile": True})
            plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.params))
        db.session.rollback()

    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    pages = itertools.cycle(codes)

    def page():
        assert client.get(f"/staff/complaints/{next(pages)}").status_code == 200

    page_ms = timings(page, args.requests, warmup=10)
    from pengaduan.web import staff  # the same page without suggestions, for comparison

    shown, staff.suggestions = staff.suggestions, lambda *args, **kwargs: []
    bare_ms = timings(page, args.requests, warmup=10)
    staff.suggestions = shown

    print(machine(url), "load average %.1f %.1f %.1f" % os.getloadavg())
    print(f"{total:,} complaints; the busiest unit has {in_window:,} open complaints received in the last "
          f"{duplicates.WINDOW_DAYS} days; {len(new)} new complaints rotated, {statistics.mean(terms):.1f} "
          f"terms each on average, {statistics.mean(found):.1f} suggestions shown on average; "
          f"{args.requests} requests after 10 warm-up requests")
    print("| what | p50 | p95 |\n|---|---|---|")
    for label, samples in (("candidate query (database)", query_ms),
                           ("suggestions (query, load, rank again)", service_ms),
                           ("case page of a new complaint, whole request", page_ms),
                           ("the same page without suggestions", bare_ms)):
        print(f"| {label} | {statistics.median(samples):.1f} ms | {percentile(samples, 0.95):.1f} ms |")
    if plan:
        print(plan)
    print("load average at the end %.1f %.1f %.1f" % os.getloadavg())


if __name__ == "__main__":
    main()
