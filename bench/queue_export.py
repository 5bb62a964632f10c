"""CSV export of a queue view on a filled database: rows per second and peak memory.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/queue_export.py --database-url URL [--views closed-all,open-all,...]

Each view is exported in a fresh process, whose resident memory is sampled every 20 ms, as
services/complaints/bulk.write_view reads and writes it: the view's query streamed through a
database cursor, in a read-only transaction, into a temporary file, with the labels, local
times and formula neutralisation of every cell. Only the export's audit event is left out
(appending one event is what every audited step costs, measured in bench/services.py), so
the filled database stays as generated and no write lock is taken on it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from common import PeakRss, database, machine, make_app, parser, rss_mb

VIEWS = {  # name: (who, query string of the queue view, what it is)
    "closed-all": ("auditor", {"state": "closed"}, "auditor, finished tab, every unit (the largest view)"),
    "open-all": ("auditor", {}, "auditor, every open complaint of every unit"),
    "closed-unit": ("officer", {"state": "closed"}, "officer of one unit, finished tab"),
    "open-unit": ("officer", {}, "officer of one unit, every open complaint"),
    "search-all": ("auditor", {"state": "closed", "search": "loket"}, "auditor, finished tab, title search"),
}


def export_one(url: str, tmp: str, name: str) -> dict:
    """Export one view in this process; its figures."""
    from sqlalchemy import select
    from sqlalchemy.orm import load_only, selectinload

    from pengaduan.extensions import db
    from pengaduan.models import User
    from pengaduan.policy import Actor
    from pengaduan.services.complaints import bulk
    from pengaduan.database import read_only
    from pengaduan.models import utcnow
    from pengaduan.services.complaints.queue import QueueFilter, view_scope

    who, query, _ = VIEWS[name]
    app = make_app(url, tmp)
    with app.test_request_context("/staff/queue"):
        # Only the columns an export reads of its user, so that the script runs on a database
        # generated before later migrations added account columns.
        users = select(User).options(load_only(User.id, User.email, User.name, User.role, User.active),
                                     selectinload(User.units))
        with read_only():  # no write lock: other work may be writing to the same database
            if who == "officer":
                user = db.session.scalar(users.where(User.email == "officer0.u00@bench.id"))
            else:
                user = db.session.scalar(users.where(User.role == "auditor").limit(1))
            db.session.expunge(user)  # not reloaded (whole) when the export commits
            actor = Actor.staff(user)
            db.session.commit()
        before = rss_mb()
        with tempfile.TemporaryFile() as out, PeakRss() as peak:
            started = time.perf_counter()
            with read_only():  # what write_view does (the download runs it in read_apart)
                units, states, conditions = view_scope(actor.user, QueueFilter(**query), utcnow())
                rows, _ = bulk.write_csv(out, units, states, conditions, utcnow(), cap=10_000_000)
                db.session.commit()
            seconds = time.perf_counter() - started
            size = out.seek(0, os.SEEK_END)
    return {"view": name, "rows": rows, "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds) if seconds else None, "rss_before_mb": round(before, 1),
            "peak_rss_mb": round(peak.peak, 1), "file_mb": round(size / 1e6, 1)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(export_one(sys.argv[2], sys.argv[3], sys.argv[4])))
        return
    options = parser(__doc__, filled=True)
    options.add_argument("--views", default=",".join(VIEWS), help=f"comma-separated, of: {', '.join(VIEWS)}")
    args = options.parse_args()
    url, tmp = database(args.database_url)
    print(machine(url))
    print(f"{'view':<12} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'RSS before':>11} {'peak RSS':>9} {'file':>8}")
    for name in args.views.split(","):
        done = subprocess.run([sys.executable, __file__, "--one", url, tmp, name],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            sys.exit(done.stderr)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:<12} {r['rows']:>9,} {r['seconds']:>8.2f} {r['rows_per_s'] or 0:>9,} "
              f"{r['rss_before_mb']:>8.1f} MB {r['peak_rss_mb']:>6.1f} MB {r['file_mb']:>5.1f} MB"
              f"   {VIEWS[name][2]}")


if __name__ == "__main__":
    main()
