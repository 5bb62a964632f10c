"""The IKM report and its sums on a filled database with 100,000 questionnaires: a survey
period's report (page and CSV, through the whole Flask stack), `skm report --format json`'s
sum, and the sums /statistik's worker takes (every unit's IKM for a quarter and a year).

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    flask --app run db upgrade                                          # with DATABASE_URL=URL
    python bench/skm_latency.py --database-url URL [--rounds 50]

The first run (under `flock /tmp/bench1m.lock`, since others read the same database) opens a
survey period per unit and quarter of the last three years (20 units x 12 quarters) and
fills them with `--questionnaires` answers in all (default 100,000: about 420 a period), a
few elements left unanswered, one in ten with a suggestion, web and paper; later runs find
them and add nothing. Nothing else is changed.
"""
from __future__ import annotations

import fcntl
import random
import time
from datetime import date, timedelta

from common import bulk_insert, database, machine, migrated_app, parser, percentile, settle, timings

LOCK = "/tmp/bench1m.lock"
SERVICES = ["KTP-el", "Kartu Keluarga", "Akta Kelahiran", "Surat Pindah"]
SUGGESTIONS = ["Antrean terlalu lama, mohon ditambah loket.", "Petugas ramah, terima kasih.",
               "Ruang tunggu panas, mohon kipas angin.", "Persyaratan kurang jelas di papan informasi."]


def quarters(today: date, count: int = 12) -> list[str]:
    """The labels of the last `count` quarters up to the current one, oldest first."""
    labels, year, quarter = [], today.year, (today.month - 1) // 3 + 1
    for _ in range(count):
        labels.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return labels[::-1]


def prepare(db, total: int) -> str:
    """Survey periods and questionnaires, once (see the module's docstring)."""
    from sqlalchemy import func, select

    from pengaduan.models import SurveyPeriod, SurveyResponse, Unit, utcnow
    from pengaduan.services.surveys import periods, questionnaire

    have = db.session.scalar(select(func.count()).select_from(SurveyResponse))
    if have >= total:
        return f"prepared earlier ({have:,} questionnaires)"
    started = time.perf_counter()
    rng, now = random.Random(18), utcnow()
    wording = questionnaire.load()
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    labels = quarters(now.date())
    surveys = []
    for unit in units:
        for label in labels:
            period = periods.parse(label)
            survey = db.session.scalar(select(SurveyPeriod).where(SurveyPeriod.unit_id == unit.id,
                                                                  SurveyPeriod.label == label))
            if survey is None:
                survey = SurveyPeriod(unit_id=unit.id, label=label, starts_on=period.start, ends_on=period.end,
                                      service_types=SERVICES, population=rng.randint(800, 20000),
                                      questionnaire=wording, opened_at=now)
                db.session.add(survey)
            surveys.append((survey, period))
    db.session.flush()
    profile = {name: list(q["options"]) for name, q in wording["profile"].items()}
    rows, added = [], 0
    per_survey = -(-(total - have) // len(surveys))
    for survey, period in surveys:
        span = (min(period.end, now.date()) - period.start).days + 1
        mood = rng.uniform(2.6, 3.6)  # each unit and quarter answers around its own mean
        for _ in range(per_survey):
            scores = {}
            for i in range(1, 10):
                if rng.random() < 0.02:
                    scores[f"u{i}"] = None
                else:
                    scores[f"u{i}"] = max(1, min(4, round(rng.gauss(mood, 0.7))))
            day = period.start + timedelta(days=rng.randrange(span))
            rows.append({"period_id": survey.id, "channel": "paper" if rng.random() < 0.3 else "web",
                         "entered_by_id": None, "submitted_at": now.replace(year=day.year, month=day.month, day=day.day),
                         "service_type": rng.choice(SERVICES),
                         **{name: rng.choice(options) for name, options in profile.items()},
                         **scores, "suggestion": rng.choice(SUGGESTIONS) if rng.random() < 0.1 else None})
            if len(rows) >= 20_000:
                bulk_insert(db, SurveyResponse, rows)
                added += len(rows)
                rows = []
    bulk_insert(db, SurveyResponse, rows)
    added += len(rows)
    db.session.commit()
    settle(db)
    return (f"prepared now in {time.perf_counter() - started:.0f} s: {len(surveys):,} survey periods, "
            f"{added:,} questionnaires")


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--rounds", type=int, default=50)
    options.add_argument("--questionnaires", type=int, default=100_000)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, SurveyPeriod, SurveyResponse, Unit
    from pengaduan.services.surveys import periods, results

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context(), open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepared = prepare(db, args.questionnaires)
    print(machine(url))
    with app.app_context():
        complaints = db.session.scalar(select(func.count()).select_from(Complaint))
        answered = db.session.scalar(select(func.count()).select_from(SurveyResponse))
        unit = db.session.scalar(select(Unit).where(Unit.code == "U00"))
        newest = db.session.scalar(select(SurveyPeriod).where(SurveyPeriod.unit_id == unit.id)
                                   .order_by(SurveyPeriod.starts_on.desc()).offset(1).limit(1))
        survey_id, label = newest.id, newest.label
        in_period = db.session.scalar(select(func.count()).where(SurveyResponse.period_id == survey_id))
    print(f"{complaints:,} complaints, {answered:,} questionnaires; {prepared}; {args.rounds} rounds a case "
          f"after one warm-up; p50 / p95 / slowest in ms")
    print("| case | rows summed | p50 | p95 | slowest |")
    print("|---|---|---|---|---|")

    def line(case: str, rows: str, samples: list[float]) -> None:
        print(f"| {case} | {rows} | {percentile(samples, 0.5):.1f} | {percentile(samples, 0.95):.1f} "
              f"| {max(samples):.1f} |")

    with app.app_context():
        survey = db.session.get(SurveyPeriod, survey_id)
        quarter, year = periods.parse(label), periods.parse(label[:4])
        line(f"tally_period: one survey period ({label}, U00), overall and per service", f"{in_period:,}",
             timings(lambda: results.tally_period(survey), args.rounds, warmup=1))
        line(f"tally: one unit's year ({year.label})", f"{results.tally([unit.id], year).respondents:,}",
             timings(lambda: results.tally([unit.id], year), args.rounds, warmup=1))
        line(f"tally_by_unit: every unit's quarter ({label})", f"{results.tally(None, quarter).respondents:,}",
             timings(lambda: results.tally_by_unit(quarter), args.rounds, warmup=1))
        line(f"tally_by_unit: every unit's year ({year.label})", f"{results.tally(None, year).respondents:,}",
             timings(lambda: results.tally_by_unit(year), args.rounds, warmup=1))

    if "survey_results.report" not in app.view_functions:
        print("(the IKM report's pages are not in this version)")
        return
    client = app.test_client()
    response = client.post("/login", data={"email": "auditor@bench.id", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    for fmt in ("html", "csv"):
        path = f"/staff/surveys/{survey_id}/results" + ("?format=csv" if fmt == "csv" else "")

        def get(path=path):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)

        line(f"page {path} (auditor)", f"{in_period:,}", timings(get, args.rounds, warmup=1))


if __name__ == "__main__":
    main()
