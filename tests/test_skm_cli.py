"""The SKM on the command line: `skm import` (paper questionnaires from a CSV file, all or
nothing), `skm report` (the IKM; JSON in the contract's shape) and `skm check` (a
questionnaire file); and the SKM in the evidence pack (skm/ files under the manifest)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import date, timedelta

from sqlalchemy import func, select

from pengaduan import audit
from pengaduan.evidence import export_pack, verify
from pengaduan.evidence.pack import manifest_bytes
from pengaduan.extensions import db
from pengaduan.models import ELEMENTS, AuditEvent, SurveyPeriod, SurveyResponse, Unit, User
from pengaduan.policy import Actor
from pengaduan.services.inputs import local_today
from pengaduan.services.surveys import follow_up, opening
from test_ikm import WORKED_TOTALS, rows_for

HEADER = ",".join(ELEMENTS)


def write(tmp_path, lines, name="kuesioner.csv", encoding="utf-8", newline="\n") -> str:
    path = tmp_path / name
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return str(path)


def worked_example_lines(separator=",") -> list[str]:
    return [separator.join(ELEMENTS)] + [separator.join(map(str, row)) for row in rows_for(29, WORKED_TOTALS)]


# The commands run in the test's application context (`world`), so in its session.

def responses() -> list[SurveyResponse]:
    db.session.expire_all()
    return db.session.scalars(select(SurveyResponse).order_by(SurveyResponse.id)).all()


def periods_of() -> list[str]:
    return [p.label for p in db.session.scalars(select(SurveyPeriod)).all()]


def actions(action: str) -> list[dict]:
    return [json.loads(e.body) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyResponse))


def skm_import(runner, path, *extra, unit="UNIT-A", period="2026-Q3"):
    return runner.invoke(args=["skm", "import", path, "--unit", unit, "--period", period, *extra])


def open_q3(services=("KTP-el", "KK")) -> None:
    opening.open_period(Actor.cli(), Unit.by_code("UNIT-A"), "2026-Q3", service_types=list(services))
    db.session.commit()


# --- refusals: nothing of the file is imported ------------------------------------------

def test_a_score_of_5_on_line_7_refuses_the_whole_file(app, runner, world, tmp_path):
    """Line 7 (the sixth questionnaire) scores U3 as 5: exit 1, the message names line 7, U3
    and the value, and nothing is imported, not even the period the import would have opened."""
    lines = worked_example_lines()
    cells = lines[6].split(",")
    cells[2] = "5"
    lines[6] = ",".join(cells)
    result = skm_import(runner, write(tmp_path, lines))
    assert result.exit_code == 1, result.output
    assert 'line 7: U3: "5" is not a score from 1 to 4' in result.output
    assert "nothing was imported" in result.output
    assert responses() == [] and periods_of() == [] and actions("survey.imported") == []


def test_every_bad_line_is_named_not_a_number_and_a_bad_option(app, runner, world, tmp_path):
    open_q3()
    lines = ["U1,U2,U3,U4,U5,U6,U7,U8,U9,education,suggestion",
             "4,4,4,4,4,4,4,4,4,s1,Bagus",
             "4,empat,4,4,4,4,4,4,4,,",
             "4,4,4,4,4,4,4,4,4,S3,",
             "3,3,3,3,3,3,3,3,0,,",
             "4,4,4,4,4,4,4,4,4,SMA/SMK,ok"]
    result = skm_import(runner, write(tmp_path, lines))
    assert result.exit_code == 1
    out = result.output
    assert 'line 3: U2: "empat" is not a score from 1 to 4' in out
    assert 'line 4: education: "S3" is not one of the options (sd, smp, sma, diploma, s1, s2)' in out
    assert 'line 5: U9: "0" is not a score from 1 to 4' in out
    assert "line 2" not in out and "line 6" not in out
    assert responses() == []


def test_the_count_of_bad_lines_beyond_the_cap(app, runner, world, tmp_path):
    lines = [HEADER] + ["9,1,1,1,1,1,1,1,1"] * 60
    result = skm_import(runner, write(tmp_path, lines))
    assert result.exit_code == 1
    assert "line 51: U1" in result.output and "line 52: U1" not in result.output
    assert "... and 10 more line(s) with errors" in result.output
    assert responses() == []


def test_a_missing_column_an_unknown_one_an_empty_file_a_workbook_and_a_header_alone(app, runner, world, tmp_path):
    missing = skm_import(runner, write(tmp_path, ["U1,U2,U3,U5,U6,U7,U8,U9", "4,4,4,4,4,4,4,4"], "a.csv"))
    assert missing.exit_code == 1 and "missing column U4: the header needs U1 to U9" in missing.output
    unknown = skm_import(runner, write(tmp_path, [HEADER + ",nama", "4,4,4,4,4,4,4,4,4,Budi"], "b.csv"))
    assert unknown.exit_code == 1 and 'unknown column "nama"' in unknown.output
    empty = tmp_path / "c.csv"
    empty.write_bytes(b"")
    result = skm_import(runner, str(empty))
    assert result.exit_code == 1 and "the file is empty" in result.output
    workbook = tmp_path / "kuesioner.xlsx"
    with zipfile.ZipFile(workbook, "w") as book:
        book.writestr("xl/workbook.xml", "<workbook/>")
    result = skm_import(runner, str(workbook))
    assert result.exit_code == 1 and 'the file is an Excel workbook, not CSV: save it as "CSV UTF-8" first' \
        in result.output
    header_only = skm_import(runner, write(tmp_path, [HEADER], "d.csv"))
    assert header_only.exit_code == 1 and "the file has a header but no questionnaire rows" in header_only.output
    blank_row = skm_import(runner, write(tmp_path, [HEADER, "4,4,4,4,4,4,4,4,4", ",,,,,,,,,", "1,2"], "e.csv"))
    assert blank_row.exit_code == 1 and "line 4: 2 cells where the header has 9" in blank_row.output
    assert responses() == [] and periods_of() == []


def test_unknown_unit_period_user_and_a_service_the_period_does_not_cover(app, runner, world, tmp_path):
    path = write(tmp_path, worked_example_lines())
    assert skm_import(runner, path, unit="UNIT-Z").output == "error: unknown unit UNIT-Z\n"
    bad_period = skm_import(runner, path, period="2026-Q5")
    assert bad_period.exit_code == 1 and '"2026-Q5" is not a period' in bad_period.output
    nobody = skm_import(runner, path, "--entered-by", "nobody@example.id")
    assert (nobody.exit_code, nobody.output) == (1, "error: --entered-by: no user nobody@example.id\n")
    other_unit = skm_import(runner, path, "--entered-by", "officer.b@example.id")
    assert other_unit.exit_code == 1 and "officer.b@example.id may not enter questionnaires for unit UNIT-A" \
        in other_unit.output
    open_q3()
    service = skm_import(runner, path, "--service", "Paspor")
    assert service.exit_code == 1 and 'service "Paspor" is not one the survey of unit UNIT-A for 2026-Q3 covers ' \
        "(KTP-el, KK)" in service.output
    assert responses() == []


# --- success -------------------------------------------------------------------------------

def test_the_worked_example_imported_gives_the_contract_json(app, runner, world, tmp_path):
    """29 questionnaires whose element totals are those of domain.md: the period is opened by
    the import, and `skm report --format json` prints exactly the contract's object."""
    result = skm_import(runner, write(tmp_path, worked_example_lines()), "--entered-by", "officer.a@example.id")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        "opened the survey of UNIT-A for 2026-Q3 (services: none named)",
        "imported 29 paper questionnaire(s) into UNIT-A 2026-Q3; the period has 29 respondent(s) now"]
    report = runner.invoke(args=["skm", "report", "--unit", "UNIT-A", "--period", "2026-Q3", "--format", "json"])
    assert report.exit_code == 0, report.output
    assert report.output == json.dumps({
        "unit": "UNIT-A", "period": "2026-Q3", "respondents": 29,
        "nrr": {"U1": 3.62, "U2": 3.48, "U3": 3.45, "U4": 4.0, "U5": 3.52, "U6": 3.62, "U7": 3.66, "U8": 3.62,
                "U9": 3.97},
        "ikm": 91.48, "mutu": "A"}) + "\n"
    assert json.loads(report.output)["ikm"] == 91.48
    stored = responses()
    officer = User.by_email("officer.a@example.id").id
    assert {(r.channel, r.entered_by_id) for r in stored} == {("paper", officer)}
    [event] = actions("survey.imported")
    assert event["actor"] == "cli" and event["payload"]["rows"] == 29 and event["payload"]["respondents"] == 29
    assert event["payload"]["sha256"] in result.output
    assert [e["action"] for e in map(lambda e: e, actions("survey.opened"))] == ["survey.opened"]


