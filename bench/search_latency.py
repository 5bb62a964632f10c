"""Latency of staff search on a filled database: exact and partial tracking codes, one and
two words, a rare word, and the complainant's name, NIK and phone, as an officer and a
supervisor (and, for the words, an auditor, who searches every unit).

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/search_latency.py --database-url URL [--requests 100]

Requests go through the whole Flask stack in-process (WSGI test client: routing, session,
authorization, the search queries, template rendering; an identity search also appends its
audit event and commits), as bench/queue_latency.py does. Each kind of search rotates over
several terms taken from the database (codes and identities of the searcher's unit, words
of the generator's vocabulary); p50 and p95 are printed with how many complaints of the
searcher's unit the terms match on average (the page shows 25).
"""
from __future__ import annotations

import itertools
import os
import statistics
import time

from common import database, machine, migrated_app, parser, percentile

ONE_WORD = ["pelayanan", "loket", "dokter", "sampah", "bpjs", "sertifikat", "kasar", "ijazah"]
TWO_WORDS = ["antrean loket", "dokter terlambat", "jalan rusak", "air keruh", "biaya pungutan",
             "ktp belum"]
SEARCHERS = [("officer", "officer0.u00@bench.id"), ("supervisor", "supervisor0.u00@bench.id"),
             ("auditor", "auditor@bench.id")]


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--requests", type=int, default=100)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import func, select

    from generate import PASSWORD, RARE
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, User
    from pengaduan.policy import Actor
    from pengaduan.services.complaints.search import search, search_identity

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        officer = db.session.scalar(select(User).where(User.email == SEARCHERS[0][1]))
        unit_id = officer.units[0].id
        mine = select(Complaint).where(Complaint.unit_id == unit_id)
        closed = db.session.scalars(mine.where(Complaint.state == "closed").order_by(Complaint.id.desc())
                                    .offset(500).limit(8)).all()
        public = db.session.scalars(mine.where(Complaint.privacy == "public")
                                    .order_by(Complaint.id.desc()).limit(400)).all()[::50]
        codes = [c.tracking_code for c in closed]
        terms = {
            "exact code (closed case: redirect)": ("code", codes),
            # generate.py numbers its codes in order, so fragments are taken from their varying
            # end (a fragment of a random code matches about as many)
            "partial code, 4 characters": ("code", [c[5:] for c in codes]),
            "partial code, 3 characters": ("code", [c[6:] for c in codes]),
            "partial code with the dash": ("code", [c[3:8].lower() for c in codes]),
            "one common word": ("words", ONE_WORD),
            "two words": ("words", TWO_WORDS),
            "rare word": ("words", RARE[:8]),
            "identity: name": ("identity", [" ".join(c.complainant_name.split()) for c in public]),
            "identity: NIK": ("identity", [c.complainant_nik for c in public]),
            "identity: phone": ("identity", [c.complainant_phone.replace("-", " ") for c in public]),
        }
        matched = {}  # how many of the unit's complaints the first terms match (at most 1,000)
        for label, (kind, values) in terms.items():
            if kind == "identity":
                found = [len(search_identity(Actor.staff(officer), v, limit=1000).items) for v in values[:3]]
            else:
                found = [len(search(Actor.staff(officer), v, limit=1000).items) for v in values[:3]]
            matched[label] = statistics.mean(found)
        db.session.rollback()

    clients = {}
    for role, email in SEARCHERS:
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        clients[role] = client

    print(machine(url), "load average %.1f %.1f %.1f" % os.getloadavg())
    print(f"{total:,} complaints; {args.requests} requests per search and role after 10 warm-up requests")
    print("| search | matches in the unit | role | p50 | p95 |\n|---|---|---|---|---|")
    for label, (kind, values) in terms.items():
        for role, _ in SEARCHERS:
            if role == "auditor" and kind != "words":
                continue  # auditors open codes like anyone; they never search identities
            client = clients[role]
            rotation = itertools.cycle(values)

            def one() -> int:
                value = next(rotation)
                if kind == "identity":
                    return client.post("/staff/search/complainant", data={"who": value}).status_code
                return client.get("/staff/search", query_string={"q": value}).status_code

            expected = 302 if label.startswith("exact") else 200
            for _ in range(10):
                assert one() == expected, (label, role)
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                one()
                samples.append((time.perf_counter() - started) * 1000)
            count = matched[label]
            scope = "all units" if role == "auditor" else ("1,000+" if count >= 1000 else f"{count:,.0f}")
            print(f"| {label} | {scope} | {role} | {statistics.median(samples):.1f} ms "
                  f"| {percentile(samples, 0.95):.1f} ms |", flush=True)
    print("load average at the end %.1f %.1f %.1f" % os.getloadavg())


if __name__ == "__main__":
    main()
