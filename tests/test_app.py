"""The app as a whole: pages, health, languages, and the administrative commands."""
import io
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from pengaduan import create_app
from pengaduan.extensions import db
from pengaduan.models import ApiToken, AuditEvent, Category, Complaint, Unit, User, hash_token
from pengaduan.services.administration import demo

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_ok(client):
    """Health answers 200 with the database reachable."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_unavailable(tmp_path):
    """Health answers 503 when the database cannot be reached."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "x",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
    }, instance_path=str(tmp_path / "instance"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_home_in_indonesian_by_default(client):
    """The home page speaks Indonesian first, with time limits from the workflow file."""
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="id">' in page
    assert "Batas waktu" in page and "hari kerja" in page and "Verifikasi" in page
    assert "SP4N-LAPOR!" in page


def test_language_switch_to_english(client):
    """The switch stores the choice in a cookie and returns to the page."""
    response = client.get("/lang/en?next=/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Time limits" in page and "Verification" in page


def test_language_switch_never_redirects_off_site(client):
    """An absolute or protocol-relative `next` goes home instead."""
    for target in ("https://evil.example/", "//evil.example/", "/%09/evil.example/",
                   "/\\evil.example/", "/%0d%0a//evil.example/", "javascript:alert(1)"):
        response = client.get(f"/lang/en?next={target}")
        assert response.headers["Location"] == "/"


def test_unknown_page_is_friendly(client):
    """A missing page gets the styled 404 page."""
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.get_data(as_text=True)


def test_static_assets_are_local(client):
    """The stylesheet is served by the app itself, not a CDN."""
    page = client.get("/").get_data(as_text=True)
    assert "https://" not in page.split("<body>")[0]
    assert client.get("/static/css/app.css").status_code == 200


def test_translations_compiled_and_complete():
    """The committed .mo matches the .po and every message is translated."""
    folder = ROOT / "pengaduan/translations/id/LC_MESSAGES"
    with open(folder / "messages.po", "rb") as fh:
        po = read_po(fh)
    with open(folder / "messages.mo", "rb") as fh:
        mo = read_mo(fh)
    def pairs(catalog):
        return {_key(m.id): _key(m.string) for m in catalog if m.id}

    # Babel keeps the last of two entries with one msgid; gettext's own tools refuse the file.
    text = (folder / "messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.*)"$', text, re.M)
    assert [i for i in set(ids) if ids.count(i) > 1 and i != ("", "")] == []
    po_pairs, mo_pairs = pairs(po), pairs(mo)
    assert po_pairs == mo_pairs
    untranslated = [k for k, v in po_pairs.items() if not all(v)]
    assert not untranslated, untranslated


def test_translations_cover_every_source_string(tmp_path):
    """Every text marked for translation in the code and templates is in the catalogue
    (run `pybabel extract` and `update` as the README says when this fails)."""
    from babel.messages.frontend import CommandLineInterface

    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
                                "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2",
                                "-o", str(pot), str(ROOT)])
    with open(pot, "rb") as fh:
        source = {_key(m.id)[0] for m in read_po(fh) if m.id}
    with open(ROOT / "pengaduan/translations/id/LC_MESSAGES/messages.po", "rb") as fh:
        catalogue = {_key(m.id)[0] for m in read_po(fh) if m.id}
    assert sorted(source - catalogue) == []


def test_lazy_messages_come_from_the_escaping_wrapper():
    """flask-babel's lazy strings tell Jinja they are safe markup, so a message repeating a
    typed value would inject it; the code uses pengaduan.i18n's escaped LazyText instead."""
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "pengaduan").rglob("*.py")
                 if "from flask_babel import lazy" in path.read_text(encoding="utf-8")]
    assert offenders == []


