"""What supervisors and auditors see of the answers owed to SP4N-LAPOR!: the overdue review's
list of answers not yet posted, the periodic report's LAPOR! figures (page and CSV), and the
evidence pack's lapor.csv, verified and tamper-evident."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from pengaduan import audit
from pengaduan.evidence import export_pack, verify
from pengaduan.extensions import db
from pengaduan.models import Complaint, ComplaintEvent, Unit, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.complaints import lapor
from pengaduan.services.complaints.conversation import post_message
from pengaduan.services.complaints.lapor_oversight import lapor_figures, lapor_rule, waiting_for_lapor
from pengaduan.services.oversight.reports import csv_rows
from test_evidence import VERIFY_A, VERIFY_B, changed_file_problem, entries, flip_byte, raw_complaint, wib, write_zip
from test_staff import get_page, signed_in
from test_supervision import OFFICER_A, OFFICER_B, SUPERVISOR_A, actor_of, text_of
from test_supervision import org  # noqa: F401  (the fixture: two units and their staff)

JUNE = (date(2026, 6, 1), date(2026, 6, 30))


def from_lapor(lapor_id: str, at: datetime, unit: str = "UNIT-A") -> str:
    """A complaint received from SP4N-LAPOR! at `at`, disposed there an hour before."""
    disposed = (at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    raw = {**raw_complaint("public", unit), "lapor_id": lapor_id, "lapor_disposed_at": disposed}
    return file_complaint(raw, actor=Actor.channel("sp4n_lapor"), at=at).complaint.tracking_code


def answer(code: str, verified: datetime, answered: datetime, verify=VERIFY_A, who=OFFICER_A) -> ComplaintEvent:
    complaint = Complaint.by_code(code)
    advance(complaint, "verify", actor_of(who), at=verified, **verify)
    return advance(complaint, "follow_up", actor_of(who), at=answered, response="Sudah kami tindak lanjuti.")


def posted(code: str, event: ComplaintEvent, at: datetime) -> None:
    lapor.record_posted(Complaint.by_code(code), event, at, actor_of(OFFICER_A))


def build_lapor_june() -> dict:
    """LAPOR! complaints around June 2026 (Jakarta time):
    - early: received 20 May, answered 28 May 10:00, posted 3 Jun 10:00 (144 hours later);
    - prompt: received 2 Jun, answered 5 Jun 10:00, posted 6 Jun 16:00 (30 hours), then a
      message on 8 Jun 10:00 never posted;
    - late: received 10 Jun, answered 29 Jun 14:00, posted 2 Jul 09:00 (after June);
    - other: UNIT-B's, received and answered in June, never posted;
    and a web complaint answered in June (nothing owed to LAPOR!)."""
    codes = {"early": from_lapor("LAP-0001", wib(5, 20)), "prompt": from_lapor("LAP-0002", wib(6, 2, 8)),
             "late": from_lapor("LAP-0003", wib(6, 10)), "other": from_lapor("LAP-0004", wib(6, 3), "UNIT-B"),
             "web": file_complaint(raw_complaint("public"), at=wib(6, 4)).complaint.tracking_code}
    db.session.commit()
    early = answer(codes["early"], wib(5, 21), wib(5, 28, 10))
    prompt = answer(codes["prompt"], wib(6, 2, 9), wib(6, 5, 10))
    message = post_message(Complaint.by_code(codes["prompt"]), actor_of(OFFICER_A), "Mohon datang ke loket.",
                           at=wib(6, 8, 10))
    late = answer(codes["late"], wib(6, 11), wib(6, 29, 14))
    answer(codes["other"], wib(6, 4), wib(6, 9), verify=VERIFY_B, who=OFFICER_B)
    answer(codes["web"], wib(6, 5), wib(6, 6))
    db.session.commit()
    posted(codes["early"], early, wib(6, 3, 10))
    posted(codes["prompt"], prompt, wib(6, 6, 16))
    posted(codes["late"], late, wib(7, 2, 9))
    db.session.commit()
    return {"codes": codes, "message": message.id}


@pytest.fixture
def lapor_june(app, org):
    with app.app_context():
        return build_lapor_june()


def test_report_counts_lapor_cases_postings_and_delays(app, lapor_june):
    """June's figures for UNIT-A: two complaints received from LAPOR!; three answers given
    (the late one's included, though posted only in July); two postings in June (the early
    answer of May among them) with their delays; and at the end of June two answers on two
    complaints not yet posted, the oldest from 8 June."""
    with app.app_context():
        unit_a = Unit.by_code("UNIT-A")
        figures = lapor_figures(*JUNE, unit_a)
        assert (figures.received, figures.answers, figures.posted) == (2, 3, 2)
        assert sorted(figures.delays) == [30.0, 144.0]
        assert (figures.median_hours, figures.longest_hours) == (87.0, 144.0)
        assert (figures.unposted, figures.unposted_complaints) == (2, 2)
        assert figures.oldest_unposted == wib(6, 8, 10)
        # LAPOR!'s own follow-up clock (lapor_follow_up): prompt answered 3 working days after
        # LAPOR! disposed it, late after 13
        assert lapor_rule().name == "lapor_follow_up"
        assert (figures.met, figures.missed, figures.running) == (1, 1, 0)
        every_unit = lapor_figures(*JUNE)
        assert (every_unit.received, every_unit.answers, every_unit.unposted) == (3, 4, 3)
    client = signed_in(app, SUPERVISOR_A)
    query = f"/staff/reports?from={JUNE[0]}&to={JUNE[1]}&unit=UNIT-A"
    words = text_of(get_page(client, query).html)
    assert "Complaints received from SP4N-LAPOR! 2" in words
    assert "met: 1 · missed: 1 · still running at the end: 0" in words
    assert "Answers posted to SP4N-LAPOR! in the period 2" in words
    assert "Posting delay: median 3.6 days" in words and "Posting delay: longest 6.0 days" in words
    assert "Answers not yet posted at the end of the period 2 · on 2 complaints" in words
    rows = set(map(tuple, csv.reader(io.StringIO(client.get(query + "&format=csv").get_data(as_text=True)))))
    assert {("lapor", "received", "2"), ("lapor", "follow_up_met", "1"), ("lapor", "follow_up_missed", "1"),
            ("lapor", "answers", "3"), ("lapor", "posted", "2"),
            ("lapor", "posting_delay_median_hours", "87.00"), ("lapor", "posting_delay_longest_hours", "144.00"),
            ("lapor", "unposted_at_end", "2"), ("lapor", "complaints_unposted_at_end", "2")} <= rows


def test_review_lists_unposted_answers_with_their_wait_until_posted(app, lapor_june):
    """The supervisor's review lists the complaint whose message waits, with the working days
    it has waited, and drops it once the message is posted; the report for a period ending
    today counts the same complaints."""
    with app.app_context():
        unit_a = Unit.by_code("UNIT-A")
        waiting = waiting_for_lapor([unit_a.id], now=wib(6, 11, 12))
        assert [(w.complaint.tracking_code, w.answers, w.working_days, w.since)
                for g in waiting.units for w in g.cases] == [(lapor_june["codes"]["prompt"], 1, 3, wib(6, 8, 10))]
        today = utcnow().astimezone(wib(1, 1).tzinfo).date()
        assert lapor_figures(JUNE[0], today, unit_a).unposted_complaints == waiting.total == 1
    client = signed_in(app, SUPERVISOR_A)
    code = lapor_june["codes"]["prompt"]
    html = get_page(client, "/staff/overdue").html
    row = text_of(html.split(f'id="lapor-{code}"', 1)[1].split("</tr>", 1)[0])
    assert "LAP-0002" in row and "working days" in row and f'href="/staff/complaints/{code}"' in html
    assert f'id="lapor-{lapor_june["codes"]["other"]}"' not in html  # UNIT-B's
    with app.app_context():
        message = db.session.get(ComplaintEvent, lapor_june["message"])
        posted(code, message, utcnow())
        db.session.commit()
    words = text_of(get_page(client, "/staff/overdue").html)
    assert f"lapor-{code}" not in words and "Every answer on a complaint from SP4N-LAPOR! has been posted there." in words


def test_pack_lists_lapor_answers_verifies_and_names_a_tampered_lapor_csv(app, lapor_june, tmp_path):
    """A UNIT-A pack for June carries lapor.csv (codes, LAPOR! IDs and times, no words), the
    figures in its summary and count in its manifest; it verifies, and a changed lapor.csv is
    named."""
    pack = tmp_path / "pack.zip"
    with app.app_context():
        audit.checkpoint(db.session)
        db.session.commit()
        manifest = export_pack(pack, *JUNE, Unit.by_code("UNIT-A"), actor=Actor.cli("test"))
        db.session.commit()
    files = entries(pack)
    rows = list(csv.DictReader(io.StringIO(files["lapor.csv"].decode())))
    codes = lapor_june["codes"]
    assert [(r["tracking_code"], r["lapor_id"], r["answer"], r["delay_hours"], r["posted_in_period"],
             r["unposted_at_end"]) for r in rows] == [
        (codes["early"], "LAP-0001", "follow_up", "144.00", "1", "0"),
        (codes["prompt"], "LAP-0002", "follow_up", "30.00", "1", "0"),
        (codes["prompt"], "LAP-0002", "message", "", "0", "1"),
        (codes["late"], "LAP-0003", "follow_up", "67.00", "0", "1")]
    assert rows[0]["answered_at"] == "2026-05-28T10:00:00+07:00"
    assert manifest["counts"]["lapor_answers"] == 4 and "lapor.csv" in manifest["files"]
    summary = text_of(files["summary.html"].decode())
    assert "Jawaban yang belum diposting pada akhir periode 2" in summary  # in Indonesian, the default
    assert "Budi Hartono" not in files["lapor.csv"].decode()
    assert verify(str(pack))[0] == []
    tampered = {**files, "lapor.csv": flip_byte(files["lapor.csv"])}
    assert verify(str(write_zip(tmp_path / "tampered.zip", tampered)))[0] == [
        changed_file_problem("lapor.csv", files, tampered)]
