"""The accessibility statement (/aksesibilitas) and what a complainant needs to be reached or
served: asked on the complaint form, kept with the complaint, shown on the case page to staff
who may open it (her own words only where her identity is shown), and in the audit log only
as the fact that something was asked. The axe checks of the public pages are browser tests
(tests/browser/test_browser_accessibility.py)."""
from __future__ import annotations

import json

from sqlalchemy import select

from pages import Page
from pengaduan.extensions import db
from pengaduan.models import Complaint
from test_citizen import NEW, assert_nothing_saved, audit_trail, file_complaint_via_form
from test_staff import OFFICER_A, browser, get_page, org, signed_in  # noqa: F401 (fixture)

NOTE = "Saya tuli, mohon kirim SMS saja"


def test_statement_in_both_languages_linked_from_the_footer(app, org):
    english = get_page(browser(app), "/aksesibilitas").html
    assert "<h1>Accessibility statement</h1>" in english and "WCAG) 2.2 at level AA" in english
    indonesian = app.test_client()
    indonesian.set_cookie("lang", "id")
    assert "<h1>Pernyataan aksesibilitas</h1>" in get_page(indonesian, "/aksesibilitas").html
    assert '<a href="/aksesibilitas">Accessibility</a>' in get_page(browser(app), "/").html


def test_special_needs_reach_the_case_page_and_never_the_audit_log(app, org):
    needs = ["voice_call", "sign_language"]
    sent = file_complaint_via_form(browser(app), contact_needs=needs, contact_needs_note=NOTE)
    assert sent.status_code == 302
    hidden = file_complaint_via_form(browser(app), contact_needs=["large_print"],
                                     contact_needs_note=NOTE, privacy="confidential")
    assert hidden.status_code == 302
    with app.app_context():
        public, confidential = db.session.scalars(select(Complaint).order_by(Complaint.id)).all()
        codes = public.tracking_code, confidential.tracking_code
        assert public.contact_needs == ["sign_language", "voice_call"]  # in the form's order
        assert public.contact_needs_note == NOTE

    for code in codes:
        trail = json.dumps(audit_trail(app, code))
        assert '"contact_needs": true' in trail and NOTE not in trail and "voice_call" not in trail

    officer = signed_in(app, OFFICER_A)
    case = get_page(officer, f"/staff/complaints/{codes[0]}").html
    assert "A sign-language interpreter" in case and "A phone call rather than writing" in case
    assert NOTE in case and '<a href="#contact-needs">' in case  # also beside the status
    masked = get_page(officer, f"/staff/complaints/{codes[1]}").html
    assert "Letters in large print" in masked and NOTE not in masked
    assert "it is shown with the identity" in masked


def test_an_unknown_need_is_refused_with_what_was_typed(app, org):
    response = file_complaint_via_form(browser(app), contact_needs=["sign_language", "teleport"],
                                       contact_needs_note=NOTE)
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert "#contact_needs" in page.links and page.ids["contact_needs-error"] == 1
    assert page.forms[NEW].values["contact_needs_note"] == NOTE
    assert 'value="sign_language" checked' in page.html
    assert_nothing_saved(app)
