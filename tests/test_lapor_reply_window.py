"""SP4N-LAPOR!'s reply window counts from when the answer was posted to LAPOR!, where its
complainant reads it (`counting_from: lapor_posted`), not from the local follow-up."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from pengaduan.extensions import db
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.complaints import lapor
from pengaduan.sla import is_waiting
from test_lapor import ANSWER, RAW, VERIFY

WIB = ZoneInfo("Asia/Jakarta")


def test_the_reply_window_waits_for_the_posting_then_counts_from_it(world):
    """Answered on Monday 6 July 2026, posted to LAPOR! on Thursday 9 July, 3 working days
    later: no deadline meanwhile, then 10 working days from the posting (23 July) instead of
    from the answer (20 July). A web complaint's window counts from the answer."""
    monday = datetime(2026, 7, 6, 3, 0, tzinfo=timezone.utc)
    complaint = file_complaint({**RAW, "lapor_id": "LAP-2026-0706", "lapor_disposed_at": "2026-07-03T10:00"},
                               actor=Actor.channel("sp4n_lapor"), at=monday - timedelta(days=3)).complaint
    web = file_complaint(RAW, actor=Actor.channel("web"), at=monday - timedelta(days=3)).complaint
    for case in (complaint, web):
        advance(case, "verify", world.officer_a, **VERIFY, at=monday)
    answer = advance(complaint, "follow_up", world.officer_a, response=ANSWER, at=monday)
    advance(web, "follow_up", world.officer_a, response=ANSWER, at=monday)
    db.session.commit()
    window = complaint.clock("lapor_reply_window")
    assert is_waiting(window) and window.due_at is None and window.next_check_at is None
    assert web.clock("reply_window").due_at.astimezone(WIB).date().isoformat() == "2026-07-20"

    thursday = monday + timedelta(days=3)
    lapor.record_posted(complaint, answer, thursday, world.officer_a, at=thursday + timedelta(hours=1))
    db.session.commit()
    window = complaint.clock("lapor_reply_window")
    assert window.running and window.counting_from == thursday
    assert window.due_at.astimezone(WIB) == datetime(2026, 7, 23, 23, 59, 59, tzinfo=WIB)
    assert window.next_check_at is not None  # its reminder and expiry are planned again
