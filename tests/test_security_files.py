"""Uploads and downloads under attack: path traversal and tricks in file names, files
disguised as photos or PDFs on every upload route, and downloads asked for with `../` or
other stored names (README "Files are accepted by their content ... stored under random
names ... and only served to whoever may see them").

test_citizen checks renamed executables on the complaint form and test_supervision a PHP
script as a standing document; here every upload route gets the whole set, and the
download side is attacked too.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import flask
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from sqlalchemy import event, func, select

from pengaduan.extensions import db
from pengaduan.models import Attachment, StandingDocument, SupervisionFile
from pengaduan.services.attachments import EXTENSIONS as EXTENSION_OF
from pengaduan.services.attachments import clean, named_as_type
from test_citizen import valid_form
from test_security_corpus import (AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, browser, citizen_of, get_page,
                                  gif, jpeg, period, signed_in, token_of, tree)
from test_security_corpus import scene  # noqa: F401  (the fixture)
from test_supervision import org  # noqa: F401  (the fixture scene builds on)
from test_supervision import pdf, png

NOT_ACCEPTED = "is not a photo (JPEG, PNG, WebP, GIF) or a PDF document"
NOT_A_PDF = "could not be read as a PDF document"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b'<script>alert(document.cookie)</script></svg>')
DISGUISED = {  # name: (bytes, file name the browser sends)
    "php-as-jpg": (b"<?php system($_GET['c']); ?>", "foto.jpg"),
    "html-as-jpg": (b"<!doctype html><html><script>alert(1)</script></html>", "foto.jpg"),
    "svg-with-script": (SVG, "gambar.svg"),
    "svg-as-png": (SVG, "gambar.png"),
    "gif-header-then-script": (b"GIF89a/*\x00\x00*/=alert(1)//<script>alert(1)</script>", "anim.gif"),
    "truncated-jpeg": (jpeg()[:40], "potong.jpg"),
    "png-header-only": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "kosong.png"),
    "pdf-without-end": (b"%PDF-1.4\n<html><script>alert(1)</script></html>\n", "surat.pdf"),
    "page-between-pdf-markers": (b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n", "surat.pdf"),
    "zip-as-pdf": (b"PK\x03\x04" + b"\x00" * 100, "arsip.pdf"),
    "empty": (b"", "kosong.jpg"),
    "traversal-name": (b"<?php echo 1; ?>", "../../../../etc/cron.d/evil.jpg"),
    "nul-in-name": (b"<?php echo 1; ?>", "foto.jpg\x00.php"),
}
SHOWN_NAME = {"traversal-name": "evil.jpg", "nul-in-name": "foto.jpg.php"}


def _root(app) -> Path:
    """The test's folder: the upload folder, the instance folder and the database live here."""
    return Path(app.config["PENGADUAN_UPLOAD_DIR"]).parent


def _new_files(root: Path, before: set[str]) -> set[str]:
    """Files written since `before`, other than the database's and the signing key."""
    return {p for p in tree(root) - before
            if not Path(p).name.startswith("test.sqlite3") and Path(p).name != "signing_key.pem"}


