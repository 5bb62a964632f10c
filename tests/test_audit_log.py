"""The audit log viewer (/staff/audit): who may read it, the events in plain words, the
filters and pages, what it never shows, and verifying the chain from the page."""
from __future__ import annotations

import ast
import re
from html import unescape
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from pengaduan import audit
from pengaduan.audit import actions
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, User
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.complaints.casework import reveal_identity
from pengaduan.services.oversight import audit_log
from pengaduan.workflow import current_workflow
from test_audit import disable_append_only, tamper
from test_staff import get_page, signed_in, token_of

# The conftest's organisation (tests/conftest.py: seed_world, STAFF); its module is not imported
# here, since a whole-suite run may know tests/browser/conftest.py by that name.
STAFF = {"officer_a": "officer.a@example.id", "supervisor_a": "supervisor.a@example.id",
         "auditor": "auditor@example.id", "admin": "admin@example.id"}
AUDITOR, ADMIN, OFFICER_A, SUPERVISOR_A = STAFF["auditor"], STAFF["admin"], STAFF["officer_a"], STAFF["supervisor_a"]
VERIFY_A = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
RAW_ACTION = re.compile(r"\b(complaint|user|unit|category|calendar|sla|apikey|evidence|audit|supervision|"
                        r"document|response_template)\.[a-z_]+\b")


