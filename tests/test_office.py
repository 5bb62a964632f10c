"""The office's identity (issue #16): an admin sets its name, logo and contacts; the public
header and footer, every email and the reports show them; every change is audited; a bad
value is refused with its reason and what was typed stays; a logo is accepted by its
content and kept without its metadata."""
from __future__ import annotations

import io
import json
import re

from PIL import Image, PngImagePlugin
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import AuditEvent, OfficeProfile, OutboxMessage
from pengaduan.policy import Actor
from pengaduan.services import create_user
from pengaduan.services.administration.office import save_office
from pengaduan.services.complaints.receipts import send_receipt
from pengaduan.services.phones import readable, to_e164, whatsapp_link
from test_admin import PASSWORD, org, post, signed_in  # noqa: F401 (org is a fixture)

OFFICE = "/admin/office"
SETTINGS = {"name": "Layanan Pengaduan Pemerintah Kabupaten Kaur",
            "address": "Jl. Jenderal Sudirman No. 1\r\nBintuhan, Kaur 38961",
            "phone": "(0739) 21234", "whatsapp": "0812-3456-7890",
            "email": "Pengaduan@KaurKab.go.id", "hours": "Senin–Kamis 08.00–15.30, Jumat 08.00–11.00 WIB",
            "lapor_url": "https://www.lapor.go.id"}


def logo_png(size=(64, 64), text: str | None = None, exif: bool = False) -> bytes:
    """A real PNG, optionally carrying a text chunk and EXIF (metadata to be stripped)."""
    image = Image.new("RGBA", size, (11, 83, 148, 255))
    options = {}
    if text:
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", text)
        options["pnginfo"] = info
    if exif:
        data = Image.Exif()
        data[0x013B] = "Camera Owner Rahasia"  # Artist
        options["exif"] = data.tobytes()
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