def _upload(app, scene, route: str, content: bytes, name: str):
    """Send one file on an upload route, with valid other fields; (response, typed text)."""
    upload = [(io.BytesIO(content), name)]
    if route == "complaint form":
        client = browser(app)
        data = {**valid_form(), "title": "Pungli di loket 3", "attachments": upload,
                "csrf_token": get_page(client, "/complaints/new").token}
        return client.post("/complaints/new", data=data, content_type="multipart/form-data"), "Pungli di loket 3"
    if route == "complainant's reply":
        from pengaduan.models import Complaint
        from test_staff import staff_does

        with app.app_context():
            asked = Complaint.by_code(scene.a).state == "awaiting_info"
        if not asked:
            staff_does(app, OFFICER_A, scene.a, ("request_info", {"message": "Kirim foto KTP."}))
        client = citizen_of(app, scene.a, scene.a_pin)
        action = f"/track/{scene.a}/act/provide_info"
        form = get_page(client, f"/track/{scene.a}").forms[action].values
        data = {**form, "message": "Foto KTP terlampir", "attachments": upload}
        return client.post(action, data=data, content_type="multipart/form-data"), "Foto KTP terlampir"
    client = signed_in(app, SUPERVISOR_A)
    if route == "supervision record":
        from pengaduan.services.oversight import supervision as sv

        with app.app_context():
            today = sv.today().isoformat()
        data = {"csrf_token": get_page(client, "/staff/supervision/new").token, "kind": "coaching",
                "held_on": today, "title": "Pembinaan petugas loket", "units": ["UNIT-A"],
                "files": upload}
        return client.post("/staff/supervision/new", data=data,
                           content_type="multipart/form-data"), "Pembinaan petugas loket"
    if route == "supervision files":
        data = {"csrf_token": token_of(client), "files": upload}
        return client.post(f"/staff/supervision/{scene.record_a}/files", data=data,
                           content_type="multipart/form-data"), None
    assert route == "standing document"
    data = {"csrf_token": token_of(client), "unit": "UNIT-A", "kind": "complaint_sop",
            "title": "SOP pengaduan 2026", "valid_from": "2026-01-01", "valid_until": "", "file": upload[0]}
    return client.post("/staff/supervision/documents", data=data,
                       content_type="multipart/form-data"), "SOP pengaduan 2026"


ROUTES = ["complaint form", "complainant's reply", "supervision record", "supervision files",
          "standing document"]


def _stored_rows(app) -> int:
    with app.app_context():
        return sum(db.session.scalar(select(func.count()).select_from(model))
                   for model in (Attachment, SupervisionFile, StandingDocument))


def test_disguised_files_are_refused_on_every_upload_route(app, scene):
    """On the complaint form, the complainant's reply, a new supervision record, files added
    to a record and a standing document, each disguise is refused with 422 and a message
    naming the file as the browser named it (without any folder); what was typed is kept;
    no row, no file anywhere."""
    root = _root(app)
    before_files, before_rows = tree(root), _stored_rows(app)
    for route, case in ((r, c) for r in ROUTES for c in DISGUISED):
        content, name = DISGUISED[case]
        response, typed = _upload(app, scene, route, content, name)
        assert response.status_code == 422, (route, case, response.status_code)
        html = response.get_data(as_text=True)
        shown = SHOWN_NAME.get(case, name)
        message = ("is empty" if case == "empty" else NOT_A_PDF if content.startswith(b"%PDF-")
                   else NOT_ACCEPTED)
        assert f"{shown} {message}" in html, (route, case)
        assert "etc/cron.d" not in html, (route, case)
        if typed is not None:
            assert typed in html, (route, case)
        assert _new_files(root, before_files) == set(), (route, case)
        assert _stored_rows(app) == before_rows, (route, case)


def test_traversal_names_are_reduced_to_a_plain_name_and_stored_at_random(app, scene):
    """A real photo sent as `../../etc/passwd.jpg`, `..\\..\\win.ini`, with a NUL byte, a
    right-to-left override or control characters in its name is accepted by its content,
    written only into the upload folder under a random name with the extension of its
    checked type, and its shown name keeps no folder, NUL, bidi or control character."""
    root = _root(app)
    before = tree(root)
    names = ["../../etc/passwd.jpg", "..\\..\\..\\windows\\win.ini", "/etc/shadow.jpg",
             "foto\x00.jpg", "foto\u202egpj.exe", "foto\u200b\u2066.jpg", "C:\\boot.jpg",
             "foto\x1b[31m.jpg", "....//....//foto.jpg"]
    client = browser(app)
    data = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token,
            "attachments": [(io.BytesIO(jpeg()), name) for name in names[:5]]}
    assert client.post("/complaints/new", data=data, content_type="multipart/form-data").status_code == 302
    data = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token,
            "attachments": [(io.BytesIO(png()), name) for name in names[5:]]}
    assert client.post("/complaints/new", data=data, content_type="multipart/form-data").status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
        stored = [(a.filename, a.stored_name, a.content_type) for a in rows if a.complaint.tracking_code
                  not in scene.codes("UNIT-A") | scene.codes("UNIT-B")]
    assert len(stored) == len(names)
    for filename, stored_name, kind in stored:
        assert re.fullmatch(r"[0-9a-f]{32}\.(jpg|png)", stored_name)
        assert stored_name.endswith({"image/jpeg": ".jpg", "image/png": ".png"}[kind])
        assert "/" not in filename and "\\" not in filename and ".." != filename
        assert all(ch.isprintable() for ch in filename), filename
        assert not any(ch in filename for ch in "\u202e\u2066\u200b\x00\x1b"), filename
    folder = Path(app.config["PENGADUAN_UPLOAD_DIR"]).relative_to(root)
    assert _new_files(root, before) == {str(folder / name) for _, name, _ in stored}