def visible_text(html: str) -> str:
    """What a reader sees: the page without its tags (attribute values such as an option's
    value are not shown)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def log_page(client, url: str = "/staff/audit") -> str:
    return visible_text(get_page(client, url).html)


@pytest.fixture
def world(app):
    """The conftest's organisation (the database starts from its template), without holding
    an application context: requests from several browsers here would share its `g`."""
    return app


def the_world() -> SimpleNamespace:
    """Its staff as actors, and `file` to file a complaint (app context needed)."""
    def file(**overrides):
        raw = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
               "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.",
               "privacy": "public", "name": "Budi Hartono", "email": "budi@example.id", "consent": True}
        raw.update(overrides)
        filed = file_complaint(raw, actor=Actor.channel(raw.pop("channel", "web")))
        db.session.commit()
        return filed

    return SimpleNamespace(file=file, **{name: Actor.staff(User.by_email(email)) for name, email in STAFF.items()})


@pytest.fixture
def casework(app, world):
    """A public complaint verified by officer A, an anonymous and a confidential one whose
    identities supervisor A revealed, each with a reason."""
    with app.app_context():
        return _casework(the_world())


def _casework(world: SimpleNamespace) -> dict:
    public = world.file(title="Jalan rusak").complaint.tracking_code
    advance(Complaint.by_code(public), "verify", world.officer_a, **VERIFY_A)
    anonymous = world.file(privacy="anonymous", name="Rahasia Anonim", email="anonim@example.id").complaint
    confidential = world.file(privacy="confidential", name="Sri Rahasia", email="sri@example.id").complaint
    reveal_identity(anonymous, world.supervisor_a, "Perlu klarifikasi langsung")
    reveal_identity(confidential, world.supervisor_a, "Saksi kunci pemeriksaan")
    db.session.commit()
    return {"public": public, "anonymous": anonymous.tracking_code,
            "confidential": confidential.tracking_code}


def test_auditors_and_admins_read_the_log_and_others_are_refused(app, world):
    for email in (AUDITOR, ADMIN):
        client = signed_in(app, email)
        page = get_page(client, "/staff/audit")
        assert "Audit log" in page.html
        assert 'href="/staff/audit"' in page.html, "the staff menu links the log"
    for email in (OFFICER_A, SUPERVISOR_A):
        client = signed_in(app, email)
        assert client.get("/staff/audit").status_code == 403
        assert client.post("/staff/audit/verify", data={"csrf_token": token_of(client)}).status_code == 403
        assert 'href="/staff/audit"' not in get_page(client, "/account/password").html
    assert app.test_client().get("/staff/audit").status_code == 302  # to the sign-in page


def test_events_read_as_plain_sentences_without_action_codes(app, world, casework):
    text_ = log_page(signed_in(app, AUDITOR))
    code = casework["public"]
    assert f"officer.a (Complaint officer) took the step “Verify and forward” on complaint {code}" in text_
    assert "Received → Verified" in text_
    assert f"A complainant (web form) filed complaint {code}" in text_
    assert "admin (Administrator)" not in text_  # the world was seeded by a command, not a person
    assert f"supervisor.a (Supervisor) revealed the complainant's identity of complaint {casework['anonymous']}" in text_
    assert not RAW_ACTION.search(text_), RAW_ACTION.search(text_)
    # in Indonesian too
    client = signed_in(app, AUDITOR)
    client.set_cookie("lang", "id")
    text_id = log_page(client)
    assert f"officer.a (Petugas pengaduan) mengambil langkah “Verifikasi dan disposisi” pada pengaduan {code}" in text_id
    assert not RAW_ACTION.search(text_id)


def test_every_action_the_code_records_has_words():
    """Every action passed to audit.record in the package has a sentence and a label (the
    workflow's steps have theirs in the workflow file)."""
    recorded = set()
    for path in Path("pengaduan").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "record"
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
                recorded.add(node.args[1].value)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(
                    r"complaint\.[a-z_]+", node.value):  # casework steps name theirs
                recorded.add(node.value)
    assert "complaint.filed" in recorded and "evidence.exported" in recorded  # the scan works
    assert recorded - set(actions.SENTENCES) == set()
    assert set(actions.SENTENCES) == set(actions.LABELS)


def test_filters_by_complaint_actor_action_and_period(app, world, casework):
    client = signed_in(app, AUDITOR)
    code = casework["public"]
    by_code = log_page(client, f"/staff/audit?complaint={code.lower().replace('-', '')}")
    assert f"filed complaint {code}" in by_code and casework["anonymous"] not in by_code

    by_name = log_page(client, "/staff/audit?actor=supervisor.a")
    assert by_name.count("revealed the complainant's identity") == 2 and "took the step" not in by_name
    by_email = log_page(client, "/staff/audit?actor=OFFICER.A@example.id")
    assert "took the step “Verify and forward”" in by_email and "revealed the complainant" not in by_email
    nobody = client.get("/staff/audit?actor=nobody-here")
    assert "No account has that name or email." in nobody.get_data(as_text=True)

    by_action = log_page(client, "/staff/audit?action=complaint.identity_revealed")
    assert by_action.count("revealed the complainant's identity") == 2 and "filed complaint" not in by_action
    refused = client.get("/staff/audit?action=complaint.nonsense&actor=kept")
    assert refused.status_code == 422 and "choose an action from the list" in refused.get_data(as_text=True)
    assert 'value="kept"' in refused.get_data(as_text=True)

    with app.app_context():  # the period is in local days, as in the evidence pack
        from pengaduan.services.oversight.supervision import today as local_today
        day = local_today()
    assert f"filed complaint {code}" in log_page(client, f"/staff/audit?from={day}&to={day}")
    past = day - timedelta(days=30)
    assert "No events match." in log_page(client, f"/staff/audit?from={past}&to={past}")
    assert "No events match." in log_page(client, f"/staff/audit?from={day + timedelta(days=1)}")
    assert f"filed complaint {code}" in log_page(client, f"/staff/audit?to={day}")
    wrong = client.get(f"/staff/audit?from={day}&to={past}")
    assert wrong.status_code == 422 and "must be a date on or after the start" in wrong.get_data(as_text=True)


def test_pages_follow_seq_down_without_gaps_or_repeats(ctx, casework):
    world = the_world()
    everything = [e.seq for e in audit_log.page(audit_log.Filters(), world.auditor, size=1000).entries]
    assert everything == sorted(everything, reverse=True) and len(everything) > 5
    seen, before = [], None
    while True:
        page = audit_log.page(audit_log.Filters(), world.auditor, before=before, size=2)
        seen += [e.seq for e in page.entries]
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == everything
    # the same with a filter on several actors at once (their pages are merged by seq)
    several = audit_log.Filters(actor="example.id")
    merged = [e.seq for e in audit_log.page(several, world.auditor, size=1000).entries]
    seen, before = [], None
    while True:
        page = audit_log.page(several, world.auditor, before=before, size=1)
        seen += [e.seq for e in page.entries]
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == merged and len(merged) == 3  # officer A's step, supervisor A's reveals


def test_the_next_page_link_continues_below_the_last_seq(app, world, casework):
    client = signed_in(app, AUDITOR)
    with app.app_context():
        head = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    text_ = log_page(client, f"/staff/audit?before={head}")
    assert f"Seq {head} " not in text_ and "Newest events" in text_


def test_the_reason_of_a_reveal_is_shown_only_where_the_policy_lets_the_reader_see_it(app, world, casework):
    auditor = get_page(signed_in(app, AUDITOR), "/staff/audit").html
    admin = get_page(signed_in(app, ADMIN), "/staff/audit").html
    assert "Reason: Perlu klarifikasi langsung" in auditor  # anonymous: as the evidence pack
    assert "Saksi kunci pemeriksaan" not in auditor  # confidential: withheld
    assert "Reason: withheld, the complaint is confidential" in auditor
    assert "Perlu klarifikasi langsung" not in admin and "Saksi kunci" not in admin
    for html in (auditor, admin):
        for identity in ("Rahasia Anonim", "anonim@example.id", "Sri Rahasia", "sri@example.id"):
            assert identity not in html


def test_verifying_the_chain_answers_ok_and_is_recorded(app, world, casework):
    client = signed_in(app, AUDITOR)
    with app.app_context():
        count, head = audit.head(db.session)
    response = client.post("/staff/audit/verify", data={"csrf_token": token_of(client)})
    assert response.status_code == 302
    page = get_page(client, "/staff/audit").html
    assert f"The chain is intact: {count:,} events, head hash {head}." in page
    assert f"auditor (Auditor) verified the audit chain: intact, {count:,} events" in visible_text(page)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == actions.VERIFIED)).all()
        assert len(events) == 1 and events[0].seq == count + 1
        assert audit.verify_chain(db.session, audit.public_key_hex()).ok  # the record joined the chain
    # again within the minute: not run, the answer shown stays
    client.post("/staff/audit/verify", data={"csrf_token": token_of(client)})
    assert "verified less than a minute ago" in get_page(client, "/staff/audit").html
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == count + 1


