"""Cross-site request forgery, and the safety of GET, over the whole URL map.

- Every route that accepts POST, PUT, PATCH or DELETE is listed in `SCENARIOS` (or, for the
  token-authenticated API, in `API_ROUTES`); a new state-changing route without an entry
  fails `test_every_state_changing_route_is_covered`. Each scenario sends the request as a
  user allowed there, without a token and with another browser's genuine token: refused
  (400, or the form's own 4xx re-render for the views that check their token themselves)
  and nothing changes (every table, the upload folder, the browser's sign-in or tracking);
  the same request with the page's token goes through, so the refusal is the token's doing.
- The API does not honour cookies: a signed-in browser (or a complainant's tracking
  session) gets 401/403 from every API and Open311 route that needs a caller, and a
  cross-site form (urlencoded, multipart, text/plain) cannot file through the JSON API.
- Every GET route, for every role, changes no stored data, never answers 5xx, and carries
  the security headers (downloads, JSON, XML and redirects included).

test_staff, test_supervision, test_admin, test_notifications and test_evidence check the
token on their own forms in detail; this file is the net that no route slips through.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Callable

import re
import time

import pyotp
from sqlalchemy import func, select

from pengaduan.extensions import csrf, db
from pengaduan.models import Complaint, User
from pengaduan.policy import Actor
from pengaduan.services.administration import two_factor
from test_staff import login
from test_supervision import SUPERVISOR_AB, SUPERVISOR_B
from pengaduan.services.oversight import supervision as sv
from pengaduan.services.complaints import pin_recovery
from pengaduan.services.complaints.tracking import hash_pin
from test_citizen import valid_form
from test_security_corpus import (ADMIN, AUDITOR, OFFICER_A, OFFICER_B, PASSWORD, SUPERVISOR_A, Scene,
                                  bearer, browser, changed_tables, citizen_of, fingerprint,
                                  get_page, period, signed_in, token_of, upload_listing)
from test_security_corpus import scene  # noqa: F401  (the fixture)
from test_supervision import org  # noqa: F401  (the fixture scene builds on)
from test_supervision import pdf, png
from test_office import logo_png

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
NEW_PASSWORD = "kopi tubruk pagi hari"


@dataclass
class Scenario:
    who: str  # an email, "anonymous", or "citizen:<scene attribute of the code>"
    url: Callable[[Scene], str]
    data: Callable  # (client, scene, app) -> form fields without csrf_token
    files: dict = field(default_factory=dict)  # field name: [(bytes, filename)]
    refused: int = 400  # the answer without a valid token
    changes: bool = True  # with the page's token, the request changes stored data


def form_values(client, page: str, action: str) -> dict:
    values = dict(get_page(client, page).forms[action].values)
    values.pop("csrf_token", None)
    return values


def _act_data(client, s, app):
    return form_values(client, f"/staff/complaints/{s.a}?step=request_info", f"/staff/complaints/{s.a}/act/request_info") | {
        "message": "Mohon kirim foto KTP."}


def _standard_data(client, app):
    """The kabupaten-wide default's form (made first if it is not there), with a new cost."""
    from pengaduan.services import standards
    with app.app_context():
        if standards.default_standard() is None:
            standards.create_standard(Actor.staff(User.by_email(ADMIN)), None)
            db.session.commit()
    return form_values(client, "/staff/standards/default", "/staff/standards/default") | {
        "component_cost": f"Gratis ({time.time_ns()})"}


def _citizen_provide_info(client, s, app):
    """Officer A asks for information on complaint `late` (once); its complainant answers."""
    from pengaduan.services import advance
    with app.app_context():
        complaint = Complaint.by_code(s.late)
        if complaint.state == "received":
            advance(complaint, "request_info", Actor.staff(User.by_email(OFFICER_A)), message="Mohon kirim foto.")
            db.session.commit()
    return form_values(client, f"/track/{s.late}", f"/track/{s.late}/act/provide_info") | {"message": "Terlampir."}


def _citizen_withdraw(client, s, app):
    return form_values(client, f"/track/{s.a}/withdraw", f"/track/{s.a}/withdraw") | {"comment": "Sudah beres."}


def _citizen_message(client, s, app):
    return form_values(client, f"/track/{s.a}", f"/track/{s.a}/message") | {"message": "Kapan selesai?"}


def _staff_message(client, s, app):
    return form_values(client, f"/staff/complaints/{s.a}?step=reply", f"/staff/complaints/{s.a}/message") | {
        "message": "Sedang kami proses."}