def _key(value):
    """Plural entries come as lists or tuples; compare them as tuples."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def test_units_categories_users_from_cli(app, runner):
    """An admin sets up an organisation from the command line."""
    assert runner.invoke(args=["units", "create", "dukcapil", "Dinas Dukcapil"]).exit_code == 0
    result = runner.invoke(args=["units", "create", "PKM-1", "Puskesmas", "--timezone",
                                 "Asia/Makassar", "--working-days", "123456"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["categories", "create", "KTP", "KTP-el", "--unit", "DUKCAPIL"])
    assert result.exit_code == 0 and "for DUKCAPIL" in result.output
    result = runner.invoke(args=["users", "create", "siti@example.id", "--role", "officer",
                                 "--unit", "DUKCAPIL"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].strip()
    result = runner.invoke(args=["users", "create", "budi@example.id", "--role", "supervisor",
                                 "--unit", "PKM-1", "--password-stdin"],
                           input="a long enough password\n")
    assert result.exit_code == 0 and "password:" not in result.output
    with app.app_context():
        assert Unit.by_code("PKM-1").timezone == "Asia/Makassar"
        assert Unit.by_code("PKM-1").working_days == "123456"
        assert [u.code for u in Category.by_code("KTP").units] == ["DUKCAPIL"]
        siti = User.by_email("SITI@example.id")
        assert siti.check_password(password) and not siti.check_password("wrong")
        assert User.by_email("budi@example.id").check_password("a long enough password")
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions == ["unit.created", "unit.created", "category.created",
                           "user.created", "user.created"]


def test_cli_rejects_bad_input_clearly(app, runner):
    """Bad input exits 1 with the field and reason, and saves nothing."""
    runner.invoke(args=["units", "create", "A", "Unit A"])
    cases = [
        (["units", "create", "A", "Again"], "code: unit A already exists"),
        (["units", "create", "B", "B", "--timezone", "Mars/Olympus"], "timezone: unknown timezone"),
        (["units", "create", "C", "C", "--working-days", "189"], "working_days"),
        (["categories", "create", "X", "X", "--unit", "NOPE"], "unit: unknown unit NOPE"),
        (["users", "create", "not-an-email", "--role", "auditor"], "email: is not a valid email"),
        (["users", "create", "o@example.id", "--role", "officer"], "unit: officers and supervisors need at least one unit"),
        (["users", "token", "nobody@example.id"], "no user nobody@example.id"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)
    result = runner.invoke(args=["users", "create", "p@example.id", "--role", "admin",
                                 "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "password: must be at least" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Unit.id))) == 1
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_api_token_is_stored_hashed(app, runner):
    """`users token` prints a token once and stores only its hash."""
    runner.invoke(args=["users", "create", "a@example.id", "--role", "auditor"])
    token = runner.invoke(args=["users", "token", "a@example.id"]).output.strip()
    assert token.startswith("pgd_") and len(token) > 30
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).one()
        assert stored.token_hash == hash_token(token) and token not in stored.token_hash


def test_demo_seed_is_idempotent_and_real(app, runner):
    """Demo data covers every state through the workflow service and verifies."""
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert first.output.count("password: ") == len(demo.ACCOUNTS)
    second = runner.invoke(args=["demo", "seed"])
    assert "password: " not in second.output and "exist" in second.output
    with app.app_context():
        states = set(db.session.scalars(select(Complaint.state)))
        assert states == {"received", "awaiting_info", "verified", "follow_up_review", "followed_up", "closed"}
        assert db.session.scalar(select(func.count(Complaint.id))) == 36 + len(demo.CHANNEL_SAMPLES) + len(demo.EVALUATED)
        assert {"walk_in", "letter", "sp4n_lapor", "email"} <= set(db.session.scalars(select(Complaint.channel)))
        assert db.session.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.lapor_id.is_not(None), Complaint.lapor_unposted_since.is_not(None))) == 1
        reasons = set(db.session.scalars(select(Complaint.closure_reason).where(
            Complaint.state == "closed")))
        assert {"resolved", "referred", "withdrawn"} <= reasons
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0 and verify.output.startswith("OK ")


def test_sla_due_command(runner):
    """`sla due` prints the deadline first, then why (domain.md example)."""
    result = runner.invoke(args=["sla", "due", "--start", "2026-03-17T10:00:00+07:00",
                                 "--days", "3", "--unit", "working_days"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "2026-03-27T23:59:59+07:00"
    assert any("2026-03-19" in line and "Day of Silence" in line for line in lines)
    assert [line.split()[0] for line in lines if line.endswith("counted")] == [
        "2026-03-25", "2026-03-26", "2026-03-27"]


def test_sla_due_rejects_bad_start(runner):
    """A start that is not ISO 8601 gets a clear error."""
    result = runner.invoke(args=["sla", "due", "--start", "17/03/2026", "--days", "3",
                                 "--unit", "working_days"])
    assert result.exit_code == 1 and "ISO 8601" in result.output


def test_secure_cookies_follow_the_proxy_setting(tmp_path):
    """Behind a TLS proxy the session cookie is HTTPS-only; on a laptop it is not."""
    from pengaduan.config import load_config

    assert load_config(str(tmp_path), {"SECRET_KEY": "x"})["SESSION_COOKIE_SECURE"] is False
    behind = load_config(str(tmp_path), {"SECRET_KEY": "x", "PENGADUAN_PROXY_COUNT": "1"})
    assert behind["SESSION_COOKIE_SECURE"] is True
    forced = load_config(str(tmp_path), {"SECRET_KEY": "x", "PENGADUAN_SECURE_COOKIES": "1"})
    assert forced["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("name, value, said", [
    ("PENGADUAN_CHECKPOINT_MINUTES", "0", "at least 1"),
    ("PENGADUAN_CHECKPOINT_MINUTES", "-5", "at least 1"),
    ("PENGADUAN_MAX_BODY_KB", "satu", "whole number"),
    ("PENGADUAN_RECEIPTS_PER_ADDRESS", "-1", "at least 0"),
])
def test_a_number_setting_out_of_range_stops_the_start_naming_it(tmp_path, name, value, said):
    """A checkpoint interval of 0 (every `audit verify` would fail as stale) or a word where
    a number belongs is refused at start-up, naming the variable."""
    from pengaduan.config import load_config

    with pytest.raises(ValueError, match=f"{name} must be .*{said}|{name} must be a {said}"):
        load_config(str(tmp_path), {"SECRET_KEY": "x", name: value})
    assert load_config(str(tmp_path), {"SECRET_KEY": "x", "PENGADUAN_RECEIPTS_PER_ADDRESS": "0",
                                       "PENGADUAN_CHECKPOINT_MINUTES": " 60 "})["PENGADUAN_CHECKPOINT_MINUTES"] == 60


def test_huge_images_are_refused_before_decoding():
    """A small file that would decode to more than 40 megapixels is not accepted."""
    from PIL import Image

    from pengaduan.services.attachments import sniff

    bomb, small = io.BytesIO(), io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, "PNG")
    Image.new("RGB", (40, 30), "red").save(small, "PNG")
    assert len(bomb.getvalue()) < 1024 * 1024
    assert sniff(bomb.getvalue()) is None
    assert sniff(small.getvalue()) == "image/png"