def test_semicolons_a_bom_labels_and_an_empty_cell_unanswered(app, runner, world, tmp_path):
    """What Indonesian Excel writes: a BOM, semicolons, CRLF; profile answers as labels in either
    language or as codes, header names in any case; an empty score cell is an unanswered element."""
    open_q3()
    lines = ["No;u1;U2;U3;U4;U5;U6;U7;U8;U9;Jenis Kelamin;usia;Pendidikan;occupation;service_type;Saran",
             "1;4;3;;4;3;3;4;3;4;Perempuan;30-39 tahun;S1;Civil servant;ktp-el;Antrean terlalu panjang",
             "2;3;3;3;4;3;3;3;3;3;male;60_plus;SMA/SMK;;;",
             ";;;;;;;;;;;;;;;"]
    path = write(tmp_path, lines, encoding="utf-8-sig", newline="\r\n")
    result = skm_import(runner, path, "--service", "KK")
    assert result.exit_code == 0, result.output
    assert "imported 2 paper questionnaire(s) into UNIT-A 2026-Q3, 1 empty line(s) skipped" in result.output
    first, second = responses()
    assert (first.u1, first.u3, first.sex, first.age_band, first.education, first.occupation,
            first.service_type, first.suggestion) == (4, None, "female", "30_39", "s1", "pns", "KTP-el",
                                                       "Antrean terlalu panjang")
    assert (second.sex, second.age_band, second.education, second.service_type, second.suggestion) == (
        "male", "60_plus", "sma", "KK", None)
    assert (first.entered_by_id, first.channel) == (None, "paper")
    report = runner.invoke(args=["skm", "report", "--unit", "UNIT-A", "--period", "2026-Q3", "--format", "json",
                                 "--service", "KK"])
    assert json.loads(report.output)["respondents"] == 1


