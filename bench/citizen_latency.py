"""Latency of the citizen's pages and the pages around them on a filled database.

    python bench/generate.py --complaints 1000000 --database-url URL   # once
    python bench/citizen_latency.py --database-url URL [--requests 200]

The public pages (home, form, tracking form, forgot-PIN form, accessibility statement, all
drawn with the office's identity), the tracking page of an open complaint with its history
and conversation, its withdraw page, the staff case page of the same complaint and the
office settings page. Requests go through the whole Flask stack in-process (WSGI test
client), as in bench/queue_latency.py; p50 and p95 per view, with the SQL statements one
request issues. The benchmark gives one open complaint a PIN and two conversation messages
(so its pages have something to show) and adds an admin account if there is none.
"""
from __future__ import annotations

import re
import statistics

from common import database, machine, migrated_app, parser, percentile, timings

PIN = "BENCH-12345"
VIEWS = [
    ("home (office identity)", "citizen", "/"),
    ("complaint form", "citizen", "/complaints/new"),
    ("tracking form", "citizen", "/track"),
    ("forgot-PIN form", "citizen", "/track/forgot-pin"),
    ("accessibility statement", "citizen", "/aksesibilitas"),
    ("tracking page of an open complaint", "citizen", "/track/CODE"),
    ("withdraw confirmation page", "citizen", "/track/CODE/withdraw"),
    ("staff case page (with messages)", "officer", "/staff/complaints/CODE"),
    ("office settings (admin)", "admin", "/admin/office"),
]


def token(client, path: str) -> str:
    """The CSRF token a page's form carries."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


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
    from pengaduan.services.complaints.conversation import post_message
    from pengaduan.services.complaints.tracking import hash_pin
    from pengaduan.workflow import current_workflow

    app = migrated_app(url, tmp, RATELIMIT_ENABLED=False)  # CSRF on: the form draws its token
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Complaint))
        officer = db.session.scalar(select(User).where(User.email == "officer0.u00@bench.id"))
        terminal = [s for s in current_workflow().states if current_workflow().is_terminal(s)]
        complaint = db.session.scalar(select(Complaint).where(
            Complaint.unit_id == officer.units[0].id, Complaint.state.not_in(terminal))
            .order_by(Complaint.id.desc()).limit(1))
        complaint.pin_hash = hash_pin(PIN)
        post_message(complaint, Actor.citizen(complaint), "Apakah ada kabar terbaru?")
        post_message(complaint, Actor.staff(officer), "Sedang kami tindak lanjuti dengan bidang terkait.")
        if db.session.scalar(select(User).where(User.email == "admin@bench.id")) is None:
            db.session.add(User(email="admin@bench.id", name="Admin", role="admin",
                                password_hash=officer.password_hash))
        code = complaint.tracking_code
        db.session.commit()
        queries = {"n": 0}
        event.listen(db.engine, "before_cursor_execute", lambda *_: queries.__setitem__("n", queries["n"] + 1))

    clients = {"citizen": app.test_client()}
    answer = clients["citizen"].post("/track", data={"code": code, "pin": PIN,
                                                     "csrf_token": token(clients["citizen"], "/track")})
    assert answer.status_code == 302, answer.status_code
    for kind, email in (("officer", "officer0.u00@bench.id"), ("admin", "admin@bench.id")):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD,
                                               "csrf_token": token(client, "/login")})
        assert response.status_code == 302, response.status_code
        clients[kind] = client

    print(machine(url))
    print(f"{total:,} complaints; {args.requests} requests a view after 20 warm-up requests")
    print("| view | p50 | p95 | queries |\n|---|---|---|---|")
    for label, kind, path_as_listed in VIEWS:
        path = path_as_listed.replace("CODE", code)
        client = clients[kind]
        for _ in range(20):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        queries["n"] = 0
        samples = timings(lambda: client.get(path), args.requests)
        print(f"| {label} | {statistics.median(samples):.1f} ms | {percentile(samples, 0.95):.1f} ms "
              f"| {queries['n'] / args.requests:.0f} |")


if __name__ == "__main__":
    main()
