"""Administration pages: only admins, every change audited, bad input kept and explained."""
import re

import pytest
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Category, Unit, User
from pengaduan.services import create_category, create_unit, create_user

PASSWORD = "correct horse battery"


@pytest.fixture
def org(app):
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_category("GENERAL", "Umum")
        create_user("admin@example.id", "admin", password=PASSWORD)
        create_user("officer@example.id", "officer", password=PASSWORD, unit_codes=["UNIT-A"])
        db.session.commit()


def token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def signed_in(app, email):
    client = app.test_client()
    client.set_cookie("lang", "en")
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": token(page), "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 302
    return client


def post(client, path, **data):
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": token(page), **data})


def actions(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()


@pytest.mark.parametrize("path", ["/admin/users", "/admin/units", "/admin/categories",
                                  "/admin/units/UNIT-A", "/admin/categories/GENERAL"])
def test_only_admins_enter(app, org, path):
    """Anonymous visitors are sent to sign in; other roles are refused."""
    assert app.test_client().get(path).status_code == 302
    assert signed_in(app, "officer@example.id").get(path).status_code == 403
    assert signed_in(app, "admin@example.id").get(path).status_code == 200


def test_admin_creates_an_account_shown_once(app, org):
    """A new account gets a password shown once in the flash, and an audit event."""
    admin = signed_in(app, "admin@example.id")
    response = post(admin, "/admin/users", email="siti@example.id", role="officer",
                    name="Siti", units="UNIT-A")
    assert response.status_code == 302
    page = admin.get("/admin/users").get_data(as_text=True)
    password = re.search(r"shown only now: (\S+)</div>", page).group(1)
    assert "siti@example.id" in page
    with app.app_context():
        assert User.by_email("siti@example.id").check_password(password)
    assert actions(app)[-1] == "user.created"


def test_rejected_account_keeps_what_was_typed(app, org):
    """An officer without a unit is refused at the field; the typed email stays."""
    admin = signed_in(app, "admin@example.id")
    response = post(admin, "/admin/users", email="budi@example.id", role="officer", name="Budi")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "officers and supervisors need at least one unit" in page and 'value="budi@example.id"' in page
    with app.app_context():
        assert User.by_email("budi@example.id") is None


def test_deactivating_an_account_ends_its_access(app, org):
    """A deactivated officer can no longer sign in; the change is audited before/after."""
    admin = signed_in(app, "admin@example.id")
    with app.app_context():
        officer_id = User.by_email("officer@example.id").id
    response = post(admin, f"/admin/users/{officer_id}", name="Officer", role="officer",
                    units="UNIT-A")  # `active` unticked
    assert response.status_code == 302
    with app.app_context():
        assert User.by_email("officer@example.id").active is False
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event.action == "user.updated" and '"active":false' in event.body
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    refused = client.post("/login", data={"csrf_token": token(page), "email": "officer@example.id",
                                          "password": PASSWORD})
    assert refused.status_code == 401


def test_reset_password_unlocks_and_replaces(app, org):
    """A reset gives a new password, unlocks the account, and the old password stops working."""
    admin = signed_in(app, "admin@example.id")
    with app.app_context():
        officer_id = User.by_email("officer@example.id").id
    client = app.test_client()
    for _ in range(5):  # held back at this address
        page = client.get("/login").get_data(as_text=True)
        assert client.post("/login", data={"csrf_token": token(page), "email": "officer@example.id",
                                           "password": "wrong password"}).status_code == 401
    page = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"csrf_token": token(page), "email": "officer@example.id",
                                       "password": PASSWORD}).status_code == 401
    page = admin.get(f"/admin/users/{officer_id}").get_data(as_text=True)
    response = admin.post(f"/admin/users/{officer_id}/password", data={"csrf_token": token(page)})
    assert response.status_code == 200  # the new password is in this answer only
    new = re.search(r'data-testid="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    with app.app_context():
        officer = User.by_email("officer@example.id")
        assert officer.check_password(new) and not officer.check_password(PASSWORD)
    assert "user.password_reset" in actions(app)
    page = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"csrf_token": token(page), "email": "officer@example.id",
                                       "password": new}).status_code == 302


def test_unit_and_category_edits_are_audited(app, org):
    """Changing a unit's working week and a category's units writes before/after events."""
    admin = signed_in(app, "admin@example.id")
    assert post(admin, "/admin/units/UNIT-A", name="Dinas A", timezone="Asia/Makassar",
                working_days="123456", cuti_bersama_off="1", active="1").status_code == 302
    assert post(admin, "/admin/categories/GENERAL", name="Umum", units="UNIT-A",
                active="1").status_code == 302
    bad = post(admin, "/admin/units/UNIT-A", name="", timezone="Asia/Jakarta", working_days="89")
    assert bad.status_code == 422 and "ISO weekdays" in bad.get_data(as_text=True)
    with app.app_context():
        unit = Unit.by_code("UNIT-A")
        assert (unit.timezone, unit.working_days) == ("Asia/Makassar", "123456")
        assert [u.code for u in Category.by_code("GENERAL").units] == ["UNIT-A"]
    assert actions(app)[-2:] == ["unit.updated", "category.updated"]


def test_admin_forms_need_the_csrf_token(app, org):
    """A forged request changes nothing."""
    admin = signed_in(app, "admin@example.id")
    before = len(actions(app))
    response = admin.post("/admin/units", data={"code": "X", "name": "X"})
    assert response.status_code == 400
    assert len(actions(app)) == before


def test_response_templates_prefill_an_officers_answer(app, org):
    """An admin writes a standard answer; the officer opens a step with its text filled in."""
    admin = signed_in(app, "admin@example.id")
    body = "Terima kasih atas laporan Anda. Petugas kami sudah menindaklanjuti."
    assert post(admin, "/admin/responses", title="Sudah ditindaklanjuti", body=body,
                category="GENERAL").status_code == 302
    assert post(admin, "/admin/responses", title="", body="").status_code == 422
    assert "response_template.created" in actions(app)
    with app.app_context():
        from pengaduan.models import ResponseTemplate
        from pengaduan.policy import Actor
        from pengaduan.services import advance, file_complaint

        complaint = file_complaint({"unit": "UNIT-A", "category": "GENERAL", "title": "Jalan",
                                    "description": "Rusak", "privacy": "anonymous"}).complaint
        advance(complaint, "verify", Actor.staff(User.by_email("officer@example.id")),
                unit="UNIT-A", category="GENERAL", classification="pengaduan")
        db.session.commit()
        code, template_id = complaint.tracking_code, db.session.scalars(
            select(ResponseTemplate.id)).one()
    officer = signed_in(app, "officer@example.id")
    page = officer.get(f"/staff/complaints/{code}?step=follow_up").get_data(as_text=True)
    assert "Sudah ditindaklanjuti" in page  # offered in the follow-up's template picker
    filled = officer.get(f"/staff/complaints/{code}?use={template_id}&step=follow_up")
    html = filled.get_data(as_text=True)
    assert re.search(r'id="follow_up-response"[^>]*>' + re.escape(body) + "</textarea>", html)