def test_windows_1252_text_and_a_second_import_adds_to_the_period(app, runner, world, tmp_path):
    open_q3()
    lines = [HEADER + ",saran", "4,4,4,4,4,4,4,4,4,Pelayanan café bagus"]
    assert skm_import(runner, write(tmp_path, lines, "a.csv", encoding="cp1252")).exit_code == 0
    again = skm_import(runner, write(tmp_path, [HEADER, "3,3,3,3,3,3,3,3,3", "2,2,2,2,2,2,2,2,2"], "b.csv"))
    assert again.exit_code == 0, again.output
    assert "opened" not in again.output and "the period has 3 respondent(s) now" in again.output
    assert responses()[0].suggestion == "Pelayanan café bagus"
    assert [e["payload"]["rows"] for e in actions("survey.imported")] == [1, 2]


def test_an_import_opens_the_period_with_the_services_the_file_names(app, runner, world, tmp_path):
    lines = ["U1,U2,U3,U4,U5,U6,U7,U8,U9,layanan", "4,4,4,4,4,4,4,4,4,KTP-el", "3,3,3,3,3,3,3,3,3,Akta",
             "3,3,3,3,3,3,3,3,3,ktp-el"]
    result = skm_import(runner, write(tmp_path, lines), period="2026-s1")
    assert result.exit_code == 0, result.output
    assert "opened the survey of UNIT-A for 2026-S1 (services: KTP-el, Akta)" in result.output
    assert [r.service_type for r in responses()] == ["KTP-el", "Akta", "KTP-el"]


def test_a_closed_period_takes_no_import(app, runner, world, tmp_path):
    open_q3()
    opening.close_period(Actor.cli(), opening.find(Unit.by_code("UNIT-A"), "2026-Q3"))
    db.session.commit()
    result = skm_import(runner, write(tmp_path, worked_example_lines()))
    assert result.exit_code == 1 and "is closed to answers" in result.output


def test_a_period_not_begun_takes_no_import_as_the_paper_form_takes_none(app, runner, world, tmp_path):
    """One rule (opening.takes_paper) for the import and the paper form: from the period's
    first day, in the unit's own calendar."""
    unit = Unit.by_code("UNIT-A")
    next_year = local_today(unit).year + 1
    future = skm_import(runner, write(tmp_path, worked_example_lines()), period=f"{next_year + 4}-Q1")
    assert future.exit_code == 1 and f"{next_year + 4}-Q1 has not begun: paper questionnaires are entered " \
        "once it has" in future.output
    assert periods_of() == [] and responses() == []
    opening.open_period(Actor.cli(), unit, f"{next_year}-Q1")
    db.session.commit()
    opened = skm_import(runner, write(tmp_path, worked_example_lines()), period=f"{next_year}-Q1")
    assert opened.exit_code == 1 and "has not begun" in opened.output and responses() == []
    survey = opening.find(unit, f"{next_year}-Q1")
    assert not opening.takes_paper(survey, local_today(unit))
    assert opening.takes_paper(survey, survey.starts_on) and opening.takes_paper(survey, survey.ends_on + timedelta(days=9))


