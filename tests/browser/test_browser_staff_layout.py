"""The staff workspace on a phone: every staff page an officer, a supervisor, an auditor and
an administrator can open fits a 390 px wide screen without scrolling sideways (tables become
stacked rows, long emails and titles wrap, the staff menu wraps into a compact block), and
axe-core finds no serious or critical violation of WCAG 2.2 A/AA on it (each page once, the
complaint page for every role, since each role sees different steps on it).

The pages are taken from the app's url_map (GET routes without arguments under /staff and
/admin, plus the password page) and one complaint page; the data is made wide on purpose: a
long title, a long email address, an overdue complaint with escalations.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from browser_support import (AUDITOR, BLOCKING_IMPACTS, OFFICER, PHONE, SUPERVISOR, Words,
                             axe_check, describe, sign_in)
from pengaduan.extensions import db
from pengaduan.models import utcnow
from pengaduan.services import create_user, file_complaint
from pengaduan.jobs.sweep import sweep

pytestmark = pytest.mark.browser

ADMIN = "admin@example.id"
WIDTH = PHONE["viewport"]["width"]
LONG_TITLE = ("Pelayanan pembuatan KTP-elektronik di kantor kecamatan sangat lambat dan "
              "petugas loket tidak memberikan informasi yang jelas kepada warga")
RAW = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
       "title": LONG_TITLE, "description": "Sudah tiga bulan menunggu KTP-el.",
       "privacy": "public", "name": "Siti Aminah",
       "email": "siti.aminah.warga.kecamatan.bogor.tengah@example.id", "consent": True}
STAFF_PREFIXES = ("/staff", "/admin")
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "wcag22a", "wcag22aa"]},
        "resultTypes": ["violations"]}


def staff_paths(app) -> list[str]:
    paths = {rule.rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments
             and rule.rule.startswith(STAFF_PREFIXES)}
    with app.test_request_context():
        from flask import url_for
        paths.add(url_for("auth.password"))
    return sorted(paths)


def too_wide(page) -> str | None:
    """None, or the page's width and the elements that stick out (to find the culprit)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= WIDTH:
        return None
    culprits = page.evaluate(f"""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > {WIDTH} + 1).slice(-3)
        .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' ' +
                  (e.textContent || '').trim().slice(0, 40).replace(/\\s+/g, ' '))""")
    return f"{width} px ({'; '.join(culprits)})"


def test_no_staff_page_scrolls_sideways_on_a_phone(app, org, browsing, shots):
    words = Words(app, "id")
    with app.app_context():
        late = file_complaint(RAW, at=utcnow() - timedelta(days=40)).complaint
        file_complaint({**RAW, "title": "Baru saja diajukan"})
        create_user("kepala.bidang.pelayanan.pengaduan.masyarakat@dinas-a.example.id",
                    "officer", password="another long password", unit_codes=["UNIT-A"])
        db.session.commit()
        complaint_path = f"/staff/complaints/{late.tracking_code}"
        sweep()  # overdue, seriously overdue: the review and the notifications fill up

    wide: list[str] = []
    inaccessible: list[str] = []
    checked: set[str] = set()
    visited: dict[str, list[str]] = {}
    for email in (OFFICER, SUPERVISOR, AUDITOR, ADMIN):
        page = browsing.new_page(PHONE)
        sign_in(page, words, email)
        seen = visited.setdefault(email, [])
        for path in staff_paths(app) + [complaint_path, f"{complaint_path}?step=reject"]:
            answer = page.request.get(path)
            if answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
                continue  # not this role's page, or a download
            page.goto(path)
            seen.append(path)
            width = too_wide(page)
            if width:
                wide.append(f"{email} {path}: {width}")
                shots(page, f"{email.split('@')[0]}-{path}")
            if path not in checked or path.startswith(complaint_path):
                checked.add(path)
                blocking = [v for v in axe_check(page, WCAG)["violations"]
                            if v["impact"] in BLOCKING_IMPACTS]
                if blocking:
                    inaccessible.append(f"{email} {path}:\n{describe(blocking)}")
        page.context.close()

    assert "/staff/queue" in visited[OFFICER] and complaint_path in visited[OFFICER]
    assert "/staff/overdue" in visited[SUPERVISOR]
    assert "/staff/evidence" in visited[AUDITOR]
    assert "/admin/users" in visited[ADMIN] and "/admin/calendar" in visited[ADMIN]
    assert not wide, f"wider than the {WIDTH} px screen:\n" + "\n".join(wide)
    assert not inaccessible, "axe (WCAG 2.2 A/AA):\n" + "\n".join(inaccessible)
