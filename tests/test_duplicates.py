"""Duplicates: the case page of a new complaint suggests open complaints of its unit from the
last 90 days whose words are alike (a reworded one too, never an unrelated one); an officer
links them as related (both case pages show it, unlinking too, audited) or closes the new one
as a duplicate; its complainant then follows the original's public progress (never its
complainant) and is emailed when it closes; the figures count the pair once."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import force_locale
from sqlalchemy import select

from pages import Page
from test_staff import OFFICER_A, browser, file, get_page, org, page_of, signed_in, track  # noqa: F401
from pengaduan.errors import InvalidFields
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, OutboxMessage, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance
from pengaduan.services.complaints.citizen import rate
from pengaduan.services.complaints.duplicates import link, related, suggestions, unlink
from pengaduan.services.oversight.reports import periodic_report

ORIGINAL = dict(title="Jalan rusak berlubang di depan pasar Sentral",
                description="Aspal jalan di depan pasar Sentral rusak dan berlubang besar, motor sering jatuh.",
                name="Siti Aminah", email="siti@example.id")
REWORDED = dict(title="Lubang besar di jalan depan Pasar Sentral belum diperbaiki",
                description="Sudah sebulan lubang di jalan depan pasar itu belum juga diperbaiki, berbahaya.",
                email="rina@example.id")


def officer(app):
    return Actor.staff(User.by_email(OFFICER_A))


def codes(found) -> list[str]:
    return [s.complaint.tracking_code for s in found]


def test_suggestions_find_the_reworded_complaint_and_only_in_scope(app, org):
    original, _ = file(app, **ORIGINAL)
    file(app, title="KTP-el belum jadi", description="Sudah tiga bulan menunggu di kecamatan.")
    other_unit, _ = file(app, **{**ORIGINAL, "unit": "UNIT-B"})
    old, _ = file(app, at=utcnow() - timedelta(days=120), **ORIGINAL)
    closed, _ = file(app, **ORIGINAL)
    with app.app_context():
        advance(Complaint.by_code(closed), "reject", officer(app), reason="Tidak jelas.", closure_reason="rejected")
        db.session.commit()
    new, _ = file(app, **REWORDED)
    with app.app_context():
        found = suggestions(officer(app), Complaint.by_code(new))
        assert codes(found) == [original]  # not the unrelated one, other unit, old, closed
        assert 0.2 <= found[0].similarity < 1
        assert suggestions(Actor.staff(User.by_email("officer.b@example.id")), Complaint.by_code(new)) == []
    client = signed_in(app, OFFICER_A)
    html = client.get(page_of(new)).get_data(as_text=True)
    assert original in html and "Siti Aminah" not in html and "siti@example.id" not in html
    assert f"duplicate_of={original}" in html
    for _ in range(6):
        file(app, **ORIGINAL)
    with app.app_context():
        assert len(suggestions(officer(app), Complaint.by_code(new))) == 5


def test_link_and_unlink_show_on_both_pages_and_are_audited(app, org):
    first, _ = file(app, **ORIGINAL)
    second, _ = file(app, **REWORDED)
    client = signed_in(app, OFFICER_A)
    token = get_page(client, page_of(second)).token
    assert client.post(f"{page_of(second)}/links", data={"csrf_token": token, "related": first}).status_code == 302
    for here, there in ((first, second), (second, first)):
        assert f'href="{page_of(there)}"' in client.get(page_of(here)).get_data(as_text=True)
    refused = client.post(f"{page_of(second)}/links", data={"csrf_token": token, "related": "ZZZZ-ZZZZ"})
    assert refused.status_code == 422 and 'value="ZZZZ-ZZZZ"' in refused.get_data(as_text=True)
    with app.app_context():
        me = officer(app)
        try:
            link(me, Complaint.by_code(first), second)
            raise AssertionError("linked twice")
        except InvalidFields as error:
            assert "related" in error.errors
        unlink(me, Complaint.by_code(first), second)
        db.session.commit()
        assert related(me, Complaint.by_code(second)) == []
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("complaint.%link%"))).all()
        assert actions == ["complaint.linked", "complaint.unlinked"]


def test_closing_as_duplicate_shows_the_originals_public_progress_and_mails_on_close(app, org):
    original, _ = file(app, **ORIGINAL)
    new, pin = file(app, **REWORDED)
    third, _ = file(app, **ORIGINAL)
    client = signed_in(app, OFFICER_A)
    page = get_page(client, f"{page_of(new)}?duplicate_of={original.lower()}")
    form = page.forms[f"{page_of(new)}/act/reject"]
    assert (form.values["closure_reason"], form.values["duplicate_of"]) == ("duplicate", original)
    assert client.post(f"{page_of(new)}/act/reject", data=form.values).status_code == 302
    with app.app_context():  # told it was merged, not that it will not be followed up
        [told] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "rina@example.id")).all()
        assert "digabungkan" in told.subject and "tidak ditindaklanjuti" not in told.body_text  # filed in Indonesian
    with app.app_context():
        duplicate = Complaint.by_code(new)
        assert duplicate.duplicate_of.tracking_code == original and duplicate.closure_reason == "duplicate"
        refused = None
        try:
            advance(Complaint.by_code(third), "reject", officer(app), reason="Sama.",
                    closure_reason="duplicate", duplicate_of=new)
        except InvalidFields as error:
            refused = str(error.errors["duplicate_of"])
        assert original in refused  # points at the original instead
        db.session.rollback()
        advance(Complaint.by_code(original), "verify", officer(app), unit="UNIT-A", category="GENERAL",
                classification="pengaduan", note="Catatan rahasia petugas")
        db.session.commit()
    citizen = browser(app)
    track(citizen, new, pin)
    html = citizen.get(f"/track/{new}").get_data(as_text=True)
    merged = html[html.index('data-testid="merged"'):]
    assert original in merged and "Verified" in merged
    assert "Siti" not in html and "siti@example.id" not in html and "Catatan rahasia" not in html
    with app.app_context():
        before = db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))
        complaint = Complaint.by_code(original)
        advance(complaint, "follow_up", officer(app), response="Jalan sudah ditambal.")
        advance(complaint, "close", officer(app), resolution="Selesai ditambal.")
        db.session.commit()
        mails = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.id > before, OutboxMessage.recipient == "rina@example.id")).all()
        assert len(mails) == 1 and new in mails[0].subject
        assert "Siti" not in mails[0].body_text and "Selesai ditambal" not in mails[0].body_text


def test_the_report_counts_the_pair_once(app, org):
    original, _ = file(app, **ORIGINAL)
    new, _ = file(app, **REWORDED)
    with app.app_context():
        today = date.today()
        before = periodic_report(today - timedelta(days=1), today + timedelta(days=1))
        advance(Complaint.by_code(new), "reject", officer(app), reason="Sama.", closure_reason="duplicate",
                duplicate_of=original)
        db.session.commit()
        after = periodic_report(today - timedelta(days=1), today + timedelta(days=1))
        assert (before.received, after.received, after.duplicates) == (2, 1, 1)
        assert sum(u.closed for u in after.per_unit) == 0 and "duplicate" not in after.by_closure


def test_a_duplicate_closed_as_a_duplicate_hands_its_duplicates_on(app, org):
    first, _ = file(app, **ORIGINAL)
    second, _ = file(app, **ORIGINAL)
    third, _ = file(app, **REWORDED)
    with app.app_context():
        me = officer(app)
        advance(Complaint.by_code(third), "reject", me, reason="Sama.", closure_reason="duplicate", duplicate_of=second)
        advance(Complaint.by_code(second), "reject", me, reason="Sama.", closure_reason="duplicate", duplicate_of=first)
        db.session.commit()
        assert Complaint.by_code(third).duplicate_of.tracking_code == first



def test_the_duplicates_page_reads_as_merged_and_rates_once_the_original_closes(app, org):
    """Her page says merged (status and history), not closed or rejected; it says the office's
    words to the other complainant are withheld; no rating until the original closes."""
    original, _ = file(app, **ORIGINAL)
    new, pin = file(app, **REWORDED)
    with app.app_context():
        advance(Complaint.by_code(new), "reject", officer(app), reason="Sama.", closure_reason="duplicate",
                duplicate_of=original)
        advance(Complaint.by_code(original), "verify", officer(app), unit="UNIT-A", category="GENERAL",
                classification="pengaduan")
        db.session.commit()
    citizen = browser(app)
    track(citizen, new, pin)
    html = citizen.get(f"/track/{new}").get_data(as_text=True)
    status = html[html.index('data-testid="status"'):][:200]
    assert f"Merged with complaint {original}" in status and "Closed" not in status
    history = html[html.index('id="history"'):]
    assert f"Merged with complaint {original}" in history and "Rejected the complaint" not in history
    assert 'data-testid="words-withheld"' in html and "You will be emailed when it is closed" in html
    assert 'id="action-rate"' not in html and 'data-testid="rate-later"' in html
    with app.app_context():
        duplicate = Complaint.by_code(new)
        try:
            rate(duplicate, Actor.citizen(duplicate), 5)
            raise AssertionError("rated while the original is handled")
        except InvalidFields as error:
            assert set(error.errors) == {"rating"}
        db.session.rollback()
        assert Complaint.by_code(new).rating is None
        complaint = Complaint.by_code(original)
        advance(complaint, "follow_up", officer(app), response="Jalan sudah ditambal.")
        advance(complaint, "close", officer(app), resolution="Selesai ditambal.")
        db.session.commit()
    html = citizen.get(f"/track/{new}").get_data(as_text=True)
    assert 'id="action-rate"' in html and 'data-testid="rate-later"' not in html


def test_a_closed_complaint_cannot_be_the_original(app, org):
    closed, _ = file(app, **ORIGINAL)
    new, _ = file(app, **REWORDED)
    with app.app_context():
        advance(Complaint.by_code(closed), "reject", officer(app), reason="Tidak jelas.", closure_reason="rejected")
        db.session.commit()
        try:
            advance(Complaint.by_code(new), "reject", officer(app), reason="Sama.", closure_reason="duplicate",
                    duplicate_of=closed)
            raise AssertionError("merged with a closed complaint")
        except InvalidFields as error:
            refused = error.errors["duplicate_of"]
            with force_locale("en"):
                assert closed in str(refused) and "already closed" in str(refused) and "related" in str(refused)
        db.session.rollback()
        assert Complaint.by_code(new).state == "received"
