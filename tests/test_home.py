"""The staff home page, /staff: each role lands there after signing in and sees its own
sections. An officer sees what of their unit is late, due today and this week, new and
answered by complainants, never another unit's complaints; a supervisor sees the late count
and worst cases and the figures, whose charts carry their numbers as tables; an auditor sees
the figures across units and where to look; an administrator sees the setup. A masked
identity never appears on any of them.

Requests run outside any pushed application context (as in test_staff.py), so the `world`
fixture here only asks for the conftest's organisation (the database starts from its
template); data is built in short `with app.app_context():` blocks.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from organisation import STAFF, organisation
from pages import Page
from pengaduan.extensions import db
from pengaduan.models import Complaint, Unit, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, create_user
from pengaduan.services.complaints.casework import add_note, assign
from pengaduan.services.complaints.worklist import day_bounds
from pengaduan.services.oversight.dashboard import figures
from test_staff import browser, get_page, location, login, signed_in

OFFICER_A, OFFICER_B = STAFF["officer_a"][0], STAFF["officer_b"][0]
SUPERVISOR_A, AUDITOR, ADMIN = STAFF["supervisor_a"][0], STAFF["auditor"][0], STAFF["admin"][0]
OFFICER_A2 = "officer.a2@example.id"
HOME = "/staff"
SECRET = {"name": "Sri Rahasia", "email": "sri.rahasia@example.id", "nik": "3201999988887777"}


@pytest.fixture
def world(app):
    """The conftest's organisation, without holding an application context: requests from
    several browsers here would share its `g`."""
    return app


def due(code: str, when) -> None:
    """Put the complaint's running stage deadline at `when`."""
    complaint = Complaint.by_code(code)
    for clock in complaint.clocks:
        if clock.due_at is not None and clock.running:
            clock.due_at = when
    complaint.stage_due_at = when


@pytest.fixture
def cases(app, world) -> dict[str, str]:
    """Complaints of unit A: one due today, one due later this week, one late, one late and
    assigned to another officer of the unit, a confidential one due today; one of unit B due
    today; the codes by name."""
    with app.app_context():
        w = organisation()
        create_user(OFFICER_A2, "officer", password="correct horse battery", unit_codes=["UNIT-A"])
        now = utcnow()
        end_today, end_week = day_bounds(w.unit_a, now)
        codes = {
            "today": w.file(title="Lampu jalan mati").complaint.tracking_code,
            "week": w.file(title="Trotoar rusak").complaint.tracking_code,
            "late": w.file(title="Sampah tidak diangkut").complaint.tracking_code,
            "others": w.file(title="Antrean loket panjang").complaint.tracking_code,
            "secret": w.file(title="Pungutan di loket", privacy="confidential", **SECRET).complaint.tracking_code,
            "unit_b": w.file(unit="UNIT-B", title="Air PDAM keruh").complaint.tracking_code,
        }
        due(codes["today"], end_today)
        due(codes["secret"], end_today)
        due(codes["unit_b"], day_bounds(w.unit_b, now)[0])
        due(codes["week"], end_week)
        due(codes["late"], now - timedelta(days=3))
        due(codes["others"], now - timedelta(days=5))
        assign(Complaint.by_code(codes["others"]), w.supervisor_a, OFFICER_A2)
        db.session.commit()
    return codes


def home_of(app, email: str) -> Page:
    return get_page(signed_in(app, email), HOME)


def count(page: Page, name: str) -> int:
    """The number of a figure at the top of the page (its data-testid)."""
    match = re.search(rf'data-testid="{name}"><span class="stat-number">([\d.,]+)</span>', page.html)
    assert match, f"no figure {name}"
    return int(match.group(1).replace(".", "").replace(",", ""))