POLYGLOTS = {  # accepted by their content, yet carrying a page
    "gif-with-appended-page": (gif() + b"<html><script>alert(document.domain)</script></html>",
                               "foto.html", "image/gif", ".gif"),
    "page-in-a-real-pdf": (pdf() + b"\n<html><script>alert(document.domain)</script></html>\n",
                           "surat.html", "application/pdf", ".pdf"),
    "name-ending-in-php": (jpeg(), "foto.jpg\x00.php", "image/jpeg", ".jpg"),
}


def _download_of_each_route(app, scene, content: bytes, name: str) -> dict:
    """Upload on the complaint form, as a supervision file and as a standing document, and
    fetch each back the way its readers do: {route: response}."""
    client = browser(app)
    data = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token,
            "attachments": [(io.BytesIO(content), name)]}
    assert client.post("/complaints/new", data=data, content_type="multipart/form-data").status_code == 302
    html = client.get("/complaints/receipt").get_data(as_text=True)
    code = re.search(r'data-testid="tracking-code"[^>]*>([^<]*)<', html).group(1).strip()
    link = next(l for l in get_page(client, f"/track/{code}").links if "/files/" in l)
    responses = {"citizen attachment": client.get(link),
                 "staff attachment": signed_in(app, OFFICER_A).get(link.replace("/track/", "/staff/complaints/"))}
    supervisor = signed_in(app, SUPERVISOR_A)
    assert _upload(app, scene, "supervision files", content, name)[0].status_code == 302
    assert _upload(app, scene, "standing document", content, name)[0].status_code == 302
    with app.app_context():
        file_id = db.session.scalar(select(func.max(SupervisionFile.id)))
        document_id = db.session.scalar(select(func.max(StandingDocument.id)))
    responses["supervision file"] = supervisor.get(f"/staff/supervision/files/{file_id}")
    responses["standing document"] = supervisor.get(f"/staff/supervision/documents/{document_id}/file")
    return responses


def _filename(disposition: str) -> str:
    match = re.search(r"filename\*=UTF-8''([^;]+)|filename=\"?([^\";]+)\"?", disposition)
    from urllib.parse import unquote

    return unquote(match.group(1)) if match.group(1) else match.group(2)


@pytest.mark.parametrize("case", POLYGLOTS, ids=POLYGLOTS.keys())
def test_an_accepted_polyglot_is_served_only_as_its_checked_type(app, scene, case):
    """A file that passes the content check but carries a page is served with its checked
    type, nosniff and no-store, a PDF as a download, on every download route; never as HTML.
    It was stored rewritten, so the page that followed it is gone too."""
    content, name, kind, _ = POLYGLOTS[case]
    for route, response in _download_of_each_route(app, scene, content, name).items():
        assert response.status_code == 200, route
        assert response.mimetype == kind, route
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response.headers["Cache-Control"]
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment" if kind == "application/pdf" else "inline"), route
        assert response.data == clean(content).data  # rewritten: what follows the file is gone
        assert b"<script>" not in response.data


@pytest.mark.parametrize("case", POLYGLOTS, ids=POLYGLOTS.keys())
def test_an_accepted_file_downloads_under_the_extension_of_its_checked_type(app, scene, case):
    """`foto.html` holding a valid GIF with a page after it, `surat.html` holding a real PDF
    with a page after it, and `foto.jpg<NUL>.php` are downloaded as foto.gif, surat.pdf and
    foto.jpg: whoever saves and opens the file never gets an HTML page run from disk."""
    content, name, kind, extension = POLYGLOTS[case]
    names = {route: _filename(response.headers["Content-Disposition"])
             for route, response in _download_of_each_route(app, scene, content, name).items()}
    assert {route: n for route, n in names.items() if not n.lower().endswith(extension)} == {}