def test_verifying_names_the_first_broken_event(app, world, casework):
    client = signed_in(app, ADMIN)
    with app.app_context():
        disable_append_only(app)
        body = db.session.scalar(select(AuditEvent.body).where(AuditEvent.seq == 4))
        tamper("UPDATE audit_events SET body = :b WHERE seq = 4", b=body.replace('"payload":{', '"payload":{"x":1,'))
    client.post("/staff/audit/verify", data={"csrf_token": token_of(client)})
    page = get_page(client, "/staff/audit").html
    assert "The chain is broken at seq 4: an event was changed." in page
    assert "BROKEN at seq 4 (an event was changed)" in visible_text(page)
    with app.app_context():
        recorded = db.session.scalars(select(AuditEvent).where(AuditEvent.action == actions.VERIFIED)).one()
        assert '"kind":"altered"' in recorded.body and '"ok":false' in recorded.body


def test_a_workflow_step_reads_with_its_label_from_the_workflow_file(ctx):
    steps = dict(audit_log.known_actions()[0][1])
    for t in current_workflow().transitions:
        assert actions.STEP_PREFIX + t.trigger in steps
    with force_locale("en"):
        assert actions.sentence("complaint.unheard_of", None, who="X") == (
            "X recorded an event of a kind this version does not describe")
        assert actions.sentence("user.created", None, who="X") == "X created the account —"


def test_other_actors_read_in_words_and_odd_labels_do_not_break_the_page(ctx, world):
    world = the_world()  # noqa: F811 (the organisation, now read in this context)
    code = world.file(channel="api").complaint.tracking_code
    rows = db.session.execute(select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.actor,
                                     AuditEvent.action, AuditEvent.complaint_code, AuditEvent.body,
                                     AuditEvent.prev_hash, AuditEvent.hash)
                              .where(AuditEvent.complaint_code == code)).all()
    odd = SimpleNamespace(**(rows[0]._asdict() | {"actor": "user:46"}))  # as bench/generate.py writes staff
    with force_locale("en"):
        entries = audit_log.describe([rows[0], odd], world.auditor)
    assert entries[0].sentence == f"A complainant (API) filed complaint {code}"
    assert entries[1].sentence == f"user:46 filed complaint {code}"
    # and the filter takes a label as the chain writes it
    found = audit_log.page(audit_log.Filters(actor="channel:api"), world.auditor).entries
    assert [e.complaint for e in found] == [code]


def test_a_second_press_while_a_verification_runs_waits_for_its_answer(app, world):
    from pengaduan.web import audit_log as view

    client = signed_in(app, AUDITOR)
    token = token_of(client)
    with view._VERIFYING:  # a verification running in this process
        client.post("/staff/audit/verify", data={"csrf_token": token})
    assert "The chain is being verified right now" in get_page(client, "/staff/audit").html
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.seq).where(AuditEvent.action == actions.VERIFIED)) is None
