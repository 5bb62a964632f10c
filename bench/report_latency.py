"""Time to produce the periodic report on a filled database: all units and one unit, as a page
(HTML with its charts) and as a PDF, for a quarter and for a year.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/report_latency.py --database-url URL [--requests 2] [--formats html,pdf] [--periods quarter,year]

Requests go through the whole Flask stack in-process (WSGI test client): the sign-in session,
the policy, every query, the template with its charts and, for the PDF, WeasyPrint. Each case
is asked `--requests` times after one warm-up; the median and the slowest are printed, with
the time the figures alone take (`periodic_report` once, no template), the SQL statements of
one request and the size of the answer.

generate.py gives every open complaint the clock of the stage it is in, but a closed
complaint none: the report's on-time rate and durations read the clocks that finished in the
period. So the first run adds to every complaint closed in the last 400 days the four
finished staff clocks it would have (verification, written response, first follow-up,
resolution; about 85 % within their limit), marked `{"bench": "report"}` in their
explanation; later runs find them and add nothing. Nothing else is changed.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta

from common import bulk_insert, database, machine, migrated_app, parser, settle

MARK = "report"
# (rule, days allowed, typical days taken): the perpres76 limits, in calendar days here.
RULES = [("verification", 5, 2), ("response", 10, 4), ("first_follow_up", 14, 5), ("resolution", 60, 20)]


def add_finished_clocks(db) -> int:
    """The finished clocks of the complaints closed in the last 400 days (once); rows added."""
    from sqlalchemy import select

    from pengaduan.models import Complaint, ComplaintClock, utcnow
    from pengaduan.audit.chain import iso_utc

    marked = db.session.scalar(select(ComplaintClock.id).where(ComplaintClock.rule == "resolution",
                                                              ComplaintClock.stopped_at.is_not(None)).limit(1))
    if marked is not None:
        return 0
    rng = random.Random(7)
    since = utcnow() - timedelta(days=400)
    closed = db.session.execute(
        select(Complaint.id, Complaint.received_at, Complaint.closed_at)
        .where(Complaint.state == "closed", Complaint.closed_at >= since)).all()
    rows, added = [], 0
    for complaint_id, received, closed_at in closed:
        span = max((closed_at - received).total_seconds() / 86400, 0.1)
        for rule, allowed, typical in RULES:
            taken = rng.uniform(0.2, typical * 2) if rng.random() < 0.85 else rng.uniform(allowed, allowed * 2)
            stopped = received + timedelta(days=min(taken, span))
            rows.append({"complaint_id": complaint_id, "rule": rule, "counting_from": received,
                         "due_at": received + timedelta(days=allowed), "stopped_at": stopped, "consumed": 0,
                         "explanation": {"bench": MARK, "clock_started": iso_utc(received)}, "cycle": 1,
                         "next_step": 0, "next_check_at": None})
        if len(rows) >= 40_000:
            bulk_insert(db, ComplaintClock, rows)
            added += len(rows)
            rows = []
    bulk_insert(db, ComplaintClock, rows)
    added += len(rows)
    db.session.commit()
    settle(db)
    return added


def periods(today: date) -> list[tuple[str, date, date]]:
    """The last whole quarter and the last twelve whole months before today."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = quarter_start - timedelta(days=1)
    month_start = date(today.year, today.month, 1)
    return [("quarter", date(end.year, end.month - 2, 1), end),
            ("year", date(month_start.year - 1, month_start.month, 1), month_start - timedelta(days=1))]


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--requests", type=int, default=2)
    options.add_argument("--formats", default="html,pdf", help="comma-separated: html, csv, pdf")
    options.add_argument("--periods", default="quarter,year", help="comma-separated: quarter, year")
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import event, func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, ComplaintClock, Unit
    from pengaduan.services.oversight.reports import periodic_report
    from pengaduan.services.oversight.supervision import today

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False,
                       PENGADUAN_OFFICE_NAME="Pemerintah Kabupaten Contoh")
    with app.app_context():
        started = time.perf_counter()
        added = add_finished_clocks(db)
        took = time.perf_counter() - started
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        finished = db.session.scalar(select(func.count()).select_from(ComplaintClock)
                                     .where(ComplaintClock.stopped_at.is_not(None)))
        unit = db.session.scalar(select(Unit).where(Unit.code == "U00"))
        local_today = today()
        queries = {"n": 0}
        event.listen(db.engine, "before_cursor_execute", lambda *_: queries.__setitem__("n", queries["n"] + 1))

    print(machine(url))
    print(f"{total:,} complaints, {finished:,} finished clocks"
          + (f" ({added:,} added now in {took:.0f} s)" if added else "")
          + f"; {args.requests} requests a case after one warm-up")
    client = app.test_client()
    response = client.post("/login", data={"email": "auditor@bench.id", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    print("| period | units | format | complaints in period | figures only | request p50 | slowest | queries | size |")
    print("|---|---|---|---|---|---|---|---|---|")
    for period, start, end in periods(local_today):
        if period not in args.periods.split(","):
            continue
        for scope, code in (("all 20", ""), ("one (U00)", "U00")):
            with app.app_context():
                chosen = db.session.get(Unit, unit.id) if code else None
                began = time.perf_counter()
                received = periodic_report(start, end, chosen).received
                figures = time.perf_counter() - began
            for fmt in args.formats.split(","):
                path = f"/staff/reports?from={start}&to={end}&unit={code}" + (f"&format={fmt}" if fmt != "html" else "")
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                samples = []
                queries["n"] = 0
                for _ in range(args.requests):
                    began = time.perf_counter()
                    response = client.get(path)
                    samples.append(time.perf_counter() - began)
                    assert response.status_code == 200
                print(f"| {period} {start}–{end} | {scope} | {fmt} | {received:,} | {figures:.2f} s "
                      f"| {statistics.median(samples):.2f} s | {max(samples):.2f} s "
                      f"| {queries['n'] / args.requests:.0f} | {len(response.get_data()) / 1024:,.0f} KB |",
                      flush=True)


if __name__ == "__main__":
    main()