def test_officers_open_the_files_a_complainant_sent_from_the_complaint_page(app, scene):
    """The photo sent with the form is listed under the filing step of the officer's page,
    and the link serves it; an officer of another unit gets 404 for the same address."""
    client = browser(app)
    data = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token,
            "attachments": [(io.BytesIO(jpeg()), "jalan.jpg")]}
    assert client.post("/complaints/new", data=data, content_type="multipart/form-data").status_code == 302
    html = client.get("/complaints/receipt").get_data(as_text=True)
    code = re.search(r'data-testid="tracking-code"[^>]*>([^<]*)<', html).group(1).strip()
    page = get_page(signed_in(app, OFFICER_A), f"/staff/complaints/{code}")
    links = [link for link in page.links if f"/staff/complaints/{code}/files/" in link]
    assert len(links) == 1 and "jalan.jpg" in page.html
    photo = signed_in(app, OFFICER_A).get(links[0])
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data == clean(jpeg()).data
    assert signed_in(app, OFFICER_B).get(links[0]).status_code == 404


@pytest.mark.parametrize("privacy", ["anonymous", "confidential"])
def test_a_masked_complainants_file_names_are_masked_too(app, scene, privacy):
    """A file name can name its sender ("KTP Budi Hartono.jpg"): where the identity is masked,
    the officer's page and the download show `lampiran-<id>.jpg`; the photo itself is there."""
    client = browser(app)
    data = {**valid_form(), "privacy": privacy, "csrf_token": get_page(client, "/complaints/new").token,
            "attachments": [(io.BytesIO(jpeg()), "KTP Budi Hartono.jpg")]}
    assert client.post("/complaints/new", data=data, content_type="multipart/form-data").status_code == 302
    html = client.get("/complaints/receipt").get_data(as_text=True)
    code = re.search(r'data-testid="tracking-code"[^>]*>([^<]*)<', html).group(1).strip()
    for who in (OFFICER_A, AUDITOR):
        reader = signed_in(app, who)
        page = get_page(reader, f"/staff/complaints/{code}")
        assert "Budi" not in page.html and "lampiran-" in page.html, who
        link = next(link for link in page.links if f"/staff/complaints/{code}/files/" in link)
        photo = reader.get(link)
        assert photo.status_code == 200 and photo.data == clean(jpeg()).data
        name = _filename(photo.headers["Content-Disposition"])
        assert name.startswith("lampiran-") and name.endswith(".jpg"), (who, name)


@pytest.mark.parametrize("name, kind, expected", [
    ("foto.html", "image/gif", "foto.gif"), ("surat.HTML", "application/pdf", "surat.pdf"),
    ("foto.jpg.php", "image/jpeg", "foto.jpg"), ("IMG_0001.JPEG", "image/jpeg", "IMG_0001.JPEG"),
    ("scan 12.03.2026", "application/pdf", "scan 12.03.2026.pdf"), ("lampiran", "image/png", "lampiran.png"),
    ("foto.png", "image/webp", "foto.webp"), ("x" * 200 + ".exe", "image/gif", "x" * 196 + ".gif"),
])
def test_a_file_is_named_with_the_extension_of_its_checked_type(name, kind, expected):
    assert named_as_type(name, kind) == expected


def test_a_file_stored_under_its_uploaded_name_downloads_with_its_type(app, scene):
    """Rows kept from before names were corrected are renamed when served."""
    with app.app_context():
        item = db.session.scalars(select(Attachment).where(Attachment.public.is_(True))).first()
        item.filename = "foto.html"
        db.session.commit()
        item_id, code = item.id, item.complaint.tracking_code
    client = citizen_of(app, code, scene.a_pin)
    response = client.get(f"/track/{code}/files/{item_id}")
    assert response.status_code == 200
    assert _filename(response.headers["Content-Disposition"]).endswith(EXTENSION_OF[response.mimetype])


TRAVERSALS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "..%252f..%252fetc%252fpasswd", "....//....//etc/passwd", "..\\..\\etc\\passwd",
              "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/etc/passwd", "1/../2", "1%00", "-1", "0x1",
              "1.0", "+1", " 1"]


