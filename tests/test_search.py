"""Search from every staff page (services/complaints/search.py, web/search.py): an exact code
opens its complaint in any state, fragments of codes and words of titles and descriptions
list the complaints of the searcher's units, and a search by the complainant's identity is
for those who see identities, finds only what they see anyway, and is recorded without the
term. Every test runs on SQLite (FTS5) and, when configured, PostgreSQL (tsvector, pg_trgm).
"""
from __future__ import annotations

import json
import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from pages import Page
from pengaduan.extensions import db
from pengaduan.models import AuditEvent
from pengaduan.services.complaints.search import IDENTITY_ACTION, MAX_LENGTH
from test_staff import (ADMIN, AUDITOR, IDENTITY, OFFICER_A, OFFICER_B, SUPERVISOR_A, file,  # noqa: F401
                        org, signed_in, staff_does)

SEARCH = "/staff/search"
WHO = "/staff/search/complainant"
CODE_LINK = re.compile(r'<td data-label="[^"]*" class="code"><a href="/staff/complaints/([A-Z0-9-]+)"')


def found(response) -> list[str]:
    """The codes a results page lists, in its order."""
    assert response.status_code == 200, response.status_code
    return CODE_LINK.findall(response.get_data(as_text=True))


def search(client, q: str, **args):
    return client.get(SEARCH, query_string={"q": q, **args})


def by_identity(client, who: str, **fields):
    token = Page(client.get(SEARCH).get_data(as_text=True)).forms[WHO].values["csrf_token"]
    return client.post(WHO, data={"csrf_token": token, "who": who, **fields})


def reject(app, code: str) -> None:
    staff_does(app, OFFICER_A, code, ("reject", {"reason": "Bukan kewenangan kami.",
                                                 "closure_reason": "referred", "referred_to": "BPN"}))


def test_an_exact_code_opens_its_closed_complaint_from_the_menu_box(app, org):
    code, _ = file(app)
    reject(app, code)
    officer = signed_in(app, OFFICER_A)
    page = officer.get("/staff/queue").get_data(as_text=True)
    assert 'action="/staff/search"' in page and 'id="staff-search-q"' in page  # the box in the menu bar
    for typed in (code, code.lower().replace("-", ""), f"  {code.lower()} "):
        response = search(officer, typed)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/complaints/{code}")
    other = search(signed_in(app, OFFICER_B), code)  # another unit's code: nothing, not even a hint
    assert found(other) == [] and "No complaint matches." in other.get_data(as_text=True)


def test_part_of_a_code_lists_it_with_or_without_the_dash(app, org):
    codes = [file(app, title=f"Keluhan {i}")[0] for i in range(3)]
    officer = signed_in(app, OFFICER_A)
    code = codes[1]
    for typed in (code[2:7], code[2:7].lower().replace("-", ""), code[:4], code[5:].lower()):
        assert code in found(search(officer, typed)), typed


def test_words_of_titles_rank_before_words_of_descriptions_in_any_state(app, org):
    in_title, _ = file(app, title="Lampu jalan padam", description="Sudah seminggu gelap gulita.")
    in_text, _ = file(app, title="Keluhan warga", description="Lampu penerangan di Jalan Melati mati.")
    other, _ = file(app, title="Air PDAM keruh", description="Sejak Senin airnya keruh.")
    closed, _ = file(app, title="Pungutan loket", description="Diminta uang lampu tambahan.")
    reject(app, closed)
    officer = signed_in(app, OFFICER_A)
    assert found(search(officer, "lampu")) == [in_title, closed, in_text]  # title first, newest first
    assert found(search(officer, "LAMPU jalan")) == [in_title, in_text]
    assert found(search(officer, "melati")) == [in_text]
    assert found(search(officer, "lampu", state="open")) == [in_title, in_text]
    assert found(search(officer, "lampu", state="closed")) == [closed]
    assert found(search(officer, "keruh")) == [other]
    assert found(search(officer, "kerbau")) == []


def test_search_pages_through_every_match_once(app, org):
    codes = [file(app, title=f"Antrean loket {i}")[0] for i in range(30)]
    officer = signed_in(app, OFFICER_A)
    first = search(officer, "antrean")
    html = first.get_data(as_text=True)
    cursor = re.search(r'cursor=([0-9.]+)', html).group(1)
    second = search(officer, "antrean", cursor=cursor)
    assert found(first) + found(second) == list(reversed(codes))
    assert found(search(officer, "antrean", cursor="nonsense")) == found(first)  # a mangled cursor starts over


def test_new_and_edited_complaints_are_indexed(app, org):
    code, _ = file(app, title="Jembatan retak")
    officer = signed_in(app, OFFICER_A)
    assert found(search(officer, "jembatan")) == [code]
    with app.app_context():
        db.session.execute(text("UPDATE complaints SET title = 'Trotoar amblas' WHERE tracking_code = :c"),
                           {"c": code})
        db.session.commit()
    assert found(search(officer, "jembatan")) == []
    assert found(search(officer, "amblas")) == [code]


def test_the_migration_indexes_complaints_filed_before_it(app, org):
    code, _ = file(app, title="Drainase tersumbat")
    with app.app_context():
        downgrade(revision="0013")
        assert "complaint_text" not in inspect(db.engine).get_table_names()
        upgrade()
    assert found(search(signed_in(app, OFFICER_A), "drainase")) == [code]