def _lapor_posted(client, s, app):
    """Complaint `closed` came from SP4N-LAPOR!: officer A's rejection is an answer owed to LAPOR!."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from pengaduan.models import ComplaintEvent
    with app.app_context():
        complaint = Complaint.by_code(s.closed)
        complaint.lapor_id = "LAP-CSRF-1"
        db.session.commit()
        event = db.session.scalar(select(ComplaintEvent.id).where(
            ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.trigger == "reject"))
    return {"event": str(event), "posted_at": datetime.now(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%dT%H:%M")}


def _edit_data(client, s, app):
    values = form_values(client, f"/staff/supervision/{s.record_a}/edit",
                         f"/staff/supervision/{s.record_a}/edit")
    return values | {"units": ["UNIT-A"], "title": "Pembinaan diubah"}


def _new_record(client, s, app):
    with app.app_context():
        today = sv.today().isoformat()
    return {"kind": "coaching", "held_on": today, "title": "Pembinaan baru", "units": ["UNIT-A"],
            "action_description": ["Pasang SOP"], "action_owner": ["Siti"], "action_due_on": [""]}


def _old_pin_owner(client, s, app):
    """Complaint b gets an old receipt's 6-digit PIN, which this browser then opens it with
    (only such a browser is offered a new PIN)."""
    with app.app_context():
        Complaint.by_code(s.b).pin_hash = hash_pin("123456")
        db.session.commit()
    token = get_page(client, "/track").token
    assert client.post("/track", data={"csrf_token": token, "code": s.b, "pin": "123456"}).status_code == 302
    return {}


def _forgot_pin_data(client, s, app):
    """The confidential complaint has an address and the office a mail server (the link waits
    for the worker: nothing is sent during the request)."""
    with app.app_context():
        Complaint.by_code(s.secret).complainant_email = "budi@example.id"
        db.session.commit()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=9)
    return {"code": s.secret}


def _reset_pin_data(client, s, app):
    with app.app_context():
        token = pin_recovery.link_token(Complaint.by_code(s.secret))
    assert client.get(f"/track/reset-pin?token={token}").status_code == 302  # into the session
    return {}


def _today(client, s, app):
    with app.app_context():
        return sv.today().isoformat()


def _quarter(client, s, app):
    from pengaduan.services.surveys.periods import containing
    with app.app_context():
        return containing(sv.today(), "quarter").label


def _last_quarter(client, s, app):
    from pengaduan.services.evaluation.report import previous_quarter
    from pengaduan.services.surveys.periods import containing
    with app.app_context():
        return previous_quarter(containing(sv.today(), "quarter")).label


def _two_step_on(app, email: str) -> pyotp.TOTP:
    """Switch the account's two-step verification on (a browser already signed in stays so)."""
    with app.app_context():
        user = User.by_email(email)
        if not user.two_factor_enabled:
            secret = pyotp.random_base32()
            two_factor.enable(user, two_factor.seal(secret), pyotp.TOTP(secret).now(), PASSWORD,
                              actor=Actor.staff(user))
            db.session.commit()
        return pyotp.TOTP(two_factor.unseal(user.totp_secret))


def _next_code(app, email: str) -> str:
    """A code of the next 30-second step: never the one the switch-on spent."""
    return _two_step_on(app, email).at(time.time() + 30)


def _enrol_data(client, s, app):
    page = get_page(client, "/account/two-factor/enable").html
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    return {"code": pyotp.TOTP(secret).now(), "password": PASSWORD}


