"""Evidence packs and periodic reports for auditors (domain.md sections 6 and 7, design.md
section 4: `evidence export`, `evidence verify`, `report periodic`).

A pack is a signed ZIP an auditor checks offline with the verifier inside it: every file
unaltered, the audit events of the period complete and in order, signed by the deployment's
key. Tampering of any kind is named precisely; anonymous and confidential complainants'
identity and confidential content never leave in a pack; a unit's pack carries only its own
events in full. The export itself is audited. The periodic report is checked against a
world built with known dates.

Service and command-line tests build their data in their own application context; web
tests build it in `with app.app_context():` blocks and then use test clients (see conftest).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from pengaduan import audit
from pengaduan.audit.chain import canonical
from pengaduan.evidence import export_pack, verify, verify_pack
from pengaduan.evidence.evaluation import quarters as evaluation_quarters
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, StandingDocument, SupervisionRecord, Unit
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.oversight import supervision as sv
from pengaduan.services.attachments import store
from pengaduan.services.complaints.casework import add_note, give_instruction, reveal_identity
from pengaduan.services.oversight.documents import upload_document
from pengaduan.services.oversight.reports import csv_rows, periodic_report
from test_staff import digest, get_page, signed_in, token_of
from test_supervision import (ADMIN, AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, SUPERVISOR_AB,
                              SUPERVISOR_B, actor_of, label_of, pdf, png, text_of)
from test_supervision import org  # noqa: F401  (the fixture: two units and their staff)
from live import SUPERVISOR as LIVE_SUPERVISOR, Http, api_filing, make_org
from live import procs  # noqa: F401  (the fixture: the app's real processes)

# --- who complains, and what they write ----------------------------------------------------

IDENTITIES = {
    "public": {"name": "Budi Hartono", "nik": "3201234567890123", "email": "budi.hartono@example.id",
               "phone": "+62 812-3456-7890", "address": "Jl. Merdeka 1, Bogor"},
    "anonymous": {"name": "Sri Wahyuni", "nik": "3174055501900002", "email": "sri.wahyuni@example.id",
                  "phone": "+62 813-1111-2222", "address": "Jl. Kenanga 7, Depok"},
    "confidential": {"name": "Hendra Gunawan", "nik": "3578010101800003", "email": "hendra.g@example.id",
                     "phone": "+62 857-3333-4444", "address": "Jl. Cempaka 9, Bekasi"},
}
PUBLIC_TITLE, ANONYMOUS_TITLE = "Jalan berlubang di depan pasar", "Antrean KTP-el terlalu lama"
PUBLIC_RESPONSE = "Lubang jalan sudah ditambal oleh Dinas A pada hari Senin."
CONFIDENTIAL = {  # every word of the confidential case; none may leave in a pack
    "title": "Pungli di loket KTP oleh oknum petugas",
    "description": "Petugas meminta uang Rp 50.000 agar KTP-el cepat jadi.",
    "message": "Mohon sebutkan hari dan jam kejadian pungli.",
    "provided": "Kejadian hari Selasa pukul 10 pagi di loket dua.",
    "note": "Cek rekaman CCTV loket dua hari Selasa.",
    "response": "Oknum petugas sudah diperiksa Inspektorat dan dibebastugaskan.",
    "comment": "Terima kasih, uang saya sudah dikembalikan.",
}
VERIFY_A = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
VERIFY_B = {"unit": "UNIT-B", "category": "ONLY-B", "classification": "pengaduan"}


def raw_complaint(privacy: str, unit: str = "UNIT-A", **overrides) -> dict:
    return {"unit": unit, "category": "GENERAL" if unit == "UNIT-A" else "ONLY-B",
            "classification": "pengaduan", "title": "KTP-el belum jadi",
            "description": "Sudah tiga bulan menunggu.", "privacy": privacy,
            **IDENTITIES[privacy], "consent": True, **overrides}


def citizen(code: str) -> Actor:
    return Actor.citizen(Complaint.by_code(code))


def step(code: str, trigger: str, who: Actor, at: datetime | None = None, **fields) -> None:
    advance(Complaint.by_code(code), trigger, who, at=at, **fields)


# --- the evidence world --------------------------------------------------------------------

@dataclass(frozen=True)
class Scene:
    """What the evidence world holds: the complaints by name, and what was uploaded."""

    codes: dict
    record_a: int
    record_b: int
    photo: bytes
    decree: bytes
    start: date
    end: date

    def of_unit(self, unit: str) -> set[str]:
        return {code for name, code in self.codes.items() if name.endswith("_b") == (unit == "UNIT-B")}


def build_scene() -> Scene:
    """Two units, complaints of every privacy in various states, supervision records with a
    file, an instruction, an identity reveal and a standing document (app context needed)."""
    officer_a, officer_b = actor_of(OFFICER_A), actor_of(OFFICER_B)
    supervisor_a, supervisor_b = actor_of(SUPERVISOR_A), actor_of(SUPERVISOR_B)
    codes = {
        "public": file_complaint(raw_complaint("public", title=PUBLIC_TITLE)),
        "anonymous": file_complaint(raw_complaint("anonymous", title=ANONYMOUS_TITLE)),
        "confidential": file_complaint(raw_complaint(
            "confidential", title=CONFIDENTIAL["title"], description=CONFIDENTIAL["description"])),
        "public_b": file_complaint(raw_complaint("public", "UNIT-B", title="Lampu jalan mati")),
        "confidential_b": file_complaint(raw_complaint("confidential", "UNIT-B", title="Rahasia unit B")),
    }
    codes = {name: filed.complaint.tracking_code for name, filed in codes.items()}
    db.session.commit()
    step(codes["public"], "verify", officer_a, **VERIFY_A)
    step(codes["public"], "follow_up", officer_a, response=PUBLIC_RESPONSE)
    step(codes["public"], "close", officer_a, resolution="Jalan sudah baik kembali.")
    step(codes["anonymous"], "request_info", officer_a, message="Mohon kirim foto antrean.")
    reveal_identity(Complaint.by_code(codes["anonymous"]), supervisor_a, "Perlu klarifikasi langsung")
    give_instruction(Complaint.by_code(codes["anonymous"]), supervisor_a, "Percepat pelayanan KTP-el.")
    step(codes["confidential"], "request_info", officer_a, message=CONFIDENTIAL["message"])
    step(codes["confidential"], "provide_info", citizen(codes["confidential"]),
         message=CONFIDENTIAL["provided"])
    step(codes["confidential"], "verify", officer_a, **VERIFY_A)
    add_note(Complaint.by_code(codes["confidential"]), officer_a, CONFIDENTIAL["note"])
    step(codes["confidential"], "follow_up", officer_a, response=CONFIDENTIAL["response"])
    step(codes["confidential"], "accept", citizen(codes["confidential"]), rating=4,
         comment=CONFIDENTIAL["comment"])
    step(codes["confidential_b"], "verify", officer_b, **VERIFY_B)
    add_note(Complaint.by_code(codes["public_b"]), officer_b, "Cek lokasi lampu.")
    db.session.commit()

    today = sv.today()
    photo, decree = png((20, 90, 160)), pdf("SK pengelola pengaduan")
    record_a = sv.record_supervision(supervisor_a, {
        "kind": "monitoring_evaluation", "held_on": today, "title": "Monev bulanan Dinas A",
        "units": ["UNIT-A"], "complaints": [codes["public"]], "findings": "Loket dua tanpa SOP.",
        "actions": [{"description": "Pasang SOP", "owner": "Kasubag", "due_on": ""}]},
        store([("notulen monev.png", photo, "image/png")]))
    record_b = sv.record_supervision(supervisor_b, {
        "kind": "case_review", "held_on": today, "title": "Telaah kasus Dinas B", "units": ["UNIT-B"],
        "complaints": [codes["public_b"]],
        "actions": [{"description": "Ganti lampu", "owner": "Seksi Sarpras", "due_on": ""}]})
    db.session.commit()
    sv.update_supervision(record_b, supervisor_b, {
        "kind": "case_review", "held_on": today, "title": "Telaah kasus Dinas B (revisi)",
        "units": ["UNIT-B"], "complaints": [codes["public_b"]]})
    sv.set_action_status(record_b.actions[0], supervisor_b, "done")
    sv.add_files(record_b, supervisor_b, store([("foto.png", png((1, 2, 3)), "image/png")]))
    upload_document(supervisor_a, Unit.by_code("UNIT-A"), {
        "kind": "handler_decree", "title": "SK Pengelola Pengaduan 2026",
        "valid_from": today - timedelta(days=60), "valid_until": None},
        store([("sk.pdf", decree, "application/pdf")]))
    db.session.commit()
    return Scene(codes, record_a.id, record_b.id, photo, decree, today - timedelta(days=7), today)


@pytest.fixture
def scene(app, org) -> Scene:
    with app.app_context():
        return build_scene()


# --- packs ---------------------------------------------------------------------------------

def readiness_evidence() -> int:
    """Lines of readiness.csv per unit: one per item and piece of evidence of the rules in force."""
    from pengaduan.config import PROJECT_ROOT
    from pengaduan.services.readiness import load

    return sum(len(item.evidence) for item in load(PROJECT_ROOT / "workflows" / "assessment" /
                                                   "ombudsman-2025.yaml").items)


def export(path: Path, scene: Scene, unit: str | None = None, actor: str = "test") -> dict:
    """Export through the service as the command does (head signed first); committed."""
    audit.checkpoint(db.session)
    db.session.commit()
    manifest = export_pack(path, scene.start, scene.end, Unit.by_code(unit) if unit else None,
                           actor=Actor.cli(actor))
    db.session.commit()
    return manifest


def export_in(app, path: Path, scene: Scene, unit: str | None = None) -> dict:
    with app.app_context():
        return export(path, scene, unit)


def entries(path: Path) -> dict[str, bytes]:
    """The files of a ZIP, in their order."""
    with zipfile.ZipFile(path) as pack:
        return {info.filename: pack.read(info) for info in pack.infolist()}


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for name, data in files.items():
            pack.writestr(name, data)
    return path


def manifest_of(files: dict[str, bytes]) -> dict:
    return json.loads(files["manifest.json"])


def event_lines(files: dict[str, bytes]) -> list[dict]:
    return [json.loads(line) for line in files["audit/events.jsonl"].decode().splitlines()]


def jsonl(lines: list[dict]) -> bytes:
    return "".join(canonical(line) + "\n" for line in lines).encode()


def cases(files: dict[str, bytes]) -> dict[str, dict]:
    lines = files["cases.jsonl"].decode().splitlines()
    return {case["tracking_code"]: case for case in map(json.loads, lines)}


def register(files: dict[str, bytes]) -> list[dict]:
    return list(csv.DictReader(io.StringIO(files["register.csv"].decode())))


def db_events() -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def exported_events(app) -> list[tuple[str, dict]]:
    with app.app_context():
        return [(e.actor, json.loads(e.body)["payload"]) for e in db_events()
                if e.action == "evidence.exported"]


def run_verifier(script: Path, pack: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The verifier as an auditor runs it: plain Python, isolated, standard library only
    (-I ignores the PYTHON* variables and this project, -S every installed package); no
    pinned key unless `env` pins one."""
    clean = {k: v for k, v in os.environ.items() if k != verify_pack.KEY_ENV}
    return subprocess.run([sys.executable, "-I", "-S", str(script), str(pack), *args],
                          capture_output=True, text=True, cwd=script.parent, env={**clean, **(env or {})})