def section(page: Page, section_id: str) -> str:
    """The HTML of one section of the page, by its id."""
    match = re.search(rf'<section id="{section_id}".*?</section>', page.html, re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


def test_signed_out_home_goes_to_the_sign_in_page(app, world):
    response = app.test_client().get(HOME)
    assert response.status_code == 302
    assert location(response).startswith("/login")


@pytest.mark.parametrize("email", [OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN])
def test_every_role_lands_on_home_after_sign_in(app, world, email):
    client = browser(app)
    assert location(login(client, email)) == HOME
    page = get_page(client, HOME)
    assert 'href="/staff" aria-current="page"' in page.html, "the staff menu starts with Home"


def test_officer_sees_the_due_work_of_their_unit_only(app, cases):
    page = home_of(app, OFFICER_A)
    assert (count(page, "count-due-today"), count(page, "count-due-week"), count(page, "count-late")) == (2, 1, 1)
    assert count(page, "count-new") == 4  # every complaint of unit A but the one given to another officer
    due_soon, late = section(page, "due"), section(page, "late")
    assert cases["today"] in due_soon and cases["week"] in due_soon and cases["secret"] in due_soon
    assert cases["late"] in late
    assert cases["others"] not in page.html, "assigned to another officer"
    assert cases["unit_b"] not in page.html, "another unit's complaint"
    assert f'href="/staff/complaints/{cases["today"]}"' in page.html
    assert "figures" not in page.ids, "officers' home is their work"

    other = home_of(app, OFFICER_B)
    assert (count(other, "count-due-today"), count(other, "count-late")) == (1, 0)
    assert cases["unit_b"] in section(other, "due")
    assert not any(cases[name] in other.html for name in ("today", "week", "late", "secret"))


def test_replies_count_until_the_officer_acts(app, cases):
    code = cases["late"]
    with app.app_context():
        w = organisation()
        complaint = Complaint.by_code(code)
        advance(complaint, "request_info", w.officer_a, message="Mohon kirim foto lokasi.")
        advance(complaint, "provide_info", Actor.citizen(complaint), message="Foto terlampir.")
        db.session.commit()
    page = home_of(app, OFFICER_A)
    assert count(page, "count-replies") == 1
    assert code in section(page, "replies") and "Provide information" in section(page, "replies")
    assert count(home_of(app, OFFICER_B), "count-replies") == 0

    with app.app_context():
        add_note(Complaint.by_code(code), organisation().officer_a, "Foto sudah diperiksa.")
        db.session.commit()
    page = home_of(app, OFFICER_A)
    assert count(page, "count-replies") == 0 and code not in section(page, "replies")


def test_supervisor_sees_the_late_count_and_the_worst_cases(app, cases):
    page = home_of(app, SUPERVISOR_A)
    assert count(page, "count-late") == 2  # the late one and the one assigned to another officer
    worst = section(page, "late-cases")
    assert worst.index(cases["others"]) < worst.index(cases["late"]), "the most late first"
    assert cases["unit_b"] not in page.html
    assert 'href="/staff/overdue"' in worst
    assert "due" not in page.ids, "a supervisor's home is the units, not a worklist"


def test_waiting_escalations_leave_the_home_with_their_complaint(app, world):
    """An escalation waits on the home while its complaint is open in a unit the supervisor
    oversees: not once the complaint moved to another unit, nor once it was closed."""
    from pengaduan.jobs.sweep import sweep
    from pengaduan.services import file_complaint

    raw = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
           "description": "Sudah lama.", "privacy": "anonymous"}
    with app.app_context():
        codes = [file_complaint({**raw, "title": title}, at=utcnow() - timedelta(days=40))
                 .complaint.tracking_code for title in ("Tetap", "Pindah", "Selesai")]
        db.session.commit()
        sweep()
        stays, moved, closed = (Complaint.by_code(code) for code in codes)
        moved.unit_id = Unit.by_code("UNIT-B").id
        closed.state = "closed"
        db.session.commit()
    page = home_of(app, SUPERVISOR_A)
    waiting = section(page, "escalations")
    assert codes[0] in waiting and codes[1] not in waiting and codes[2] not in waiting
    assert count(page, "count-escalations") == 1


def table_rows(html: str, title: str) -> list[list[str]]:
    """The rows (cells as text) of the table that follows the chart titled `title`."""
    figure = re.search(rf"<figure[^>]*>(?:(?!</figure>).)*?<title>{re.escape(title)}</title>.*?</figure>",
                       html, re.S).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", figure, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_charts_carry_the_same_numbers_as_tables(app, cases):
    page = home_of(app, SUPERVISOR_A)
    months = table_rows(page.html, "Complaints received per month")
    assert len(months) == 12 and [int(n) for *_, n in months[:-1]] == [0] * 11
    assert int(months[-1][1]) == 5, "this month: the five complaints of unit A"
    svg = re.search(r'<svg[^>]*aria-label="Complaints received per month: ([^"]*)"', page.html).group(1)
    assert svg.endswith(f"{months[-1][0]} 5"), "the chart's label says the same number"
    categories = table_rows(page.html, "Complaints by category")
    assert categories == [["Umum", "5", "100.0%"]]
    with app.app_context():
        numbers = figures([Unit.by_code("UNIT-A")])
    assert sum(numbers.received) == numbers.total == 5
    channels = table_rows(page.html, "Complaints by channel")
    assert sum(int(n) for _, n, _ in channels) == 5


def test_auditor_sees_figures_across_units_and_where_to_look(app, cases):
    page = home_of(app, AUDITOR)
    months = table_rows(page.html, "Complaints received per month")
    assert int(months[-1][1]) == 6, "both units"
    assert 'href="/staff/evidence"' in page.html and 'href="/staff/reports"' in page.html
    assert "due" not in page.ids and "late-cases" not in page.ids


def test_admin_sees_the_setup_and_no_figures(app, world):
    page = home_of(app, ADMIN)
    assert re.search(r'data-testid="setup-units">2<', page.html)
    assert re.search(r'data-testid="setup-accounts-officer">2<', page.html)
    assert 'href="/admin/calendar"' in page.html
    assert "figures" not in page.ids and "due" not in page.ids


def test_masked_identity_never_appears_on_any_home(app, cases):
    for email in (OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN):
        html = home_of(app, email).html
        for value in SECRET.values():
            assert value not in html, (email, value)
