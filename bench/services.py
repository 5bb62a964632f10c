"""Cost of the core services on a fresh database: filing, one transition, chain verification.

    python bench/services.py [--n 500] [--database-url URL]

Without --database-url it uses a temporary SQLite file; a PostgreSQL URL must name an
empty database (createdb it first). Each filing and each transition is
its own committed transaction (as a web request would be), including the audit append.

The transition through the workflow service (`advance`: permission, guards, required
fields, state machine, clocks stopped and started with computed deadlines, timeline and
audit events) is compared with the bare database write of the same change: one UPDATE of
the complaint's state and one INSERT of its timeline event, committed.
"""
from __future__ import annotations

import time

from common import database, machine, migrated_app, parser


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--n", type=int, default=500)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import insert, select, update

    from pengaduan import audit
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, ComplaintEvent, utcnow
    from pengaduan.policy import Actor
    from pengaduan.services import advance, create_category, create_unit, create_user, file_complaint

    app = migrated_app(url, tmp)
    with app.app_context():
        create_unit("BENCH", "Bench unit")
        create_category("GEN", "General")
        officer, _ = create_user("officer@bench.id", "officer", unit_codes=["BENCH"])
        db.session.commit()
        actor = Actor.staff(officer)

        started = time.perf_counter()
        for _ in range(2 * args.n):  # half for the service, half for the bare write
            file_complaint({"unit": "BENCH", "category": "GEN", "title": "Judul",
                            "description": "Isi pengaduan", "privacy": "anonymous"})
            db.session.commit()
        filed = (time.perf_counter() - started) / 2

        ids = db.session.scalars(select(Complaint.id).order_by(Complaint.id)).all()
        ids, bare_ids = ids[:args.n], ids[args.n:]
        db.session.expire_all()
        started = time.perf_counter()
        for complaint_id in ids:
            complaint = db.session.get(Complaint, complaint_id)
            advance(complaint, "verify", actor, unit="BENCH", category="GEN",
                    classification="pengaduan")
            db.session.commit()
        advanced = time.perf_counter() - started

        started = time.perf_counter()
        for complaint_id in bare_ids:
            now = utcnow()
            db.session.execute(update(Complaint).where(Complaint.id == complaint_id).values(
                state="verified", state_changed_at=now, updated_at=now, version=Complaint.version + 1))
            db.session.execute(insert(ComplaintEvent).values(
                complaint_id=complaint_id, occurred_at=now, kind="transition", trigger="verify",
                from_state="received", to_state="verified", actor_id=officer.id, actor_role="officer",
                public=True, data={}))
            db.session.commit()
        bare = time.perf_counter() - started

        started = time.perf_counter()
        result = audit.verify_chain(db.session, audit.public_key_hex())
        verified = time.perf_counter() - started
        assert result.ok, result.problem

    print(machine(url))
    print(f"file_complaint + commit: {filed / args.n * 1000:.2f} ms each ({args.n / filed:.0f}/s)")
    print(f"advance(verify) + commit: {advanced / args.n * 1000:.2f} ms each ({args.n / advanced:.0f}/s)")
    print(f"bare UPDATE + INSERT + commit: {bare / args.n * 1000:.2f} ms each; the workflow "
          f"service costs {advanced / bare:.1f}x the bare write")
    print(f"audit verify: {result.count} events in {verified * 1000:.1f} ms "
          f"({result.count / verified:.0f} events/s)")


if __name__ == "__main__":
    main()
