"""Cost of the core services on a fresh database: filing, one transition, chain verification.

    python bench/services.py [--n 500] [--database-url URL]

Without --database-url it uses a temporary SQLite file; a PostgreSQL URL must name an
empty database (createdb it first). Each filing and each transition is
its own committed transaction (as a web request would be), including the audit append.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="pengaduan-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"

    from flask_migrate import upgrade
    from sqlalchemy import select

    from pengaduan import audit, create_app
    from pengaduan.extensions import db
    from pengaduan.models import Complaint
    from pengaduan.policy import Actor
    from pengaduan.services import advance, create_category, create_unit, create_user, file_complaint

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "PENGADUAN_SIGNING_KEY": os.path.join(tmp, "key.pem")}, instance_path=tmp)
    with app.app_context():
        upgrade()
        create_unit("BENCH", "Bench unit")
        create_category("GEN", "General")
        officer, _ = create_user("officer@bench.id", "officer", unit_codes=["BENCH"])
        db.session.commit()
        actor = Actor.staff(officer)

        started = time.perf_counter()
        for _ in range(args.n):
            file_complaint({"unit": "BENCH", "category": "GEN", "title": "Judul",
                            "description": "Isi pengaduan", "privacy": "anonymous"})
            db.session.commit()
        filed = time.perf_counter() - started

        ids = db.session.scalars(select(Complaint.id)).all()
        db.session.expire_all()
        started = time.perf_counter()
        for complaint_id in ids:
            complaint = db.session.get(Complaint, complaint_id)
            advance(complaint, "verify", actor, unit="BENCH", category="GEN",
                    classification="pengaduan")
            db.session.commit()
        advanced = time.perf_counter() - started

        started = time.perf_counter()
        result = audit.verify_chain(db.session, audit.public_key_hex())
        verified = time.perf_counter() - started
        assert result.ok, result.problem

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"database {url.split(':')[0]}")
    print(f"file_complaint + commit: {filed / args.n * 1000:.2f} ms each ({args.n / filed:.0f}/s)")
    print(f"advance(verify) + commit: {advanced / args.n * 1000:.2f} ms each ({args.n / advanced:.0f}/s)")
    print(f"audit verify: {result.count} events in {verified * 1000:.1f} ms "
          f"({result.count / verified:.0f} events/s)")


if __name__ == "__main__":
    main()
