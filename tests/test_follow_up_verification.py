"""Verification of follow-up, written only in the workflow file: on the categories of
`category_groups.verified_follow_up` an officer proposes the follow-up (internal), a supervisor
approves it (the complainant then reads it and her reply window starts) or returns it with a
note (shown to the officer, with a clock of its own); other categories follow up directly.
And the engine's parts it is made of, each refused with file, key and reason when misused."""
from __future__ import annotations

import copy
import re
from html import unescape
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from test_staff import (OFFICER_A, PASSWORD, SUPERVISOR_A, VERIFY, action_of, browser,  # noqa: F401
                        get_page, org, page_of, signed_in, staff_does, token_of, track)
from test_staff_case import send_step
from pengaduan.extensions import db
from pengaduan.models import Complaint, Notification, User
from pengaduan.policy import Actor
from pengaduan.services import create_category, create_user, issue_token
from pengaduan.workflow import WorkflowError, current_workflow, parse_workflow

SHIPPED = Path(__file__).resolve().parents[1] / "workflows" / "perpres76.yaml"
BASE = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
DRAFT = "Petugas loket telah diperiksa Inspektorat; uang Rp50.000 dikembalikan kepada Anda."
AMENDED = DRAFT + " Petugas tersebut dipindahkan dari loket."
NOTE = "Sebutkan tanggal pengembalian uang dan nomor berita acaranya."
PUNGLI = {"unit": "UNIT-A", "category": "PUNGLI", "classification": "pengaduan"}


@pytest.fixture
def verified(app, org):  # noqa: F811
    """The organisation with a category the shipped file verifies follow-ups for."""
    with app.app_context():
        create_category("PUNGLI", "Pungutan liar")
        db.session.commit()


def file_pungli(app) -> tuple[str, str]:
    from test_staff import file
    return file(app, category="PUNGLI")


def visible_text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def state_and_clocks(app, code: str) -> tuple[str, dict]:
    with app.app_context():
        complaint = Complaint.by_code(code)
        return complaint.state, {c.rule: c.running for c in complaint.clocks}


def test_the_whole_path_is_data_and_the_complainant_sees_only_the_approved_answer(app, verified):
    """propose -> return with a note -> the revision clock runs -> propose again -> approve:
    the complainant reads the approved words, never the drafts, and her reply window starts."""
    code, pin = file_pungli(app)
    officer, supervisor = signed_in(app, OFFICER_A), signed_in(app, SUPERVISOR_A)
    staff_does(app, OFFICER_A, code, ("verify", PUNGLI))

    page = get_page(officer, page_of(code))
    assert f"{page_of(code)}?step=propose_follow_up" in page.html
    assert f"{page_of(code)}?step=follow_up\"" not in page.html  # no way around the review
    assert send_step(officer, code, "propose_follow_up", response=DRAFT).status_code == 302
    state, clocks = state_and_clocks(app, code)
    assert state == "follow_up_review" and clocks["follow_up_review"] is True
    assert clocks["first_follow_up"] is True  # the statutory clock waits for the approved answer

    # The supervisor is told, sees the draft waiting, and returns it with her note.
    with app.app_context():
        told = db.session.scalars(select(Notification.kind).where(
            Notification.user_id == User.by_email(SUPERVISOR_A).id)).all()
        assert "step" in told
    waiting = get_page(supervisor, page_of(code))
    assert 'data-testid="case-notice"' in waiting.html and DRAFT in waiting.html
    assert send_step(supervisor, code, "return_follow_up", note=NOTE).status_code == 302
    state, clocks = state_and_clocks(app, code)
    assert state == "verified"
    assert clocks["follow_up_review"] is False and clocks["follow_up_revision"] is True

    # The officer reads the note on top of the case page and proposes again.
    returned = visible_text(get_page(officer, page_of(code)).html)
    assert "The supervisor returned the follow-up for revision" in returned and NOTE in returned
    assert send_step(officer, code, "propose_follow_up", response=DRAFT).status_code == 302
    state, clocks = state_and_clocks(app, code)
    assert clocks["follow_up_revision"] is False and clocks["follow_up_review"] is True

    # The complainant, meanwhile, sees neither draft nor note, on her page or through the API.
    citizen = browser(app)
    assert track(citizen, code, pin).status_code == 302
    mine = citizen.get(f"/track/{code}").get_data(as_text=True)
    assert DRAFT not in mine and NOTE not in mine
    api = citizen.get(f"/api/v1/complaints/{code}", headers={"X-Tracking-Pin": pin})
    assert DRAFT not in api.get_data(as_text=True) and NOTE not in api.get_data(as_text=True)

    # The approving form starts with the officer's draft; the supervisor amends and sends it.
    form = get_page(supervisor, f"{page_of(code)}?step=approve_follow_up")
    assert DRAFT in unescape(form.html)
    assert send_step(supervisor, code, "approve_follow_up", response=AMENDED).status_code == 302
    state, clocks = state_and_clocks(app, code)
    assert state == "followed_up" and clocks["reply_window"] is True
    assert clocks["follow_up_review"] is False and clocks["first_follow_up"] is False
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert complaint.clock("reply_window").due_at is not None
        assert complaint.clock("response").stopped_at is not None
    mine = visible_text(citizen.get(f"/track/{code}").get_data(as_text=True))
    assert AMENDED in mine and NOTE not in mine
    assert mine.count(DRAFT) == mine.count(AMENDED)  # within the approved words only


