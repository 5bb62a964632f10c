"""The periodic report for all the units a person may see, with a line per unit, as a page,
CSV and a PDF to sign; and its on-time rate, which counts what is late and not finished."""
from __future__ import annotations

import io
import os
import re
from datetime import date, datetime, timedelta

import pytest

from pengaduan.extensions import db
from pengaduan.models import Complaint, Unit
from pengaduan.policy import Actor
from pengaduan.services import create_unit, file_complaint
from pengaduan.services.complaints.citizen import rate
from pengaduan.services.oversight.reports import (PdfUnavailable, csv_rows, pdf_missing, periodic_report,
                                                  write_pdf)
from test_evidence import JUNE, VERIFY_A, citizen, csv_of, june, june_rows, raw_complaint, step, wib  # noqa: F401
from test_staff import get_page, signed_in
from test_supervision import AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, SUPERVISOR_AB, actor_of, text_of
from test_supervision import org  # noqa: F401  (the fixture: two units and their staff)

QUERY = "/staff/reports?from=2026-06-01&to=2026-06-30"


needs_pdf = pytest.mark.skipif(
    pdf_missing() is not None and os.environ.get("PENGADUAN_REQUIRE_PDF") != "1",
    reason=str(pdf_missing()))


@pytest.fixture
def unit_c(app, june):
    """A third unit, with a complaint in June, that SUPERVISOR_AB does not oversee."""
    with app.app_context():
        create_unit("UNIT-C", "Puskesmas C")
        db.session.flush()
        file_complaint({**raw_complaint("public"), "unit": "UNIT-C"}, actor=Actor.channel("web"), at=wib(6, 9))
        db.session.commit()


