"""The public figures (/statistik, its CSV and data dictionary): no account needed; the same
figures as the staff periodic report for the same period and unit; the publishing rules of
domain.md section 12 (confidential complaints in the totals only, "<5", no ranking under 10
complaints); and the snapshots the worker keeps fresh."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from pengaduan.extensions import db
from pengaduan.models import Complaint, PublicStatistics, Unit, utcnow
from pengaduan.policy import Actor
from pengaduan.services import create_category, file_complaint
from pengaduan.services.oversight.reports import periodic_report
from pengaduan.services.surveys.periods import parse
from pengaduan.services.transparency import publishing, snapshots
from test_evidence import citizen, raw_complaint, step, wib
from test_staff import browser, get_page, signed_in
from test_supervision import AUDITOR, OFFICER_A, OFFICER_B, actor_of, text_of
from test_supervision import org  # noqa: F401  (the fixture: two units and their staff)

Q3 = parse("2026-Q3")
RATINGS = (5, 5, 4, 4, 5, 3, 5)


@pytest.fixture
def q3(app, org):
    """The third quarter of 2026, worked out by hand:

    UNIT-A (Dinas A): 14 complaints, one every five days from 1 July; 9 by the web, 5 by
      phone; 3 about roads (ROADS), the rest general; 5 suggestions (aspirasi); the last one
      (a phone call, general) confidential. The first seven verified the next day, followed up
      two days later and accepted the day after with RATINGS: 1 + 2 + 1 = 4 days each.
    UNIT-B (Dinas B): 9 letters, two of them rejected the next day (1 day each).
    Every complaint's last change is stamped an hour ago (as if the worker had run since)."""
    with app.app_context():
        create_category("ROADS", "Jalan")
        db.session.flush()
        officer_a, officer_b = actor_of(OFFICER_A), actor_of(OFFICER_B)
        codes_a, codes_b = [], []
        for i in range(14):
            category = "ROADS" if i < 3 else "GENERAL"
            classification = "aspirasi" if 3 <= i < 8 else "pengaduan"
            raw = raw_complaint("confidential" if i == 13 else "public", category=category,
                                classification=classification)
            day = date(2026, 7, 1) + timedelta(days=5 * i)
            filed = file_complaint(raw, actor=Actor.channel("web" if i < 9 else "phone"), at=wib(day.month, day.day))
            codes_a.append((filed.complaint.tracking_code, day, category, classification))
        for i in range(9):
            day = date(2026, 7, 2) + timedelta(days=7 * i)
            filed = file_complaint(raw_complaint("public", unit="UNIT-B"), actor=Actor.channel("letter"),
                                   at=wib(day.month, day.day))
            codes_b.append((filed.complaint.tracking_code, day))
        db.session.commit()
        for (code, day, category, classification), stars in zip(codes_a, RATINGS):
            step(code, "verify", officer_a, wib(day.month, day.day) + timedelta(days=1),
                 unit="UNIT-A", category=category, classification=classification)
            step(code, "follow_up", officer_a, wib(day.month, day.day) + timedelta(days=3), response="Sudah selesai.")
            step(code, "accept", citizen(code), wib(day.month, day.day) + timedelta(days=4), rating=stars)
        for code, day in codes_b[:2]:
            step(code, "reject", officer_b, wib(day.month, day.day) + timedelta(days=1), reason="Bukan kewenangan.",
                 closure_reason="rejected")
        db.session.execute(update(Complaint).values(updated_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        return [c for c, *_ in codes_a], [c for c, _ in codes_b]


def rows_of(response) -> list[tuple[str, ...]]:
    assert response.status_code == 200, response.status_code
    return [tuple(row) for row in csv.reader(io.StringIO(response.get_data(as_text=True))) if row]


def figures_of(rows, unit: str = "all") -> dict[tuple[str, str], str]:
    """(measure, dimension) -> value of the rows of one unit (or "all")."""
    return {(measure, dimension): value for _, scope, measure, dimension, value in rows[1:] if scope == unit}


def report_rows(client, unit: str = "") -> dict[tuple[str, str], str]:
    """The staff report's CSV for the quarter, as (section, key) -> value."""
    response = client.get(f"/staff/reports?from=2026-07-01&to=2026-09-30&unit={unit}&format=csv")
    assert response.status_code == 200
    return {(s, k): v for s, k, v in csv.reader(io.StringIO(response.get_data(as_text=True))) if s != "section"}


@pytest.mark.parametrize("unit", ["", "UNIT-A"], ids=["all-units", "unit-a"])
def test_the_public_figures_agree_with_the_periodic_report(app, q3, unit):
    """For the same period and unit, /statistik.csv (read without an account) has the staff
    report's total, closed, days to close, time limits and ratings, and its breakdowns are the
    report's without the confidential complaint; the page shows the same."""
    public = figures_of(rows_of(browser(app).get(f"/statistik.csv?period=2026-Q3&unit={unit}")), unit or "all")
    staff = report_rows(signed_in(app, AUDITOR), unit)
    with app.app_context():
        report = periodic_report(Q3.start, Q3.end, Unit.by_code(unit) if unit else None)
    assert public[("received", "")] == staff[("received", "total")] == str(report.received) == ("23" if not unit else "14")
    assert public[("confidential", "")] == "<5" and report.confidential == 1
    assert public[("closed", "")] == staff[("closed", "total")] == str(report.closed) == ("9" if not unit else "7")
    # Days to close: A's seven took 4 days each, B's two 1 day: median 4, 90th percentile 4.
    assert public[("close_days_median", "")] == staff[("closed", "median_days")] == "4.00"
    assert public[("close_days_p90", "")] == staff[("closed", "p90_days")] == "4.00"
    for stage in report.stages:
        assert public[("on_time", stage.rule)] == publishing.count(stage.on_time).csv()
        assert public[("counted", stage.rule)] == publishing.count(stage.counted).csv()
        assert staff[(f"sla.{stage.rule}", "counted")] == str(stage.counted)
        if stage.on_time >= 5 and stage.counted >= 5:
            assert public[("on_time_share", stage.rule)] == f"{stage.on_time / stage.counted:.4f}"
    assert any(stage.counted >= 5 for stage in report.stages)  # the figures compared are not all suppressed
    # Ratings: 5 stars x4, 4 x2, 3 x1 (the report's): three "<5" adding up to 7, which leaves
    # each of them two values or more; the average is not published, as it would give them back
    # (4, 2, 1 with 7 ratings averaging 4.4 is the only solution).
    assert {k: v for (m, k), v in public.items() if m == "rating"} == {"5": "<5", "4": "<5", "3": "<5", "2": "0",
                                                                       "1": "0"}
    assert staff[("satisfaction", "rating_5")] == "4" and public[("rated", "")] == "7"
    assert public[("rating_average", "")] == ""
    # By type: A has 5 suggestions (none confidential) and 9 complaints, one confidential.
    assert public[("by_classification", "aspirasi")] == staff[("classification", "aspirasi")] == "5"
    expected_complaints = int(staff[("classification", "pengaduan")]) - 1
    assert public[("by_classification", "pengaduan")] == str(expected_complaints)
    page = text_of(get_page(browser(app), f"/statistik?period=2026-Q3&unit={unit}").html)
    assert f"{report.received} complaints received" in page
    assert "Median 4.0 days" in page and "90th percentile 4.0 days" in page


def test_a_small_category_shows_as_less_than_five_and_a_confidential_complaint_only_in_the_total(app, q3):
    """Roads has 3 complaints: "<5" on the page and in the CSV. The confidential phone call is
    in A's 14 received, but in no breakdown: A's 5 phone calls show as 4, so "<5", and the web's
    9 is then hidden too (else 14 - 1 - 9 would give the phone calls back)."""
    rows = figures_of(rows_of(browser(app).get("/statistik.csv?period=2026-Q3&unit=UNIT-A")), "UNIT-A")
    assert rows[("received", "")] == "14"
    assert rows[("by_category", "Jalan")] == "<5"
    assert rows[("by_category", "Umum")] == "hidden"  # 10 (11 less the confidential one), hidden: one cell alone is small
    assert rows[("by_channel", "phone")] == "<5" and rows[("by_channel", "web")] == "hidden"
    # By state: the seven accepted closed, the other six public ones still received.
    assert {k: v for (m, k), v in rows.items() if m == "by_state"} == {"closed": "7", "received": "6"}
    html = get_page(browser(app), "/statistik?period=2026-Q3&unit=UNIT-A").html
    words = text_of(html)
    assert "Jalan <5" in words
    # The ratings are all "<5": no empty chart saying "No data" above a table with rows.
    satisfaction = text_of(html.split('id="satisfaction-title"')[1].split("</section>")[0])
    assert "Counts under 5 are not drawn; see the table" in satisfaction and "No data" not in satisfaction
    assert "filed as confidential: they count in this total but in none of the breakdowns" in words
    assert "&lt;5" in html and "<5" not in html.replace("&lt;5", "")  # escaped, never raw markup
    every = figures_of(rows_of(browser(app).get("/statistik.csv?period=2026-Q3")))
    # Every unit: letters 9, web 9, phone 4: the phone calls "<5", and both others hidden: with
    # only the letters hidden (the smallest, so at most the web's 9), 22 - 9 - 9 would pin the
    # phone calls to 4.
    assert every[("by_channel", "phone")] == "<5"
    assert every[("by_channel", "web")] == every[("by_channel", "letter")] == "hidden"


def test_a_unit_with_nine_complaints_is_not_ranked(app, q3):
    """B's 9 complaints are listed (by name) but not ranked; A's 14 are ranked."""
    rows = rows_of(browser(app).get("/statistik.csv?period=2026-Q3"))
    assert figures_of(rows, "UNIT-A")[("rank", "")] == "1"
    assert figures_of(rows, "UNIT-B")[("rank", "")] == ""
    assert figures_of(rows, "UNIT-B")[("received", "")] == "9"
    html = get_page(browser(app), "/statistik?period=2026-Q3").html
    b_row = html.split('data-unit="UNIT-B"')[1].split("</tr>")[0]
    assert "not ranked: fewer than 10 complaints" in text_of(b_row)
    assert html.index('data-unit="UNIT-A"') < html.index('data-unit="UNIT-B"')  # by name
    chart = html.split("On time, units with at least 10 complaints")[1].split("</figure>")[0]
    assert "Dinas A" in chart and "Dinas B" not in chart


def test_no_account_is_needed_and_the_default_is_the_year_so_far(app, q3):
    """The page, the CSV and the data dictionary open without signing in; the period chosen
    by default is the year so far (the last year during a year's first quarter); the
    dictionary explains every measure of the CSV."""
    client = browser(app)
    with app.app_context():
        today = snapshots.local_today()
    expected = str(today.year if today.month > 3 else today.year - 1)
    page = get_page(client, "/statistik")
    assert f'<option value="{expected}" selected>' in page.html
    assert "/statistik.csv?period=" in page.html and "/statistik/kamus-data" in page.html
    assert "Data as of" in text_of(page.html)
    dictionary = get_page(client, "/statistik/kamus-data").html
    measures = {m for _, _, m, _, _ in rows_of(client.get("/statistik.csv?period=2026-Q3"))[1:]}
    assert measures and all(f"<code>{m}</code>" in dictionary for m in measures)
    response = client.get("/statistik.csv?period=2026-Q3&unit=UNIT-B")
    assert "kamus-data" in response.headers["Content-Disposition"]
    indonesian = app.test_client()
    indonesian.set_cookie("lang", "id")
    assert "Statistik pengaduan" in indonesian.get("/statistik?period=2026-Q3").get_data(as_text=True)


@pytest.mark.parametrize("url, status, words", [
    ("/statistik?period=2026-Q5", 400, "is not a period"),
    ("/statistik.csv?period=kuartal", 400, "is not a period"),
    ("/statistik?period=2030", 404, "There are no figures for 2030"),
    ("/statistik?period=2019-S1", 404, "There are no figures for 2019-S1"),
    ("/statistik?period=2026-Q3&unit=NOPE", 404, "There is no such unit"),
])
def test_a_bad_period_or_unit_gets_a_clear_page(app, org, url, status, words):
    response = browser(app).get(url)
    assert response.status_code == status
    assert words in text_of(response.get_data(as_text=True))


def _snapshot(app, label: str, scope: str = "all"):
    with app.app_context():
        return db.session.execute(select(PublicStatistics.computed_at, PublicStatistics.figures).where(
            PublicStatistics.period == label, PublicStatistics.scope == scope)).one_or_none()


def test_a_period_without_a_snapshot_is_computed_when_asked_and_kept(app, q3):
    """The worker has not run: the page computes the figures, keeps them, and the next visit
    reads the snapshot (the same "as of")."""
    assert _snapshot(app, "2026-Q3") is None
    first = get_page(browser(app), "/statistik?period=2026-Q3").html
    kept = _snapshot(app, "2026-Q3")
    assert kept is not None and kept.figures["received"] == 23
    again = get_page(browser(app), "/statistik?period=2026-Q3").html
    as_of = lambda html: html.split('data-testid="as-of">')[1].split("<")[0]  # noqa: E731
    assert as_of(first) == as_of(again)
    assert _snapshot(app, "2026-Q3").computed_at == kept.computed_at


def test_the_refresh_recomputes_what_changed_and_marks_the_rest_checked(app, q3):
    """After a refresh of 2026-Q3, nothing changed: the next cycle computes only the periods
    running today and marks Q3 checked. A step on an old complaint of UNIT-A (received in Q3)
    makes Q3's figures for every unit and for UNIT-A stale, not UNIT-B's; a snapshot taken
    before its period ended is refreshed once it has."""
    from pengaduan.jobs.statistics import refresh

    codes_a, _ = q3
    with app.app_context():
        assert refresh(only=Q3)["refreshed"] == 3  # every unit, UNIT-A, UNIT-B
        taken = {scope: at for scope, at in db.session.execute(
            select(PublicStatistics.scope, PublicStatistics.computed_at).where(PublicStatistics.period == "2026-Q3"))}
        unit_a, unit_b = str(Unit.by_code("UNIT-A").id), str(Unit.by_code("UNIT-B").id)
        tasks, unchanged = snapshots.due()
        running = {p.label for p in snapshots.around(snapshots.local_today())}
        assert {t.period.label for t in tasks[:9]} == running  # first the running periods, then the others
        assert "2026-Q3" not in {t.period.label for t in tasks} and len(unchanged) == 3
        # Every other period a visitor may choose (3 years: 21 of them) gets its snapshots too.
        assert len(tasks) == 21 * 3 - 3
        result = refresh()
        assert result["checked_unchanged"] == 3 and result["missing"] == 60
        assert _snapshot(app, "2026-Q3").computed_at > taken["all"]  # checked: as of the check
        assert _snapshot(app, "2026-Q3").figures["finished"] == 9

        step(codes_a[8], "reject", actor_of(OFFICER_A), reason="Bukan kewenangan.", closure_reason="rejected")
        db.session.commit()
        tasks, _ = snapshots.due()
        stale = {(t.period.label, t.unit.code if t.unit else "all"): t.why for t in tasks if t.why != "current"}
        assert stale == {("2026-Q3", "all"): "changed", ("2026-Q3", "UNIT-A"): "changed"}
        refresh()
        assert _snapshot(app, "2026-Q3").figures["finished"] == 10
        assert _snapshot(app, "2026-Q3", unit_a).figures["finished"] == 8
        assert _snapshot(app, "2026-Q3", unit_b).figures["finished"] == 2

        db.session.execute(update(PublicStatistics).where(PublicStatistics.scope == unit_b,
                                                          PublicStatistics.period == "2026-Q3")
                           .values(computed_at=wib(9, 15)))
        db.session.commit()
        tasks, _ = snapshots.due()
        # (Q3 of every unit and of UNIT-A are still "changed": what changed within snapshots.MARGIN
        # before a snapshot is looked at once more, in case its commit came after the snapshot.)
        assert ("2026-Q3", "UNIT-B", "ended") in {(t.period.label, t.unit.code if t.unit else "all", t.why)
                                                  for t in tasks}


def test_the_worker_refreshes_on_its_schedule_under_a_lock(app, q3):
    """The job is scheduled every PENGADUAN_STATISTICS_MINUTES; a second refresh while one
    runs does nothing; the command refreshes a period for operators."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from pengaduan.jobs import scheduler as schedule
    from pengaduan.jobs.lock import exclusive
    from pengaduan.jobs.statistics import LOCK_NAME, refresh

    timers = BackgroundScheduler(timezone="UTC")
    schedule.add_jobs(timers, app)
    job = timers.get_job("public-statistics")
    assert job is not None and job.trigger.interval == timedelta(minutes=app.config["PENGADUAN_STATISTICS_MINUTES"])
    with app.app_context():
        with exclusive(db.engine, LOCK_NAME) as held:
            assert held
            assert refresh(only=Q3) == {"skipped": "another refresh is running"}
    result = app.test_cli_runner().invoke(args=["statistics", "refresh", "--period", "2026-Q3"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["refreshed"] == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PublicStatistics)) == 3
    bad = app.test_cli_runner().invoke(args=["statistics", "refresh", "--period", "2026-Q9"])
    assert bad.exit_code == 1 and "not a period" in bad.output


def test_the_page_drawn_once_follows_a_refresh_and_the_language(app, q3):
    """The page's content is kept once drawn, for its snapshot and language: a refresh after a
    change shows the new figures, and each language gets its own words."""
    from pengaduan.jobs.statistics import refresh

    codes_a, _ = q3
    url = "/statistik?period=2026-Q3&unit=UNIT-A"
    assert "of them finished (7)" in text_of(get_page(browser(app), url).html)
    indonesian = app.test_client()
    indonesian.set_cookie("lang", "id")
    assert "di antaranya sudah selesai (7)" in text_of(indonesian.get(url).get_data(as_text=True))
    with app.app_context():
        step(codes_a[8], "reject", actor_of(OFFICER_A), reason="Bukan kewenangan.", closure_reason="rejected")
        db.session.commit()
        refresh(only=Q3)
    assert "of them finished (8)" in text_of(get_page(browser(app), url).html)


def pinned(cells: dict, total: int) -> list:
    """The subtraction attack on one published breakdown whose cells add up to `total`: the
    cells whose count from 1 to 4 follows from the total and the cells shown. Twice: knowing
    only that "<5" is 1 to 4 (any hidden cell with a single possible value from 1 to 4); then
    knowing the published rule too ("hidden" is at least 5 and at most the smallest non-zero
    count shown, or, once none is shown, 0 or at least 5): a "<5" cell with a single value."""
    shown = {k: int(v) for k, v in cells.items() if v not in ("<5", "hidden")}
    small = [k for k, v in cells.items() if v == "<5"]
    hidden = [k for k, v in cells.items() if v == "hidden"]
    rest = total - sum(shown.values())  # S: what the hidden cells add up to
    if small and not hidden:  # the quick test: k "<5" cells adding up to S
        k = len(small)
        if k == 1 or rest in (k, 4 * k):
            return small

    def possible(key, hidden_values) -> set:
        reachable = {0}  # the sums the other hidden cells can make
        for other in [k for k in small + hidden if k != key]:
            values = range(1, 5) if other in small else hidden_values
            reachable = {r + v for r in reachable for v in values if r + v <= rest}
        return {v for v in (range(1, 5) if key in small else hidden_values) if rest - v in reachable}

    found = [k for k in small + hidden if len(values := possible(k, range(0, rest + 1))) == 1
             and 0 < min(values) < 5]
    if small:
        least = min((v for v in shown.values() if v), default=None)
        rule = set(range(5, least + 1)) if least else {0, *range(5, rest + 1)}
        found += [k for k in small if len(possible(k, rule)) < 2 and k not in found]
    return found


@pytest.mark.parametrize("counts", [
    {"web": 12, "letter": 9, "phone": 9, "sms": 1, "whatsapp": 1, "lapor": 1},  # the review's: 33 - 30 = 3 ones
    {"web": 9, "letter": 9, "phone": 4},
    {"web": 3, "letter": 0, "phone": 0},  # the others 0: the total gives it back
    {"web": 4, "letter": 5, "phone": 5},
    {"web": 2, "letter": 2},
    {"web": 4, "letter": 4, "phone": 4, "sms": 40},
    {5: 4, 4: 2, 3: 1, 2: 0, 1: 0},
    {5: 0, 4: 0, 3: 3, 2: 0, 1: 0},
])
def test_no_count_under_five_of_a_breakdown_can_be_worked_out(counts):
    """After the publishing rules, subtracting the counts shown from the breakdown's total
    pins no "<5" cell: the cases the review found, and every breakdown of four cells whose
    counts are taken from 0, 1, 2, 3, 4, 5, 6, 9 and 12."""
    cells = {k: c.csv() for k, c in publishing.breakdown(counts).items()}
    assert pinned(cells, sum(counts.values())) == [], cells
    assert all(c == "hidden" or c == "<5" for k, c in cells.items() if 0 < counts[k] < 5)


def test_no_count_under_five_can_be_worked_out_in_any_small_breakdown():
    from itertools import product

    for values in product((0, 1, 2, 3, 4, 5, 6, 9, 12), repeat=4):
        counts = dict(zip("abcd", values))
        if sum(1 for v in values if v) == 1 and sum(values) < 5:
            continue  # a single line: the known limit (below)
        cells = {k: c.csv() for k, c in publishing.breakdown(counts).items()}
        assert pinned(cells, sum(values)) == [], (counts, cells)
    # The checker does find what the old rule (a second cell hidden only when one alone is
    # small) let through.
    assert pinned({"web": "12", "letter": "9", "phone": "9", "sms": "<5", "wa": "<5", "lapor": "<5"}, 33)
    assert pinned({"web": "<5", "letter": "0"}, 3) == ["web"]
    assert pinned({"web": "9", "letter": "hidden", "phone": "<5"}, 22) == ["phone"]
    assert pinned({"received": "7", "closed": "hidden"}, 9) == ["closed"]


def test_the_known_limit_a_breakdown_of_a_single_line():
    """A breakdown whose complaints all fall in one line: that line is hidden, but its count is
    the breakdown's total (the README says so): nothing left to hide."""
    cells = {k: c.csv() for k, c in publishing.breakdown({"web": 3}).items()}
    assert cells == {"web": "hidden"} and pinned(cells, 3) == ["web"]


@pytest.mark.parametrize("unit", ["", "UNIT-A", "UNIT-B"])
def test_no_published_breakdown_gives_back_a_count_under_five(app, q3, unit):
    """The attack on the quarter's CSV: every breakdown against its total (received less
    confidential), and the states also in two groups when the finished count is shown (those
    counted as finished add up to it: the confidential complaint is not finished)."""
    from pengaduan.workflow import current_workflow

    rows = figures_of(rows_of(browser(app).get(f"/statistik.csv?period=2026-Q3&unit={unit}")), unit or "all")
    with app.app_context():
        report = periodic_report(Q3.start, Q3.end, Unit.by_code(unit) if unit else None)
        terminal = set(current_workflow().terminal_states)
    total = report.received - report.confidential
    for name in ("by_channel", "by_classification", "by_category", "by_state"):
        cells = {k: v for (m, k), v in rows.items() if m == name}
        assert cells and pinned(cells, total) == [], (name, cells)
    states = {k: v for (m, k), v in rows.items() if m == "by_state"}
    secret = report.confidential_by.get("state", {})
    finished = sum(n - secret.get(k, 0) for k, n in report.by_state.items() if k in terminal)
    if rows[("finished", "")] not in ("<5", "hidden"):  # else that total is not published
        assert pinned({k: v for k, v in states.items() if k in terminal}, finished) == []
        assert pinned({k: v for k, v in states.items() if k not in terminal}, total - finished) == []
    assert unit != "UNIT-B" or states == {"received": "hidden", "closed": "<5"}  # finished "<5": one group
    ratings = {k: v for (m, k), v in rows.items() if m == "rating"}
    assert pinned(ratings, report.rated) == []
    assert (rows[("rating_average", "")] == "") == (not report.rated or any(v in ("<5", "hidden")
                                                                             for v in ratings.values()))
    top = [k for (m, k), v in rows.items() if m == "by_category" and v in ("<5", "hidden")]
    page = get_page(browser(app), f"/statistik?period=2026-Q3&unit={unit}").html
    listed = page.split('class="top-categories"')[1].split("</ol>")[0] if 'class="top-categories"' in page else ""
    assert not any(f"<strong>{name}</strong>" in listed for name in top)  # no hidden count in the list


def test_the_average_rating_only_with_every_star_count_shown():
    """Ten 5-star and six 4-star ratings: all shown, average 4.6. One 1-star more: "<5", so
    the average is not published (with 17 ratings it would give the hidden counts back)."""
    def published(ratings):
        raw = {"period": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30", "received": 20,
               "confidential": 0, "finished": 17, "by_channel": {}, "by_classification": {},
               "by_category": {}, "by_state": {}, "stages": [], "close_days": {"closed": 17, "median": 1.0,
                                                                               "p90": 2.0},
               "ratings": ratings, "units": [{"code": "U1", "name": "A", "received": 12, "closed": 3,
                                              "on_time": 0, "counted": 0},
                                             {"code": "U2", "name": "B", "received": 8, "closed": 14,
                                              "on_time": 0, "counted": 0}]}
        return publishing.publish(raw, None)

    shown = published({"5": 10, "4": 6})
    assert shown.average_rating == 4.6 and [c.csv() for _, c in shown.ratings] == ["10", "6", "0", "0", "0"]
    small = published({"5": 10, "4": 6, "1": 1})
    assert small.average_rating is None
    # The 6 hidden too (alone, the 1 would be 17 - 10 - 6), so at most 10: the 1 is 1 or 2.
    assert [c.csv() for _, c in small.ratings] == ["10", "hidden", "0", "0", "<5"]
    # The units' totals get "<5" only (each unit's page publishes them anyway): none hidden.
    assert [(u.received.csv(), u.closed.csv()) for u in small.units] == [("12", "<5"), ("8", "14")]


def test_a_unit_deactivated_keeps_its_figures_page(app, q3):
    """UNIT-B, deactivated after the quarter, is still linked from every unit's page and its
    own page opens, with it chosen in the list; an unknown code is still "no such unit"."""
    with app.app_context():
        Unit.by_code("UNIT-B").active = False
        db.session.commit()
    html = get_page(browser(app), "/statistik?period=2026-Q3").html
    assert "unit=UNIT-B" in html
    own = get_page(browser(app), "/statistik?period=2026-Q3&unit=UNIT-B").html
    assert '<option value="UNIT-B" selected>' in own and "9 complaints received" in text_of(own)
    rows = figures_of(rows_of(browser(app).get("/statistik.csv?period=2026-Q3&unit=UNIT-B")), "UNIT-B")
    every = figures_of(rows_of(browser(app).get("/statistik.csv?period=2026-Q3")), "UNIT-B")
    assert rows[("received", "")] == every[("received", "")] == "9"
    assert rows[("closed", "")] == every[("closed", "")] == "<5"  # the same on both pages
    assert browser(app).get("/statistik?period=2026-Q3&unit=NOPE").status_code == 404