def test_search_sees_exactly_the_units_the_person_may_open(app, org):
    code, _ = file(app, title="Parkir liar di pasar")
    b_code, _ = file(app, unit="UNIT-B", title="Parkir liar di terminal")
    assert found(search(signed_in(app, OFFICER_A), "parkir")) == [code]
    assert found(search(signed_in(app, OFFICER_B), "parkir")) == [b_code]
    assert found(search(signed_in(app, OFFICER_B), code[:6])) == []
    assert found(search(signed_in(app, SUPERVISOR_A), "parkir")) == [code]
    assert found(search(signed_in(app, AUDITOR), "parkir")) == [b_code, code]
    assert signed_in(app, ADMIN).get(SEARCH, query_string={"q": "parkir"}).status_code == 403


@pytest.mark.parametrize("typed, message", [
    ("", "Type a tracking code or some words to search for."),
    ("ab", "Type at least 3 characters."),
    ("x" * (MAX_LENGTH + 1), f"Type at most {MAX_LENGTH} characters."),
    ('"*" - -', "Type letters or digits to search for."),
    ("3201234567890123", "Numbers of 8 digits or more (a NIK, a phone number) are not searched here"),
    ("+62 812-3456-7890", "Numbers of 8 digits or more (a NIK, a phone number) are not searched here"),
])
def test_a_query_that_cannot_be_searched_says_why_and_keeps_what_was_typed(app, org, typed, message):
    response = search(signed_in(app, OFFICER_A), typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html
    assert Page(html).forms[SEARCH].values["q"] == typed


@pytest.mark.parametrize("typed", ['"ktp', "ktp*", "NEAR(ktp jalan)", "ktp -el", "ktp NOT el", "{title}: ktp",
                                   "ktp & !el | (", "'ktp':*", "100%_", "KTP-el", "ktp OR", "^ktp", "AND"])
def test_search_syntax_is_read_as_plain_words(app, org, typed):
    code, _ = file(app, title="KTP-el belum jadi")
    response = search(signed_in(app, OFFICER_A), typed)
    assert response.status_code in (200, 302)
    if typed in ('"ktp', "ktp*", "'ktp':*", "KTP-el"):
        assert found(response) == [code]


def test_identity_search_finds_only_public_complaints_of_my_units_and_is_recorded(app, org):
    public, _ = file(app, title="Keluhan satu")
    anonymous, _ = file(app, title="Keluhan dua", privacy="anonymous")
    confidential, _ = file(app, title="Keluhan tiga", privacy="confidential")
    other_unit, _ = file(app, unit="UNIT-B", title="Keluhan empat")
    officer = signed_in(app, OFFICER_A)
    for who in ("budi hartono", "Hart", IDENTITY["nik"], "0812 3456 7890", "+62-812-3456-7890"):
        response = by_identity(officer, who)
        assert found(response) == [public], who
        assert response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        assert IDENTITY["nik"] not in html.replace(f'value="{IDENTITY["nik"]}"', "")  # only in the field
    assert found(by_identity(signed_in(app, SUPERVISOR_A), "Budi")) == [public]
    assert found(by_identity(signed_in(app, OFFICER_B), "Budi")) == [other_unit]
    assert anonymous and confidential
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == IDENTITY_ACTION)).all()
        bodies = "\n".join(e.body for e in events)
        payloads = [json.loads(e.body)["payload"] for e in events]
    assert len(events) == 7
    assert [p["kind"] for p in payloads[:5]] == ["name", "name", "nik", "phone", "phone"]
    assert payloads[3]["term_digest"] == payloads[4]["term_digest"]  # one number, however typed
    assert payloads[0]["codes"] == [public]
    # Short fragments are looked for where no hash or time could hold them by chance.
    scrubbed = "\n".join(json.dumps({k: v for k, v in p.items() if k != "term_digest"}) for p in payloads)
    for secret in (IDENTITY["nik"], "Budi", "budi", "Hart", "hart", "3456", "812"):
        assert secret not in scrubbed
    for secret in (IDENTITY["nik"], "Budi", "budi", "Hart", "hart", "081234567890", "6281234567890"):
        assert secret not in bodies
    assert all(e.actor.startswith("user:") for e in events)


def test_identity_search_is_not_for_auditors(app, org):
    file(app)
    auditor = signed_in(app, AUDITOR)
    page = Page(auditor.get(SEARCH).get_data(as_text=True))
    assert WHO not in page.forms
    token = page.token if any("csrf_token" in f.values for f in page.forms.values()) else None
    assert auditor.post(WHO, data={"csrf_token": token, "who": "Budi"}).status_code == 403
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == IDENTITY_ACTION)).all() == []


def test_the_words_never_match_a_complainants_name(app, org):
    file(app, title="Keluhan", privacy="confidential")
    assert found(search(signed_in(app, SUPERVISOR_A), "hartono")) == []


@pytest.mark.parametrize("who, message", [
    ("", "Type a name, a 16-digit NIK or a phone number."),
    ("12345", "A NIK has 16 digits and a phone number 8 to 15; type a whole one."),
    ("b", "Type at least 3 letters of the name."),
    ("x" * (MAX_LENGTH + 1), f"Type at most {MAX_LENGTH} characters."),
])
def test_an_identity_term_that_cannot_be_searched_says_why_and_is_not_recorded(app, org, who, message):
    response = by_identity(signed_in(app, OFFICER_A), who)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert Page(html).forms[WHO].values["who"] == who
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == IDENTITY_ACTION)).all() == []



def test_the_queue_filter_opens_a_whole_code_even_of_a_closed_complaint(app, org):
    code, _ = file(app)
    reject(app, code)
    officer = signed_in(app, OFFICER_A)
    response = officer.get("/staff/queue", query_string={"q": code.lower()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/complaints/{code}")
    assert signed_in(app, OFFICER_B).get("/staff/queue", query_string={"q": code}).status_code == 200