SCENARIOS: dict[str, Scenario] = {
    "account.enable_two_factor": Scenario(SUPERVISOR_AB, lambda s: "/account/two-factor/enable", _enrol_data),
    "account.disable_two_factor": Scenario(OFFICER_B, lambda s: "/account/two-factor/disable", lambda c, s, a: {
        "proof": PASSWORD} if _two_step_on(a, OFFICER_B) else {}),
    "account.renew_recovery_codes": Scenario(SUPERVISOR_B, lambda s: "/account/two-factor/recovery-codes",
                                             lambda c, s, a: {"code": _next_code(a, SUPERVISOR_B)}),
    "auth.second_step": Scenario(f"two-step:{SUPERVISOR_AB}", lambda s: "/login/code",
                                 lambda c, s, a: {"code": _next_code(a, SUPERVISOR_AB)}),
    "admin.user_two_factor": Scenario(ADMIN, lambda s: f"/admin/users/{s.users[OFFICER_B]}/two-factor",
                                      lambda c, s, a: {} if _two_step_on(a, OFFICER_B) else {}),
    "auth.login": Scenario("anonymous", lambda s: "/login",
                           lambda c, s, a: {"email": OFFICER_A, "password": PASSWORD}, changes=True),
    "auth.logout": Scenario(OFFICER_A, lambda s: "/logout", lambda c, s, a: {}),
    "auth.password": Scenario(OFFICER_A, lambda s: "/account/password", lambda c, s, a: {
        "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    "admin.calendar": Scenario(ADMIN, lambda s: "/admin/calendar", lambda c, s, a: {
        "action": "add", "day": "2031-07-01", "kind": "holiday", "reason": "Hari jadi kabupaten"}),
    "admin.office": Scenario(ADMIN, lambda s: "/admin/office", lambda c, s, a: {
        "name": "Layanan Pengaduan Kabupaten Contoh", "phone": "(0739) 21234"},
        files={"logo": [(logo_png(), "logo.png")]}),
    "admin.categories": Scenario(ADMIN, lambda s: "/admin/categories",
                                 lambda c, s, a: {"code": "BARU", "name": "Kategori baru"}),
    "admin.category": Scenario(ADMIN, lambda s: "/admin/categories/GENERAL",
                               lambda c, s, a: {"name": "Umum (diubah)", "active": "1"}),
    "admin.responses": Scenario(ADMIN, lambda s: "/admin/responses",
                                lambda c, s, a: {"title": "Baku baru", "body": "Isi", "category": ""}),
    "admin.response": Scenario(ADMIN, lambda s: f"/admin/responses/{s.template}", lambda c, s, a: {
        "title": "Baku diubah", "body": "Isi", "category": "", "active": "1"}),
    "admin.units": Scenario(ADMIN, lambda s: "/admin/units", lambda c, s, a: {
        "code": "UNIT-C", "name": "Dinas C", "timezone": "Asia/Jakarta", "working_days": "12345"}),
    "admin.unit": Scenario(ADMIN, lambda s: "/admin/units/UNIT-A", lambda c, s, a: {
        "name": "Dinas A (diubah)", "timezone": "Asia/Jakarta", "working_days": "12345", "active": "1"}),
    "admin.users": Scenario(ADMIN, lambda s: "/admin/users", lambda c, s, a: {
        "email": "baru@example.id", "role": "auditor", "name": "Baru"}),
    "admin.user": Scenario(ADMIN, lambda s: f"/admin/users/{s.users[OFFICER_B]}", lambda c, s, a: {
        "name": "Agus (diubah)", "role": "officer", "units": ["UNIT-B"], "active": "1"}),
    "admin.user_password": Scenario(ADMIN, lambda s: f"/admin/users/{s.users[OFFICER_B]}/password",
                                    lambda c, s, a: {}),
    "citizen.new_complaint": Scenario("anonymous", lambda s: "/complaints/new",
                                      lambda c, s, a: valid_form(), refused=422),
    "intake.new": Scenario(OFFICER_A, lambda s: "/staff/complaints/new",
                           lambda c, s, a: valid_form() | {"channel": "phone"}, refused=422),
    "citizen.track": Scenario("anonymous", lambda s: "/track",
                              lambda c, s, a: {"code": s.a, "pin": s.a_pin}, refused=404, changes=False),
    "citizen.act": Scenario("citizen:late", lambda s: f"/track/{s.late}/act/provide_info", _citizen_provide_info,
                            refused=422),
    "citizen.confirm": Scenario("citizen:a", lambda s: f"/track/{s.a}/withdraw", _citizen_withdraw,
                                refused=422),
    "citizen.message": Scenario("citizen:a", lambda s: f"/track/{s.a}/message", _citizen_message,
                                refused=422, files={"attachments": [(png(), "foto.png")]}),
    "citizen.rate_service": Scenario("citizen:closed", lambda s: f"/track/{s.closed}/rate",
                                     lambda c, s, a: {"rating": "5", "comment": "Cepat."}, refused=422),
    "citizen.forgot_pin": Scenario("anonymous", lambda s: "/track/forgot-pin", _forgot_pin_data, refused=422),
    "citizen.reset_pin": Scenario("anonymous", lambda s: "/track/reset-pin", _reset_pin_data, refused=422),
    "citizen.forget": Scenario("citizen:a", lambda s: "/track/forget", lambda c, s, a: {}, changes=False),
    "citizen.replace_old_pin": Scenario("citizen:b", lambda s: f"/track/{s.b}/pin", _old_pin_owner,
                                        refused=302),
    "staff.acknowledge": Scenario(SUPERVISOR_A, lambda s: f"/staff/complaints/{s.late}/acknowledge",
                                  lambda c, s, a: {"note": "Sudah saya tegur."}),
    "staff.act": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.a}/act/request_info", _act_data,
                          refused=422),
    "staff.assign_officer": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.a}/assign",
                                     lambda c, s, a: {"assignee": OFFICER_A}),
    "staff.instruction": Scenario(SUPERVISOR_A, lambda s: f"/staff/complaints/{s.a}/instruction",
                                  lambda c, s, a: {"instruction": "Segera hubungi pelapor."}),
    "staff.instruction_done": Scenario(
        OFFICER_A, lambda s: f"/staff/complaints/{s.late}/instructions/{s.instruction_a}/done",
        lambda c, s, a: {}),
    "staff.message": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.a}/message", _staff_message,
                              refused=422, files={"attachments": [(png(), "foto.png")]}),
    "staff.note": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.a}/note",
                           lambda c, s, a: {"note": "Catatan internal"}),
    "staff.lapor_posted": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.closed}/lapor", _lapor_posted),
    "staff.add_link": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.a}/links",
                               lambda c, s, a: {"related": s.late}),
    "staff.remove_link": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.a}/links/delete",
                                  lambda c, s, a: {"related": s.late}),  # linked by staff.add_link, run first
    "staff.reveal": Scenario(SUPERVISOR_A, lambda s: f"/staff/complaints/{s.secret}/reveal",
                             lambda c, s, a: {"reason": "Pelapor perlu dihubungi"}),
    "staff.open_notification": Scenario(OFFICER_A, lambda s: f"/staff/notifications/{s.notification_a}/open",
                                        lambda c, s, a: {}),
    "staff.read_all_notifications": Scenario(OFFICER_A, lambda s: "/staff/notifications/read",
                                             lambda c, s, a: {}),
    "reporting.evidence": Scenario(AUDITOR, lambda s: "/staff/evidence", lambda c, s, a: {
        "from": period()[0], "to": period()[1], "unit": ""}),
    "audit_log.verify": Scenario(AUDITOR, lambda s: "/staff/audit/verify", lambda c, s, a: {}),
    "supervision.new": Scenario(SUPERVISOR_A, lambda s: "/staff/supervision/new", _new_record,
                                files={"files": [(png(), "notulen.png")]}),
    "supervision.edit": Scenario(SUPERVISOR_A, lambda s: f"/staff/supervision/{s.record_a}/edit", _edit_data),
    "supervision.add_action": Scenario(SUPERVISOR_A, lambda s: f"/staff/supervision/{s.record_a}/actions",
                                       lambda c, s, a: {"description": "Baru", "owner": "Siti", "due_on": ""}),
    "supervision.action_status": Scenario(
        SUPERVISOR_A, lambda s: f"/staff/supervision/{s.record_a}/actions/{s.action_a}",
        lambda c, s, a: {"status": "done", "completed_on": _today(c, s, a)}),
    "supervision.add_files": Scenario(SUPERVISOR_A, lambda s: f"/staff/supervision/{s.record_a}/files",
                                      lambda c, s, a: {}, files={"files": [(png(), "foto.png")]}),
    "supervision.documents": Scenario(SUPERVISOR_A, lambda s: "/staff/supervision/documents", lambda c, s, a: {
        "unit": "UNIT-A", "kind": "complaint_sop", "title": "SOP", "valid_from": "2026-01-01",
        "valid_until": ""}, files={"file": [(pdf(), "sop.pdf")]}),
    "compensation.new": Scenario(OFFICER_A, lambda s: "/staff/compensation/new", lambda c, s, a: {
        "unit": "UNIT-A", "kind": "refund", "given_on": _today(c, s, a), "value": "25000",
        "approved_by": "Kepala Dinas A"}, files={"files": [(png(), "kuitansi.png")]}),
    "compensation.correct": Scenario(
        OFFICER_A, lambda s: f"/staff/compensation/{s.compensation_a}/edit",
        lambda c, s, a: form_values(c, f"/staff/compensation/{s.compensation_a}/edit",
                                    f"/staff/compensation/{s.compensation_a}/edit") | {"value": "10000"},
        files={"files": [(png(), "surat.png")]}),
    "ombudsman.new": Scenario(SUPERVISOR_A, lambda s: "/staff/ombudsman/new", lambda c, s, a: {
        "kind": "saran_perbaikan", "number": "B/2/2026", "issued_on": _today(c, s, a), "received_on": _today(c, s, a),
        "title": "Saran", "units": "UNIT-A"}, files={"files": [(png(), "lahp.png")]}),
    "ombudsman.add_item": Scenario(SUPERVISOR_A, lambda s: f"/staff/ombudsman/{s.ombudsman_product_a}/items",
                                   lambda c, s, a: {"action": "SOP", "owner": "Kabid", "unit": "UNIT-A"}),
    "ombudsman.reported": Scenario(SUPERVISOR_A, lambda s: f"/staff/ombudsman/{s.ombudsman_product_a}/reported",
                                   lambda c, s, a: {"reported_back_on": _today(c, s, a)}),
    "ombudsman.item_done": Scenario(OFFICER_A, lambda s: f"/staff/ombudsman/items/{s.ombudsman_item_a}/done",
                                    lambda c, s, a: {"done_on": _today(c, s, a), "evidence": "SOP terbit"},
                                    files={"files": [(png(), "sk.png")]}),
    "ombudsman.item_drop": Scenario(SUPERVISOR_A, lambda s: f"/staff/ombudsman/items/{s.ombudsman_item_spare}/drop",
                                    lambda c, s, a: {"reason": "Dicabut"}),
    "ombudsman.item_reopen": Scenario(SUPERVISOR_A,
                                      lambda s: f"/staff/ombudsman/items/{s.ombudsman_item_dropped}/reopen",
                                      lambda c, s, a: {"reason": "Diterbitkan ulang"}),
    "ombudsman.item_deadline": Scenario(SUPERVISOR_A,
                                        lambda s: f"/staff/ombudsman/items/{s.ombudsman_item_a}/deadline",
                                        lambda c, s, a: {"due_on": _today(c, s, a), "reason": "Diperpanjang"}),
    "ombudsman.edit": Scenario(SUPERVISOR_A, lambda s: f"/staff/ombudsman/{s.ombudsman_product_a}/edit",
                               lambda c, s, a: {"kind": "tindakan_korektif", "number": "LAHP/1/2026-R",
                                                "issued_on": _today(c, s, a), "received_on": _today(c, s, a),
                                                "title": "Penundaan berlarut", "units": "UNIT-A"}),
    "standards.create": Scenario(SUPERVISOR_A, lambda s: "/staff/standards/UNIT-A/create", lambda c, s, a: {}),
    "standards.standard": Scenario(ADMIN, lambda s: "/staff/standards/default", lambda c, s, a: _standard_data(c, a)),
    "search.complainant": Scenario(OFFICER_A, lambda s: "/staff/search/complainant",
                                   lambda c, s, a: {"who": "Budi", "state": "any"}),
    "staff.queue_assign": Scenario(OFFICER_A, lambda s: "/staff/queue/assign", lambda c, s, a: form_values(
        c, "/staff/queue", "/staff/queue/assign") | {"codes": [s.a], "assignee": OFFICER_A}, refused=422),
    "staff.queue_csv": Scenario(OFFICER_A, lambda s: "/staff/queue.csv",  # the export is audited
                                lambda c, s, a: form_values(c, "/staff/queue", "/staff/queue.csv")),
    "surveys.open": Scenario(SUPERVISOR_A, lambda s: "/staff/surveys/open", lambda c, s, a: {
        "unit": "UNIT-A", "period": str(int(s.survey_a_path.rsplit("/", 1)[1][:4]) + 1),  # next year (no overlap)
        "service_types": "KTP-el", "population": "500"}),
    "surveys.edit": Scenario(SUPERVISOR_A, lambda s: f"/staff/surveys/{s.survey_a}/edit",
                             lambda c, s, a: {"service_types": "KTP-el\nKK", "population": "250"}),
    "surveys.paper": Scenario(OFFICER_A, lambda s: f"/staff/surveys/{s.survey_a}/paper",
                              lambda c, s, a: {f"U{i}": "3" for i in range(1, 10)}),
    "survey_results.add_action": Scenario(
        SUPERVISOR_A, lambda s: f"/staff/surveys/{s.survey_a}/results/actions",
        lambda c, s, a: {"element": "U2", "description": "Sederhanakan alur", "owner": "Siti", "due_on": ""}),
    "survey_results.update_action": Scenario(
        SUPERVISOR_A, lambda s: f"/staff/surveys/{s.survey_a}/results/actions/{s.survey_action_a}",
        lambda c, s, a: {"status": "done", "completed_on": "", "evidence": "Foto loket baru"}),
    "evaluation.add_action": Scenario(SUPERVISOR_A, lambda s: "/staff/evaluation/actions", lambda c, s, a: {
        "unit": "UNIT-A", "period": _quarter(c, s, a), "group": "unit:UNIT-A", "description": "Tambah loket",
        "owner": "Siti", "due_on": ""}),
    "evaluation.update_action": Scenario(
        SUPERVISOR_A, lambda s: f"/staff/evaluation/actions/{s.evaluation_action_a}", lambda c, s, a: {
            "unit": "UNIT-A", "period": _quarter(c, s, a), "status": "done", "completed_on": "",
            "evidence": "Foto loket baru"}),
    "evaluation.file_report": Scenario(SUPERVISOR_A, lambda s: "/staff/evaluation/file", lambda c, s, a: {
        "unit": "UNIT-A", "period": _last_quarter(c, s, a)}),
    "evaluation.record_finding": Scenario(OFFICER_A, lambda s: f"/staff/complaints/{s.closed}/finding", lambda c, s, a: {
        "finding": "founded", "maladministration": "tidak_patut", "systemic": "no", "root_cause": "Petugas kasar"}),
    "survey.questionnaire": Scenario("anonymous", lambda s: s.survey_a_path,  # keeps what was typed
                                     lambda c, s, a: {f"U{i}": "4" for i in range(1, 10)}, refused=422),
}

