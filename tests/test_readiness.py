"""Readiness for the assessment: the rule file and its validation, a unit's page turning
green item by item as the unit adds its evidence, the page across units, readiness.csv (page,
command, evidence pack and its offline check), who may see it, and the demo's ready unit and
unit with gaps."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import pytest
import yaml
from sqlalchemy import event, select

from pengaduan.evidence import export_pack, verify_pack
from pengaduan.extensions import db
from pengaduan.models import Unit, utcnow
from pengaduan.services import create_unit
from pengaduan.services.attachments import store
from pengaduan.services.oversight import supervision as sv
from pengaduan.services.oversight.documents import upload_document
from pengaduan.services.readiness import CSV_COLUMNS, SOURCES, RulesError, assess, load
from pengaduan.services.readiness import sources as readiness_sources
from pengaduan.services.readiness.sources import months_before, months_earlier, quarter_before
from pengaduan.services.surveys import answers as survey_answers
from pengaduan.services.surveys import opening as survey_opening
from test_staff import get_page, signed_in
from test_supervision import (ADMIN, AUDITOR, OFFICER_A, SUPERVISOR_A, SUPERVISOR_B, actor_of, org,  # noqa: F401
                              pdf)

RULES = Path(__file__).resolve().parent.parent / "workflows" / "assessment" / "ombudsman-2025.yaml"
PAGE = "/staff/readiness"


@pytest.fixture(autouse=True)
def _statement_of_today(monkeypatch):
    """The accessibility statement as reviewed today, so the item is green whenever the tests run."""
    monkeypatch.setattr(readiness_sources, "STATEMENT_DATE", utcnow().date())


def statuses(client, unit: str = "UNIT-A") -> dict[str, str]:
    """{item id: status} as the unit's page shows them."""
    html = get_page(client, f"{PAGE}/{unit}").html
    return dict(re.findall(r'data-item="([a-z_]+)" data-status="(green|amber|red)"', html))