def test_downloads_cannot_be_steered_to_another_file(app, scene):
    """File routes take a number and serve only the row's own random stored name: `../`,
    encoded or doubled, absolute paths and number tricks in its place find nothing (404),
    and the static folder serves nothing from outside it (the secret key, the database,
    the uploads, the code)."""
    citizen = citizen_of(app, scene.a, scene.a_pin)
    supervisor = signed_in(app, SUPERVISOR_A)
    with app.app_context():
        stored = db.session.get(Attachment, scene.attachment_a).stored_name
    secret = (Path(app.instance_path) / "secret_key")
    secret.write_text("do-not-serve")
    for trick in TRAVERSALS:
        for client, url in ((citizen, f"/track/{scene.a}/files/{trick}"),
                            (supervisor, f"/staff/supervision/files/{trick}"),
                            (supervisor, f"/staff/supervision/documents/{trick}/file"),
                            (citizen, f"/static/{trick}")):
            response = client.get(url)
            assert response.status_code in (404, 400, 308), (url, response.status_code)
            assert b"root:" not in response.data and b"do-not-serve" not in response.data
    for path in ("../instance/secret_key", "..%2finstance%2fsecret_key", "%2e%2e/pengaduan/config.py",
                 f"../uploads/{stored}", "../run.py", "css/../../run.py", "/etc/passwd"):
        response = citizen.get(f"/static/{path}")
        assert response.status_code in (404, 400, 308), path
        assert b"do-not-serve" not in response.data and b"create_app" not in response.data
    for name in (stored, stored.split(".")[0], f"{scene.attachment_a}.png"):
        assert citizen.get(f"/track/{scene.a}/files/{name}").status_code == 404


def test_evidence_pack_entries_stay_inside_the_archive(app, scene):
    """Files whose names try to climb out (`../`, absolute, backslashes, NUL) are packed
    under `documents/` and `supervision/` with plain names: no entry of the ZIP can be
    written outside the folder it is unpacked into."""
    for name in ("../../../../tmp/evil.pdf", "/etc/evil.pdf", "..\\..\\evil.pdf", "a\x00/../b.pdf"):
        assert _upload(app, scene, "standing document", pdf(), name)[0].status_code == 302
        assert _upload(app, scene, "supervision files", png(), name.replace(".pdf", ".png"))[0].status_code == 302
    auditor = signed_in(app, AUDITOR)
    start, end = period()
    response = auditor.post("/staff/evidence", data={"csrf_token": get_page(auditor, "/staff/evidence").token,
                                                     "from": start, "to": end, "unit": ""})
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
    assert any(n.startswith("documents/") for n in names) and any(n.startswith("supervision/") for n in names)
    for name in names:
        parts = name.split("/")
        assert not name.startswith("/") and "\\" not in name and ".." not in parts, name
        assert re.fullmatch(r"[A-Za-z0-9._/-]+", name), name


# --- metadata that would name a masked complainant, and decoding outside the write lock -------

WHO = "Budi Hartono"  # what the camera, the PNG writer and the PDF writer recorded
RED, BLUE = (220, 20, 20), (20, 20, 220)


def exif_jpeg() -> bytes:
    """A phone photo: GPS position, owner, camera serial, and orientation 6 (shown turned
    90° clockwise). Stored 40×20 with its left half red, so it shows 20×40 red on top."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x013B] = WHO  # Artist
    exif[0xA431] = f"SN-{WHO}"  # BodySerialNumber
    exif[0x0112] = 6  # Orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), icc_profile=WHO.encode() * 8)
    return buffer.getvalue()


def text_png() -> bytes:
    info = PngInfo()
    info.add_text("Author", WHO)
    info.add_text("Comment", f"{WHO}, Jl. Melati 5", zip=True)
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta><dc:creator>{WHO}</dc:creator></x:xmpmeta>")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), RED).save(buffer, "PNG", pnginfo=info, icc_profile=WHO.encode() * 8)
    return buffer.getvalue()


def authored_pdf(password: str | None = None) -> bytes:
    """A PDF with /Author in its document information and XMP on its catalog and its page."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": WHO, "/Title": f"KTP {WHO}"})
    for holder in (writer.root_object, page):
        xmp = DecodedStreamObject()
        xmp.set_data(f"<x:xmpmeta><dc:creator>{WHO}</dc:creator></x:xmpmeta>".encode())
        xmp.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
        holder[NameObject("/Metadata")] = writer._add_object(xmp)
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    assert WHO.encode() in buffer.getvalue() or password
    return buffer.getvalue()


