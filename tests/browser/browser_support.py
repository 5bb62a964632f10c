"""What the browser tests share besides fixtures: whether a browser is available, the words
of the interface in the language under test, screenshots, test images and axe-core.

Playwright is imported here and only here, so that the test modules still import (and are
skipped with a reason) on a machine without it.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the machine
    PLAYWRIGHT_MISSING: str | None = f"playwright is not installed ({exc})"
    expect = sync_playwright = None
else:
    PLAYWRIGHT_MISSING = None

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("PENGADUAN_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
# CI sets this: there a missing browser is a broken build, not a reason to skip.
REQUIRED = os.environ.get("PENGADUAN_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(os.environ.get("PENGADUAN_ARTIFACTS_DIR") or HERE / "artifacts")

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}

# The accounts of the suite's `world` fixture (tests/conftest.py).
PASSWORD = "correct horse battery"
OFFICER, SUPERVISOR = "officer.a@example.id", "supervisor.a@example.id"
AUDITOR = "auditor@example.id"


def unavailable() -> str | None:
    """Why no browser test can run here, or None."""
    if PLAYWRIGHT_MISSING:
        return PLAYWRIGHT_MISSING
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (set PENGADUAN_CHROMIUM to another binary)"
    return None


# --- the words of the interface -------------------------------------------------------------

class Words:
    """The interface's texts in one language, looked up the way the app renders them: the
    Babel catalogue for the templates' strings, the workflow file for steps and states.
    The tests are written with the English source strings and run in both languages."""

    def __init__(self, app, lang: str):
        self.app, self.lang = app, lang

    def __call__(self, text: str, **variables) -> str:
        from flask_babel import force_locale, gettext

        with self.app.test_request_context(), force_locale(self.lang):
            return gettext(text, **variables)

    def plural(self, singular: str, plural: str, num: int, **variables) -> str:
        from flask_babel import force_locale, ngettext

        with self.app.test_request_context(), force_locale(self.lang):
            return ngettext(singular, plural, num, **variables)

    def _label(self, pick) -> str:
        from pengaduan.i18n import label
        from pengaduan.workflow import current_workflow

        with self.app.app_context():
            return label(pick(current_workflow()), self.lang)

    def step(self, trigger: str) -> str:
        """A workflow step's label: the heading of its form and the text of its button."""
        return self._label(lambda wf: wf.transition(trigger).label)

    def state(self, name: str) -> str:
        return self._label(lambda wf: wf.states[name].label)

    def classification(self, code: str) -> str:
        return self._label(lambda wf: wf.classifications[code])

    def closure(self, reason: str) -> str:
        return self._label(lambda wf: wf.closure_reasons[reason])


# --- artifacts ------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


@dataclass
class Shots:
    """Full-page screenshots (and other records) of one test, numbered in the order taken:
    ARTIFACTS/<test name>/<NN>-<step>.png; the folder is emptied when the test starts and
    created on demand."""

    folder: Path
    taken: list = field(default_factory=list)

    @classmethod
    def for_test(cls, name: str) -> "Shots":
        folder = ARTIFACTS / _slug(name)
        shutil.rmtree(folder, ignore_errors=True)
        return cls(folder)

    def write(self, step: str, suffix: str, data: bytes) -> Path:
        self.taken.append(step)
        path = self.folder / f"{len(self.taken):02d}-{_slug(step)}{suffix}"
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def __call__(self, page, step: str) -> Path:
        return self.write(step, ".png", page.screenshot(full_page=True, scale="css"))

    def write_json(self, step: str, data) -> Path:
        return self.write(step, ".json", json.dumps(data, indent=2, ensure_ascii=False).encode())


# --- files a citizen attaches ---------------------------------------------------------------

def image_file(name: str = "foto.png", size=(160, 120)) -> dict:
    """A small real photo (it must decode: the app checks files by content) for
    `set_input_files`."""
    from PIL import Image, ImageDraw

    fmt = "JPEG" if name.lower().endswith((".jpg", ".jpeg")) else "PNG"
    image = Image.new("RGB", size, (40, 110, 170))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 30, size[0] - 20, size[1] - 30), fill=(230, 200, 60))
    draw.line((0, 0, *size), fill=(200, 30, 30), width=5)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return {"name": name, "mimeType": f"image/{fmt.lower()}", "buffer": buffer.getvalue()}


# --- accessibility --------------------------------------------------------------------------

