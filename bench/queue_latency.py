"""Latency of the officer's queue page and the API list on a filled database.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/queue_latency.py --database-url URL [--requests 200]

Requests go through the whole Flask stack in-process (WSGI test client: routing, sign-in
session or bearer token, authorization, queries, template rendering), so the figures are
the application's own work without network noise. Each view is asked `--requests` times
after a warm-up; p50 and p95 are printed per view, with the number of SQL statements one
request issues.
"""
from __future__ import annotations

import statistics
import time

from common import database, machine, migrated_app, parser, percentile

VIEWS = [
    ("queue: open complaints (default tab)", "page", "/staff/queue"),
    ("queue: page 2 (cursor)", "page", "NEXT"),
    ("queue: state=verified", "page", "/staff/queue?state=verified"),
    ("queue: state=closed", "page", "/staff/queue?state=closed"),
    ("queue: overdue", "page", "/staff/queue?overdue=1"),
    ("queue: assigned to me", "page", "/staff/queue?mine=1"),
    ("queue: search in titles", "page", "/staff/queue?q=loket+petugas"),
    ("queue: search by code (a whole code redirects to its complaint)", "page", "/staff/queue?q=CODE"),
    ("auditor: every unit", "auditor", "/staff/queue"),
    ("API GET /api/v1/complaints", "api", "/api/v1/complaints?limit=25"),
    ("API state=closed", "api", "/api/v1/complaints?limit=25&state=closed"),
]


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--requests", type=int, default=200)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import event, func, select

    from generate import PASSWORD
    from pengaduan.extensions import db
    from pengaduan.models import Complaint, User
    from pengaduan.policy import Actor
    from pengaduan.services.administration.accounts import issue_token

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        officer = db.session.scalar(select(User).where(User.email == "officer0.u00@bench.id"))
        token = issue_token(officer, actor=Actor.cli("bench"))
        db.session.commit()
        some_code = db.session.scalar(select(Complaint.tracking_code).where(Complaint.unit_id == officer.units[0].id)
                                      .order_by(Complaint.id.desc()).limit(1))
        queries = {"n": 0}
        event.listen(db.engine, "before_cursor_execute", lambda *_: queries.__setitem__("n", queries["n"] + 1))

    clients = {}
    for kind, email in (("page", "officer0.u00@bench.id"), ("auditor", "auditor@bench.id")):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        clients[kind] = client
    clients["api"] = app.test_client()
    headers = {"api": {"Authorization": f"Bearer {token}"}}

    first = clients["page"].get("/staff/queue").get_data(as_text=True)
    next_link = first.split('href="/staff/queue?cursor=', 1)[1].split('"', 1)[0] if "cursor=" in first else ""

    print(machine(url))
    print(f"{total:,} complaints; {args.requests} requests a view after 20 warm-up requests")
    print("| view | p50 | p95 | queries |\n|---|---|---|---|")
    for label, kind, path_as_listed in VIEWS:
        path = path_as_listed.replace("NEXT", f"/staff/queue?cursor={next_link}").replace("CODE", some_code)
        client = clients[kind]
        for _ in range(20):
            response = client.get(path, headers=headers.get(kind, {}))
            assert response.status_code == (302 if "q=CODE" in path_as_listed else 200), (path, response.status_code)
        samples = []
        queries["n"] = 0
        for _ in range(args.requests):
            started = time.perf_counter()
            client.get(path, headers=headers.get(kind, {}))
            samples.append((time.perf_counter() - started) * 1000)
        print(f"| {label} | {statistics.median(samples):.1f} ms | {percentile(samples, 0.95):.1f} ms "
              f"| {queries['n'] / args.requests:.0f} |")


if __name__ == "__main__":
    main()
