"""The quarterly complaint evaluation report (laporan evaluasi pengaduan) on a filled database:
the service for every unit and for one unit, and the page and its CSV through the whole Flask
stack.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/evaluation_latency.py --database-url URL [--rounds 20] [--founded 0.2]

The first run gives a finding to the complaints closed in the last two full quarters (a share
`--founded` of them founded, with one of a few recurring root causes and a form of
maladministration; the rest unfounded); later runs find them and change nothing. The report
reads the complaints closed in its quarter and the one before, so its cost follows a quarter's
closures, not the size of the table.
"""
from __future__ import annotations

import time

from common import database, machine, migrated_app, parser, percentile, settle, timings

CAUSES = ("Stok blangko habis", "Petugas loket kurang", "Jadwal tidak diumumkan", "Sistem antrean rusak",
          "Prosedur tidak dipahami petugas")
FORMS = ("penundaan_berlarut", "penyimpangan_prosedur", "tidak_kompeten", "permintaan_imbalan")


def prepare(db, founded: float, quarters: list) -> str:
    """Findings on the closed complaints of the quarters measured, once."""
    from sqlalchemy import func, select, update

    from pengaduan.models import Complaint
    from pengaduan.services.oversight.reports import bounds

    since, _ = bounds(quarters[-1].start, quarters[-1].end)
    _, until = bounds(quarters[0].start, quarters[0].end)
    window = (Complaint.closed_at >= since, Complaint.closed_at < until)
    if db.session.scalar(select(func.count()).where(*window, Complaint.finding.is_not(None))):
        return "findings prepared earlier"
    started = time.perf_counter()
    step = max(1, round(1 / founded)) if founded else 0
    db.session.execute(update(Complaint).where(*window).values(finding="unfounded"))
    if step:
        for i, cause in enumerate(CAUSES):
            db.session.execute(
                update(Complaint).where(*window, (Complaint.id % (step * len(CAUSES))) == i * step)
                .values(finding="founded", root_cause=cause, maladministration=FORMS[i % len(FORMS)],
                        systemic=i % 2 == 0))
    db.session.commit()
    settle(db)
    return f"findings prepared now in {time.perf_counter() - started:.0f} s"


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--rounds", type=int, default=20)
    options.add_argument("--founded", type=float, default=0.2)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, Unit, User
    from pengaduan.policy import Actor
    from pengaduan.services.evaluation.report import evaluation, previous_quarter
    from pengaduan.services.oversight.reports import bounds
    from pengaduan.services.oversight.supervision import today
    from pengaduan.services.surveys.periods import containing

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context():
        period = previous_quarter(containing(today(), "quarter"))
        prepared = prepare(db, args.founded, [period, previous_quarter(period)])
        since, until = bounds(period.start, period.end)
        closed = db.session.scalar(select(func.count()).where(Complaint.closed_at >= since,
                                                               Complaint.closed_at < until))
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)).all()
        auditor = Actor.staff(db.session.scalar(select(User).where(User.email == "auditor@bench.id")))
    print(machine(url))
    print(f"{total:,} complaints, {closed:,} closed in {period.label} ({len(units)} units); {prepared}; "
          f"{args.rounds} rounds a case after one warm-up; p50 / p95 / slowest in ms")
    print("| case | p50 | p95 | slowest |")
    print("|---|---|---|---|")

    def line(case: str, samples: list[float]) -> None:
        print(f"| {case} | {percentile(samples, 0.5):.1f} | {percentile(samples, 0.95):.1f} | {max(samples):.1f} |")

    with app.app_context():
        line(f"service: one unit, {period.label}",
             timings(lambda: evaluation(auditor, units[:1], period, units[0]), args.rounds, 1))
        line(f"service: all units ({len(units)}), {period.label}",
             timings(lambda: evaluation(auditor, units, period), args.rounds, 1))
    client = app.test_client()
    response = client.post("/login", data={"email": "auditor@bench.id", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    for path in (f"/staff/evaluation?unit={units[0].code}&period={period.label}",
                 f"/staff/evaluation?unit={units[0].code}&period={period.label}&format=csv",
                 f"/staff/evaluation?period={period.label}"):
        def get(path=path):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)

        line(f"page {path} (auditor)", timings(get, args.rounds, warmup=1))


if __name__ == "__main__":
    main()