def test_an_overlapping_period_takes_no_import(app, runner, world, tmp_path):
    open_q3()
    result = skm_import(runner, write(tmp_path, worked_example_lines()), period="2026-S2")
    assert result.exit_code == 1 and "overlaps this unit's survey for 2026-Q3" in result.output
    assert periods_of() == ["2026-Q3"] and responses() == []


def test_sex_as_paper_forms_write_it(app, runner, world, tmp_path):
    open_q3()
    spellings = ["L", "p", "laki laki", "Laki-laki", "LAKI-LAKI", "pria", "Wanita", "perempuan", "M", "F",
                 "male", "Female"]
    lines = [HEADER + ",jenis kelamin"] + [f"4,4,4,4,4,4,4,4,4,{value}" for value in spellings]
    result = skm_import(runner, write(tmp_path, lines))
    assert result.exit_code == 0, result.output
    assert [r.sex for r in responses()] == ["male", "female", "male", "male", "male", "male", "female", "female",
                                            "male", "female", "male", "female"]
    bad = skm_import(runner, write(tmp_path, [HEADER + ",sex", "4,4,4,4,4,4,4,4,4,X"], "x.csv"))
    assert bad.exit_code == 1 and 'line 2: sex: "X" is not one of the options (male, female)' in bad.output


def test_a_period_opened_meanwhile_by_another_import_is_named(app, runner, world, tmp_path, monkeypatch):
    open_q3()
    monkeypatch.setattr(opening, "find", lambda unit, label: None)  # as if read before the other commit
    monkeypatch.setattr(opening, "overlapping", lambda unit, period: None)
    result = skm_import(runner, write(tmp_path, worked_example_lines()))
    assert result.exit_code == 1
    assert "the survey of unit UNIT-A for 2026-Q3 was opened meanwhile: import the file again" in result.output
    monkeypatch.undo()
    assert responses() == [] and actions("survey.imported") == []


def test_a_large_file_is_imported_in_batches_in_one_go(app, runner, world, tmp_path):
    lines = [HEADER] + ["4,3,4,3,4,3,4,3,4", "1,2,3,4,,2,3,4,1"] * 1250
    result = skm_import(runner, write(tmp_path, lines))
    assert result.exit_code == 0, result.output
    assert count() == 2500
    broken = [HEADER] + ["4,3,4,3,4,3,4,3,4"] * 2400 + ["4,3,4,3,4,3,4,3,x"]
    refused = skm_import(runner, write(tmp_path, broken, "b.csv"))
    assert refused.exit_code == 1 and 'line 2402: U9: "x"' in refused.output
    assert count() == 2500  # the 2,400 good rows inserted before it were rolled back with it


# --- report and check ------------------------------------------------------------------------

def test_report_text_and_csv_and_unknown_period(app, runner, world, tmp_path):
    assert skm_import(runner, write(tmp_path, worked_example_lines())).exit_code == 0
    args = ["skm", "report", "--unit", "UNIT-A", "--period", "2026-Q3"]
    text = runner.invoke(args=args)
    assert text.exit_code == 0, text.output
    assert "respondents 29" in text.output and "IKM 91.48, mutu A (Very good)" in text.output
    assert "lowest: U3 Completion time 3.45, U2 System, mechanism and procedure 3.48, U5 Service product 3.52" \
        in text.output
    rows = list(csv.DictReader(io.StringIO(runner.invoke(args=[*args, "--format", "csv"]).output)))
    assert [(r["service_type"], r["respondents"], r["ikm"], r["mutu"], r["U4_nrr"], r["U4_total"]) for r in rows] == [
        ("", "29", "91.48", "A", "4.00", "116")]
    missing = runner.invoke(args=["skm", "report", "--unit", "UNIT-A", "--period", "2026-Q4"])
    assert (missing.exit_code, missing.output) == (
        1, "error: unit UNIT-A has no survey for 2026-Q4 (open it, or import its questionnaires)\n")
    assert runner.invoke(args=["skm", "report", "--unit", "UNIT-Z", "--period", "2026-Q3"]).output == \
        "error: unknown unit UNIT-Z\n"
    service = runner.invoke(args=[*args, "--service", "Paspor"])
    assert service.exit_code == 1 and "'Paspor' is not a service of this survey" in service.output


