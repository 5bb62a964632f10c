"""Field specs decide how a step's form asks for a field and what its value does: the forms
and `advance` name no field of their own."""
from __future__ import annotations

import inspect
import re
from dataclasses import replace
from pathlib import Path

from pengaduan.services import advance
from pengaduan.services.complaints import lifecycle
from pengaduan.workflow.fields import FIELDS, WIDGETS
from test_staff import OFFICER_A, file, org, page_of, signed_in  # noqa: F401 (org is a fixture)

ROOT = Path(__file__).resolve().parent.parent


def test_every_field_has_a_known_widget():
    assert {spec.widget for spec in FIELDS.values()} <= set(WIDGETS)


def test_a_step_field_is_drawn_as_its_spec_says(app, org, monkeypatch):
    """Changing a spec's widget changes the staff form: no template chooses by field name."""
    code, _ = file(app)
    client = signed_in(app, OFFICER_A)
    html = client.get(f"{page_of(code)}?step=reject").get_data(as_text=True)
    assert '<textarea id="reject-reason" name="reason"' in html
    assert '<input id="reject-referred_to" name="referred_to"' in html
    html = client.get(f"{page_of(code)}?step=verify").get_data(as_text=True)
    assert '<select id="verify-classification" name="classification" required' in html
    monkeypatch.setitem(FIELDS, "reason", replace(FIELDS["reason"], widget="line"))
    monkeypatch.setitem(FIELDS, "referred_to", replace(FIELDS["referred_to"], widget="textarea"))
    html = client.get(f"{page_of(code)}?step=reject").get_data(as_text=True)
    assert '<input id="reject-reason" name="reason" value="" required' in html
    assert '<textarea id="reject-referred_to" name="referred_to"' in html


def test_step_form_templates_name_no_field():
    """The step forms draw whatever fields a step lists; field names live in the specs."""
    for path in ("templates/_step_field.html",):
        source = (ROOT / path).read_text(encoding="utf-8")
        named = [name for name in FIELDS if re.search(rf"""["']{name}["']""", source)]
        assert named == [], (path, named)
    for path in ("templates/staff/case/_step.html", "templates/citizen/view.html"):
        source = (ROOT / path).read_text(encoding="utf-8")
        assert "step_field(name, transition" in source
        assert not re.search(r"name\s*==\s*['\"]", source), path


def test_advance_reads_no_field_by_name():
    """What a value does (a rating keeps its comment, a closure reason is recorded) is in
    its field spec, where a reader of the workflow's fields finds it."""
    source = inspect.getsource(lifecycle.advance)
    assert not re.search(r"""values(\.get\(|\[)\s*["']|["']\w+["']\s+in\s+values""", source)


def test_a_field_spec_effect_runs_when_its_step_is_taken(world, monkeypatch):
    seen = []
    monkeypatch.setitem(FIELDS, "rating", replace(
        FIELDS["rating"], effect=lambda complaint, value, values: seen.append((value, dict(values)))))
    complaint = world.file().complaint
    advance(complaint, "verify", world.officer_a, unit="UNIT-A", category="GENERAL",
            classification="pengaduan")
    advance(complaint, "follow_up", world.officer_a, response="Sudah kami tindak lanjuti.")
    from pengaduan.policy import Actor

    advance(complaint, "accept", Actor.citizen(complaint), rating=4, comment="Cepat.")
    assert seen == [(4, {"rating": 4, "comment": "Cepat."})]
    assert complaint.rating == 4 and complaint.rating_comment is None  # the effect was replaced


def test_a_rating_keeps_its_comment_and_a_chosen_closure_reason_is_recorded(world):
    from pengaduan.policy import Actor

    rated = world.file().complaint
    advance(rated, "verify", world.officer_a, unit="UNIT-A", category="GENERAL",
            classification="pengaduan")
    advance(rated, "follow_up", world.officer_a, response="Sudah kami tindak lanjuti.")
    advance(rated, "accept", Actor.citizen(rated), rating=5, comment="Terima kasih.")
    assert (rated.rating, rated.rating_comment, rated.closure_reason) == (5, "Terima kasih.", "resolved")
    rejected = world.file().complaint
    advance(rejected, "reject", world.officer_a, reason="Bukan kewenangan kami.",
            closure_reason="referred", referred_to="Kantor Imigrasi")
    assert rejected.closure_reason == "referred"


def test_a_step_marked_secondary_is_drawn_as_the_lesser_choice(app, org):
    """Withdrawing, when the file asks for no confirmation page, is drawn on the tracking page
    as the lesser button because the file says so, under any name."""
    from test_staff import browser, location, track
    from test_workflow_renames import definition, install, rename_trigger

    data = rename_trigger(definition(), "withdraw", "cabut_pengaduan")
    step = next(t for t in data["transitions"] if t["trigger"] == "cabut_pengaduan")
    step.pop("confirm", None)
    install(app, data)
    code, pin = file(app)
    client = browser(app)
    page = location(track(client, code, pin))
    html = client.get(page).get_data(as_text=True)
    assert re.search(r'<button type="submit" class="button button-secondary">Withdraw</button>', html)


def test_a_field_added_to_the_workflow_is_shown_without_code_changes(app, org, monkeypatch):
    """A new field spec named by a step of the workflow file: the staff page draws it and
    fills the one marked as an answer from a response template, the complainant's timeline
    shows the stored code as its spec reads it. No view, service or template names it."""
    from pengaduan.extensions import db
    from pengaduan.policy import Actor
    from pengaduan.services.complaints.responses import save_response_template
    from pengaduan.workflow.fields import FieldSpec
    from test_staff import act, browser, location, staff_does, track
    from test_workflow_renames import definition, install

    agencies = {"bpn": "Kantor Pertanahan"}
    monkeypatch.setitem(FIELDS, "agency", FieldSpec(
        "agency", lambda value, _ctx: str(value).strip(), "Agency consulted", widget="line",
        display=lambda _workflow, code: agencies.get(code)))
    monkeypatch.setitem(FIELDS, "reply", FieldSpec(
        "reply", lambda value, _ctx: str(value).strip(), "Reply", free_text=True, answer=True))
    data = definition()
    step = next(t for t in data["transitions"] if t["trigger"] == "follow_up")
    step["requires"], step["accepts"] = ["reply"], ["agency", "note"]
    install(app, data)
    code, pin = file(app)
    staff_does(app, OFFICER_A, code, ("verify", {"unit": "UNIT-A", "category": "GENERAL",
                                                 "classification": "pengaduan"}))
    with app.app_context():
        template_id = save_response_template(None, title="Jawaban baku", body="Sudah kami perbaiki.",
                                             category_code=None, actor=Actor.cli("test")).id
        db.session.commit()
    client = signed_in(app, OFFICER_A)
    html = client.get(f"{page_of(code)}?use={template_id}&step=follow_up").get_data(as_text=True)
    assert re.search(r'<textarea id="follow_up-reply" name="reply"[^>]*>Sudah kami perbaiki\.</textarea>', html)
    assert '<input id="follow_up-agency" name="agency"' in html
    assert act(client, code, "follow_up", reply="Sudah kami perbaiki.", agency="bpn").status_code == 302
    citizen = browser(app)
    timeline = citizen.get(location(track(citizen, code, pin))).get_data(as_text=True)
    assert "<dt>Agency consulted</dt><dd>Kantor Pertanahan</dd>" in timeline
    assert '<blockquote class="prose">Sudah kami perbaiki.</blockquote>' in timeline  # the office's words