# Routes without cookies and so without CSRF: callers prove who they are in every request.
API_ROUTES = {
    "api_v1.file": "anyone may file, but only with a JSON body (no cross-site form can send one)",
    "api_v1.transition": "bearer token or X-Tracking-Pin header, never the session cookie",
    "open311.create_request": "an api_key in the request, never the session cookie",
}
# Views that check the token themselves so that a refusal keeps what was typed.
SELF_CHECKED = {name for name, s in SCENARIOS.items() if s.refused != 400}


def _state_changing_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING}


def test_every_state_changing_route_is_covered(app):
    """The scenarios are the URL map's state-changing routes, no more and no fewer; only the
    views listed as checking their own token, and the API, are exempt from CSRFProtect."""
    endpoints = _state_changing_endpoints(app)
    assert endpoints - set(SCENARIOS) - set(API_ROUTES) == set(), "add a CSRF scenario for these"
    assert (set(SCENARIOS) | set(API_ROUTES)) - endpoints == set(), "these routes no longer exist"
    exempt_views = set()
    for endpoint in endpoints:
        view = app.view_functions[endpoint]
        if f"{view.__module__}.{view.__name__}" in csrf._exempt_views:
            exempt_views.add(endpoint)
        blueprint = app.blueprints.get(endpoint.split(".")[0])
        if blueprint is not None and blueprint.name in {b.name for b in csrf._exempt_blueprints}:
            exempt_views.add(endpoint)
    assert exempt_views == SELF_CHECKED | set(API_ROUTES)