def test_a_year_without_a_survey_of_its_own_reports_its_quarters(app, runner, world, tmp_path):
    """What /statistik publishes for a year: the IKM of the unit's periods within it, summed from
    their questionnaires (the worked example split over two quarters gives its 91.48)."""
    rows = worked_example_lines()
    assert skm_import(runner, write(tmp_path, rows[:21], "q2.csv"), period="2026-Q2").exit_code == 0
    assert skm_import(runner, write(tmp_path, [rows[0]] + rows[21:], "q3.csv")).exit_code == 0
    args = ["skm", "report", "--unit", "UNIT-A", "--period"]
    year = runner.invoke(args=[*args, "2026", "--format", "json"])
    assert year.exit_code == 0, year.output
    shown = json.loads(year.output)
    assert list(shown) == ["unit", "period", "respondents", "nrr", "ikm", "mutu"]
    assert (shown["unit"], shown["period"], shown["respondents"], shown["ikm"], shown["mutu"]) == (
        "UNIT-A", "2026", 29, 91.48, "A")
    assert shown["nrr"]["U4"] == 4.0 and list(shown["nrr"]) == list(ELEMENTS)
    assert json.loads(runner.invoke(args=[*args, "2026-S2", "--format", "json"]).output)["respondents"] == 9
    text = runner.invoke(args=[*args, "2026"])
    assert "from its periods 2026-Q2, 2026-Q3" in text.output and "IKM 91.48, mutu A" in text.output
    rows_csv = list(csv.DictReader(io.StringIO(runner.invoke(args=[*args, "2026", "--format", "csv"]).output)))
    assert [(r["period"], r["from"], r["respondents"], r["ikm"]) for r in rows_csv] == [
        ("2026", "2026-01-01", "29", "91.48")]
    nothing = runner.invoke(args=[*args, "2025"])
    assert (nothing.exit_code, nothing.output) == (
        1, "error: unit UNIT-A has no survey for 2025 (open it, or import its questionnaires)\n")