def test_other_categories_follow_up_directly_and_the_api_refuses_the_review(app, verified, client):
    """A complaint outside the group has no review: propose is refused with 409 and the
    allowed triggers; follow_up works as before. Inside it, follow_up is refused."""
    with app.app_context():
        token = issue_token(User.by_email(OFFICER_A))
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    from test_staff import file
    general, _ = file(app)
    pungli, _ = file_pungli(app)
    staff_does(app, OFFICER_A, general, ("verify", VERIFY))
    staff_does(app, OFFICER_A, pungli, ("verify", PUNGLI))

    refused = client.post(f"/api/v1/complaints/{general}/transitions", headers=headers,
                          json={"trigger": "propose_follow_up", "response": DRAFT})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["allowed_triggers"] == ["reassign", "follow_up"]
    refused = client.post(f"/api/v1/complaints/{pungli}/transitions", headers=headers,
                          json={"trigger": "follow_up", "response": DRAFT})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["allowed_triggers"] == ["reassign", "propose_follow_up"]
    shown = client.get(f"/api/v1/complaints/{pungli}", headers=headers).get_json()
    assert shown["allowed_triggers"] == ["reassign", "propose_follow_up"]
    done = client.post(f"/api/v1/complaints/{general}/transitions", headers=headers,
                       json={"trigger": "follow_up", "response": DRAFT})
    assert done.status_code == 200 and done.get_json()["state"] == "followed_up"


def test_only_a_supervisor_approves_and_a_return_needs_the_note(app, verified, client):
    """The officer may not approve her own draft; returning without a note is refused (422)."""
    with app.app_context():
        tokens = {email: issue_token(User.by_email(email)) for email in (OFFICER_A, SUPERVISOR_A)}
        db.session.commit()
    code, _ = file_pungli(app)
    staff_does(app, OFFICER_A, code, ("verify", PUNGLI), ("propose_follow_up", {"response": DRAFT}))
    url = f"/api/v1/complaints/{code}/transitions"
    as_officer = {"Authorization": f"Bearer {tokens[OFFICER_A]}"}
    as_supervisor = {"Authorization": f"Bearer {tokens[SUPERVISOR_A]}"}
    assert client.post(url, headers=as_officer, json={"trigger": "approve_follow_up",
                                                       "response": DRAFT}).status_code == 403
    missing = client.post(url, headers=as_supervisor, json={"trigger": "return_follow_up"})
    assert missing.status_code == 422 and "note" in missing.get_data(as_text=True)
    assert state_and_clocks(app, code)[0] == "follow_up_review"


