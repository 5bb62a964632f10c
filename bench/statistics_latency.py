"""Latency of the public statistics (/statistik and /statistik.csv) on a filled database, after
the worker's refresh, and the time the refresh itself takes per snapshot.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    flask --app run db upgrade                                          # with DATABASE_URL=URL
    python bench/statistics_latency.py --database-url URL [--units 3] [--rounds 5] [--keep]

The set measured: every period a visitor may choose (every quarter, semester and year of the
last three years that has begun) for every unit together and for the `--units` busiest
units. First each of their snapshots is computed as the worker computes it
(services.transparency: the periodic report's figures, the IKM, stored as one row), timed one
by one; then every page and CSV of the set is asked through the whole Flask stack in-process
(WSGI test client, no account): once ("first": the page drawn from its snapshot, what the first
visitor after a refresh waits) and `--rounds` times more ("later": the drawn page kept); the
p50, p95 and slowest are printed, overall and by kind of period.

Last, the worker's own work: reading what is due (snapshots.due: the snapshots, the complaints
changed since them from the index on updated_at, the new questionnaires), and refreshing the
running quarter for every unit and each unit as a cycle does.

The only rows it writes are the snapshots (table public_statistics); without `--keep` it
removes the ones it added when it ends, leaving the database as it found it.
"""
from __future__ import annotations

import os
import statistics
import time

from common import database, machine, make_app, parser, percentile, timings


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--units", type=int, default=3, help="the busiest units measured one by one")
    options.add_argument("--rounds", type=int, default=5, help="requests per page and per CSV")
    options.add_argument("--keep", action="store_true", help="keep the snapshots computed")
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import delete, func, select

    from pengaduan.extensions import db
    from pengaduan.models import Complaint, PublicStatistics, Unit, utcnow
    from pengaduan.services.transparency import figures, snapshots

    app = make_app(url, tmp, RATELIMIT_ENABLED=False)
    with app.app_context():
        before = set(db.session.scalars(select(PublicStatistics.id)))
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        busiest = [row[0] for row in db.session.execute(
            select(Complaint.unit_id, func.count()).group_by(Complaint.unit_id)
            .order_by(func.count().desc()).limit(args.units))]
        units = [db.session.get(Unit, unit_id) for unit_id in busiest]
        codes = [u.code for u in units]
        periods = figures.offered(snapshots.local_today())
    print(machine(url) + f", load average {os.getloadavg()[0]:.1f}")
    print(f"{total:,} complaints; {len(periods)} periods x (every unit + {', '.join(codes)})")

    # The refresh, snapshot by snapshot (as jobs.statistics does it).
    computed: dict[tuple[str, str], list[float]] = {}
    started = time.perf_counter()
    for period in periods:
        for code in [None, *codes]:
            with app.app_context():
                unit = Unit.by_code(code) if code else None
                at = utcnow()
                began = time.perf_counter()
                raw = figures.compute(period, unit)
                db.session.commit()
                snapshots.store(period, unit, raw, at)
                db.session.commit()
                took = time.perf_counter() - began
            computed.setdefault((period.kind, "all" if code is None else "unit"), []).append(took)
            print(f"  refresh {period.label:8} {code or 'all':6} {raw['received']:>9,} received  {took:6.2f} s",
                  flush=True)
    refresh_total = time.perf_counter() - started
    print(f"refresh of {len(periods) * (1 + len(codes))} snapshots: {refresh_total:.1f} s")
    print("| snapshot | n | median | slowest |")
    print("|---|---|---|---|")
    for kind in ("quarter", "semester", "year"):
        for scope in ("all", "unit"):
            times = computed.get((kind, scope), [])
            if times:
                print(f"| {kind}, {'every unit' if scope == 'all' else 'one unit'} | {len(times)} "
                      f"| {statistics.median(times):.2f} s | {max(times):.2f} s |")

    # Each URL once (the page drawn from its snapshot: what the first visitor after a refresh
    # waits), then `--rounds` times more (the drawn page kept: every later visitor).
    client = app.test_client()
    first: dict[tuple[str, str], list[float]] = {}
    later: dict[tuple[str, str], list[float]] = {}
    for period in periods:
        for code in ["", *codes]:
            for name, path in (("page", "/statistik"), ("csv", "/statistik.csv")):
                url_path = f"{path}?period={period.label}&unit={code}"

                def ask(url_path=url_path):
                    response = client.get(url_path)
                    assert response.status_code == 200, (url_path, response.status_code)

                first.setdefault((name, period.kind), []).extend(timings(ask, 1))
                later.setdefault((name, period.kind), []).extend(timings(ask, args.rounds))
    print("| request | requests | p50 | p95 | slowest |")
    print("|---|---|---|---|---|")
    for name in ("page", "csv"):
        for label, samples in (("first", first), ("later", later)):
            for kind in ("quarter", "semester", "year", None):
                values = [v for (n, k), vs in samples.items() if n == name and kind in (None, k) for v in vs]
                print(f"| /statistik{'.csv' if name == 'csv' else ''}, {label}, {kind + 's' if kind else 'all'} "
                      f"| {len(values)} | {percentile(values, 0.5):.1f} ms | {percentile(values, 0.95):.1f} ms "
                      f"| {max(values):.1f} ms |")
    # The worker's own work: finding what is due (the changed complaints read from the index on
    # updated_at), and the running quarter for every scope, as a cycle refreshes it.
    from pengaduan.jobs.statistics import refresh
    from pengaduan.services.surveys.periods import containing

    with app.app_context():
        found = timings(lambda: (snapshots.due(), db.session.rollback()), 3, warmup=1)
        quarter = containing(snapshots.local_today(), "quarter")
        began = time.perf_counter()
        cycle = refresh(only=quarter)
        took = time.perf_counter() - began
    print(f"what is due (a cycle's reading): median {statistics.median(found):.0f} ms, slowest {max(found):.0f} ms")
    print(f"the running quarter {quarter.label} for every unit and each of the {cycle['refreshed'] - 1} units: "
          f"{took:.1f} s")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if not args.keep:
        with app.app_context():
            added = delete(PublicStatistics)
            db.session.execute(added.where(PublicStatistics.id.not_in(before)) if before else added)
            db.session.commit()


if __name__ == "__main__":
    main()