def events(app, action="office.updated") -> list[dict]:
    """The audit events of `action`, as their chained bodies."""
    with app.app_context():
        return [json.loads(body) for body in db.session.scalars(
            select(AuditEvent.body).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def html(response) -> str:
    return response.get_data(as_text=True)


def test_telephone_numbers_become_e164():
    assert to_e164("0812-3456-7890") == "+6281234567890"
    assert to_e164("+62 812 3456 7890") == to_e164("62 812 3456 7890") == "+6281234567890"
    assert to_e164("(0739) 21234") == "+6273921234"
    assert to_e164("+65 6123 4567") == "+6561234567"  # another country's own code is kept
    assert to_e164("12") is to_e164("bukan nomor") is to_e164("") is to_e164(None) is None
    assert readable("+6281234567890") == "0812-3456-7890"
    assert whatsapp_link("+6281234567890") == "https://wa.me/6281234567890"


def test_before_anything_is_saved_pages_name_the_configured_office(app, org, client):
    app.config["PENGADUAN_OFFICE_NAME"] = "Dinas Contoh Kabupaten Contoh"
    page = html(client.get("/"))
    assert 'class="brand-name">Dinas Contoh Kabupaten Contoh<' in page
    assert "https://www.lapor.go.id" in page and "tel:" not in page and "<img" not in page


def test_only_admins_open_the_office_page(app, org):
    assert app.test_client().get(OFFICE).status_code == 302
    assert signed_in(app, "officer@example.id").get(OFFICE).status_code == 403
    assert signed_in(app, "officer@example.id").post(OFFICE, data=SETTINGS).status_code in (400, 403)
    admin = signed_in(app, "admin@example.id")
    assert admin.get(OFFICE).status_code == 200
    assert 'href="/admin/office"' in html(admin.get("/admin/users"))  # in the admin menu


def test_saved_identity_is_audited_and_shown_in_header_and_footer(app, org):
    admin = signed_in(app, "admin@example.id")
    assert post(admin, OFFICE, **SETTINGS).status_code == 302
    with app.app_context():
        row = db.session.get(OfficeProfile, 1)
        assert (row.phone, row.whatsapp, row.email) == ("+6273921234", "+6281234567890",
                                                         "pengaduan@kaurkab.go.id")
        assert row.address == "Jl. Jenderal Sudirman No. 1\nBintuhan, Kaur 38961"
    [event] = events(app)
    assert event["payload"]["changed"] == ["address", "email", "hours", "name", "phone", "whatsapp"]
    assert event["payload"]["changes"]["phone"] == {"before": None, "after": "+6273921234"}
    for path in ("/", "/complaints/new"):
        page = html(app.test_client().get(path))
        assert 'class="brand-name">Layanan Pengaduan Pemerintah Kabupaten Kaur<' in page
        assert 'href="tel:+6273921234">(0739) 21234<' in page
        assert 'href="https://wa.me/6281234567890"' in page and "0812-3456-7890" in page
        assert 'href="mailto:pengaduan@kaurkab.go.id"' in page
        assert "Senin–Kamis 08.00–15.30" in page and "Bintuhan, Kaur 38961" in page
        assert "<title>" in page and "· Layanan Pengaduan Pemerintah Kabupaten Kaur</title>" in page
    # Saving the same again changes nothing and records nothing.
    typed = {**SETTINGS, "phone": "+62 739 21234"}
    assert post(admin, OFFICE, **typed).status_code == 302
    assert len(events(app)) == 1


def test_bad_values_are_refused_with_reasons_and_kept(app, org):
    admin = signed_in(app, "admin@example.id")
    typed = {**SETTINGS, "email": "pengaduan(at)kaurkab", "lapor_url": "lapor.go.id",
             "whatsapp": "0812", "phone": "halo"}
    response = post(admin, OFFICE, **typed)
    page = html(response)
    assert response.status_code == 422
    assert "is not a valid email address" in page
    assert "must be a web address starting with https://" in page
    assert page.count("is not a telephone number we can dial") == 4  # summary and field
    for value in ("pengaduan(at)kaurkab", "lapor.go.id", 'value="0812"', 'value="halo"',
                  "Layanan Pengaduan Pemerintah Kabupaten Kaur"):
        assert value in page
    response = post(admin, OFFICE, **{**SETTINGS, "name": " "})
    assert response.status_code == 422 and "is required" in html(response)
    with app.app_context():
        assert db.session.get(OfficeProfile, 1) is None
    assert events(app) == []


def test_logo_is_reencoded_without_metadata_and_served_for_caching(app, org):
    admin = signed_in(app, "admin@example.id")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html(admin.get(OFFICE))).group(1)
    upload = logo_png((1200, 900), text="Nama Pembuat Rahasia", exif=True)
    response = admin.post(OFFICE, data={**SETTINGS, "csrf_token": token,
                                        "logo": (io.BytesIO(upload), "logo.png")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    page = html(app.test_client().get("/"))
    src = re.search(r'<img class="brand-logo" src="([^"]+)"', page).group(1)
    assert src == "/office/logo-1.png"
    served = app.test_client().get(src)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert b"Rahasia" not in served.data and b"eXIf" not in served.data and b"tEXt" not in served.data
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.format == "PNG" and max(image.size) == 512 and image.size == (512, 384)
        assert not image.info.get("exif") and "Author" not in image.info
    assert app.test_client().get("/office/logo-2.png").status_code == 404  # no such version
    assert app.test_client().get("/office/logo-1.jpg").status_code == 404
    [event] = events(app)
    assert event["payload"]["changes"]["logo"]["after"]["type"] == "image/png"
    # Removing it takes it off the pages.
    assert post(admin, OFFICE, **SETTINGS, remove_logo="1").status_code == 302
    assert "brand-logo" not in html(app.test_client().get("/"))
    assert app.test_client().get(src).status_code == 404


def test_a_non_image_named_png_is_refused_and_the_text_kept(app, org):
    admin = signed_in(app, "admin@example.id")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html(admin.get(OFFICE))).group(1)
    for content, message in ((b"<?php system($_GET['c']); ?>", "must be a PNG or JPEG image"),
                             (logo_png((10, 10)), "at least 32 pixels")):
        response = admin.post(OFFICE, data={**SETTINGS, "email": "salah", "csrf_token": token,
                                            "logo": (io.BytesIO(content), "logo.png")},
                              content_type="multipart/form-data")
        page = html(response)
        assert response.status_code == 422, page
        assert message in page and "is not a valid email address" in page  # both reasons at once
        assert "Layanan Pengaduan Pemerintah Kabupaten Kaur" in page and 'value="salah"' in page
    with app.app_context():
        assert db.session.get(OfficeProfile, 1) is None


def test_every_email_carries_the_office_footer(world):
    save_office(SETTINGS, actor=Actor.system())
    db.session.commit()
    send_receipt(world.file(email="budi@example.id").complaint)
    db.session.commit()
    message = db.session.scalars(select(OutboxMessage)).one()
    for body in (message.body_text, message.body_html):
        assert "Layanan Pengaduan Pemerintah Kabupaten Kaur" in body
        assert "(0739) 21234" in body and "https://wa.me/6281234567890" in body
        assert "https://www.lapor.go.id" in body


def test_reports_name_the_saved_office(app, org):
    with app.app_context():
        save_office(SETTINGS, actor=Actor.system())
        create_user("auditor@example.id", "auditor", password=PASSWORD)
        db.session.commit()
    page = html(signed_in(app, "auditor@example.id").get("/staff/reports"))
    assert '<p class="office-name">Layanan Pengaduan Pemerintah Kabupaten Kaur</p>' in page


def test_the_admin_home_asks_for_the_contacts_until_they_are_set(app, org):
    admin = signed_in(app, "admin@example.id")
    assert "No address, telephone or email yet" in html(admin.get("/staff"))
    assert post(admin, OFFICE, **SETTINGS).status_code == 302
    page = html(admin.get("/staff"))
    assert "No address, telephone or email yet" not in page
    assert 'data-testid="setup-office">Layanan Pengaduan Pemerintah Kabupaten Kaur<' in page
