"""What SP4N-LAPOR!'s postings add to the supervisor's overdue review, the periodic report and
the evidence pack on a filled database: the LAPOR! parts alone (services) and the whole pages.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    flask --app run db upgrade                                          # with DATABASE_URL=URL
    python bench/lapor_latency.py --database-url URL [--rounds 20] [--requests 3]

generate.py gives complaints of the `sp4n_lapor` channel (10 %) no LAPOR! ID. So the first run
(under `flock /tmp/bench1m.lock`, since others read the same database) gives every one of them
an ID (`BENCH-<id>`) and LAPOR!'s dates, and a posting to most of their public answers (the
steps that answer in words, services.complaints.lapor's definition): 97 % of answers older than
14 days, 60 % of newer ones, after 0.5 to 72 hours (one in ten after 3 to 15 days), recorded as
by an adapter; then each complaint's `lapor_unposted_since`. Later runs find the IDs and add
nothing. Nothing else is changed.
"""
from __future__ import annotations

import fcntl
import random
import statistics
import time
from datetime import date, timedelta

from common import database, machine, make_app, parser, settle, timings

PREFIX = "BENCH-"
LOCK = "/tmp/bench1m.lock"


def prepare(db) -> str:
    """LAPOR! IDs, postings and waiting marks, once (see the module's docstring)."""
    from sqlalchemy import func, select, text

    from pengaduan.models import Complaint, LaporPosting, utcnow
    from pengaduan.services.complaints.lapor import answer_postings

    from common import bulk_insert

    if db.session.scalar(select(Complaint.id).where(Complaint.lapor_id.like(PREFIX + "%")).limit(1)):
        return "prepared earlier"
    started = time.perf_counter()
    ids = db.session.execute(text(
        "UPDATE complaints SET lapor_id = :prefix || id, lapor_received_at = received_at - interval '1 day', "
        "lapor_disposed_at = received_at - interval '2 hours' WHERE channel = 'sp4n_lapor' AND lapor_id IS NULL"),
        {"prefix": PREFIX}).rowcount
    rng, now = random.Random(11), utcnow()
    rows, posted, answers = [], 0, 0
    owed = answer_postings().where(Complaint.lapor_id.like(PREFIX + "%")).subquery()
    for event_id, complaint_id, answered in db.session.execute(
            select(owed.c.event_id, owed.c.complaint_id, owed.c.answered_at)).all():
        answers += 1
        if rng.random() >= (0.97 if now - answered > timedelta(days=14) else 0.6):
            continue
        delay = timedelta(hours=rng.uniform(72, 360) if rng.random() < 0.1 else rng.uniform(0.5, 72))
        if answered + delay >= now:
            continue
        rows.append({"complaint_id": complaint_id, "event_id": event_id, "answered_at": answered,
                     "posted_at": answered + delay,
                     "recorded_at": answered + delay, "recorded_by_id": None})
        if len(rows) >= 20_000:
            bulk_insert(db, LaporPosting, rows)
            posted += len(rows)
            rows = []
    bulk_insert(db, LaporPosting, rows)
    posted += len(rows)
    waiting = answer_postings().where(LaporPosting.id.is_(None), Complaint.lapor_id.like(PREFIX + "%")).subquery()
    oldest = select(waiting.c.complaint_id, func.min(waiting.c.answered_at).label("since")) \
        .group_by(waiting.c.complaint_id).subquery()
    marked = db.session.execute(Complaint.__table__.update().where(Complaint.id == oldest.c.complaint_id)
                                .values(lapor_unposted_since=oldest.c.since)).rowcount
    db.session.commit()
    settle(db)
    return (f"prepared now in {time.perf_counter() - started:.0f} s: {ids:,} complaints given a LAPOR! ID, "
            f"{answers:,} public answers, {posted:,} posted, {marked:,} complaints waiting")


def timed(function, rounds: int) -> tuple[float, float]:
    """(median, slowest) in ms of `rounds` calls after one warm-up."""
    samples = timings(function, rounds, warmup=1)
    return statistics.median(samples), max(samples)


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--rounds", type=int, default=20, help="calls of each service")
    options.add_argument("--requests", type=int, default=3, help="requests of each page")
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, LaporPosting, Unit
    from pengaduan.services.complaints.lapor_oversight import lapor_figures, pack_rows, waiting_for_lapor
    from pengaduan.services.oversight.supervision import today

    app = make_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False,
                   PENGADUAN_OFFICE_NAME="Pemerintah Kabupaten Contoh")
    with app.app_context():
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # no other writer of the shared database meanwhile
            state = prepare(db)
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        lapor = db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.lapor_id.is_not(None)))
        postings = db.session.scalar(select(func.count()).select_from(LaporPosting))
        waiting = db.session.scalar(select(func.count()).select_from(Complaint)
                                    .where(Complaint.lapor_unposted_since.is_not(None)))
        unit = db.session.scalar(select(Unit).where(Unit.code == "U00"))
        local_today = today()
    print(machine(url))
    print(f"{total:,} complaints, {lapor:,} from LAPOR!, {postings:,} postings, {waiting:,} complaints waiting; {state}")

    quarter_start = date(local_today.year, 3 * ((local_today.month - 1) // 3) + 1, 1)
    end = quarter_start - timedelta(days=1)
    periods = [("quarter", date(end.year, end.month - 2, 1), end),
               ("year", date(local_today.year - 1, local_today.month, 1), date(local_today.year, local_today.month, 1) - timedelta(days=1))]
    print("\n| what | scope | median | slowest |")
    print("|---|---|---|---|")
    with app.app_context():
        one = db.session.get(Unit, unit.id)
        cases = [("review: waiting_for_lapor", "U00", lambda: waiting_for_lapor([one.id]))]
        for period, s, e in periods:
            for label, sc in (("all", None), ("U00", one)):
                cases.append((f"report: lapor_figures, {period}", label, lambda s=s, e=e, sc=sc: lapor_figures(s, e, sc)))
        for period, s, e in periods:
            for label, sc in (("all", None), ("U00", one)):
                cases.append((f"pack: lapor.csv rows, {period}", label,
                              lambda s=s, e=e, sc=sc: sum(1 for _ in pack_rows(s, e, sc))))
        for name, scope, call in cases:
            median, slowest = timed(call, args.rounds if not name.startswith("pack") else max(3, args.rounds // 5))
            print(f"| {name} | {scope} | {median:.1f} ms | {slowest:.1f} ms |", flush=True)

    client = app.test_client()
    print("\n| page | median | slowest |")
    print("|---|---|---|")
    for email, paths in (("supervisor0.u00@bench.id", ["/staff/overdue"]),
                         ("auditor@bench.id", [f"/staff/reports?from={s}&to={e}&unit={code}"
                                               for _, s, e in periods for code in ("", "U00")])):
        client.get("/logout")
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        for path in paths:
            assert client.get(path).status_code == 200, path
            samples = []
            for _ in range(args.requests):
                began = time.perf_counter()
                assert client.get(path).status_code == 200
                samples.append((time.perf_counter() - began) * 1000)
            print(f"| {path} | {statistics.median(samples):.0f} ms | {max(samples):.0f} ms |", flush=True)


if __name__ == "__main__":
    main()