BLOCKING_IMPACTS = ("serious", "critical")
# The public pages are held to more: WCAG 2.2 A and AA (target size among them) and axe's
# best practices (landmarks, headings, regions), failing on moderate findings as well.
PUBLIC_IMPACTS = ("moderate", "serious", "critical")
WCAG22_AA = {"runOnly": {"type": "tag", "values": [
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "rules": {"target-size": {"enabled": True}}}


def axe_check(page, options: dict | None = None) -> dict:
    """Run axe-core (bundled with axe-playwright-python, injected from disk: no CDN) on the
    page as it is now; its result: `violations` (each with its impact), `incomplete` (what
    needs a human look) and `passes`. `options` are axe.run's (e.g. only some rule tags)."""
    from axe_playwright_python.sync_playwright import Axe

    result = (Axe().run(page, options=options) if options else Axe().run(page)).response
    assert result["passes"], f"axe checked nothing on {page.url}"  # it did run, on this page
    return result


def describe(violations: list[dict]) -> str:
    """One line per violation and element: rule id, impact, selector and the element."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            lines.append(f"{v['id']} ({v['impact']}): {', '.join(map(str, node['target']))}: "
                         f"{node['html'][:160]} -- {v['help']}")
    return "\n".join(lines)


# --- steps every journey takes -----------------------------------------------------------

CONSENT = ("I agree that my personal data is processed to handle this complaint "
           "(UU 27/2022 on Personal Data Protection).")
TITLE = "Lampu jalan mati di depan SD Negeri 3"
DESCRIPTION = ("Sudah dua minggu lampu jalan di depan SD Negeri 3 mati. Anak-anak pulang les "
               "dalam gelap dan sudah ada pengendara yang jatuh.")
CODE_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")  # Crockford, XXXX-XXXX
PIN_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}")  # the same, XXXXX-XXXXX


def main_menu(page, words: Words):
    return page.get_by_role("navigation", name=words("Main menu"))


def staff_menu(page, words: Words):
    """The signed-in staff member's menu bar, below the public header."""
    return page.get_by_role("navigation", name=words("Staff menu"))


def sign_in(page, words: Words, email: str, password: str = PASSWORD) -> None:
    """Staff sign-in through the header link and the form's labels."""
    page.goto("/")
    main_menu(page, words).get_by_role("link", name=words("Staff sign-in")).click()
    expect(page.get_by_role("heading", name=words("Sign in for staff"))).to_be_visible()
    page.get_by_label(words("Email")).fill(email)
    page.get_by_label(words("Password")).fill(password)
    page.get_by_role("button", name=words("Sign in"), exact=True).click()
    expect(page.get_by_role("button", name=words("Sign out"))).to_be_visible()


def choose_language(page, words: Words) -> None:
    """Use the header's language switch (Indonesian needs nothing: it is the default)."""
    if words.lang != "id":
        switch = page.get_by_role("navigation", name=Words(words.app, "id")("Language"))
        switch.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", words.lang)


def file_in_browser(page, words: Words, shots: Shots | None = None, photo: dict | None = None,
                    title: str = TITLE) -> tuple[str, str]:
    """A citizen files a public complaint from the home page and reads tracking code and PIN
    off the receipt; (code, PIN)."""
    page.goto("/")
    choose_language(page, words)
    if shots:
        shots(page, "home")
    main_menu(page, words).get_by_role("link", name=words("File a complaint")).click()
    expect(page.get_by_role("heading", level=1, name=words("File a complaint"))).to_be_visible()
    page.get_by_label(words("Unit you are complaining about")).select_option(label="Dinas A")
    page.get_by_label(words("Category")).select_option(label="Umum")
    page.get_by_role("radio", name=words.classification("pengaduan"), exact=True).check()
    page.get_by_label(words("Short title")).fill(title)
    page.get_by_label(words("What happened?")).fill(DESCRIPTION)
    page.get_by_label(words("Place of the incident")).fill("Jl. Merdeka 12, Bogor")
    page.get_by_role("radio", name=words("Public"), exact=True).check()
    page.get_by_label(words("Full name")).fill("Budi Hartono")
    page.get_by_label(words("Email")).fill("budi@example.id")
    if photo:
        page.get_by_label(words("Photos or documents")).set_input_files(photo)
    page.get_by_role("checkbox", name=words(CONSENT)).check()
    if shots:
        shots(page, "form-filled")
    page.get_by_role("button", name=words("Send complaint")).click()

    expect(page).to_have_url(re.compile(r"/complaints/receipt$"))
    received = words("Your complaint was received")
    expect(page.get_by_role("heading", level=1, name=received)).to_be_visible()
    code = page.get_by_test_id("tracking-code").inner_text().strip()
    pin = page.get_by_test_id("tracking-pin").inner_text().strip()
    assert CODE_PATTERN.fullmatch(code), code
    assert PIN_PATTERN.fullmatch(pin), pin
    if shots:
        shots(page, "receipt")
    return code, pin


def track_in_browser(page, words: Words, code: str, pin: str) -> None:
    """The complainant sends code and PIN from /track, reached from the home page (on a
    device that has never seen the complaint)."""
    page.goto("/")
    choose_language(page, words)
    main_menu(page, words).get_by_role("link", name=words("Track a complaint")).click()
    page.get_by_label(words("Tracking code")).fill(code)
    page.get_by_label(words("PIN")).fill(pin)
    page.get_by_role("button", name=words("Open my complaint")).click()


def flash(page):
    """The confirmation (or error) shown after a form was sent."""
    return page.locator(".flash")


def above(first, second) -> bool:
    """Whether the element of locator `first` is drawn above (starts higher on the page than)
    that of `second`: what a reader meets first on a phone's single column."""
    return first.bounding_box()["y"] < second.bounding_box()["y"]


def outbox(app, recipient: str | None = None) -> list:
    """The outbox's messages (to `recipient`, if given), oldest first, detached from the
    database: read in a short application context of their own (see conftest's `org`)."""
    from sqlalchemy import select

    from pengaduan.extensions import db
    from pengaduan.models import OutboxMessage

    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        messages = db.session.scalars(query).all()
        db.session.expunge_all()
        return messages


def email_text(email) -> str:
    """An email as its reader sees it: subject and every text part (plain and HTML),
    decoded. `email` is a delivered EmailMessage or an outbox row."""
    if hasattr(email, "body_text"):  # an OutboxMessage
        return "\n".join([email.subject, email.body_text, email.body_html or ""])
    parts = [part.get_content() for part in email.walk() if part.get_content_maintype() == "text"]
    return "\n".join([email["Subject"], *parts])


def holds_pin(email, pin: str) -> bool:
    """Whether an email holds the PIN in any of its forms (as shown, or without the dash)."""
    text = email_text(email)
    return pin in text or pin.replace("-", "") in text