def _staff_download_of_last_upload(app, scene, route: str):
    """The file last stored on `route`, fetched the way the handling unit reads it."""
    with app.app_context():
        if route in ("complaint form", "complainant's reply"):
            item = db.session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()
            url = f"/staff/complaints/{item.complaint.tracking_code}/files/{item.id}"
            reader = OFFICER_B if item.complaint.unit.code == "UNIT-B" else OFFICER_A
        elif route == "standing document":
            item = db.session.scalars(select(StandingDocument).order_by(StandingDocument.id.desc())).first()
            url, reader = f"/staff/supervision/documents/{item.id}/file", SUPERVISOR_A
        else:
            item = db.session.scalars(select(SupervisionFile).order_by(SupervisionFile.id.desc())).first()
            url, reader = f"/staff/supervision/files/{item.id}", SUPERVISOR_A
        row = (item.sha256, item.size)
    response = signed_in(app, reader).get(url)
    assert response.status_code == 200, (route, url)
    return response, row


def test_metadata_is_stripped_from_every_upload_before_it_is_stored(app, scene):
    """A photo's EXIF (GPS, owner, camera serial), a PNG's text chunks and ICC profile and a
    PDF's /Author and XMP never reach the handling unit, on any upload route: what is stored
    and served is a rewritten copy (its size and sha256 recorded), the photo turned upright."""
    for route in ROUTES:
        for name, content in (("foto.jpg", exif_jpeg()), ("denah.png", text_png()), ("ktp.pdf", authored_pdf())):
            assert _upload(app, scene, route, content, name)[0].status_code == 302, (route, name)
            response, (digest, size) = _staff_download_of_last_upload(app, scene, route)
            data = response.data
            assert WHO.encode() not in data and b"Jl. Melati" not in data, (route, name)
            assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data)), (route, name)
            if name.endswith(".pdf"):
                document = PdfReader(io.BytesIO(data))
                assert document.metadata is None and "/Metadata" not in document.trailer["/Root"]
                assert all("/Metadata" not in page for page in document.pages)
                continue
            with Image.open(io.BytesIO(data)) as image:
                assert not image.getexif() and "icc_profile" not in image.info, (route, name)
                assert not {"Author", "Comment", "XML:com.adobe.xmp", "xmp"} & set(image.info)
                if name.endswith(".jpg"):
                    rgb = image.convert("RGB")
                    assert image.size == (20, 40)
                    assert _near(rgb.getpixel((10, 5)), RED) and _near(rgb.getpixel((10, 35)), BLUE)
            for chunk in (b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"):
                assert chunk not in data, (route, name, chunk)


def _near(pixel, color) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, color))


def test_a_password_protected_pdf_is_refused_with_a_clear_message(app, scene):
    """A PDF that cannot be opened without a password cannot be stripped: it is refused,
    saying why, and nothing is stored."""
    root = _root(app)
    before_files, before_rows = tree(root), _stored_rows(app)
    response, _ = _upload(app, scene, "complaint form", authored_pdf(password="rahasia"), "ktp.pdf")
    assert response.status_code == 422
    assert "ktp.pdf is a password-protected PDF. Please send it without a password." in response.get_data(as_text=True)
    assert _new_files(root, before_files) == set() and _stored_rows(app) == before_rows