def test_four_eyes_the_proposer_neither_approves_nor_returns_another_supervisor_does(app, verified, client):
    """A supervisor who proposed the follow-up is not offered approval or return (`not_by`), is
    refused through the form (403) and the API (403), and another supervisor of the unit approves."""
    second = "supervisor.a2@example.id"
    with app.app_context():
        create_user(second, "supervisor", password=PASSWORD, unit_codes=["UNIT-A"])
        token = issue_token(User.by_email(SUPERVISOR_A))
        db.session.commit()
    code, _ = file_pungli(app)
    staff_does(app, SUPERVISOR_A, code, ("verify", PUNGLI), ("propose_follow_up", {"response": DRAFT}))
    proposer = signed_in(app, SUPERVISOR_A)
    page = get_page(proposer, page_of(code))
    assert "?step=approve_follow_up" not in page.html and "?step=return_follow_up" not in page.html
    refused = proposer.post(action_of(code, "approve_follow_up"),
                            data={"csrf_token": token_of(proposer), "response": DRAFT})
    assert refused.status_code == 403
    headers = {"Authorization": f"Bearer {token}"}
    api = client.post(f"/api/v1/complaints/{code}/transitions", headers=headers,
                      json={"trigger": "return_follow_up", "note": NOTE})
    assert api.status_code == 403
    shown = client.get(f"/api/v1/complaints/{code}", headers=headers).get_json()
    assert "approve_follow_up" not in shown["allowed_triggers"]
    assert state_and_clocks(app, code)[0] == "follow_up_review"

    other = signed_in(app, second)
    assert "?step=approve_follow_up" in get_page(other, page_of(code)).html
    assert send_step(other, code, "approve_follow_up", response=DRAFT).status_code == 302
    assert state_and_clocks(app, code)[0] == "followed_up"


def test_a_proposer_approves_again_only_what_someone_else_proposed_since(app, verified):
    """`not_by` looks at the latest proposal since the complaint entered its state: a draft
    the supervisor proposed, returned by another and proposed again by the officer, he approves."""
    second = "supervisor.a2@example.id"
    with app.app_context():
        create_user(second, "supervisor", password=PASSWORD, unit_codes=["UNIT-A"])
        db.session.commit()
    code, _ = file_pungli(app)
    staff_does(app, SUPERVISOR_A, code, ("verify", PUNGLI), ("propose_follow_up", {"response": DRAFT}))
    staff_does(app, second, code, ("return_follow_up", {"note": NOTE}))
    staff_does(app, OFFICER_A, code, ("propose_follow_up", {"response": AMENDED}))
    staff_does(app, SUPERVISOR_A, code, ("approve_follow_up", {"response": AMENDED}))
    assert state_and_clocks(app, code)[0] == "followed_up"


def test_the_complainant_may_withdraw_while_the_follow_up_is_reviewed(app, verified):
    code, _ = file_pungli(app)
    staff_does(app, OFFICER_A, code, ("verify", PUNGLI), ("propose_follow_up", {"response": DRAFT}))
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert [t.trigger for t in current_workflow().offered(complaint, "citizen")] == ["withdraw"]


def test_emptying_the_group_turns_the_review_off():
    """With no code in the group, every category follows up directly."""
    data = copy.deepcopy(BASE)
    data["category_groups"]["verified_follow_up"]["categories"] = []
    workflow = parse_workflow(data, "edited.yaml")
    assert workflow.transition("follow_up").offered_for("PUNGLI")
    assert not workflow.transition("propose_follow_up").offered_for("PUNGLI")