def per_unit_rows(html: str) -> dict[str, list[str]]:
    """The per-unit table as unit name -> its cells in words."""
    table = html.split('<table class="table per-unit">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def test_a_supervisor_of_two_units_gets_both_with_a_line_each_and_totals(app, june, unit_c):
    """Without a unit chosen, the coordinator of UNIT-A and UNIT-B gets one report over both:
    a line per unit and their totals, and not the third unit she does not oversee."""
    page = get_page(signed_in(app, SUPERVISOR_AB), QUERY)
    words = text_of(page.html)
    assert "Complaints received: 6" in words and "Units: Dinas A, Dinas B" in words
    assert "Puskesmas C" not in words
    rows = per_unit_rows(page.html)
    # received, closed, finished, late at the end, on time, cases late at the end
    assert rows == {"Unit": ["Received", "Closed", "Time limits finished", "Running late at the end of the period",
                             "On time", "Cases late at the end of the period"],
                    "Dinas A": ["5", "2", "9", "3", "66.7% (8/12)", "2"],
                    "Dinas B": ["1", "1", "2", "0", "100.0% (2/2)", "0"],
                    "Total": ["6", "3", "11", "3", "71.4% (10/14)", "2"]}
    assert "Overdue cases: 2" in words


def test_each_person_gets_only_the_units_they_may_see(app, june, unit_c):
    """The policy decides the units: an officer and a one-unit supervisor get their unit
    alone (another unit's code is 404), the two-unit supervisor both of hers, the auditor
    every unit, the third one included."""
    for email, unit, received in ((OFFICER_A, "UNIT-A", "5"), (SUPERVISOR_A, "UNIT-A", "5"),
                                  (OFFICER_B, "UNIT-B", "1")):
        browser = signed_in(app, email)
        rows = csv_of(browser.get(f"{QUERY}&format=csv").get_data(as_text=True))
        assert ("period", "unit", unit) in rows and ("received", "total", received) in rows, email
        assert not any(row[0].startswith("unit.") for row in rows)  # one unit: no per-unit lines
        assert browser.get(f"{QUERY}&unit=UNIT-C").status_code == 404
    mine = csv_of(signed_in(app, SUPERVISOR_AB).get(f"{QUERY}&format=csv").get_data(as_text=True))
    assert ("period", "unit", "UNIT-A UNIT-B") in mine and ("received", "total", "6") in mine
    assert {row[0] for row in mine if row[0].startswith("unit.")} == {"unit.UNIT-A", "unit.UNIT-B"}
    assert signed_in(app, SUPERVISOR_AB).get(f"{QUERY}&unit=UNIT-C&format=csv").status_code == 404
    every = csv_of(signed_in(app, AUDITOR).get(f"{QUERY}&format=csv").get_data(as_text=True))
    assert ("period", "unit", "all") in every and ("received", "total", "7") in every
    assert ("unit.UNIT-C", "received", "1") in every


def test_quick_periods_are_one_click_each_and_keep_the_unit(app, june):
    """This quarter and this year so far, the last quarter (the default, marked current) and
    last year, each a link with its dates and the unit chosen."""
    from pengaduan.services.oversight.supervision import today

    with app.app_context():
        now = today()
    page = get_page(signed_in(app, SUPERVISOR_AB), "/staff/reports?unit=UNIT-B")
    links = dict(re.findall(r'<li><a href="([^"]+)"(?: aria-current="true")?>([^<]+)</a></li>',
                            page.html.split('class="quick-periods"')[1].split("</nav>")[0]))
    by_text = {text: href.replace("&amp;", "&") for href, text in links.items()}
    quarter = date(now.year, 3 * ((now.month - 1) // 3) + 1, 1)
    assert by_text["This quarter so far"] == f"/staff/reports?from={quarter}&to={now}&unit=UNIT-B"
    assert by_text["Last year"] == f"/staff/reports?from={now.year - 1}-01-01&to={now.year - 1}-12-31&unit=UNIT-B"
    assert by_text["This year so far"].startswith(f"/staff/reports?from={now.year}-01-01&to={now}")
    assert re.search(r'aria-current="true">Last quarter<', page.html)  # the default period


def test_the_csv_of_all_my_units_has_the_page_s_numbers(app, june):
    """The coordinator's CSV carries every figure of the hand-worked June (all units), and
    the page shows the same per-unit and per-stage numbers."""
    browser = signed_in(app, SUPERVISOR_AB)
    rows = csv_of(browser.get(f"{QUERY}&format=csv").get_data(as_text=True))
    expected = june_rows(june, None) - {("period", "unit", "all")}
    assert expected - rows == set()
    page = per_unit_rows(get_page(browser, QUERY).html)
    for code, name in (("UNIT-A", "Dinas A"), ("UNIT-B", "Dinas B")):
        figures = {key: value for section, key, value in rows if section == f"unit.{code}"}
        received, closed, finished, late, on_time, cases = page[name]
        assert (received, closed, finished, late, cases) == (
            figures["received"], figures["closed"], figures["finished"], figures["overdue_open_at_end"],
            figures["overdue_cases_at_end"])
        assert on_time.startswith(f"{float(figures['on_time_rate']) * 100:.1f}%")
    html = get_page(browser, QUERY).html
    assert "60.0% (3/5)" in html  # verification: 3 on time, of 4 finished and 1 late at the end


@needs_pdf
def test_the_pdf_is_a4_with_the_office_figures_and_signature_lines(app, june):
    """The PDF download: application/pdf, named after the period, A4, with the office's
    name, the period, both units, the figures and the signature block, in words a PDF
    reader extracts."""
    from pypdf import PdfReader

    app.config["PENGADUAN_OFFICE_NAME"] = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Contoh"
    browser = signed_in(app, SUPERVISOR_AB)
    page = get_page(browser, QUERY)
    assert "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Contoh" in page.html
    link = next(link for link in page.links if link.startswith("/staff/reports.pdf"))
    response = browser.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="laporan-semua-2026-06-01-2026-06-30.pdf"' in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN CONTOH" in text  # the letterhead
    assert "June 1, 2026 – June 30, 2026" in text and "Dinas A, Dinas B" in text
    assert "Complaints received: 6" in text and "66.7% (8/12)" in text
    assert "Acknowledged by," in text and "Head of Dinas Kependudukan" in text and "NIP" in text
    assert "Joko Koordinator" in text  # who prepared it
    same = browser.get(f"{QUERY}&format=pdf")
    assert same.status_code == 200 and same.get_data().startswith(b"%PDF-")


@needs_pdf
def test_the_report_command_writes_a_pdf(app, runner, june, tmp_path):
    """`report periodic --format pdf --out FILE` writes the PDF; without --out it refuses."""
    from pypdf import PdfReader

    args = ["report", "periodic", "--from", "2026-06-01", "--to", "2026-06-30", "--format", "pdf"]
    assert runner.invoke(args=args).exit_code != 0
    out = tmp_path / "laporan.pdf"
    result = runner.invoke(args=[*args, "--unit", "UNIT-A", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(PdfReader(out).pages[0].extract_text().split())
    assert "UNIT PENGELOLA PENGADUAN" in text and "Dinas A (UNIT-A)" in text


def test_nothing_is_fetched_while_making_a_pdf(app, tmp_path):
    """A URL in the page (an image, a style sheet) is never fetched: the PDF is made from
    the page alone, so no report can be made to read a file or reach another server."""
    if pdf_missing():
        pytest.skip(pdf_missing())
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = (f'<html><head><link rel="stylesheet" href="file://{secret}"></head>'
            f'<body><img src="file://{secret}"><p>Isi</p></body></html>')
    with app.app_context():
        data = write_pdf(html)
    assert data.startswith(b"%PDF-")
    assert b"color" not in data


def test_an_open_late_case_lowers_the_on_time_rate(app, org):
    """Two complaints of one day: one verified within its limit, one never verified. Before
    the second's deadline the verification rate is 1 of 1; once it is past and still open,
    the rate is 1 of 2, though nothing more has finished (the page once said 100 % beside
    cases that were late right then)."""
    with app.app_context():
        done = file_complaint(raw_complaint("public"), actor=Actor.channel("web"), at=wib(6, 2)).complaint
        waiting = file_complaint(raw_complaint("public"), actor=Actor.channel("web"), at=wib(6, 2)).complaint
        db.session.commit()
        step(done.tracking_code, "verify", actor_of(OFFICER_A), wib(6, 3), **VERIFY_A)
        db.session.commit()
        due = next(c.due_at for c in waiting.clocks if c.rule == "verification")
        before = periodic_report(date(2026, 6, 1), date(2026, 12, 31), now=due - timedelta(hours=1))
        after = periodic_report(date(2026, 6, 1), date(2026, 12, 31), now=due + timedelta(days=1))
        early, late = (next(s for s in r.stages if s.rule == "verification") for r in (before, after))
        assert (early.finished, early.on_time, early.overdue_open, early.counted) == (1, 1, 0, 1)
        assert early.on_time_rate == 1.0
        assert (late.finished, late.on_time, late.overdue_open, late.counted) == (1, 1, 1, 2)
        assert late.on_time_rate == 0.5
        rows = {tuple(str(v) for v in row) for row in csv_rows(after)}
        assert ("sla.verification", "on_time_rate", "0.5000") in rows


def test_the_overdue_review_counts_late_open_cases_in_its_rate(app, org):
    """The supervisor's unit overview uses the same definition: a case late now and not
    verified stands beside the one verified on time as 1 of 2, not 100 %."""
    from pengaduan.models import utcnow
    from pengaduan.services.oversight.timeliness import unit_performance
    from pengaduan.models import User

    with app.app_context():
        now = utcnow()
        done = file_complaint(raw_complaint("public"), actor=Actor.channel("web"), at=now - timedelta(days=20)).complaint
        file_complaint(raw_complaint("public"), actor=Actor.channel("web"), at=now - timedelta(days=20))
        db.session.commit()
        step(done.tracking_code, "verify", actor_of(OFFICER_A), now - timedelta(days=19, hours=23), **VERIFY_A)
        db.session.commit()
        [unit_a] = [p for p in unit_performance(User.by_email(SUPERVISOR_A), now - timedelta(days=30), now)
                    if p.unit.code == "UNIT-A"]
        verification = next(r for r in unit_a.rules if r.rule == "verification")
        assert (verification.finished, verification.on_time, verification.overdue_now) == (1, 1, 1)
        assert verification.on_time_rate == 0.5
    page = get_page(signed_in(app, SUPERVISOR_A), "/staff/overdue").html
    assert "50% (1/2)" in page


def test_a_duplicate_s_rating_is_left_out_as_the_duplicate_is(app, org):
    """A duplicate's complainant may rate once the original closes; the pair is counted once,
    with the original, so only the original's rating enters the satisfaction figures."""
    with app.app_context():
        original, duplicate = (file_complaint(raw_complaint("public"), actor=Actor.channel("web"))
                               .complaint.tracking_code for _ in range(2))
        step(duplicate, "reject", actor_of(OFFICER_A), reason="Sama.", closure_reason="duplicate",
             duplicate_of=original)  # merged while the original is still handled
        step(original, "verify", actor_of(OFFICER_A), **VERIFY_A)
        step(original, "follow_up", actor_of(OFFICER_A), response="Sudah selesai.")
        step(original, "accept", citizen(original), rating=5)
        rate(Complaint.by_code(duplicate), citizen(duplicate), 1)
        db.session.commit()
        today = date.today()
        report = periodic_report(today - timedelta(days=1), today + timedelta(days=1))
        assert (report.duplicates, report.ratings, report.average_rating) == (1, {5: 1}, 5)
        assert ("satisfaction", "rating_1", 1) not in set(csv_rows(report))
