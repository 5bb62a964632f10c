"""Memory and time of an evidence-pack export over a long period.

    python bench/evidence.py [--events 300000] [--complaints 30000] [--database-url URL]

Fills a database with complaints (each with a timeline event and a clock) and a valid audit
chain of `--events` events (bulk inserts, hashes computed as the chain does), then exports
and verifies the pack in a fresh process and reports its resident memory before and at
its peak during each step (sampled). Run it
with two sizes to see memory stay flat while the work grows.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta

from common import PeakRss, bulk_insert, database, machine, make_app, rss_mb, settle
CHUNK = 10_000


def fill(url: str, tmp: str, events: int, complaints: int) -> None:
    from flask_migrate import upgrade

    from pengaduan.audit.chain import GENESIS, canonical, chain_hash, iso_utc
    from pengaduan.extensions import db
    from pengaduan.models import AuditEvent, Complaint, ComplaintEvent, Unit, utcnow

    app = make_app(url, tmp)
    with app.app_context():
        upgrade()
        db.session.add(Unit(code="U1", name="Unit 1"))
        db.session.commit()
        unit_id = Unit.by_code("U1").id
        start = utcnow() - timedelta(days=300)
        for base in range(0, complaints, CHUNK):
            rows, timeline = [], []
            for i in range(base, min(complaints, base + CHUNK)):
                at = start + timedelta(minutes=i)
                rows.append({"id": i + 1, "tracking_code": f"B{i:07d}", "pin_hash": "-",
                             "title": "Judul", "description": "Isi", "classification": "pengaduan",
                             "channel": "web", "privacy": ("public", "anonymous", "confidential")[i % 3],
                             "complainant_name": f"Nama {i}", "late_filing": False, "unit_id": unit_id,
                             "state": "received", "received_at": at, "state_changed_at": at,
                             "updated_at": at, "version": 1})
                timeline.append({"complaint_id": i + 1, "occurred_at": at, "kind": "filed",
                                 "trigger": "file", "to_state": "received", "actor_role": "citizen",
                                 "unit_id": unit_id, "public": True, "data": {"channel": "web"}})
            bulk_insert(db, Complaint, rows)
            bulk_insert(db, ComplaintEvent, timeline)
            db.session.commit()
        prev = GENESIS
        for base in range(0, events, CHUNK):
            rows = []
            for seq in range(base + 1, min(events, base + CHUNK) + 1):
                at = start + timedelta(seconds=seq * 60 * complaints / max(events, 1))
                code = f"B{(seq - 1) % complaints:07d}"
                body = canonical({"seq": seq, "occurred_at": iso_utc(at), "actor": "citizen",
                                  "action": "complaint.filed", "complaint": code,
                                  "payload": {"unit": "U1", "channel": "web"}})
                digest = chain_hash(prev, body)
                rows.append({"seq": seq, "occurred_at": at, "actor": "citizen",
                             "action": "complaint.filed", "complaint_code": code, "body": body,
                             "prev_hash": prev, "hash": digest})
                prev = digest
            bulk_insert(db, AuditEvent, rows)
            db.session.commit()
        settle(db)


def export(url: str, tmp: str, out: str) -> dict:
    """In a fresh process: export everything, then verify; report time and peak memory."""
    from pengaduan.evidence import export_pack, verify
    from pengaduan.policy import Actor
    from pengaduan.extensions import db

    app = make_app(url, tmp)
    with app.app_context():
        before = rss_mb()
        with PeakRss() as export_peak:
            started = time.perf_counter()
            manifest = export_pack(out, date(2000, 1, 1), date(2100, 1, 1), actor=Actor.cli("bench"))
            db.session.commit()
            exported = time.perf_counter() - started
        with PeakRss() as verify_peak:
            started = time.perf_counter()
            problems, _ = verify(out)
            verified = time.perf_counter() - started
        assert not problems, problems
    return {"events": manifest["chain"]["events"], "cases": manifest["counts"]["cases"],
            "export_s": round(exported, 2), "verify_s": round(verified, 2),
            "rss_before_mb": before, "peak_rss_export_mb": export_peak.peak,
            "peak_rss_verify_mb": verify_peak.peak, "pack_mb": round(os.path.getsize(out) / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--complaints", type=int, default=30_000)
    parser.add_argument("--database-url")
    parser.add_argument("--export-only", nargs=3, metavar=("URL", "TMP", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        print(json.dumps(export(*args.export_only)))
        return
    url, tmp = database(args.database_url)
    started = time.perf_counter()
    fill(url, tmp, args.events, args.complaints)
    print(machine(url))
    print(f"filled {args.complaints} complaints and {args.events} audit events in "
          f"{time.perf_counter() - started:.1f} s")
    result = subprocess.run([sys.executable, __file__, "--export-only", url, tmp, f"{tmp}/pack.zip"],
                            capture_output=True, text=True, check=True)
    print(json.loads(result.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