def test_check_against_db_warns_of_a_category_the_database_lacks(app, runner):
    """The shipped file fits a database without its categories (a warning, exit 0)."""
    result = runner.invoke(args=["workflow", "check", "--against-db"])
    assert result.exit_code == 0, result.output
    assert "category_groups.verified_follow_up: no category 'PUNGLI'" in result.stderr
    with app.app_context():
        create_category("PUNGLI", "Pungutan liar")
        create_category("PERILAKU-PETUGAS", "Perilaku petugas")
        db.session.commit()
    result = runner.invoke(args=["workflow", "check", "--against-db"])
    assert result.exit_code == 0 and result.stderr == ""


def _transition(data: dict, trigger: str) -> dict:
    return next(t for t in data["transitions"] if t["trigger"] == trigger)


def _edited(change) -> dict:
    data = copy.deepcopy(BASE)
    change(data)
    return data


@pytest.mark.parametrize("change, key, reason", [
    (lambda d: _transition(d, "follow_up").update(except_categories=["nope"]),
     "transitions[6].except_categories", "unknown category group (see category_groups) 'nope'"),
    (lambda d: _transition(d, "follow_up").update(categories=["verified_follow_up"]),
     "transitions[6]", "give either categories or except_categories, not both"),
    (lambda d: _transition(d, "propose_follow_up").update(categories=[]),
     "transitions[7].categories", "name at least one category group"),
    (lambda d: d["category_groups"]["verified_follow_up"].update(categories=["pungli"]),
     "category_groups.verified_follow_up.categories", "'pungli' is not a category code"),
    (lambda d: d["category_groups"]["verified_follow_up"].update(categories=["PUNGLI", "PUNGLI"]),
     "category_groups.verified_follow_up.categories", "names a category twice"),
    (lambda d: d["category_groups"]["verified_follow_up"].pop("categories"),
     "category_groups.verified_follow_up.categories", "is required"),
    (lambda d: _transition(d, "approve_follow_up").update(prefill={"resolution": "propose_follow_up"}),
     "transitions[8].prefill.resolution", "the step neither requires nor accepts 'resolution'"),
    (lambda d: _transition(d, "approve_follow_up").update(prefill={"response": "gone"}),
     "transitions[8].prefill.response", "unknown trigger 'gone'"),
    (lambda d: _transition(d, "approve_follow_up").update(prefill={"response": "verify"}),
     "transitions[8].prefill.response", "'verify' carries no 'response' to start from"),
    (lambda d: _transition(d, "approve_follow_up").update(notify=["everyone"]),
     "transitions[8].notify", "unknown notify target 'everyone'"),
    (lambda d: _transition(d, "return_follow_up").update(notice={"id": "Dikembalikan"}),
     "transitions[9].notice.en", "a label is required in every language (id, en)"),
    (lambda d: _transition(d, "approve_follow_up").update(not_by=["propose"]),
     "transitions[8].not_by", "unknown trigger 'propose'"),
    (lambda d: _transition(d, "approve_follow_up").update(not_by=["withdraw"]),
     "transitions[8].not_by", "only between steps that staff take"),
    (lambda d: d["sla"]["follow_up_review"].update(start=["propose"]),
     "sla.follow_up_review.start", "unknown trigger 'propose'"),
])
def test_misused_parts_are_refused_with_file_key_and_reason(change, key, reason):
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(_edited(change), "edited.yaml")
    assert (caught.value.file, caught.value.key) == ("edited.yaml", key)
    assert reason in caught.value.reason


def test_a_new_supervisor_may_not_approve_in_a_unit_she_does_not_work_in(app, verified):
    """Approving is a unit's step like any other: a supervisor of another unit is refused."""
    from pengaduan.errors import Forbidden
    from pengaduan.services import advance
    code, _ = file_pungli(app)
    staff_does(app, OFFICER_A, code, ("verify", PUNGLI), ("propose_follow_up", {"response": DRAFT}))
    with app.app_context():
        other, _ = create_user("supervisor.b@example.id", "supervisor", password="x" * 16,
                               unit_codes=["UNIT-B"])
        complaint = Complaint.by_code(code)
        with pytest.raises(Forbidden):
            advance(complaint, "approve_follow_up", Actor.staff(other), response=DRAFT)