def test_skm_check_names_the_key_and_the_reason(app, runner, tmp_path):
    ok = runner.invoke(args=["skm", "check"])
    assert ok.exit_code == 0 and ok.output.startswith("OK ") and "9 elements" in ok.output
    broken = tmp_path / "skm.yaml"
    text = open(app.config["PENGADUAN_SKM_QUESTIONNAIRE"], encoding="utf-8").read()
    broken.write_text(text.replace("      id: [Buruk, Cukup, Baik, Sangat baik]", "      id: [Buruk, Cukup, Baik]"))
    result = runner.invoke(args=["skm", "check", str(broken)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {broken}: elements.U8.answers: four labels (1 to 4)")


# --- the evidence pack ---------------------------------------------------------------------

def test_the_pack_carries_the_skm_files_under_the_manifest(app, runner, world, tmp_path):
    """A pack of July 2026 for UNIT-A holds the Q3 results, its questionnaires without identity
    and its improvement actions; each is in the manifest, the summary lists them, the pack
    verifies, and a changed skm file is named by `evidence verify`."""
    assert skm_import(runner, write(tmp_path, worked_example_lines()), "--entered-by", "officer.a@example.id") \
        .exit_code == 0
    survey = opening.find(Unit.by_code("UNIT-A"), "2026-Q3")
    supervisor = Actor.staff(User.by_email("supervisor.a@example.id"))
    follow_up.add_action(survey, supervisor, {"element": "U3", "description": "Tambah loket",
                                              "owner": "Kepala seksi", "due_on": "2026-12-31"})
    db.session.commit()
    out = tmp_path / "pack.zip"
    result = runner.invoke(args=["evidence", "export", "--from", "2026-07-01", "--to", "2026-07-31",
                                 "--unit", "UNIT-A", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as pack:
        files = {name: pack.read(name) for name in pack.namelist()}
    manifest = json.loads(files["manifest.json"])
    for name in ("skm/results.csv", "skm/questionnaires.csv", "skm/actions.csv"):
        assert name in manifest["files"]
    assert (manifest["counts"]["survey_periods"], manifest["counts"]["survey_responses"],
            manifest["counts"]["survey_actions"]) == (1, 29, 1)
    results = list(csv.DictReader(io.StringIO(files["skm/results.csv"].decode())))
    assert [(r["unit"], r["period"], r["respondents"], r["ikm"], r["mutu"]) for r in results] == [
        ("UNIT-A", "2026-Q3", "29", "91.48", "A")]
    questionnaires = list(csv.DictReader(io.StringIO(files["skm/questionnaires.csv"].decode())))
    assert len(questionnaires) == 29
    assert {(q["channel"], q["entered_by"]) for q in questionnaires} == {("paper", "officer.a@example.id")}
    assert sum(int(q["U4"]) for q in questionnaires) == 116
    [action] = list(csv.DictReader(io.StringIO(files["skm/actions.csv"].decode())))
    assert (action["element"], action["description"], action["status"], action["days_taken"]) == (
        "U3", "Tambah loket", "open", "")
    summary = files["summary.html"].decode()
    assert "skm/results.csv" in summary and "91,48" in summary  # in Indonesian, the default
    verified = runner.invoke(args=["evidence", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as pack:
        for name, data in files.items():
            pack.writestr(name, data.replace(b"91.48", b"95.48") if name == "skm/results.csv" else data)
    refused = runner.invoke(args=["evidence", "verify", str(tampered)])
    assert refused.exit_code == 1
    assert "FAIL skm/results.csv: SHA-256 is" in refused.output and "(the file was changed)" in refused.output


def test_the_verifier_recomputes_the_ikm_of_a_pack_signed_as_it_stands(app, runner, world, tmp_path):
    """A results file that disagrees with its own element totals, or totals that disagree with
    the questionnaires, is named even when the manifest was signed over it (a faulty export)."""
    assert skm_import(runner, write(tmp_path, worked_example_lines())).exit_code == 0
    out = tmp_path / "pack.zip"
    export_pack(out, date(2026, 7, 1), date(2026, 9, 30), None, actor=Actor.cli("test"))
    db.session.commit()
    with zipfile.ZipFile(out) as pack:
        files = {name: pack.read(name) for name in pack.namelist()}
    assert verify(str(out), audit.public_key_hex())[0] == []

    def signed_over(changes: dict) -> str:
        changed = {**files, **changes}
        manifest = json.loads(files["manifest.json"])
        for name, data in changes.items():
            manifest["files"][name] = hashlib.sha256(data).hexdigest()
        changed["manifest.json"] = manifest_bytes(manifest)
        changed["manifest.sig"] = (audit.signing_key().sign(changed["manifest.json"]).hex() + "\n").encode()
        path = tmp_path / f"changed-{len(list(tmp_path.iterdir()))}.zip"
        with zipfile.ZipFile(path, "w") as pack:
            for name, data in changed.items():
                pack.writestr(name, data)
        return str(path)

    results = files["skm/results.csv"].decode()
    assert verify(signed_over({"skm/results.csv": results.replace(",91.48,A,", ",95.48,A,").encode()}),
                  audit.public_key_hex())[0] == [
        "skm/results.csv line 2: the IKM is 95.48 A, the element totals give 91.48 A"]
    questionnaires = files["skm/questionnaires.csv"].decode().splitlines(keepends=True)
    problems = verify(signed_over({"skm/questionnaires.csv": "".join(questionnaires[:-1]).encode()}),
                      audit.public_key_hex())[0]
    assert problems == ["skm/results.csv line 2: the respondents and element totals differ from what the "
                        "questionnaires in skm/questionnaires.csv add up to (UNIT-A 2026-Q3 all services)"]


def test_a_pack_outside_any_survey_has_empty_skm_files(app, ctx, world, tmp_path):
    out = tmp_path / "pack.zip"
    manifest = export_pack(out, date(2026, 1, 1), date(2026, 1, 31), None, actor=Actor.cli("test"))
    db.session.commit()
    assert (manifest["counts"]["survey_periods"], manifest["counts"]["survey_responses"]) == (0, 0)
    with zipfile.ZipFile(out) as pack:
        assert pack.read("skm/questionnaires.csv").decode().splitlines()[0].startswith("unit,period,id,channel")
    assert verify(str(out))[0] == []