def _browser_for(app, scene: Scene, who: str):
    if who == "anonymous":
        return browser(app)
    if who.startswith("two-step:"):  # the right password typed, the code still awaited
        email = who.split(":", 1)[1]
        _two_step_on(app, email)
        client = browser(app)
        assert login(client, email).headers["Location"].endswith("/login/code")
        return client
    if who.startswith("citizen:"):
        name = who.split(":", 1)[1]
        return citizen_of(app, getattr(scene, name), getattr(scene, f"{name}_pin"))
    return signed_in(app, who)


def _foreign_token(app) -> str:
    """A genuine token, but of another browser's session."""
    return get_page(browser(app), "/login").token


def _send(client, scenario: Scenario, url: str, data: dict, token: str | None):
    payload = dict(data)
    if token is not None:
        payload["csrf_token"] = token
    for name, files in scenario.files.items():
        payload[name] = [(io.BytesIO(content), filename) for content, filename in files]
    return client.post(url, data=payload, content_type="multipart/form-data")


def _session_of(client) -> tuple:
    """What a forged request must not change in the browser: who is signed in, what it tracks."""
    with client.session_transaction() as session:
        return session.get("_user_id"), tuple(session.get("tracked", []))


def _check_refused(app, scene: Scene, endpoint: str) -> None:
    scenario = SCENARIOS[endpoint]
    client = _browser_for(app, scene, scenario.who)
    url = scenario.url(scene)
    token_of(client)  # the session has a token of its own; the forged requests do not carry it
    data = scenario.data(client, scene, app)
    before, files, session = fingerprint(app), upload_listing(app), _session_of(client)
    for forged in (None, _foreign_token(app)):
        response = _send(client, scenario, url, data, forged)
        assert response.status_code == scenario.refused, (endpoint, forged, response.status_code)
        assert changed_tables(before, fingerprint(app)) == [], endpoint
        assert upload_listing(app) == files, endpoint
        assert _session_of(client) == session, endpoint