@pytest.fixture
def upload_order(app, monkeypatch):
    """Every request, decode of an upload, BEGIN (as writing or not) and changing statement,
    in the order they happen."""
    from pengaduan import database
    from pengaduan.services import attachments

    order: list = []
    for name in ("_reencoded", "_pdf_without_metadata"):
        original = getattr(attachments, name)

        def decoding(*args, _original=original):
            order.append("decode")
            return _original(*args)

        monkeypatch.setattr(attachments, name, decoding)
    with app.app_context():
        engine = db.engine

    def begin(_conn):
        order.append("begin writing" if database._write_intent.get() else "begin reading")

    def statement(_conn, _cursor, sql, *_args):
        if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            order.append("write")

    def started(_sender, **_extra):
        order.append(f"{flask.request.method} {flask.request.path}")

    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", statement)
    with flask.request_started.connected_to(started, app):
        yield order
    event.remove(engine, "begin", begin)
    event.remove(engine, "before_cursor_execute", statement)


@pytest.mark.parametrize("route", ROUTES)
def test_uploads_are_decoded_before_the_write_transaction_begins(app, scene, upload_order, route):
    """Decoding a photo takes time: it happens before the request's first writing BEGIN
    (BEGIN IMMEDIATE on SQLite, which holds the write lock) and before its first change, so
    other writers never wait on it; the look-ups before it begin as reads."""
    order = upload_order
    assert _upload(app, scene, route, png(), "foto.png")[0].status_code == 302
    posted = max(i for i, item in enumerate(order) if item.startswith("POST "))
    request = order[posted + 1:]  # the upload's request
    assert "decode" in request, order
    decoded = request.index("decode")
    assert "begin writing" not in request[:decoded] and "write" not in request[:decoded], request
    assert "begin writing" in request[decoded:] and "write" in request[decoded:], request


def test_a_request_over_the_pixel_cap_is_refused_before_decoding_with_nothing_stored(app, scene, upload_order):
    """The pixels one request may decode are capped over all its files (a small PNG can
    decode to hundreds of megabytes): two 800×800 photos under a 1-megapixel cap are refused
    with a message naming the cap, the second without being decoded, and nothing is stored;
    one of them alone is accepted."""
    app.config["PENGADUAN_MAX_UPLOAD_MEGAPIXELS"] = 1
    big = io.BytesIO()
    Image.new("RGB", (800, 800), RED).save(big, "PNG")
    order = upload_order
    root = _root(app)
    before_files, before_rows = tree(root), _stored_rows(app)
    client = browser(app)
    data = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token,
            "attachments": [(io.BytesIO(big.getvalue()), "satu.png"), (io.BytesIO(big.getvalue()), "dua.png")]}
    response = client.post("/complaints/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "at most 1 megapixels per submission" in response.get_data(as_text=True)
    posted = max(i for i, item in enumerate(order) if item.startswith("POST "))
    assert order[posted + 1:].count("decode") == 1 and "write" not in order[posted + 1:]
    assert _new_files(root, before_files) == set() and _stored_rows(app) == before_rows
    data = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token,
            "attachments": [(io.BytesIO(big.getvalue()), "satu.png")]}
    assert client.post("/complaints/new", data=data, content_type="multipart/form-data").status_code == 302


def test_an_animated_gif_keeps_its_frames_and_loses_its_comment():
    """Animation is kept (frames, timing, loop); the comment, which may carry a name, is not."""
    frames = [Image.new("RGB", (10, 10), color) for color in (RED, BLUE, (20, 220, 20))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300],
                   loop=0, comment=WHO.encode())
    stored = clean(buffer.getvalue())
    assert stored.kind == "image/gif" and WHO.encode() not in stored.data
    with Image.open(io.BytesIO(stored.data)) as image:
        assert image.n_frames == 3 and image.info["loop"] == 0 and "comment" not in image.info
        timing = []
        for index in range(3):
            image.seek(index)
            timing.append(image.info["duration"])
            assert _near(image.convert("RGB").getpixel((5, 5)), frames[index].getpixel((5, 5)))
    assert timing == [100, 200, 300]


def test_a_photo_carrying_the_pdf_marker_in_its_exif_is_still_a_photo():
    """`%PDF-` inside a photo's EXIF (a description anyone can type) does not make it a PDF."""
    exif = Image.Exif()
    exif[0x010E] = "%PDF-1.7 scan"  # ImageDescription
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(buffer, "JPEG", exif=exif.tobytes())
    assert b"%PDF-" in buffer.getvalue()[:1024]
    stored = clean(buffer.getvalue())
    assert stored.kind == "image/jpeg" and b"%PDF-" not in stored.data
