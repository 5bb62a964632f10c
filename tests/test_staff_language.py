"""The staff side speaks the reader's language throughout: holiday and cuti bersama names
from the `holidays` package (the admin calendar, a deadline's explanation), role names, and
every flash message; English stays as it was."""
from __future__ import annotations

import ast
import html as htmllib
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pages import Page
from pengaduan.extensions import db
from pengaduan.i18n import role_label
from pengaduan.models import Role
from pengaduan.services import create_category, create_unit, create_user, file_complaint
from pengaduan.services.administration.calendar import add_day_off
from pengaduan.policy import Actor
from pengaduan.sla.calendar import read_day_off

ROOT = Path(__file__).resolve().parent.parent
WIB = ZoneInfo("Asia/Jakarta")
PASSWORD = "correct horse battery"
ADMIN, OFFICER = "admin@example.id", "officer@example.id"
RAW = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
       "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.",
       "privacy": "public", "name": "Budi Hartono", "email": "budi@example.id", "consent": True}
INDEPENDENCE = {"en": "Independence Day", "id": "Hari Kemerdekaan Republik Indonesia"}
NYEPI_CUTI = {"en": "Day of Silence Joint Holiday (cuti bersama)", "id": "Cuti Bersama Hari Suci Nyepi"}
PERDA = "Perda Kota No. 7/2026 tentang Hari Jadi Kota"


@pytest.fixture
def org(app):
    with app.app_context():
        create_user(ADMIN, "admin", password=PASSWORD)
        create_unit("UNIT-A", "Dinas A")
        create_category("GENERAL", "Umum")
        create_user(OFFICER, "officer", password=PASSWORD, unit_codes=["UNIT-A"])
        db.session.commit()


def signed_in(app, email: str, lang: str):
    client = app.test_client()
    client.set_cookie("lang", lang)
    token = Page(client.get("/login").get_data(as_text=True)).token
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert response.status_code == 302, email
    return client


def text_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return htmllib.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def file_at(app, moment: datetime) -> str:
    with app.app_context():
        code = file_complaint(dict(RAW), at=moment).complaint.tracking_code
        db.session.commit()
        return code


# --- holiday names -------------------------------------------------------------------------

@pytest.mark.parametrize("lang, other", [("id", "en"), ("en", "id")])
def test_admin_calendar_names_holidays_in_the_readers_language(app, org, lang, other):
    html = text_of(signed_in(app, ADMIN, lang), "/admin/calendar?year=2026")
    assert INDEPENDENCE[lang] in html and INDEPENDENCE[other] not in html
    assert "Cuti Bersama Hari Suci Nyepi" in html if lang == "id" else "Day of Silence Joint Holiday" in html


@pytest.mark.parametrize("lang", ["id", "en"])
def test_deadline_explanation_names_its_days_off_in_the_readers_language(app, org, lang):
    """Filed on Fri 14 Aug 2026: the weekend and Independence Day (17 Aug) are skipped. Filed on
    Tue 17 Mar: Nyepi's cuti bersama (18 Mar) is skipped; an override keeps its reason."""
    august = file_at(app, datetime(2026, 8, 14, 9, tzinfo=WIB))
    march = file_at(app, datetime(2026, 3, 17, 9, tzinfo=WIB))
    with app.app_context():
        add_day_off("2026-04-08", "holiday", PERDA, Actor.cli())
        db.session.commit()
    april = file_at(app, datetime(2026, 4, 7, 9, tzinfo=WIB))
    officer = signed_in(app, OFFICER, lang)
    html = text_of(officer, f"/staff/complaints/{august}")
    weekend = {"id": "akhir pekan", "en": "weekend"}[lang]
    assert f"2026-08-15: {weekend}" in html
    assert f"2026-08-17: {INDEPENDENCE[lang]}" in html
    html = text_of(officer, f"/staff/complaints/{march}")
    assert f"2026-03-18: {NYEPI_CUTI[lang]}</li>" in html  # the Indonesian name already says cuti bersama
    html = text_of(officer, f"/staff/complaints/{april}")
    override = {"id": "hari libur, ditetapkan di kalender", "en": "holiday, override"}[lang]
    assert f"2026-04-08: {PERDA} ({override})" in html


def test_a_day_off_text_is_read_back_with_its_names():
    assert read_day_off("2026-08-15", "weekend").kind == "weekend"
    independence = read_day_off(date(2026, 8, 17), "Independence Day")
    assert (independence.kind, independence.names, independence.override) == ("holiday", INDEPENDENCE, False)
    nyepi = read_day_off("2026-03-18", NYEPI_CUTI["en"])
    assert nyepi.kind == "cuti_bersama" and nyepi.names["id"] == NYEPI_CUTI["id"]
    override = read_day_off("2026-04-10", "SKB 2/2026 (cuti bersama, override)")
    assert (override.kind, override.names, override.override) == \
        ("cuti_bersama", {"en": "SKB 2/2026", "id": "SKB 2/2026"}, True)
    renamed = read_day_off("2026-08-17", "Proclamation Day")  # a name the package no longer gives
    assert renamed.names == {"en": "Proclamation Day", "id": "Proclamation Day"}


# --- role names ----------------------------------------------------------------------------

def test_every_role_has_a_label_in_both_languages(app):
    for lang in ("id", "en"):
        with app.test_request_context(f"/?lang={lang}"):
            labels = {role: role_label(role) for role in Role}
            assert all(labels.values()) and len(set(labels.values())) == len(Role), labels
    with app.test_request_context("/?lang=id"):
        assert role_label(Role.OFFICER) == "Petugas pengaduan"
        assert role_label("citizen") == "Pelapor" and role_label("system") == "Sistem"


@pytest.mark.parametrize("lang, officer, admin", [("id", "Petugas pengaduan", "Administrator"),
                                                  ("en", "Complaint officer", "Administrator")])
def test_roles_are_named_in_the_staff_header_and_the_accounts_list(app, org, lang, officer, admin):
    html = text_of(signed_in(app, OFFICER, lang), "/staff/queue")
    assert f", {officer})</button>" in html  # the sign-out button names who is signed in
    html = text_of(signed_in(app, ADMIN, lang), "/admin/users")
    assert f"<td>{officer}</td>" in html and f"<td>{admin}</td>" in html
    assert f'<option value="officer" selected>{officer}</option>' in html


# --- flash messages ------------------------------------------------------------------------

def untranslated_flashes(source: str) -> list[int]:
    """Lines of `flash(...)` calls whose message is a string written out rather than _()'s."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        message = node.args[0]
        if name == "flash" and (isinstance(message, (ast.JoinedStr, ast.BinOp))
                                or isinstance(message, ast.Constant) and isinstance(message.value, str)):
            lines.append(node.lineno)
    return lines


def test_the_flash_check_finds_a_plain_message():
    assert untranslated_flashes('flash("Saved.", "success")\nflash(f"{n} saved")\n'
                                'flash(_("Saved."))\nflash(message, category)\n') == [1, 2]


def test_every_flash_message_is_translated():
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "pengaduan").rglob("*.py"))
                 for line in untranslated_flashes(path.read_text(encoding="utf-8"))]
    assert offenders == []