def test_no_state_changing_route_accepts_a_forged_request(app, scene):
    """Without a token, or with another browser's genuine token, every scenario is refused
    and changes nothing: no table, no stored file, not the browser's sign-in or tracking."""
    for endpoint in sorted(SCENARIOS):
        _check_refused(app, scene, endpoint)


# Scenarios that end a session or change an account run last, so the others can sign in.
LAST = ["admin.user", "admin.user_password", "auth.logout", "auth.password"]


def test_the_same_requests_go_through_with_the_pages_token(app, scene):
    """The refusals above are the token's doing: with the page's own token every scenario
    goes through (200 or a redirect) and, where it is a change, stored data changes."""
    citizen_last = ["citizen.act", "citizen.confirm"]  # the complainants' steps after staff acted
    order = [e for e in sorted(SCENARIOS) if e not in LAST and e not in citizen_last]
    for endpoint in order + citizen_last + LAST:
        scenario = SCENARIOS[endpoint]
        client = _browser_for(app, scene, scenario.who)
        url = scenario.url(scene)
        token = token_of(client)
        data = scenario.data(client, scene, app)
        before = fingerprint(app)
        response = _send(client, scenario, url, data, token)
        assert response.status_code in (200, 302), (endpoint, response.status_code)
        if scenario.changes:
            assert changed_tables(before, fingerprint(app)) != [], endpoint