def text_of(client, url: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", get_page(client, url).html))


# --- the rule file ---------------------------------------------------------------------------

def test_the_rule_file_in_force_is_valid(runner):
    result = runner.invoke(args=["readiness", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK {RULES}") and "items" in result.output
    rules = load(RULES)
    assert rules.applies_to == 2025
    for item in rules.items:
        assert item.label["id"] and item.label["en"] and item.explanation["id"] and item.explanation["en"]
        for evidence in item.evidence:
            assert evidence.source in SOURCES and evidence.missing["id"] and evidence.missing["en"]


def _rules(**item_changes) -> dict:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    data["items"][0].update(item_changes)
    return data


BAD = {  # what is wrong -> (the file's data, the key named, words of the reason)
    "unknown source": (_rules(evidence=[{"source": "horoscope", "missing": {"id": "a", "en": "b"}}]),
                       "items.channels.evidence[0].source", "unknown evidence source 'horoscope'"),
    "unknown parameter": (_rules(evidence=[{"source": "supervision_monthly", "weeks": 3,
                                            "missing": {"id": "a", "en": "b"}}]),
                          "items.channels.evidence[0].weeks", "unknown parameter"),
    "bad parameter": (_rules(evidence=[{"source": "supervision_monthly", "months": "three",
                                        "missing": {"id": "a", "en": "b"}}]),
                      "items.channels.evidence[0].months", "whole number"),
    "parameter below its least": (_rules(evidence=[{"source": "supervision_monthly", "months": 0,
                                                    "missing": {"id": "a", "en": "b"}}]),
                                  "items.channels.evidence[0].months", "at least 1"),
    "unknown document kind": (_rules(evidence=[{"source": "standing_document", "kind": "horoscope",
                                                "missing": {"id": "a", "en": "b"}}]),
                              "items.channels.evidence[0].kind", "unknown value 'horoscope'"),
    "required parameter": (_rules(evidence=[{"source": "standing_document", "missing": {"id": "a", "en": "b"}}]),
                           "items.channels.evidence[0].kind", "required"),
    "missing text": (_rules(evidence=[{"source": "survey_quarter"}]),
                     "items.channels.evidence[0].missing", "is required"),
    "a language missing": (_rules(label={"id": "Kanal"}), "items.channels.label.en", "every language"),
    "unknown item key": (_rules(weight=3), "items[0].weight", "unknown key"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_rule_file_is_refused_naming_file_and_key(runner, tmp_path, case):
    data, key, reason = BAD[case]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load(path)
    assert caught.value.file == str(path) and caught.value.key == key and reason in caught.value.reason
    result = runner.invoke(args=["readiness", "check", str(path)])
    assert result.exit_code == 1 and f"error: {path}: {key}: " in result.output


def test_an_unreadable_or_invalid_yaml_file_is_refused(runner, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("items: [\n", encoding="utf-8")
    for path, reason in ((broken, "not valid YAML"), (tmp_path / "absent.yaml", "cannot be read")):
        result = runner.invoke(args=["readiness", "check", str(path)])
        assert result.exit_code == 1 and str(path) in result.output and reason in result.output


def test_a_later_year_is_a_new_file_chosen_by_configuration(app, org, tmp_path):
    """Another year's rules, other thresholds: only the file changes."""
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    data["applies_to"] = 2026
    data["title"] = {"id": "Penilaian 2026", "en": "Assessment 2026"}
    data["items"] = [{"id": "supervision", "label": {"id": "Pengawasan", "en": "Supervision"},
                      "explanation": {"id": "a", "en": "b"},
                      "evidence": [{"source": "supervision_monthly", "months": 1, "amber": 0,
                                    "missing": {"id": "a", "en": "b"}}]}]
    path = tmp_path / "ombudsman-2026.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    app.config["PENGADUAN_ASSESSMENT_RULES"] = str(path)
    client = signed_in(app, SUPERVISOR_A)
    assert "Assessment 2026" in text_of(client, PAGE)
    assert statuses(client) == {"supervision": "amber"}  # amber: 0, so never red


def test_periods_are_whole_months_and_quarters_before_the_day():
    assert months_before(date(2026, 2, 10), 3) == [(2025, 11), (2025, 12), (2026, 1)]
    assert quarter_before(date(2026, 2, 10), 1).label == "2025-Q4"
    assert quarter_before(date(2026, 2, 10), 0).label == "2026-Q1"
    assert months_earlier(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_earlier(date(2026, 2, 10), 12) == date(2025, 2, 10)


# --- the page turns green item by item --------------------------------------------------------

def _upload(app, kind: str, valid_from: date, valid_until: date | None = None, unit: str = "UNIT-A"):
    with app.app_context():
        upload_document(actor_of(SUPERVISOR_A), Unit.by_code(unit), {
            "kind": kind, "title": f"{kind} {unit}", "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else ""},
            store([(f"{kind}.pdf", pdf(kind), "application/pdf")]))
        db.session.commit()


def _supervise(app, day: date, kind: str = "monitoring_evaluation"):
    with app.app_context():
        sv.record_supervision(actor_of(SUPERVISOR_A), {
            "kind": kind, "held_on": day.isoformat(), "title": "Monev bulanan", "units": ["UNIT-A"]})
        db.session.commit()


def _survey(app, today: date, answered: int):
    with app.app_context():
        quarter = quarter_before(today, 1)
        survey = survey_opening.open_period(actor_of(ADMIN), Unit.by_code("UNIT-A"), quarter.label, ["KTP-el"], 100)
        for _ in range(answered):
            raw = {f"U{i}": "3" for i in range(1, 10)}
            raw["service_type"] = "KTP-el"
            survey_answers.record(survey, survey_answers.check(survey, raw))
        db.session.commit()
        return survey.id


def _evaluation(app, held_on: date, actions) -> int:
    """A quarter's complaint evaluation report of UNIT-A: a supervision record of its kind."""
    from pengaduan.models import SupervisionRecord, User

    with app.app_context():
        record = SupervisionRecord(kind="complaint_evaluation", held_on=held_on, title="Evaluasi pengaduan",
                                   evaluation_period=quarter_before(sv.today(), 1).label,
                                   supervisor=User.by_email(SUPERVISOR_A), units=[Unit.by_code("UNIT-A")])
        db.session.add(record)
        db.session.commit()
        return record.id


def _act(app, record_id: int, due_on: date, status: str = "open"):
    from pengaduan.models import SupervisionAction

    with app.app_context():
        db.session.add(SupervisionAction(record_id=record_id, description="Perbaiki SOP loket", owner="Kasi",
                                         due_on=due_on, status=status))
        db.session.commit()


def select_actions(record_id: int):
    from pengaduan.models import SupervisionAction

    return select(SupervisionAction).where(SupervisionAction.record_id == record_id,
                                           SupervisionAction.status == "open").order_by(SupervisionAction.due_on)


def _compensate(app, given_on: date):
    from pengaduan.models import Compensation, User

    with app.app_context():
        db.session.add(Compensation(unit=Unit.by_code("UNIT-A"), kind="service_redone", given_on=given_on,
                                    approved_by="Kepala Dinas A", recorded_by=User.by_email(SUPERVISOR_A)))
        db.session.commit()


def _standard(app, standard_id: int | None = None, *, reviewed_on: date | None, published: bool) -> int:
    """The kabupaten-wide service standard, made (or changed) through its service by an admin."""
    from pengaduan.models import ServiceStandard
    from pengaduan.services import standards

    with app.app_context():
        admin = actor_of(ADMIN)
        standard = (db.session.get(ServiceStandard, standard_id) if standard_id
                    else standards.create_standard(admin, None))
        raw = {f"component_{code}": standard.text_of(code) or "Isi komponen" for code in standard.components}
        standards.update_standard(admin, standard, {
            **raw, "version": standard.version, "maklumat": "Kami siap melayani pengaduan Anda.",
            "decree_number": "800/12/2026",
            "reviewed_on": reviewed_on.isoformat() if reviewed_on else "", "published": "1" if published else ""})
        db.session.commit()
        return standard.id


def test_a_units_draft_leaves_the_published_default_in_force(app, org):
    """A unit making its own standard (a draft) still follows the published default: public
    pages and readiness keep it; its own counts once published."""
    from pengaduan.services import standards

    with app.app_context():
        today = sv.today()
    _standard(app, reviewed_on=today - timedelta(days=3), published=True)
    with app.app_context():
        standards.create_standard(actor_of(ADMIN), Unit.by_code("UNIT-A"))
        db.session.commit()
        result = assess([Unit.by_code("UNIT-A")], today)
        finding = next(f.finding for r in result.units[0].items for f in r.found
                       if f.evidence.source == "service_standard")
    assert finding.status == "green" and not finding.gaps


def test_the_standard_is_read_as_it_stood_on_a_past_day(app, org):
    """A day before the standard was published reads as not published; a day before its last
    review as not reviewed (the earlier review dates are not kept)."""
    with app.app_context():
        today = sv.today()
    _standard(app, reviewed_on=today - timedelta(days=3), published=True)
    with app.app_context():
        def status_on(day):
            from flask_babel import force_locale
            result = assess([Unit.by_code("UNIT-A")], day)
            finding = next(f.finding for r in result.units[0].items for f in r.found
                           if f.evidence.source == "service_standard")
            with force_locale("en"):
                finding.gaps = [str(g) for g in finding.gaps]
            return finding
        assert status_on(today).status == "green"
        before = status_on(today - timedelta(days=10))
        assert before.status == "amber" and before.gaps == ["not published"]
        from pengaduan.models import ServiceStandard
        db.session.scalars(select(ServiceStandard)).one().published_at = utcnow() - timedelta(days=30)
        db.session.flush()
        before = status_on(today - timedelta(days=10))
        assert before.status == "amber" and before.gaps == ["not reviewed within the year"]


def _ombudsman_item(app, due_at) -> int:
    """A saran perbaikan of the Ombudsman with one item for UNIT-A."""
    from pengaduan.models import User
    from pengaduan.models.ombudsman import OmbudsmanItem, OmbudsmanProduct

    with app.app_context():
        today = sv.today()
        product = OmbudsmanProduct(kind="saran_perbaikan", number="B/123/LM.12/2026", issued_on=today - timedelta(days=40),
                                   received_on=today - timedelta(days=35), title="Saran perbaikan layanan KTP-el",
                                   recorded_by_id=User.by_email(ADMIN).id, units=[Unit.by_code("UNIT-A")])
        item = OmbudsmanItem(product=product, unit_id=Unit.by_code("UNIT-A").id, action="Pasang jadwal layanan",
                             owner="Kepala Dinas A", due_at=due_at, status="open")
        db.session.add_all([product, item])
        db.session.commit()
        return item.id


def _office(app, **contacts):
    from pengaduan.policy import Actor
    from pengaduan.services.administration.office import save_office

    with app.app_context():
        save_office({"name": "Kabupaten Contoh", **contacts}, actor=Actor.cli("test"))
        db.session.commit()


def test_the_unit_page_turns_green_item_by_item_as_evidence_is_added(app, org):
    client = signed_in(app, SUPERVISOR_A)
    with app.app_context():
        today = sv.today()
    seen = statuses(client)
    items = len(load(RULES).items)
    assert seen == {"channels": "red", "handler_decree": "red", "complaint_sop": "red", "supervision": "red",
                    "skm_quarter": "red", "evaluation_report": "red", "compensation": "red",
                    "ombudsman_products": "green", "service_standard": "red", "accessibility": "green"}
    page = text_of(client, f"{PAGE}/UNIT-A")
    assert f"2 of {items} items met" in page  # no Ombudsman product: nothing to follow up
    assert "No decree in force naming the complaint handlers is uploaded." in page
    html = get_page(client, f"{PAGE}/UNIT-A").html
    assert 'href="/staff/supervision/documents?unit=UNIT-A">Upload the handlers&#39; decree</a>' in html

    # The next step's link leads to the form that takes the decree: sent there, the item is green.
    form = get_page(client, "/staff/supervision/documents?unit=UNIT-A")
    answer = client.post("/staff/supervision/documents", data={
        "csrf_token": form.token, "unit": "UNIT-A", "kind": "handler_decree", "title": "SK Tim Pengaduan 2026",
        "valid_from": (today - timedelta(days=10)).isoformat(), "valid_until": (today + timedelta(days=20)).isoformat(),
        "file": (io.BytesIO(pdf("sk")), "sk.pdf", "application/pdf")}, content_type="multipart/form-data")
    assert answer.status_code == 302
    assert statuses(client)["handler_decree"] == "amber"  # in force, but it ends within 30 days
    _upload(app, "handler_decree", today - timedelta(days=5), today + timedelta(days=365))
    assert statuses(client)["handler_decree"] == "green"

    _upload(app, "complaint_sop", today - timedelta(days=400), today - timedelta(days=1))
    assert statuses(client)["complaint_sop"] == "amber"  # out of date
    _upload(app, "complaint_sop", today)
    assert statuses(client)["complaint_sop"] == "green"

    _upload(app, "channel_photos", today - timedelta(days=3))
    assert statuses(client)["channels"] == "red"  # the photos, but no channel in the office identity
    _office(app, phone="021-555-0101", email="pengaduan@contoh.go.id")
    assert statuses(client)["channels"] == "amber"  # two of the four channels
    _office(app, phone="021-555-0101", email="pengaduan@contoh.go.id", whatsapp="0812-1111-2222",
            address="Jl. Merdeka 1")
    assert statuses(client)["channels"] == "green"

    months = months_before(today, 3)
    _supervise(app, date(*months[0], 15), kind="coaching")  # coaching is not supervision here
    assert statuses(client)["supervision"] == "red"
    _supervise(app, date(*months[0], 15))
    assert statuses(client)["supervision"] == "amber"
    assert "1 of 3 months with a record" in text_of(client, f"{PAGE}/UNIT-A")
    _supervise(app, date(*months[1], 3))
    _supervise(app, date(*months[2], 28))
    assert statuses(client)["supervision"] == "green"

    period_id = _survey(app, today, 0)
    assert statuses(client)["skm_quarter"] == "amber"  # a survey without questionnaires
    with app.app_context():
        from pengaduan.models import SurveyPeriod

        survey = db.session.get(SurveyPeriod, period_id)
        survey_answers.record(survey, survey_answers.check(survey, {
            **{f"U{i}": "4" for i in range(1, 10)}, "service_type": "KTP-el"}))
        db.session.commit()
    assert statuses(client)["skm_quarter"] == "green"

    quarter = quarter_before(today, 1)
    record_id = _evaluation(app, min(today, quarter.end + timedelta(days=5)), [])
    assert statuses(client)["evaluation_report"] == "green"  # filed; nothing recurs, no action needed
    _act(app, record_id, due_on=today - timedelta(days=1))
    assert statuses(client)["evaluation_report"] == "amber"  # an action overdue
    _act(app, record_id, due_on=today + timedelta(days=30))
    with app.app_context():
        overdue = db.session.scalars(select_actions(record_id)).first()
        overdue.status, overdue.completed_on = "done", today
        db.session.commit()
    assert statuses(client)["evaluation_report"] == "green"  # one done, one not yet due

    _upload(app, "compensation_policy", today - timedelta(days=100))
    assert statuses(client)["compensation"] == "amber"  # a policy, but nothing given in the year
    _compensate(app, today - timedelta(days=400))
    assert statuses(client)["compensation"] == "amber"  # given, but more than a year ago
    _compensate(app, today - timedelta(days=20))
    assert statuses(client)["compensation"] == "green"
    item_id = _ombudsman_item(app, due_at=utcnow() - timedelta(days=2))
    assert statuses(client)["ombudsman_products"] == "red"  # an item past its deadline
    with app.app_context():
        from pengaduan.models.ombudsman import OmbudsmanItem

        item = db.session.get(OmbudsmanItem, item_id)
        item.status, item.done_on = "done", today
        db.session.commit()
    assert statuses(client)["ombudsman_products"] == "amber"  # done, not reported back
    with app.app_context():
        db.session.get(OmbudsmanItem, item_id).product.reported_back_on = today
        db.session.commit()
    assert statuses(client)["ombudsman_products"] == "green"

    standard_id = _standard(app, reviewed_on=None, published=False)  # the kabupaten-wide default
    assert statuses(client)["service_standard"] == "amber"  # a draft, not published
    _standard(app, standard_id, reviewed_on=today - timedelta(days=400), published=True)
    assert statuses(client)["service_standard"] == "amber"  # not reviewed within the year
    missing = re.search(r'id="item-service_standard".*?class="readiness-missing"><strong>[^<]*</strong>\s*([^<]*)</p>',
                        get_page(client, f"{PAGE}/UNIT-A").html, re.S)
    assert missing.group(1).strip() == "not reviewed within the year"  # only what applies
    _standard(app, standard_id, reviewed_on=today - timedelta(days=3), published=True)
    assert set(statuses(client).values()) == {"green"}
    page = text_of(client, f"{PAGE}/UNIT-A")
    assert f"{items} of {items} items met" in page and "What is missing" not in page
    assert f'href="/staff/surveys/{period_id}/results"' in get_page(client, f"{PAGE}/UNIT-A").html

    # Across units: UNIT-A is ready, UNIT-B is not, with the counts per item.
    across = get_page(signed_in(app, AUDITOR), PAGE).html
    assert re.search(rf"Dinas A</a></th>\s*<td[^>]*>{items} of {items}</td>", across)
    # UNIT-B follows the kabupaten-wide service standard: that item is met for it too.
    assert re.search(rf"Dinas B</a></th>\s*<td[^>]*>3 of {items}</td>", across)


def test_status_is_told_in_words_and_icons_not_colour_alone(app, org):
    client = signed_in(app, SUPERVISOR_A)
    html = get_page(client, f"{PAGE}/UNIT-A").html
    assert '<span class="readiness-icon" aria-hidden="true">✗</span> Not met (red)' in html
    assert '<span class="readiness-icon" aria-hidden="true">✓</span> Met (green)' in html
    matrix = get_page(client, PAGE).html
    assert 'aria-hidden="true">✗</span><span class="visually-hidden">Not met</span>' in matrix  # the icon's word
    assert "units not met" in matrix  # the counts are spoken with their status


# --- readiness.csv -----------------------------------------------------------------------------

def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_unit_csv_lists_each_item_and_piece_of_evidence(app, org):
    with app.app_context():
        today = sv.today()
    _upload(app, "handler_decree", today - timedelta(days=5))
    client = signed_in(app, SUPERVISOR_A)
    answer = client.get(f"{PAGE}/UNIT-A/readiness.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert f"kesiapan-UNIT-A-{today.isoformat()}.csv" in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = _csv(text)
    assert {r["unit"] for r in rows} == {"UNIT-A"}
    decree = next(r for r in rows if r["item"] == "handler_decree")
    assert (decree["status"], decree["count"], decree["latest"], decree["missing"]) == (
        "green", "1", (today - timedelta(days=5)).isoformat(), "")
    channels = [r for r in rows if r["item"] == "channels"]
    assert [r["source"] for r in channels] == ["standing_document", "office_channels"]
    assert {r["item_status"] for r in channels} == {"red"} and channels[0]["missing"]


def test_the_readiness_command_prints_the_csv_on_a_day(app, org, runner):
    with app.app_context():
        today = sv.today()
    _upload(app, "complaint_sop", today - timedelta(days=30), today - timedelta(days=10))
    earlier = runner.invoke(args=["readiness", "show", "--unit", "UNIT-A", "--on",
                                  (today - timedelta(days=20)).isoformat()])
    now = runner.invoke(args=["readiness", "show", "--unit", "UNIT-A"])
    assert earlier.exit_code == 0 and now.exit_code == 0, earlier.output + now.output
    sop = lambda out: next(r for r in _csv(out) if r["item"] == "complaint_sop")["status"]  # noqa: E731
    assert (sop(earlier.output), sop(now.output)) == ("amber", "amber")  # ending soon, then out of date
    all_units = runner.invoke(args=["readiness", "show"])
    assert {r["unit"] for r in _csv(all_units.output)} == {"UNIT-A", "UNIT-B"}
    assert runner.invoke(args=["readiness", "show", "--on", "yesterday"]).exit_code == 1


# --- the evidence pack --------------------------------------------------------------------------

def test_the_evidence_pack_carries_readiness_on_its_last_day(app, org, tmp_path):
    from pengaduan import audit
    from pengaduan.audit.checkpoints import public_key_hex, signing_key

    with app.app_context():
        today = sv.today()
    _upload(app, "handler_decree", today - timedelta(days=100), today - timedelta(days=3))
    with app.app_context():
        audit.checkpoint(db.session)
        db.session.commit()
        export_pack(tmp_path / "a.zip", today - timedelta(days=90), today - timedelta(days=60), Unit.by_code("UNIT-A"))
        db.session.commit()
        export_pack(tmp_path / "all.zip", today - timedelta(days=30), today)
        db.session.commit()
        key = public_key_hex(signing_key())
    with zipfile.ZipFile(tmp_path / "a.zip") as pack:
        rows = _csv(pack.read("readiness.csv").decode())
        manifest = pack.read("manifest.json").decode()
    assert {r["unit"] for r in rows} == {"UNIT-A"} and {r["as_of"] for r in rows} == {
        (today - timedelta(days=60)).isoformat()}
    assert next(r for r in rows if r["item"] == "handler_decree")["status"] == "green"  # in force then
    assert '"readiness.csv"' in manifest
    with zipfile.ZipFile(tmp_path / "all.zip") as pack:
        rows = _csv(pack.read("readiness.csv").decode())
        assert "Assessment readiness" in pack.read("summary.html").decode() or "Kesiapan" in pack.read(
            "summary.html").decode()
    assert {r["unit"] for r in rows} == {"UNIT-A", "UNIT-B"}
    assert next(r for r in rows if r["item"] == "handler_decree" and r["unit"] == "UNIT-A")["status"] == "amber"
    assert next(r for r in rows if r["item"] == "handler_decree" and r["unit"] == "UNIT-B")["status"] == "red"
    for name in ("a.zip", "all.zip"):
        problems, _ = verify_pack.verify(str(tmp_path / name), key)
        assert problems == []


def _checked(text: str, unit: str | None) -> list[str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as pack:
        pack.writestr("readiness.csv", text)
    report = verify_pack.Report()
    with zipfile.ZipFile(buffer) as pack:
        verify_pack._check_readiness(pack, {"unit": unit}, report)
    return report.problems


def test_the_offline_check_finds_an_inconsistent_readiness_file():
    head = ",".join(CSV_COLUMNS)
    line = "2026-12-01,r.yaml,{unit},Dinas,{item},Label,{item_status},src,{status},1,,found,"
    good = "\n".join([head, line.format(unit="UNIT-A", item="x", item_status="amber", status="green"),
                      line.format(unit="UNIT-A", item="x", item_status="amber", status="amber")])
    assert _checked(good, "UNIT-A") == [] and _checked(good, None) == []
    assert _checked(good, "UNIT-B")[0] == "readiness.csv line 2: unit UNIT-A in a pack of unit UNIT-B"
    better = good.replace(",amber,src,amber,", ",amber,src,green,")
    assert _checked(better, None) == ["readiness.csv line 2: item x of UNIT-A is amber, its evidence makes it green"]
    assert "is not one of green, amber, red" in _checked(good.replace(",amber,src,green", ",ok,src,green"), None)[0]


# --- who may see it ------------------------------------------------------------------------------

def test_the_policy_decides_who_reads_the_readiness_of_which_unit():
    from types import SimpleNamespace

    from pengaduan.policy import can_read_readiness, can_read_unit_readiness
    from test_policy import ROLES, staff

    actors = [staff(role) for role in ROLES]
    mine, elsewhere = SimpleNamespace(id=1), SimpleNamespace(id=9)
    assert [can_read_readiness(a) for a in actors] == [False, True, True, True]
    assert [can_read_unit_readiness(a, mine) for a in actors] == [False, True, True, True]
    assert [can_read_unit_readiness(a, elsewhere) for a in actors] == [False, False, True, True]


def test_supervisors_see_their_units_auditors_and_admins_all(app, org):
    answers = {}
    for who in (OFFICER_A, SUPERVISOR_A, SUPERVISOR_B, AUDITOR, ADMIN):
        client = signed_in(app, who)
        answers[who] = tuple(client.get(url).status_code for url in (
            PAGE, f"{PAGE}/UNIT-A", f"{PAGE}/UNIT-A/readiness.csv", f"{PAGE}/unit-a", f"{PAGE}/NOPE"))
        home = get_page(client, "/staff/notifications").html
        assert ('href="/staff/readiness"' in home) == (who != OFFICER_A), who
    assert answers == {
        OFFICER_A: (403, 403, 403, 403, 403),
        SUPERVISOR_A: (200, 200, 200, 200, 404),
        SUPERVISOR_B: (200, 404, 404, 404, 404),
        AUDITOR: (200, 200, 200, 200, 404),
        ADMIN: (200, 200, 200, 200, 404),
    }
    anonymous = app.test_client().get(PAGE)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    supervisor_b = get_page(signed_in(app, SUPERVISOR_B), PAGE).html
    assert "Dinas B" in supervisor_b and "Dinas A" not in supervisor_b


# --- cost ------------------------------------------------------------------------------------------

def test_the_number_of_queries_does_not_grow_with_the_units(app, org):
    """One query per source for all units, never one per unit and item."""
    def queries(units: int) -> int:
        with app.app_context():
            for i in range(len(Unit.query.all()), units):
                create_unit(f"UNIT-X{i}", f"Dinas X{i}")
            db.session.commit()
            statements = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                assess(list(Unit.query.all()), sv.today())
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            return len(statements)

    assert queries(2) == queries(12)


# --- the demo -------------------------------------------------------------------------------------

def test_the_demo_has_a_ready_unit_and_a_unit_with_gaps(app, runner):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0
    with app.app_context():
        result = assess([Unit.by_code("DUKCAPIL"), Unit.by_code("PUPR")], sv.today())
    ready, gaps = ({r.item.id: r.status for r in u.items} for u in result.units)
    assert set(ready.values()) == {"green"}, ready
    assert {"red", "amber"} <= set(gaps.values()), gaps
    assert {item for item, status in gaps.items() if status == "red"} >= {
        "complaint_sop", "evaluation_report", "ombudsman_products"}, gaps
