"""The readiness for the assessment on a filled database: every unit's status on every item
(the service, `assess`), the page across units, one unit's page and its readiness.csv,
through the whole Flask stack, and the number of queries one assessment takes.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    flask --app run db upgrade                                          # with DATABASE_URL=URL
    python bench/readiness_latency.py --database-url URL [--rounds 50]

The first run (under `flock /tmp/bench1m.lock`, since others read the same database) adds
what the readiness items read, for every unit: the SKM questionnaires of skm_latency.py
(100,000 by default), three supervision records a month over the last three years, three
versions of each kind of standing document (rows only: no file is read), and the registers:
a compensation a month, a complaint evaluation report and an Ombudsman product (five items) a
quarter, a service standard per unit; later runs find them and add nothing. No source reads the complaints: their number only sizes the
database around the queries.
"""
from __future__ import annotations

import fcntl
import hashlib
import time
from datetime import date, timedelta

from sqlalchemy import event

from common import bulk_insert, database, machine, migrated_app, parser, percentile, settle, timings
from skm_latency import LOCK
from skm_latency import prepare as prepare_surveys

RECORDS_PER_MONTH = 3
MONTHS = 36


def prepare(db) -> str:
    """Supervision records and standing documents of every unit, once."""
    from sqlalchemy import func, select

    from pengaduan.models import DOCUMENT_KINDS, Role, StandingDocument, SupervisionRecord, Unit, User, utcnow
    from pengaduan.models.supervision import supervision_units

    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    if db.session.scalar(select(func.count()).select_from(SupervisionRecord)) >= len(units) * MONTHS * RECORDS_PER_MONTH:
        return "readiness evidence prepared earlier"
    started, now = time.perf_counter(), utcnow()
    someone = db.session.scalar(select(User.id).where(User.role == Role.SUPERVISOR).limit(1)) or \
        db.session.scalar(select(User.id).limit(1))
    first_id = (db.session.scalar(select(func.max(SupervisionRecord.id))) or 0) + 1
    records, links, documents = [], [], []
    today = now.date()
    for unit in units:
        for back in range(MONTHS):
            month = date(today.year, today.month, 1)
            for _ in range(back + 1):
                month = (month - timedelta(days=1)).replace(day=1)
            for k in range(RECORDS_PER_MONTH):
                record_id = first_id + len(records)
                records.append({"id": record_id, "kind": ("monitoring_evaluation", "case_review", "coaching")[k],
                                "held_on": month + timedelta(days=3 + 8 * k), "title": f"Monev {unit.code}",
                                "supervisor_id": someone, "created_at": now, "updated_at": now, "version": 1})
                links.append({"record_id": record_id, "unit_id": unit.id})
        for kind in DOCUMENT_KINDS:
            for version in range(3):
                start = today - timedelta(days=365 * (3 - version))
                name = f"{unit.code}-{kind}-{version}"
                documents.append({"unit_id": unit.id, "kind": kind, "title": name, "valid_from": start,
                                  "valid_until": start + timedelta(days=364), "uploaded_by_id": someone,
                                  "filename": f"{name}.pdf", "stored_name": hashlib.sha256(name.encode()).hexdigest()[:32],
                                  "content_type": "application/pdf", "size": 1000,
                                  "sha256": hashlib.sha256(name.encode()).hexdigest(), "uploaded_at": now})
    bulk_insert(db, SupervisionRecord, records)
    db.session.execute(supervision_units.insert(), links)
    bulk_insert(db, StandingDocument, documents)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SELECT setval('supervision_records_id_seq', (SELECT max(id) FROM supervision_records))"))
    db.session.commit()
    settle(db)
    return (f"readiness evidence prepared now in {time.perf_counter() - started:.0f} s: {len(records):,} "
            f"supervision records, {len(documents):,} standing documents")