# --- the API takes no ambient authority -----------------------------------------------------

def _counts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Complaint.id)))


def test_a_signed_in_browser_has_no_authority_in_the_api(app, scene):
    """The session cookie (staff) or the tracking session (complainant) opens nothing in the
    API: reads answer 401, a transition is refused (401) and changes nothing; Open311 filing
    without its key is refused (403)."""
    with app.app_context():
        version = Complaint.by_code(scene.a).version
    for who in (OFFICER_A, SUPERVISOR_A, AUDITOR, "citizen:a"):
        client = _browser_for(app, scene, who)
        before = fingerprint(app)
        for url in (f"/api/v1/complaints/{scene.a}", f"/api/v1/complaints/{scene.a}/events",
                    "/api/v1/complaints", "/api/v1/complaints?unit=UNIT-A"):
            response = client.get(url)
            assert response.status_code == 401, (who, url)
            assert scene.a not in response.get_data(as_text=True)
        for body in ({"trigger": "request_info", "message": "Kirim KTP", "version": version},
                     {"trigger": "withdraw", "version": version}):
            response = client.post(f"/api/v1/complaints/{scene.a}/transitions", json=body)
            assert response.status_code == 401, (who, body)
        response = client.post("/open311/v2/requests.json", data={
            "service_code": "UNIT-A.GENERAL", "description": "Jalan rusak", "address_string": "Jl. A"})
        assert response.status_code == 403, who
        assert changed_tables(before, fingerprint(app)) == [], who


CROSS_SITE_BODIES = {  # what an HTML form on another site can send
    "urlencoded": ("application/x-www-form-urlencoded",
                   "unit=UNIT-A&title=Palsu&description=Palsu&privacy=anonymous"),
    "multipart": ("multipart/form-data; boundary=x",
                  '--x\r\nContent-Disposition: form-data; name="title"\r\n\r\nPalsu\r\n--x--\r\n'),
    "text-plain-json": ("text/plain", json.dumps({"unit": "UNIT-A", "title": "Palsu", "description": "Palsu",
                                                  "privacy": "anonymous"})),
}


def test_no_cross_site_form_can_file_through_the_json_api(app, scene):
    """What an HTML form on another site can send (urlencoded, multipart, JSON as text/plain)
    is refused (400) and files nothing, with or without a signed-in session."""
    before = _counts(app)
    for client in (browser(app), signed_in(app, OFFICER_A)):
        for name, (content_type, body) in CROSS_SITE_BODIES.items():
            response = client.post("/api/v1/complaints", data=body, content_type=content_type)
            assert response.status_code == 400, name
    assert _counts(app) == before


def test_api_token_still_works_beside_a_session(app, scene):
    """The refusal above is about the missing token: with it, the same browser reads."""
    client = signed_in(app, OFFICER_A)
    response = client.get(f"/api/v1/complaints/{scene.a}", headers=bearer(scene.tokens[OFFICER_A]))
    assert response.status_code == 200


# --- GET is safe: no route changes data when read, for any role ------------------------------