def deployment_key() -> str:
    return audit.public_key_hex()


def other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def hex_of(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


# --- 1. export and verify ------------------------------------------------------------------

def test_command_exports_a_pack_that_verifies(app, runner, scene, tmp_path):
    """`evidence export` writes a pack with the expected counts, sealed by a signed checkpoint;
    `evidence verify` says OK (exit 0), also with --key of this deployment, and FAIL (exit 1)
    with any other key."""
    with app.app_context():
        events_before = len(db_events())
        key = deployment_key()
    out = tmp_path / "pack.zip"
    result = runner.invoke(args=["evidence", "export", "--from", scene.start.isoformat(),
                                 "--to", scene.end.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = manifest_of(entries(out))
    assert manifest["counts"] == {"audit_events": events_before, "complaints_received": 5, "cases": 5,
                                  "supervision_records": 3, "standing_documents": 1, "checkpoints": 1,
                                  "lapor_answers": 0, "survey_periods": 0, "survey_responses": 0,
                                  "survey_actions": 0, "evaluation_reports": 2, "evaluation_actions": 0,
                                  "compensations": 0, "ombudsman_products": 0, "ombudsman_items": 0,
                                  "service_standards": 0, "readiness_rows": 2 * readiness_evidence()}
    assert (manifest["unit"], manifest["period"]) == (None, {"from": scene.start.isoformat(),
                                                            "to": scene.end.isoformat()})
    assert (manifest["chain"]["first_seq"], manifest["chain"]["last_seq"], manifest["chain"]["redacted"]) == (
        1, events_before, 0)
    assert (f"wrote {out}: audit_events {events_before}, cases 5, checkpoints 1, compensations 0, "
            "complaints_received 5" in result.output)
    assert f"key {key}" in result.output

    verified = runner.invoke(args=["evidence", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith(f"OK {out}: period {scene.start} to {scene.end}, unit all, ")
    assert f"{events_before} events (seq 1-{events_before}, {events_before} in full), 1 signed checkpoints" \
        in verified.output
    assert runner.invoke(args=["evidence", "verify", str(out), "--key", key]).exit_code == 0
    stranger = hex_of(other_key())
    refused = runner.invoke(args=["evidence", "verify", str(out), "--key", stranger])
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        f"FAIL manifest.json: signed with key {key}, not the expected key {stranger}"]


def test_command_export_is_audited_and_refuses_a_bad_period(app, runner, scene, tmp_path):
    """The command's export is committed as `evidence.exported` by "cli", naming the digest
    of the pack's manifest; a reversed or malformed period writes nothing and is not audited."""
    out = tmp_path / "pack.zip"
    args = ["evidence", "export", "--from", scene.start.isoformat(), "--to", scene.end.isoformat()]
    assert runner.invoke(args=[*args, "--unit", "UNIT-A", "--out", str(out)]).exit_code == 0
    [(actor, payload)] = exported_events(app)
    manifest = manifest_of(entries(out))
    assert (actor, payload["unit"], payload["counts"]) == ("cli", "UNIT-A", manifest["counts"])
    assert payload["manifest_sha256"] == hashlib.sha256(entries(out)["manifest.json"]).hexdigest()
    for period in (["--from", "2026-06-30", "--to", "2026-06-01"],
                   ["--from", "30-06-2026", "--to", "2026-07-01"]):
        bad = tmp_path / "bad.zip"
        result = runner.invoke(args=["evidence", "export", *period, "--out", str(bad)])
        assert result.exit_code == 1 and result.output.startswith("error: ")
        assert not bad.exists()
    unknown = runner.invoke(args=[*args, "--unit", "UNIT-Z", "--out", str(tmp_path / "z.zip")])
    assert (unknown.exit_code, unknown.output) == (1, "error: unknown unit UNIT-Z\n")
    assert len(exported_events(app)) == 1


def test_export_service_returns_the_manifest_and_queues_its_audit_event(app, ctx, scene, tmp_path):
    """export_pack commits its read, writes the pack and queues `evidence.exported`, which
    joins the chain only when the caller commits; the event names the manifest's digest."""
    out = tmp_path / "pack.zip"
    before = len(db_events())
    manifest = export_pack(out, scene.start, scene.end, None, actor=Actor.cli("tester"))
    assert [e.action for e in db_events()][before:] == []  # queued, not yet in the chain
    db.session.commit()
    [exported] = db_events()[before:]
    assert (exported.action, exported.actor, exported.seq) == ("evidence.exported", "tester", before + 1)
    files = entries(out)
    assert manifest_of(files) == manifest
    assert json.loads(exported.body)["payload"] == {
        "period": manifest["period"], "unit": None, "counts": manifest["counts"],
        "chain": {"first_seq": 1, "last_seq": before, "last_hash": manifest["chain"]["last_hash"]},
        "manifest_sha256": hashlib.sha256(files["manifest.json"]).hexdigest()}
    assert manifest["chain"]["last_hash"] == db.session.get(AuditEvent, before).hash
    problems, summary = verify(str(out), deployment_key())
    assert problems == []
    assert (summary["events"], summary["full_events"], summary["files"], summary["unit"]) == (
        before, before, len(files) - 2, None)
    assert set(files) == {"manifest.json", "manifest.sig", "audit/events.jsonl", "audit/checkpoints.jsonl", "register.csv",
                          "cases.jsonl", "sla.csv", "lapor.csv", "supervision.csv", "supervision_actions.csv",
                          "documents.csv", "summary.html", "verify_pack.py", "readiness.csv",
                          "skm/results.csv", "skm/questionnaires.csv", "skm/actions.csv",
                          "ombudsman/products.csv", "ombudsman/items.csv",
                          "compensation/compensations.csv", "evaluation/actions.csv",
                          *(f"evaluation/{unit}-{quarter.label}.csv" for unit in ("UNIT-A", "UNIT-B")
                            for quarter in evaluation_quarters(scene.start, scene.end)),
                          "standards/UNIT-A.json", "standards/UNIT-B.json",
                          f"supervision/{scene.record_a}/{first_file_id(scene.record_a)}-notulen_monev.png",
                          f"supervision/{scene.record_b}/{first_file_id(scene.record_b)}-foto.png",
                          f"documents/{first_document_id()}-sk.pdf"}


def first_file_id(record_id: int) -> int:
    return db.session.get(SupervisionRecord, record_id).files[0].id


def first_document_id() -> int:
    return db.session.scalars(select(StandingDocument.id)).one()


def test_pack_contents_match_the_records(app, ctx, scene, tmp_path):
    """The register lists the period's complaints with channel and state, the supervision
    and document files are the uploaded bytes, and the verifier inside is this verifier."""
    out = tmp_path / "pack.zip"
    export(out, scene)
    files = entries(out)
    rows = {row["tracking_code"]: row for row in register(files)}
    assert set(rows) == set(scene.codes.values())
    assert (rows[scene.codes["public"]]["state"], rows[scene.codes["public"]]["closure_reason"]) == (
        "closed", "resolved")
    assert (rows[scene.codes["confidential"]]["rating"], rows[scene.codes["anonymous"]]["state"]) == (
        "4", "awaiting_info")
    assert {row["channel"] for row in rows.values()} == {"web"}
    record_file = next(name for name in files if name.startswith(f"supervision/{scene.record_a}/"))
    assert files[record_file] == scene.photo
    assert files[next(name for name in files if name.startswith("documents/"))] == scene.decree
    assert files["verify_pack.py"] == Path(verify_pack.__file__).read_bytes()
    supervision = list(csv.DictReader(io.StringIO(files["supervision.csv"].decode())))
    assert sorted(row["kind"] for row in supervision) == [
        "case_review", "instruction", "monitoring_evaluation"]


def test_standalone_verifier_runs_with_the_standard_library_only(app, ctx, scene, tmp_path):
    """verify_pack.py, from the source tree and the copy inside the pack, verifies the pack in
    a bare Python: OK (exit 0) with the deployment's key given with --key or pinned in
    PENGADUAN_PACK_KEY, FAIL (exit 1) with another key, and without a key never OK but
    UNVERIFIED (exit 3), naming the key that signed it: anyone can sign a pack."""
    out = tmp_path / "pack.zip"
    export(out, scene)
    key = deployment_key()
    inside = tmp_path / "auditor" / "verify_pack.py"
    inside.parent.mkdir()
    inside.write_bytes(entries(out)["verify_pack.py"])
    outputs = []
    for script in (Path(verify_pack.__file__), inside):
        ok = run_verifier(script, out, "--key", key)
        assert (ok.returncode, ok.stderr) == (0, ""), ok.stdout + ok.stderr
        assert ok.stdout.startswith(f"OK {out}: ") and f"key {key}" in ok.stdout
        outputs.append(ok.stdout)
        pinned = run_verifier(script, out, env={"PENGADUAN_PACK_KEY": key})
        assert (pinned.returncode, pinned.stdout) == (0, ok.stdout)
        unverified = run_verifier(script, out)
        assert (unverified.returncode, unverified.stderr) == (3, "")
        assert unverified.stdout.startswith(
            f"UNVERIFIED {out}: signed by key {key}, which was not given with --key")
        assert "OK" not in unverified.stdout
        refused = run_verifier(script, out, "--key", hex_of(other_key()))
        assert refused.returncode == 1 and refused.stdout.startswith("FAIL manifest.json: signed with key")
        malformed = run_verifier(script, out, "--key", "abc")
        assert malformed.returncode == 2 and "64 hex digits" in malformed.stderr
    assert outputs[0] == outputs[1]
    assert verify_pack.main([str(out), "--key", key]) == 0


# --- 2. tampering --------------------------------------------------------------------------

def flip_byte(data: bytes, at: int | None = None) -> bytes:
    """The same bytes with one of them changed (by default the one in the middle)."""
    at = len(data) // 2 if at is None else at
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def changed_file_problem(name: str, files: dict, tampered: dict) -> str:
    return (f"{name}: SHA-256 is {hashlib.sha256(tampered[name]).hexdigest()}, the manifest says "
            f"{manifest_of(files)['files'][name]} (the file was changed)")


def line_of(files: dict, action: str, code: str | None = None) -> int:
    """Index of the first event line of an action (and complaint) in audit/events.jsonl."""
    for i, line in enumerate(event_lines(files)):
        body = json.loads(line.get("body", "{}"))
        if body.get("action") == action and (code is None or body.get("complaint") == code):
            return i
    raise AssertionError(f"no {action} event in the pack")


def with_events(files: dict, lines: list[dict]) -> dict:
    return {**files, "audit/events.jsonl": jsonl(lines)}


def alter_body(line: dict) -> dict:
    """An event line whose body still is valid JSON, with one fact changed."""
    body = json.loads(line["body"])
    body["payload"]["channel"] = "phone"
    return {**line, "body": canonical(body)}


def resign(files: dict, manifest: dict, key: Ed25519PrivateKey) -> dict:
    """The pack with `manifest`, signed by whoever holds `key` (manifest.json and manifest.sig)."""
    raw = json.dumps({**manifest, "signer": {"algorithm": "Ed25519", "public_key": hex_of(key)}},
                     indent=2).encode()
    return {**files, "manifest.json": raw, "manifest.sig": key.sign(raw).hex().encode() + b"\n"}


def tamper_byte(name_of: Callable[[dict], str]):
    def change(files, scene):
        name = name_of(files)
        tampered = {**files, name: flip_byte(files[name])}
        return tampered, [changed_file_problem(name, files, tampered)]
    return change


def tamper_event_body(files, scene):
    lines = event_lines(files)
    i = line_of(files, "complaint.filed", scene.codes["public"])
    lines[i] = alter_body(lines[i])
    tampered = with_events(files, lines)
    return tampered, [changed_file_problem("audit/events.jsonl", files, tampered),
                      f"audit/events.jsonl line {i + 1}: seq {lines[i]['seq']} hash does not match its body "
                      "(the event was altered)"]


def tamper_event_body_and_hash(files, scene):
    lines = event_lines(files)
    i = line_of(files, "complaint.filed", scene.codes["public"])
    lines[i] = alter_body(lines[i])
    lines[i]["hash"] = hashlib.sha256((lines[i]["prev_hash"] + lines[i]["body"]).encode()).hexdigest()
    tampered = with_events(files, lines)
    following = lines[i + 1]
    return tampered, [changed_file_problem("audit/events.jsonl", files, tampered),
                      f"audit/events.jsonl line {i + 2}: seq {following['seq']} prev_hash "
                      f"{following['prev_hash']} does not equal the previous event's hash "
                      f"{lines[i]['hash']} (the chain is broken here)"]


def tamper_inner_seq(files, scene):
    lines = event_lines(files)
    i = line_of(files, "complaint.filed", scene.codes["public"])
    body = json.loads(lines[i]["body"])
    seq = lines[i]["seq"]
    body["seq"] = seq + 100  # the line keeps its place and number, the body claims another
    lines[i]["body"] = canonical(body)
    lines[i]["hash"] = hashlib.sha256((lines[i]["prev_hash"] + lines[i]["body"]).encode()).hexdigest()
    tampered = with_events(files, lines)
    problems = [changed_file_problem("audit/events.jsonl", files, tampered)]
    return tampered, problems + [
        f"audit/events.jsonl line {i + 1}: the body says seq {seq + 100}, the line says seq {seq}"]


def tamper_remove_event(files, scene):
    lines = event_lines(files)
    i = line_of(files, "complaint.filed", scene.codes["confidential"])
    removed = lines.pop(i)
    tampered = with_events(files, lines)
    return tampered, [changed_file_problem("audit/events.jsonl", files, tampered),
                      f"audit/events.jsonl line {i + 1}: seq {removed['seq'] + 1} where seq {removed['seq']} "
                      "was expected (an event is missing or the lines are out of order)"]


def tamper_remove_last_event(files, scene):
    lines = event_lines(files)
    lines.pop()
    tampered = with_events(files, lines)
    return tampered, [changed_file_problem("audit/events.jsonl", files, tampered),
                      f"audit/events.jsonl: {len(lines)} events, the manifest says {len(lines) + 1} "
                      "(events were removed or added at the end)"]


def tamper_reorder(files, scene):
    lines = event_lines(files)
    i = line_of(files, "complaint.filed", scene.codes["anonymous"])
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    tampered = with_events(files, lines)
    return tampered, [changed_file_problem("audit/events.jsonl", files, tampered),
                      f"audit/events.jsonl line {i + 1}: seq {lines[i]['seq']} "
                      f"where seq {lines[i + 1]['seq']} "
                      "was expected (an event is missing or the lines are out of order)"]


def tamper_duplicate_line(files, scene):
    lines = event_lines(files)
    i = line_of(files, "complaint.filed", scene.codes["anonymous"])
    lines.insert(i + 1, lines[i])
    tampered = with_events(files, lines)
    return tampered, [changed_file_problem("audit/events.jsonl", files, tampered),
                      f"audit/events.jsonl line {i + 2}: seq {lines[i]['seq']} "
                      f"where seq {lines[i]['seq'] + 1} "
                      "was expected (the lines are out of order or repeated)"]


SIGNATURE_BROKEN = ("manifest.json: the Ed25519 signature does not match the manifest "
                    "(the manifest or its signature was changed)")


def tamper_manifest(change: Callable[[dict], None], extra=()):
    def tamper(files, scene):
        manifest = manifest_of(files)
        change(manifest)
        return {**files, "manifest.json": json.dumps(manifest, indent=2).encode()}, [SIGNATURE_BROKEN, *extra]
    return tamper


def flip_signature(files, scene):
    value = files["manifest.sig"]
    return {**files, "manifest.sig": (b"1" if value[:1] == b"0" else b"0") + value[1:]}, [SIGNATURE_BROKEN]


def swap_public_key(manifest: dict) -> None:
    manifest["signer"]["public_key"] = hex_of(other_key())


def reformat_manifest(files, scene):
    """The same manifest, the same values, other bytes (indented otherwise): the signature
    covers the bytes, so this fails as any other change does."""
    return {**files, "manifest.json": json.dumps(manifest_of(files), indent=4).encode()}, [SIGNATURE_BROKEN]


def edit_count(manifest: dict) -> None:
    manifest["counts"]["complaints_received"] -= 1


def tamper_register_and_its_hash(files, scene):
    """The file changed and its hash in the manifest updated: only the signature can tell."""
    tampered = {**files, "register.csv": files["register.csv"].replace(b",web,", b",phone,", 1)}
    manifest = manifest_of(files)
    manifest["files"]["register.csv"] = hashlib.sha256(tampered["register.csv"]).hexdigest()
    tampered["manifest.json"] = json.dumps(manifest, indent=2).encode()
    return tampered, [SIGNATURE_BROKEN]


def tamper_add_file(files, scene):
    return {**files, "extra/notes.txt": b"ditambahkan kemudian"}, [
        "extra/notes.txt: in the pack but not listed in the manifest"]


def tamper_remove_file(name: str, extra=()):
    def tamper(files, scene):
        return {k: v for k, v in files.items() if k != name}, [
            f"{name}: listed in the manifest but missing from the pack", *extra]
    return tamper


def tamper_checkpoint(files, scene):
    [line] = [json.loads(raw) for raw in files["audit/checkpoints.jsonl"].decode().splitlines()]
    line["hash"] = "0" * 64
    tampered = {**files, "audit/checkpoints.jsonl": jsonl([line])}
    return tampered, [changed_file_problem("audit/checkpoints.jsonl", files, tampered),
                      f"audit/checkpoints.jsonl line 1: the signature of the checkpoint at seq "
                      f"{line['seq']} is invalid"]


TAMPERING = {
    "register-byte": tamper_byte(lambda files: "register.csv"),
    "cases-byte": tamper_byte(lambda files: "cases.jsonl"),
    "supervision-file-byte": tamper_byte(
        lambda files: next(n for n in files if n.startswith("supervision/"))),
    "document-byte": tamper_byte(lambda files: next(n for n in files if n.startswith("documents/"))),
    "summary-byte": tamper_byte(lambda files: "summary.html"),
    "verifier-byte": tamper_byte(lambda files: "verify_pack.py"),
    "event-body": tamper_event_body,
    "event-body-and-hash": tamper_event_body_and_hash,
    "event-body-seq": tamper_inner_seq,
    "event-removed": tamper_remove_event,
    "last-event-removed": tamper_remove_last_event,
    "events-reordered": tamper_reorder,
    "event-repeated": tamper_duplicate_line,
    "signature-changed": flip_signature,
    "signature-removed": lambda files, scene: (
        {k: v for k, v in files.items() if k != "manifest.sig"}, ["manifest.sig: missing (the manifest is not signed)"]),
    "manifest-reformatted": reformat_manifest,
    "public-key-swapped": tamper_manifest(swap_public_key),
    "count-changed": tamper_manifest(edit_count),
    "file-and-manifest-hash-changed": tamper_register_and_its_hash,
    "file-added": tamper_add_file,
    "file-removed": tamper_remove_file("sla.csv"),
    "events-removed": tamper_remove_file("audit/events.jsonl", ["audit/events.jsonl: missing"]),
    "checkpoint-changed": tamper_checkpoint,
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_is_named_precisely(app, ctx, scene, tmp_path, tamper):
    """Any change to a pack fails verification with exactly the problems it causes; the
    command and the standalone verifier say FAIL with the same lines and exit 1."""
    original = tmp_path / "pack.zip"
    export(original, scene)
    files = entries(original)
    tampered, expected = tamper(files, scene)
    bad = write_zip(tmp_path / "tampered.zip", tampered)
    problems, _ = verify(str(bad))
    assert problems == expected
    result = run_verifier(Path(verify_pack.__file__), bad)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"FAIL {problem}" for problem in expected]
    assert verify(str(write_zip(tmp_path / "rezipped.zip", files)))[0] == []  # rewriting alone is harmless


def test_pack_resigned_with_another_key_fails_only_against_the_deployment_key(app, ctx, scene, tmp_path):
    """Whoever alters a pack and signs it again with a key of their own gets past the
    self-contained check, but not past the deployment's published key."""
    original = tmp_path / "pack.zip"
    export(original, scene)
    files = entries(original)
    forger = other_key()
    forged = {**files, "register.csv": files["register.csv"].replace(b",web,", b",phone,", 1)}
    manifest = manifest_of(files)
    manifest["files"]["register.csv"] = hashlib.sha256(forged["register.csv"]).hexdigest()
    path = write_zip(tmp_path / "forged.zip", resign(forged, manifest, forger))
    foreign_checkpoint = ("audit/checkpoints.jsonl line 1: checkpoint signed with another key than "
                          "the manifest's")
    assert verify(str(path))[0] == [foreign_checkpoint]
    assert verify(str(path), deployment_key())[0] == [
        f"manifest.json: signed with key {hex_of(forger)}, not the expected key {deployment_key()}",
        foreign_checkpoint]


def test_second_entry_with_a_listed_name_fails(app, ctx, scene, tmp_path):
    """A forged copy of a listed file added as another entry of the same name is a problem:
    which copy an auditor's tool shows is up to the tool."""
    original = tmp_path / "pack.zip"
    export(original, scene)
    forged = b"tracking_code,received_at,channel\nFAKE-0001,2026-01-01,web\n"
    path = tmp_path / "two-registers.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as pack:
        for name, data in entries(original).items():
            if name == "register.csv":
                pack.writestr(name, forged)
            pack.writestr(name, data)
    with zipfile.ZipFile(path) as pack:
        first = next(info for info in pack.infolist() if info.filename == "register.csv")
        assert pack.read(first) == forged  # what a reader of the first entry is shown
    problems, _ = verify(str(path))
    assert [p for p in problems if p.startswith("register.csv")] != []


def test_unreadable_packs_fail_cleanly(tmp_path):
    """Not a ZIP, no manifest, or another format: one FAIL line each, exit 1, no traceback."""
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"PK but not really")
    assert verify(str(not_zip))[0][0].startswith(f"{not_zip}: not a readable ZIP file")
    no_manifest = write_zip(tmp_path / "empty.zip", {"register.csv": b""})
    assert verify(str(no_manifest))[0] == ["manifest.json: missing"]
    other = write_zip(tmp_path / "other.zip", {"manifest.json": b'{"format": "something/2"}'})
    assert verify(str(other))[0] == ["manifest.json: format 'something/2', expected 'pengaduan-evidence/2'"]
    listed = write_zip(tmp_path / "list.zip", {"manifest.json": b'["pengaduan-evidence/2"]'})
    assert verify(str(listed))[0] == ["manifest.json: not a JSON object"]
    broken = write_zip(tmp_path / "broken.zip", {"manifest.json": b"{not json"})
    result = run_verifier(Path(verify_pack.__file__), broken)
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "FAIL manifest.json: not valid JSON\n", "")


def test_manifest_with_a_key_twice_is_refused_even_when_signed(app, ctx, scene, tmp_path):
    """JSON readers disagree on a key given twice (one keeps the first value, another the
    last): such a manifest is refused even with a valid signature of the deployment's key,
    and so is an audit line with a key twice."""
    original = tmp_path / "pack.zip"
    export(original, scene)
    files = entries(original)
    raw = files["manifest.json"].replace(b"{", b'{\n  "unit": "UNIT-B",', 1)
    signed = audit.signing_key().sign(raw).hex().encode()
    twice = write_zip(tmp_path / "twice.zip", {**files, "manifest.json": raw, "manifest.sig": signed})
    assert verify(str(twice), deployment_key())[0] == [
        "manifest.json: not valid JSON (the key 'unit' appears twice in one object)"]

    lines = files["audit/events.jsonl"].decode().splitlines(keepends=True)
    lines[0] = '{"seq":0,' + lines[0][1:]  # the real seq follows: a lenient reader takes it
    tampered = {**files, "audit/events.jsonl": "".join(lines).encode()}
    problems, _ = verify(str(write_zip(tmp_path / "line.zip", tampered)), deployment_key())
    assert problems == [changed_file_problem("audit/events.jsonl", files, tampered),
                        "audit/events.jsonl line 1: not a valid event line"]


def zip_layout(path: Path) -> dict[str, int]:
    """Offsets in a ZIP file: the end record, and per entry its central directory record's
    CRC field, its local header and the middle of its compressed data."""
    data = path.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    places = {"end record": end}
    with zipfile.ZipFile(path) as pack:
        central = data.index(b"PK\x01\x02")
        for info in pack.infolist():
            name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + name_length + extra_length
            places[f"{info.filename} data"] = start + info.compress_size // 2
            places[f"{info.filename} local header"] = info.header_offset
            places[f"{info.filename} central crc"] = central + 16
            central += 46 + len(info.filename.encode()) + len(info.extra) + len(info.comment)
    return places


@pytest.mark.parametrize("place, named", [
    ("register.csv data", "register.csv"),
    ("audit/events.jsonl data", "audit/events.jsonl"),
    ("manifest.json data", "manifest.json"),
    ("cases.jsonl central crc", "cases.jsonl"),
    ("verify_pack.py local header", "verify_pack.py"),
    ("end record", None),
], ids=lambda value: str(value).replace(" ", "-").replace("/", "-"))
def test_damaged_zip_fails_naming_the_damaged_file(app, ctx, scene, tmp_path, place, named):
    """One flipped byte in a member's compressed data, a central directory record, a local
    header or the end record: the command and the standalone verifier print one FAIL line
    naming the damaged file (or the pack itself), exit 1, never a traceback."""
    original = tmp_path / "pack.zip"
    export(original, scene)
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(flip_byte(original.read_bytes(), zip_layout(original)[place]))
    result = run_verifier(Path(verify_pack.__file__), damaged, "--key", deployment_key())
    assert (result.returncode, result.stderr) == (1, ""), result.stdout + result.stderr
    [line] = result.stdout.splitlines()
    if named is None:
        assert line.startswith(f"FAIL {damaged}: not a readable ZIP file ("), line
    else:
        assert line.startswith(f"FAIL {named}: cannot be read, the pack is damaged ("), line
    assert verify(str(damaged))[0] == [line.removeprefix("FAIL ")]


def test_any_flipped_byte_gives_fail_lines_or_a_pass_never_a_traceback(app, ctx, scene, tmp_path, capsys):
    """A byte flipped anywhere in the pack (every 97th): the verifier either still passes
    (a byte no check covers, such as a timestamp in a ZIP header) or prints FAIL lines naming
    a file; it never raises and never falls back to its last-resort message."""
    original = tmp_path / "pack.zip"
    export(original, scene)
    data, key = original.read_bytes(), deployment_key()
    damaged = tmp_path / "damaged.zip"
    outcomes = Counter()
    for at in range(0, len(data), 97):
        damaged.write_bytes(flip_byte(data, at))
        code = verify_pack.main([str(damaged), "--key", key])
        lines = capsys.readouterr().out.splitlines()
        assert code in (0, 1), (at, code, lines)
        assert all(line.startswith("FAIL " if code else "OK ") for line in lines), (at, lines)
        assert not any("cannot be verified" in line for line in lines), (at, lines)
        outcomes[code] += 1
    assert outcomes[1] > sum(outcomes.values()) // 2  # most bytes are covered by a check


# --- 3. identity redaction -----------------------------------------------------------------

def pack_texts(files: dict[str, bytes]) -> dict[str, str]:
    """Every file of a pack as text (binary files decoded leniently: they are searched too)."""
    return {name: data.decode("utf-8", errors="replace") for name, data in files.items()}


def hidden_identity() -> list[str]:
    """Identity that may never leave: all of anonymous and confidential complainants', and a
    public complainant's NIK, email, phone and address."""
    public = {k: v for k, v in IDENTITIES["public"].items() if k != "name"}
    return [*IDENTITIES["anonymous"].values(), *IDENTITIES["confidential"].values(), *public.values()]


@pytest.mark.parametrize("unit", [None, "UNIT-A"], ids=["all-units", "unit-a"])
def test_pack_never_carries_hidden_identity_or_confidential_words(app, ctx, scene, tmp_path, unit):
    """In every file of the pack (register, cases, summary, audit lines, supervision ...):
    no complainant's name, NIK, email, phone or address, whatever the privacy mode (auditors
    are not entitled to identity), and no word of a confidential case: its register title
    says (rahasia), cases.jsonl keeps digests."""
    out = tmp_path / "pack.zip"
    export(out, scene, unit)
    files = entries(out)
    texts = pack_texts(files)
    for name, text in texts.items():
        for secret in [*hidden_identity(), *CONFIDENTIAL.values()]:
            assert secret not in text and json.dumps(secret)[1:-1] not in text, (name, secret)
        assert IDENTITIES["public"]["name"] not in text, name  # auditors see no identity
    rows = {row["tracking_code"]: row for row in register(files)}
    public, anonymous, confidential = (rows[scene.codes[n]] for n in ("public", "anonymous", "confidential"))
    assert "complainant" not in public
    assert (public["privacy"], public["title"]) == ("public", PUBLIC_TITLE)
    assert (anonymous["privacy"], anonymous["title"]) == ("anonymous", ANONYMOUS_TITLE)
    assert (confidential["privacy"], confidential["title"]) == ("confidential", "(rahasia)")
    case = cases(files)[scene.codes["confidential"]]
    data = {(e["kind"], e["trigger"]): e["data"] for e in case["events"]}
    assert data[("transition", "request_info")]["message"] == digest(CONFIDENTIAL["message"])
    assert data[("transition", "provide_info")]["message"] == digest(CONFIDENTIAL["provided"])
    assert data[("note", None)]["note"] == digest(CONFIDENTIAL["note"])
    assert data[("transition", "follow_up")]["response"] == digest(CONFIDENTIAL["response"])
    assert data[("transition", "accept")] == {"rating": 4, "comment": digest(CONFIDENTIAL["comment"])}
    # A public case's follow-up is evidence in its own words.
    follow_up = next(e for e in cases(files)[scene.codes["public"]]["events"] if e["trigger"] == "follow_up")
    assert follow_up["data"]["response"] == PUBLIC_RESPONSE


def test_instruction_on_a_confidential_case_leaves_only_as_a_digest(app, ctx, scene, tmp_path):
    """A supervisor's instruction on a confidential case is free text about it: like the case's
    note in cases.jsonl, it must not appear in words anywhere in the pack."""
    instruction = "Periksa oknum petugas loket dua atas dugaan pungli Rp 50.000."
    give_instruction(Complaint.by_code(scene.codes["confidential"]), actor_of(SUPERVISOR_A), instruction)
    db.session.commit()
    out = tmp_path / "pack.zip"
    export(out, scene)
    files = entries(out)
    event = next(e for e in cases(files)[scene.codes["confidential"]]["events"] if e["kind"] == "instruction")
    assert event["data"]["note"] == digest(instruction)
    leaking = [name for name, text in pack_texts(files).items() if instruction in text]
    assert leaking == []


# --- 4. a unit's pack ----------------------------------------------------------------------

def test_unit_pack_carries_full_bodies_only_for_its_own_complaints(app, ctx, scene, tmp_path):
    """UNIT-A's pack: its register and cases hold only its complaints; events of UNIT-B's
    complaints are there as seq, prev_hash and hash with "redacted": true; the chain still
    verifies, and the manifest counts the redacted events."""
    out = tmp_path / "unit-a.zip"
    manifest = export(out, scene, "UNIT-A")
    files = entries(out)
    assert manifest["unit"] == "UNIT-A"
    assert {row["tracking_code"] for row in register(files)} == scene.of_unit("UNIT-A")
    assert set(cases(files)) == scene.of_unit("UNIT-A")
    stored = {e.seq: e for e in db_events()}
    lines = event_lines(files)
    assert [line["seq"] for line in lines] == list(range(1, manifest["chain"]["last_seq"] + 1))
    b_codes, a_codes = scene.of_unit("UNIT-B"), scene.of_unit("UNIT-A")
    redacted = 0
    for line in lines:
        event = stored[line["seq"]]
        assert (line["prev_hash"], line["hash"]) == (event.prev_hash, event.hash)
        if event.complaint_code in b_codes:
            assert line == {"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash,
                            "redacted": True}
        elif event.complaint_code in a_codes:
            assert line["body"] == event.body and "redacted" not in line
        redacted += bool(line.get("redacted"))
    assert sum(e.complaint_code in b_codes for e in stored.values()) > 0
    assert manifest["chain"]["redacted"] == redacted
    problems, summary = verify(str(out), deployment_key())
    assert problems == []
    assert summary["full_events"] == len(lines) - redacted
    for code in b_codes:
        assert code not in files["register.csv"].decode() and code not in files["cases.jsonl"].decode()
    assert "Telaah kasus Dinas B" not in files["supervision.csv"].decode()
    assert files["documents.csv"].decode().count("\n") == 2  # the header and UNIT-A's decree


def test_unit_b_pack_hides_unit_a(app, ctx, scene, tmp_path):
    """The other way round: UNIT-B's pack has none of UNIT-A's complaints, records or
    documents, and verifies."""
    out = tmp_path / "unit-b.zip"
    manifest = export(out, scene, "UNIT-B")
    files = entries(out)
    assert {row["tracking_code"] for row in register(files)} == scene.of_unit("UNIT-B")
    assert (manifest["counts"]["supervision_records"], manifest["counts"]["standing_documents"]) == (1, 0)
    assert not any(name.startswith("documents/") for name in files)
    assert verify(str(out))[0] == []


def test_unit_pack_redacts_other_units_supervision_events(app, ctx, scene, tmp_path):
    """Every audit event about UNIT-B's supervision record is redacted in UNIT-A's pack, and
    UNIT-B's complaint codes appear nowhere in it."""
    out = tmp_path / "unit-a.zip"
    export(out, scene, "UNIT-A")
    files = entries(out)
    about_b = {}
    for e in db_events():
        payload = json.loads(e.body)["payload"]
        if e.action.startswith("supervision.") and payload.get("id") == scene.record_b:
            about_b[e.seq] = e.action
    assert set(about_b.values()) == {"supervision.recorded", "supervision.updated",
                                     "supervision.action_status", "supervision.files_added"}
    shown_in_full = {line["seq"]: about_b[line["seq"]] for line in event_lines(files)
                     if line["seq"] in about_b and "body" in line}
    assert shown_in_full == {}
    assert scene.codes["public_b"] not in files["audit/events.jsonl"].decode()


def test_unit_pack_shows_other_units_staff_accounts_only_as_hashes(app, ctx, scene, tmp_path):
    """Events about UNIT-B's staff accounts (a change of name, a token, a password reset, a
    password change) are in UNIT-A's pack only as seq, prev_hash and hash: no email of
    UNIT-B's staff leaves in it. The same events about UNIT-A's staff are there in full."""
    from pengaduan.models import User
    from pengaduan.services.administration.accounts import issue_token, reset_password, update_user
    from pengaduan.services.administration.auth import change_password

    for email, name in ((OFFICER_B, "Agus Salim, S.Sos."), (OFFICER_A, "Siti Rahayu, S.E.")):
        user = User.by_email(email)
        update_user(user, name=name, role="officer", unit_codes=[u.code for u in user.units], active=True,
                    actor=Actor.cli("admin"))
        issue_token(user, actor=Actor.cli("admin"))
        reset_password(user, actor=Actor.cli("admin"))
    db.session.commit()
    account_events = ("user.updated", "user.token_issued", "user.password_reset")
    out = tmp_path / "unit-a.zip"
    export(out, scene, "UNIT-A")
    files = entries(out)
    lines = {line["seq"]: line for line in event_lines(files)}
    about = {e.seq: json.loads(e.body)["payload"]["email"] for e in db_events() if e.action in account_events}
    assert sorted(about.values()) == sorted([OFFICER_A, OFFICER_B] * 3)
    for seq, email in about.items():
        if email == OFFICER_B:
            assert set(lines[seq]) == {"seq", "prev_hash", "hash", "redacted"}, lines[seq]
        else:
            assert email in lines[seq]["body"]
    events_text = files["audit/events.jsonl"].decode()
    assert OFFICER_B not in events_text and SUPERVISOR_B not in events_text
    assert verify(str(out), deployment_key())[0] == []


def test_unit_pack_shows_accounts_of_no_unit_only_as_hashes(app, ctx, scene, tmp_path):
    """An auditor's or an admin's account events (of no unit) and new integration keys are
    in a one-unit pack only as seq, prev_hash and hash; an all-units pack shows them."""
    from pengaduan.models import User
    from pengaduan.services.administration.accounts import create_api_key, issue_token, reset_password

    issue_token(User.by_email(AUDITOR), actor=Actor.cli("admin"))
    reset_password(User.by_email(AUDITOR), actor=Actor.cli("admin"))
    create_api_key("integrasi-lapor", actor=Actor.cli("admin"))
    db.session.commit()
    accounts = [e.seq for e in db_events() if e.action in ("user.token_issued", "user.password_reset",
                                                             "apikey.created")]
    assert len(accounts) == 3
    export(tmp_path / "unit-a.zip", scene, "UNIT-A")
    one_unit = {line["seq"]: line for line in event_lines(entries(tmp_path / "unit-a.zip"))}
    assert all(set(one_unit[seq]) == {"seq", "prev_hash", "hash", "redacted"} for seq in accounts)
    assert AUDITOR not in entries(tmp_path / "unit-a.zip")["audit/events.jsonl"].decode()
    export(tmp_path / "all.zip", scene, None)
    every_unit = {line["seq"]: line for line in event_lines(entries(tmp_path / "all.zip"))}
    assert all("body" in every_unit[seq] for seq in accounts)


def pack_checkpoints(files: dict[str, bytes]) -> list[dict]:
    return [json.loads(line) for line in files["audit/checkpoints.jsonl"].decode().splitlines()]


def test_pack_carries_the_published_head_once_per_head(app, ctx, scene, tmp_path):
    """The worker signs an unchanged head again on its interval: the pack keeps the first
    checkpoint of each head, and the one published last before the export, chained (counter
    and previous checkpoint's hash); the standalone verifier checks their signatures."""
    for _ in range(3):
        audit.checkpoint(db.session, heartbeat=True)
        db.session.commit()
    published = audit.published_head(db.session)
    out = tmp_path / "pack.zip"
    manifest = export(out, scene)
    files = entries(out)
    lines = pack_checkpoints(files)
    assert [(line["counter"], line["seq"]) for line in lines] == [(1, published["seq"]), (3, published["seq"])]
    assert (lines[-1]["hash"], lines[-1]["prev_checkpoint_hash"]) == (
        published["hash"], published["prev_checkpoint_hash"])
    assert manifest["counts"]["checkpoints"] == 2
    problems, summary = verify(str(out), deployment_key())
    assert problems == [] and summary["checkpoints"] == 2
    broken = {**files, "audit/checkpoints.jsonl": jsonl([{**lines[0], "counter": 2}, lines[1]])}
    problems, _ = verify(str(write_zip(tmp_path / "renumbered.zip", broken)), deployment_key())
    assert "audit/checkpoints.jsonl line 1: the signature of the checkpoint at seq " \
           f"{lines[0]['seq']} is invalid" in problems


def test_audit_verify_holds_the_chain_to_a_packs_heads(app, ctx, runner, scene, tmp_path):
    """An auditor keeps a pack. `audit verify --pack` passes while the live chain contains
    the heads it carries, and fails naming the truncation once the newest events are gone
    (with the checkpoints that signed them, and the worker signing the shortened chain)."""
    from test_audit import disable_append_only, tamper

    out = tmp_path / "pack.zip"
    manifest = export(out, scene)
    head_seq, head_hash = manifest["chain"]["last_seq"], manifest["chain"]["last_hash"]
    result = runner.invoke(args=["audit", "verify", "--pack", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == f"saved heads contained: 1, the newest seq {head_seq} hash {head_hash}"

    forged = {**entries(out)}
    [line] = pack_checkpoints(forged)
    forged["audit/checkpoints.jsonl"] = jsonl([{**line, "hash": "0" * 64}])
    result = runner.invoke(args=["audit", "verify", "--pack", str(write_zip(tmp_path / "forged.zip", forged))])
    assert result.exit_code == 1
    assert "audit/checkpoints.jsonl line 1: not a checkpoint signed with this deployment's key" in result.output

    disable_append_only(app)
    tamper("DELETE FROM audit_events WHERE seq > :s", s=head_seq - 3)
    tamper("DELETE FROM audit_checkpoints")
    audit.checkpoint(db.session, heartbeat=True)
    db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # the chain alone looks whole
    result = runner.invoke(args=["audit", "verify", "--pack", str(out)])
    assert result.exit_code == 1
    assert re.search(rf"^FAIL seq {head_seq}: truncated: the saved head at seq {head_seq} \({head_hash}\) "
                     rf"is beyond the end of the chain at seq {head_seq - 3}", result.output, re.M), result.output


# --- 5. exports from the web ---------------------------------------------------------------

EVIDENCE = "/staff/evidence"


def post_evidence(client, scene: Scene, token: str | None = "page", **fields):
    """Send the evidence form (with this browser's token unless told otherwise)."""
    data = {"from": scene.start.isoformat(), "to": scene.end.isoformat(), "unit": "", **fields}
    if token == "page":
        token = get_page(client, EVIDENCE).token
    if token is not None:
        data["csrf_token"] = token
    return client.post(EVIDENCE, data=data)


def downloaded(response, tmp_path: Path, name: str) -> Path:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    path = tmp_path / name
    path.write_bytes(response.data)
    return path


def test_auditor_downloads_any_unit_or_all_and_each_export_is_audited(app, scene, tmp_path):
    """The auditor's form shows the deployment key; the download of all units and of one unit
    verifies against it; each export is an `evidence.exported` event with the auditor as actor."""
    with app.app_context():
        key = deployment_key()
    auditor = signed_in(app, AUDITOR)
    page = get_page(auditor, EVIDENCE)
    assert key in page.html
    everything = downloaded(post_evidence(auditor, scene), tmp_path, "all.zip")
    assert verify(str(everything), key)[0] == []
    assert manifest_of(entries(everything))["unit"] is None
    unit_b = downloaded(post_evidence(auditor, scene, unit="UNIT-B"), tmp_path, "b.zip")
    assert verify(str(unit_b), key)[0] == []
    assert manifest_of(entries(unit_b))["unit"] == "UNIT-B"
    assert {row["tracking_code"] for row in register(entries(unit_b))} == scene.of_unit("UNIT-B")
    exported = exported_events(app)
    assert [(actor, payload["unit"]) for actor, payload in exported] == [
        (label_of(app, AUDITOR), None), (label_of(app, AUDITOR), "UNIT-B")]
    for (_, payload), path in zip(exported, (everything, unit_b)):
        assert payload["manifest_sha256"] == hashlib.sha256(entries(path)["manifest.json"]).hexdigest()
    # The second pack covers the first export: its event is inside, and checked.
    assert any('"action":"evidence.exported"' in line.get("body", "")
               for line in event_lines(entries(unit_b)))


def test_supervisor_exports_only_own_unit(app, scene, tmp_path):
    """A supervisor of one unit gets that unit's pack (asked for or by default); another unit's
    code answers 404; a supervisor of several units must choose one."""
    supervisor = signed_in(app, SUPERVISOR_A)
    default = downloaded(post_evidence(supervisor, scene), tmp_path, "default.zip")
    assert manifest_of(entries(default))["unit"] == "UNIT-A"
    assert verify(str(default))[0] == []
    named = downloaded(post_evidence(supervisor, scene, unit="UNIT-A"), tmp_path, "named.zip")
    assert {row["tracking_code"] for row in register(entries(named))} == scene.of_unit("UNIT-A")
    assert post_evidence(supervisor, scene, unit="UNIT-B").status_code == 404
    assert supervisor.get(f"{EVIDENCE}?unit=UNIT-B").status_code == 404
    both = signed_in(app, SUPERVISOR_AB)
    refused = post_evidence(both, scene)
    assert refused.status_code == 422 and "choose a unit" in refused.get_data(as_text=True)
    assert [(actor, p["unit"]) for actor, p in exported_events(app)] == [
        (label_of(app, SUPERVISOR_A), "UNIT-A"), (label_of(app, SUPERVISOR_A), "UNIT-A")]


@pytest.mark.parametrize("email", [OFFICER_A, ADMIN], ids=["officer", "admin"])
def test_officers_and_admins_cannot_export(app, scene, email):
    """Officers and admins get 403 on the form and on the download; nothing is exported."""
    client = signed_in(app, email)
    assert client.get(EVIDENCE).status_code == 403
    assert post_evidence(client, scene, token=token_of(client)).status_code == 403
    assert exported_events(app) == []


@pytest.mark.parametrize("fields, field, message", [
    ({"from": "2026-02-30"}, "from", "must be a date (YYYY-MM-DD)"),
    ({"to": "kemarin"}, "to", "must be a date on or after the start"),
    ({"from": "2026-06-30", "to": "2026-06-01"}, "to", "must be a date on or after the start"),
], ids=["impossible-date", "not-a-date", "to-before-from"])
def test_bad_period_is_refused(app, scene, fields, field, message):
    """A bad period answers 422 at its field; nothing is exported."""
    auditor = signed_in(app, AUDITOR)
    response = post_evidence(auditor, scene, **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'<p class="error-message" id="{field}-error">{re.escape(message)}</p>', html)
    assert exported_events(app) == []


def test_evidence_download_needs_the_csrf_token(app, scene):
    """Without the token, or with a forged one, the download is refused (400), not audited."""
    auditor = signed_in(app, AUDITOR)
    get_page(auditor, EVIDENCE)
    assert post_evidence(auditor, scene, token=None).status_code == 400
    assert post_evidence(auditor, scene, token="IjAwMDAi.forged.token").status_code == 400
    assert exported_events(app) == []


@pytest.mark.parametrize("server", ["waitress", "gunicorn"])
def test_pack_downloaded_from_a_real_server_leaves_no_file_behind(app, procs, tmp_path, server):
    """Served by `python run.py` (waitress) and by gunicorn, whose file wrappers skip a
    response's close callbacks: the pack holds the whole register, yet no file of it can be
    found in the server's temp folder while it is sent or after; the download verifies
    against the deployment's key and the export is audited."""
    make_org(app, token=False)
    with app.app_context():
        code = file_complaint(api_filing("Jalan rusak di depan pasar")).complaint.tracking_code
        db.session.commit()
        key, today = deployment_key(), sv.today()
    temp = tmp_path / "server-temp"
    temp.mkdir()
    live = procs.run_py(TMPDIR=temp) if server == "waitress" else procs.gunicorn(TMPDIR=temp)

    def pack_files() -> list[str]:
        """Files in the temp folder named like a pack or holding a ZIP."""
        return [p.name for p in temp.rglob("*") if p.is_file() and (
            p.name.startswith("pengaduan-pack-") or p.read_bytes()[:2] == b"PK")]

    browser = Http(live, address="10.20.30.40")
    browser.login(LIVE_SUPERVISOR)
    form = {"csrf_token": browser.csrf(EVIDENCE), "from": (today - timedelta(days=7)).isoformat(),
            "to": today.isoformat(), "unit": ""}
    pack = tmp_path / "downloaded.zip"
    with browser.post(EVIDENCE, data=form, stream=True) as response:
        assert response.status_code == 200, response.text[:500]
        assert response.headers["Content-Type"] == "application/zip"
        chunks = response.iter_content(1 << 14)
        first = next(chunks)
        assert pack_files() == []  # not even while it is being sent
        pack.write_bytes(first + b"".join(chunks))
    assert int(response.headers["Content-Length"]) == pack.stat().st_size
    assert pack_files() == []
    assert verify(str(pack), key)[0] == []
    assert code in entries(pack)["register.csv"].decode()
    assert [(actor, payload["unit"]) for actor, payload in exported_events(app)] == [
        (label_of(app, LIVE_SUPERVISOR), "UNIT-A")]


# --- 6. the periodic report ----------------------------------------------------------------

WIB = ZoneInfo("Asia/Jakarta")
JUNE = (date(2026, 6, 1), date(2026, 6, 30))


def wib(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


def build_june() -> dict[str, str]:
    """Complaints of June 2026 with known dates (Jakarta time; 1 and 16 June are holidays):

    c1  UNIT-A web pengaduan     2 Jun, verified 3, followed up 5, accepted 8 with 5 stars
    c2  UNIT-A phone aspirasi    3 Jun, verified 25 (late; its written response is overdue)
    c3  UNIT-A web information  10 Jun, late filing, still received at the end (overdue)
    c4  UNIT-B letter pengaduan  4 Jun, rejected 5
    c5  UNIT-A web               31 May 23:30, rejected 23:45: before the period
    c6  UNIT-A walk_in          30 Jun 23:30: the last minutes of the period, not yet due
    c7  UNIT-A web pengaduan     1 Jun, verified 2, followed up 3, accepted 4 with 3 stars
    """
    officer_a, officer_b = actor_of(OFFICER_A), actor_of(OFFICER_B)

    def filed(name, at, unit="UNIT-A", channel="web", **overrides):
        raw = raw_complaint(overrides.pop("privacy", "public"), unit, **overrides)
        return name, file_complaint(raw, actor=Actor.channel(channel), at=at).complaint.tracking_code

    codes = dict([
        filed("c1", wib(6, 2)),
        filed("c2", wib(6, 3), channel="phone", classification="aspirasi", privacy="anonymous"),
        filed("c3", wib(6, 10), classification="permintaan_informasi", privacy="confidential",
              service_date="2026-04-01"),
        filed("c4", wib(6, 4), unit="UNIT-B", channel="letter"),
        filed("c5", wib(5, 31, 23, 30)),
        filed("c6", wib(6, 30, 23, 30), channel="walk_in"),
        filed("c7", wib(6, 1)),
    ])
    db.session.commit()
    for name, verified, followed, accepted, stars in (("c1", 3, 5, 8, 5), ("c7", 2, 3, 4, 3)):
        step(codes[name], "verify", officer_a, wib(6, verified), **VERIFY_A)
        step(codes[name], "follow_up", officer_a, wib(6, followed), response="Sudah selesai.")
        step(codes[name], "accept", citizen(codes[name]), wib(6, accepted), rating=stars)
    step(codes["c2"], "verify", officer_a, wib(6, 25), **{**VERIFY_A, "classification": "aspirasi"})
    step(codes["c4"], "reject", officer_b, wib(6, 5), reason="Bukan kewenangan.", closure_reason="rejected")
    step(codes["c5"], "reject", officer_a, wib(5, 31, 23, 45), reason="Duplikat lama.",
         closure_reason="rejected")
    db.session.commit()
    return codes


@pytest.fixture
def june(app, org) -> dict[str, str]:
    with app.app_context():
        return build_june()


def june_rows(codes: dict, unit: str | None) -> set[tuple[str, str, str]]:
    """The report's expected CSV rows, worked out by hand from build_june's dates."""
    rows = {
        ("period", "from", "2026-06-01"), ("period", "to", "2026-06-30"),
        ("received", "late_filings", "1"), ("received", "duplicates_counted_with_original", "0"),
        ("classification", "aspirasi", "1"), ("classification", "permintaan_informasi", "1"),
        ("closure_reason", "resolved", "2"), ("state", "received", "2"), ("state", "verified", "1"),
        ("channel", "web", "3"), ("channel", "phone", "1"), ("channel", "walk_in", "1"),
        ("satisfaction", "rating_3", "1"), ("satisfaction", "rating_5", "1"),
        ("satisfaction", "average", "4.00"),
        # c1 1 day, c7 2: follow-up 2 and 1 days after verification, resolved 5 and 2 days after.
        ("sla.first_follow_up", "finished", "2"), ("sla.first_follow_up", "on_time_rate", "1.0000"),
        ("sla.first_follow_up", "average_days", "1.50"), ("sla.first_follow_up", "longest_days", "2.00"),
        ("sla.first_follow_up", "overdue_open_at_end", "0"),
        ("sla.resolution", "finished", "2"), ("sla.resolution", "on_time", "2"),
        ("sla.resolution", "average_days", "3.50"), ("sla.resolution", "longest_days", "5.00"),
        ("sla.verification", "longest_days", "22.00"), ("sla.verification", "overdue_open_at_end", "1"),
        ("sla.response", "longest_days", "3.00"), ("sla.response", "overdue_open_at_end", "2"),
    }
    if unit is None:
        rows |= {
            ("period", "unit", "all"), ("received", "total", "6"), ("channel", "letter", "1"),
            ("classification", "pengaduan", "4"), ("category", "Umum", "5"), ("category", "Khusus B", "1"),
            ("state", "closed", "3"), ("closure_reason", "rejected", "1"),
            # verification: c1 1 day, c2 22 (late), c4 1, c7 1; response: c1 3, c4 1, c7 2.
            # The rate counts what runs late at the end too: verification 3 of 4 finished + c3,
            # response 3 of 3 finished + c2 and c3.
            ("sla.verification", "finished", "4"), ("sla.verification", "on_time", "3"),
            ("sla.verification", "counted", "5"),
            ("sla.verification", "on_time_rate", "0.6000"), ("sla.verification", "average_days", "6.25"),
            ("sla.response", "finished", "3"), ("sla.response", "on_time", "3"), ("sla.response", "counted", "5"),
            ("sla.response", "on_time_rate", "0.6000"), ("sla.response", "average_days", "2.00"),
            ("received_by_month", "2026-06", "6"),
            # UNIT-A: 9 clocks finished (c1 and c7 four each, c2 its verification), 8 of them
            # on time, 3 running late at the end (c2 and c3): 8 of 12. UNIT-B: c4's two.
            ("unit.UNIT-A", "received", "5"), ("unit.UNIT-A", "closed", "2"), ("unit.UNIT-A", "finished", "9"),
            ("unit.UNIT-A", "on_time", "8"), ("unit.UNIT-A", "overdue_open_at_end", "3"),
            ("unit.UNIT-A", "on_time_rate", "0.6667"), ("unit.UNIT-A", "overdue_cases_at_end", "2"),
            ("unit.UNIT-B", "received", "1"), ("unit.UNIT-B", "closed", "1"), ("unit.UNIT-B", "finished", "2"),
            ("unit.UNIT-B", "on_time", "2"), ("unit.UNIT-B", "overdue_open_at_end", "0"),
            ("unit.UNIT-B", "on_time_rate", "1.0000"), ("unit.UNIT-B", "overdue_cases_at_end", "0"),
        }
    else:
        rows |= {
            ("period", "unit", "UNIT-A"), ("received", "total", "5"), ("received_by_month", "2026-06", "5"),
            ("classification", "pengaduan", "3"),
            ("category", "Umum", "5"), ("state", "closed", "2"),
            ("sla.verification", "finished", "3"), ("sla.verification", "on_time", "2"),
            ("sla.verification", "on_time_rate", "0.5000"), ("sla.verification", "average_days", "8.00"),
            ("sla.response", "finished", "2"), ("sla.response", "on_time", "2"),
            ("sla.response", "on_time_rate", "0.5000"), ("sla.response", "average_days", "2.50"),
        }
    return rows


def june_overdue(codes: dict) -> dict[str, tuple]:
    """Late at the end of June (1 July 00:00, Jakarta): c3 since its verification limit of 15
    June (16 days), also past its written response of 24 June; c2 past its written response
    of 17 June (14 days). No one is assigned, no escalation was swept. UNIT-A's both."""
    return {codes["c3"]: ("UNIT-A", "received", "16", {"Verification", "Written response"}, "", "0"),
            codes["c2"]: ("UNIT-A", "verified", "14", {"Written response"}, "", "0")}


def csv_of(text: str) -> set[tuple[str, ...]]:
    return {tuple(row) for row in csv.reader(io.StringIO(text)) if row}


def overdue_of(rows: set) -> dict[str, tuple]:
    """The overdue rows: code -> (unit, state, days late, limits missed, assignee, escalations)."""
    cases = {}
    for _, code, value in (row for row in rows if row[0] == "overdue"):
        unit, state, days, limits, assignee, escalations = value.split(";")
        cases[code] = (unit, state, days, set(limits.split(",")) - {""}, assignee, escalations)
    return cases


def assert_june(rows: set, codes: dict, unit: str | None) -> None:
    """The expected rows are there, and no other count or overdue case."""
    expected = june_rows(codes, unit)
    assert expected - rows == set()
    checked_sections = ("received", "channel", "classification", "category", "state", "closure_reason",
                        "satisfaction", "received_by_month")
    assert {row for row in rows - expected if row[0] in checked_sections} == set()
    assert overdue_of(rows) == june_overdue(codes)


@pytest.mark.parametrize("unit", [None, "UNIT-A"], ids=["all-units", "unit-a"])
def test_periodic_report_counts_a_known_june(app, june, unit):
    """Counts by channel, classification, category, state and closure; on-time rate, average
    and longest duration per stage; ratings; overdue cases at the end of the period: all as
    worked out by hand, with complaints just outside the period left out."""
    with app.app_context():
        report = periodic_report(*JUNE, Unit.by_code(unit) if unit else None)
        rows = {tuple(str(v) for v in row) for row in csv_rows(report)}
        assert [case.code for case in report.overdue] == [june["c3"], june["c2"]]  # most late first
        assert report.received == (6 if unit is None else 5)
        assert report.average_rating == 4.0
    assert_june(rows, june, unit)
    assert not any(june["c5"] in row or june["c6"] in row for row in rows)


def test_running_period_counts_nothing_late_before_its_deadline(app, org):
    """A complaint received today, days before its first deadline, is not running late in
    the report of a period that is still running, just as it is not in the overdue list."""
    with app.app_context():
        file_complaint(raw_complaint("public"))
        db.session.commit()
        today = sv.today()
        report = periodic_report(today - timedelta(days=1), today + timedelta(days=60))
        assert report.overdue == []
        assert {s.rule: s.overdue_open for s in report.stages} == {
            "verification": 0, "response": 0, "first_follow_up": 0, "resolution": 0, "lapor_follow_up": 0,
            "follow_up_review": 0, "follow_up_revision": 0}


def test_report_command_writes_csv_and_html(app, runner, june):
    """`report periodic` prints the same figures as CSV, and as a standalone HTML page; an
    unknown unit or a reversed period is refused."""
    args = ["report", "periodic", "--from", "2026-06-01", "--to", "2026-06-30"]
    everything = runner.invoke(args=[*args, "--format", "csv"])
    assert everything.exit_code == 0, everything.output
    assert everything.output.splitlines()[0] == "section,key,value"
    assert_june(csv_of(everything.output), june, None)
    unit_a = runner.invoke(args=[*args, "--unit", "UNIT-A", "--format", "csv"])
    assert_june(csv_of(unit_a.output), june, "UNIT-A")
    page = runner.invoke(args=[*args, "--unit", "UNIT-A", "--format", "html"])
    assert page.exit_code == 0
    words = text_of(page.output)
    assert page.output.lstrip().startswith("<!doctype html>")
    # Printed in the deployment's language (Indonesian by default).
    assert "Laporan berkala pengaduan" in words
    assert "Pengaduan yang diterima: 5" in words and "Pengaduan terlambat: 2" in words
    assert june["c3"] in words and june["c4"] not in words
    assert runner.invoke(args=[*args, "--unit", "UNIT-Z"]).exit_code != 0
    reversed_period = ["report", "periodic", "--from", "2026-06-30", "--to", "2026-06-01"]
    assert runner.invoke(args=reversed_period).exit_code != 0


def test_report_page_and_csv_for_a_supervisor_and_an_auditor(app, june):
    """A supervisor sees her unit's report and downloads it as CSV; another unit's code is
    404; the auditor sees all units (or one); an admin is refused; a bad period is 422."""
    query = "/staff/reports?from=2026-06-01&to=2026-06-30"
    supervisor = signed_in(app, SUPERVISOR_A)
    page = get_page(supervisor, query)
    assert "Complaints received: 5" in text_of(page.html)
    csv_link = next(link for link in page.links if "format=csv" in link)
    download = supervisor.get(csv_link)
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("text/csv")
    assert 'filename="laporan-UNIT-A-2026-06-01-2026-06-30.csv"' in download.headers["Content-Disposition"]
    assert_june(csv_of(download.get_data(as_text=True)), june, "UNIT-A")
    assert supervisor.get(f"{query}&unit=UNIT-B").status_code == 404

    auditor = signed_in(app, AUDITOR)
    assert "Complaints received: 6" in text_of(get_page(auditor, query).html)
    everything = auditor.get(f"{query}&format=csv")
    assert_june(csv_of(everything.get_data(as_text=True)), june, None)
    assert_june(csv_of(auditor.get(f"{query}&unit=UNIT-A&format=csv").get_data(as_text=True)), june, "UNIT-A")

    assert signed_in(app, ADMIN).get(query).status_code == 403
    bad = auditor.get("/staff/reports?from=2026-06-30&to=2026-06-01")
    assert bad.status_code == 422 and "must be a date on or after the start" in bad.get_data(as_text=True)
    officer_b = csv_of(signed_in(app, OFFICER_B).get(f"{query}&format=csv").get_data(as_text=True))
    assert {("period", "unit", "UNIT-B"), ("received", "total", "1"),
            ("closure_reason", "rejected", "1")} <= officer_b


def test_a_period_off_the_calendar_is_refused_on_report_and_export(app, org):
    """Report and evidence export refuse a period whose bounds fall off the calendar with a
    422 naming the field and the dates allowed, never a 500; nothing is exported."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    auditor = signed_in(app, AUDITOR)
    message = re.escape("must be a date between 1900-01-01 and 2999-12-31")
    for fields, field in (({"from": "0001-01-01", "to": "0001-01-02"}, "from"),  # before year 1 in UTC
                          ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),  # its next day has no date
                          ({"from": "1899-12-31"}, "from"), ({"to": "3000-01-01"}, "to")):
        data = {"from": "2026-06-01", "to": "2026-06-30", **fields}
        for response in (auditor.get("/staff/reports", query_string={**data, "format": "csv"}),
                         auditor.post(EVIDENCE, data={**data, "unit": "", "csrf_token": token_of(auditor)})):
            assert response.status_code == 422, fields
            html = response.get_data(as_text=True)
            assert re.search(rf'<p class="error-message" id="{field}-error">{message}</p>', html)
    assert exported_events(app) == []


def test_downloads_of_a_unit_coded_in_any_script_are_named_exactly(app, org):
    """A unit code outside Latin-1 names the report CSV and the evidence pack: headers carry
    an ASCII name and the exact one as RFC 5987 filename* (a raw one could not be sent)."""
    from urllib.parse import unquote

    from pengaduan.services import create_unit

    with app.app_context():
        create_unit("ÜNIT-Ж", "Dinas Ж")
        db.session.commit()
    auditor = signed_in(app, AUDITOR)
    period = {"from": "2026-06-01", "to": "2026-06-30", "unit": "ÜNIT-Ж"}
    report = auditor.get("/staff/reports", query_string={**period, "format": "csv"})
    pack = auditor.post(EVIDENCE, data={**period, "csrf_token": token_of(auditor)})
    for response, exact in ((report, "laporan-ÜNIT-Ж-2026-06-01-2026-06-30.csv"),
                            (pack, "bukti-ÜNIT-Ж-2026-06-01-2026-06-30.zip")):
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        disposition.encode("latin-1")  # what a WSGI server must be able to send
        assert disposition.isascii() and 'filename="laporan-' in disposition or 'filename="bukti-' in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == exact


def test_export_refuses_a_caller_with_work_of_its_own(app, ctx, scene, tmp_path):
    """The export ends its caller's transaction before its long read (see export_pack): a
    caller that changed something first is refused instead of having it committed, and its
    unit of work rolls the change back as usual."""
    from pengaduan import unit_of_work
    from pengaduan.models import AuditCheckpoint

    before = len(db_events())
    sealed = db.session.scalars(select(AuditCheckpoint)).all()
    out = tmp_path / "pack.zip"

    def work():
        audit.record(db.session, "test.pending", actor="tester", unit=None, payload={})
        export_pack(out, scene.start, scene.end, None, actor=Actor.cli("tester"), seal=True)

    with pytest.raises(RuntimeError, match="ends the caller's transaction"):
        unit_of_work.run(work)
    assert len(db_events()) == before and not out.exists()
    assert db.session.scalars(select(AuditCheckpoint)).all() == sealed  # nor was anything sealed