def prepare_registers(db) -> str:
    """The registers the other items read, for every unit, once: a compensation a month, the
    complaint evaluation report of each of the last twelve quarters with three actions, an
    Ombudsman product a quarter with five items, a service standard per unit and the default."""
    from sqlalchemy import func, select

    from pengaduan.models import (Compensation, ServiceStandard, SupervisionAction, SupervisionRecord, Unit,
                                  User, utcnow)
    from pengaduan.models.ombudsman import OmbudsmanItem, OmbudsmanProduct
    from pengaduan.services.surveys import periods

    if db.session.scalar(select(func.count()).select_from(Compensation)):
        return "registers prepared earlier"
    started, now = time.perf_counter(), utcnow()
    today, someone = now.date(), db.session.scalar(select(User).limit(1))
    db.session.add(ServiceStandard(unit_id=None, components={}, maklumat="Maklumat", decree_number="1/2026",
                                   reviewed_on=today - timedelta(days=30), published_at=now, updated_at=now))
    for i, unit in enumerate(db.session.scalars(select(Unit).order_by(Unit.code))):
        db.session.add(ServiceStandard(unit_id=unit.id, components={}, maklumat="Maklumat", decree_number=f"{i}/2026",
                                       reviewed_on=today - timedelta(days=10 * i), published_at=now, updated_at=now))
        for month in range(36):
            db.session.add(Compensation(unit_id=unit.id, kind="refund", given_on=today - timedelta(days=30 * month),
                                        approved_by="Kepala", recorded_by_id=someone.id))
        quarter = periods.containing(today, "quarter")
        for q in range(12):
            quarter = periods.containing(quarter.start - timedelta(days=1), "quarter")
            record = SupervisionRecord(kind="complaint_evaluation", held_on=quarter.end + timedelta(days=7),
                                       title=f"Evaluasi {quarter.label}", evaluation_period=quarter.label,
                                       supervisor_id=someone.id, units=[unit])
            record.actions = [SupervisionAction(description="Perbaikan", owner="Kasi", due_on=quarter.end
                                                + timedelta(days=60), status="done" if q else "open") for _ in range(3)]
            product = OmbudsmanProduct(kind="saran_perbaikan", number=f"{unit.code}/{q}", issued_on=quarter.start,
                                       received_on=quarter.start, title="Saran", recorded_by_id=someone.id,
                                       units=[unit], reported_back_on=quarter.end if q else None)
            product.items = [OmbudsmanItem(unit_id=unit.id, action="Tindak lanjut", owner="Kasi",
                                           due_at=now - timedelta(days=90 * q - 30), status="done" if q else "open",
                                           done_on=quarter.end if q else None) for _ in range(5)]
            db.session.add_all([record, product])
    db.session.commit()
    settle(db)
    return f"registers prepared now in {time.perf_counter() - started:.0f} s"


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--rounds", type=int, default=50)
    options.add_argument("--questionnaires", type=int, default=100_000)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, StandingDocument, SupervisionRecord, SurveyResponse, Unit
    from pengaduan.services.oversight.supervision import today
    from pengaduan.services.readiness import assess, current_rules

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context(), open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepared = f"{prepare_surveys(db, args.questionnaires)}; {prepare(db)}; {prepare_registers(db)}"
    print(machine(url))
    with app.app_context():
        counts = [db.session.scalar(select(func.count()).select_from(model))
                  for model in (Complaint, SurveyResponse, SupervisionRecord, StandingDocument)]
        units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)).all()
        rules = current_rules()
        statements: list[str] = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        assess(units, today())
        event.remove(db.engine, "before_cursor_execute", listener)
    print(f"{counts[0]:,} complaints, {counts[1]:,} questionnaires, {counts[2]:,} supervision records, "
          f"{counts[3]:,} standing documents, {len(units)} units, {len(rules.items)} items of {rules.name}; "
          f"{prepared}; one assessment of every unit: {len(statements)} queries; {args.rounds} rounds a case "
          f"after one warm-up; p50 / p95 / slowest in ms")
    print("| case | p50 | p95 | slowest |")
    print("|---|---|---|---|")

    def line(case: str, samples: list[float]) -> None:
        print(f"| {case} | {percentile(samples, 0.5):.1f} | {percentile(samples, 0.95):.1f} | {max(samples):.1f} |")

    with app.app_context():
        line(f"assess: every unit ({len(units)}) on every item", timings(lambda: assess(units, today()), args.rounds, 1))
        line("assess: one unit", timings(lambda: assess(units[:1], today()), args.rounds, 1))
    client = app.test_client()
    response = client.post("/login", data={"email": "auditor@bench.id", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    for path in ("/staff/readiness", f"/staff/readiness/{units[0].code}",
                 f"/staff/readiness/{units[0].code}/readiness.csv"):
        def get(path=path):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)

        line(f"page {path} (auditor)", timings(get, args.rounds, warmup=1))


if __name__ == "__main__":
    main()