def _get_samples(scene: Scene) -> dict[str, list[dict]]:
    """URL arguments to read each GET endpoint with (several where one is not enough)."""
    return {
        "admin.category": [{"code": "GENERAL"}], "admin.unit": [{"code": "UNIT-A"}],
        "admin.response": [{"template_id": scene.template}],
        "admin.user": [{"user_id": scene.users[OFFICER_A]}],
        "api_v1.complaint": [{"code": scene.a}], "api_v1.events": [{"code": scene.a}],
        "citizen.attachment": [{"code": scene.a, "attachment_id": scene.attachment_a}],
        "citizen.view": [{"code": scene.a}], "citizen.show_new_pin": [{"code": scene.a}],
        "citizen.confirm": [{"code": scene.a, "trigger": "withdraw"}],
        "open311.discovery": [{"fmt": "json"}, {"fmt": "xml"}],
        "open311.get_request": [{"code": scene.a, "fmt": "json"}, {"code": scene.a, "fmt": "xml"}],
        "open311.list_requests": [{"fmt": "json"}, {"fmt": "xml"}],
        "open311.service_definition": [{"code": "UNIT-A.GENERAL", "fmt": "xml"}],
        "open311.services": [{"fmt": "json"}], "open311.token": [{"token": scene.a, "fmt": "json"}],
        "public.set_language": [{"code": "en", "next": "/track"}],
        "public.office_logo": [{"version": 1, "ext": "png"}],
        "staff.complaint": [{"code": scene.a}, {"code": scene.secret}],
        "staff.attachment": [{"code": scene.a, "attachment_id": scene.attachment_a}],
        "static": [{"filename": "css/app.css"}],
        "supervision.document_file": [{"document_id": scene.document_a}],
        "supervision.record": [{"record_id": scene.record_a}],
        "supervision.edit": [{"record_id": scene.record_a}],
        "supervision.record_file": [{"file_id": scene.file_a}],
        "surveys.period": [{"period_id": scene.survey_a}], "surveys.poster": [{"period_id": scene.survey_a}],
        "surveys.paper": [{"period_id": scene.survey_a}],
        "survey_results.report": [{"period_id": scene.survey_a}],
        "survey_results.report_pdf": [{"period_id": scene.survey_a}],
        "survey.questionnaire": [dict(zip(("unit_code", "period"), scene.survey_a_path.split("/")[2:]))],
        "survey.thanks": [dict(zip(("unit_code", "period"), scene.survey_a_path.split("/")[2:]))],
        "survey.current": [{"unit_code": "UNIT-A"}, {"unit_code": "UNIT-B"}],
        "readiness.unit": [{"unit_code": "UNIT-A"}, {"unit_code": "UNIT-B"}],
        "readiness.unit_csv": [{"unit_code": "UNIT-A"}],
        "compensation.detail": [{"compensation_id": 1}], "compensation.evidence_file": [{"file_id": 1}],
        "compensation.correct": [{"compensation_id": scene.compensation_a}],
        "ombudsman.product": [{"product_id": scene.ombudsman_product_a}],
        "ombudsman.edit": [{"product_id": scene.ombudsman_product_a}],
        "ombudsman.product_file": [{"file_id": scene.ombudsman_file_a}], "ombudsman.item_file": [{"file_id": 1}],
        "ombudsman.index": [{}, {"status": "late", "unit": "UNIT-A"}],
        "standards.standard": [{"scope": "UNIT-A"}, {"scope": "default"}],
        "standards.poster": [{"scope": "UNIT-A"}], "service_standard.unit": [{"unit_code": "UNIT-A"}],
        "evaluation.report": [{}, {"unit": "UNIT-A", "period": "2026-Q3", "format": "csv"}],
        "reporting.report": [{}, {"from": period()[0], "to": period()[1], "unit": "UNIT-A"},
                             {"from": period()[0], "to": period()[1], "unit": "UNIT-A", "format": "csv"}],
    }


READERS = ["anonymous", "citizen:a", OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN]
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "same-origin"}


NO_REFERRER = {"/track/reset-pin"}  # the emailed link's page: not even its own address goes along


DERIVED = {"public_statistics"}  # tables of figures computed from the others


def test_no_get_route_changes_data_or_loses_its_headers(app, scene):
    """Every GET route of the URL map, read by every role: never a 5xx, the security headers
    on every answer (files, JSON, XML, CSV, redirects, errors), and no stored data changed."""
    from flask import url_for

    samples = _get_samples(scene)
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            for args in samples.get(rule.endpoint, [{}]):
                assert set(rule.arguments) <= set(args), f"add sample arguments for {rule.endpoint}"
                urls.append(url_for(rule.endpoint, **args))
    for who in READERS:
        client = _browser_for(app, scene, who)
        before = fingerprint(app)  # after signing in, which records the time of the sign-in
        for url in urls:
            response = client.get(url)
            assert response.status_code < 500, (who, url, response.status_code)
            stricter = {"Referrer-Policy": "no-referrer"} if url in NO_REFERRER else {}
            for name, value in {**HEADERS, **stricter}.items():
                assert response.headers.get(name) == value, (who, url, name)
            csp = response.headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp, (who, url)
        # /statistik keeps the figures it had to compute (the worker's snapshot, when the
        # worker has not made it yet): derived from the data, so a cache and not data.
        assert [t for t in changed_tables(before, fingerprint(app)) if t not in DERIVED] == [], (who, urls)
