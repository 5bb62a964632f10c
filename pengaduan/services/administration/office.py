"""The office's identity: the name, logo and contacts citizens see on every public page, on
the receipt, in every email and on reports.

`current_office()` answers with an immutable `Office`, read once per request (or per
application context, for the worker and commands) and before anyone saved anything built
from the configuration (`PENGADUAN_OFFICE_NAME`), so no page needs the table to be filled.
Templates read it as the Jinja global `office` (registered by the web layer).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urlsplit

from flask import current_app, g, has_app_context
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import undefer

from ... import audit
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import OFFICE_ROW_ID, OfficeProfile
from ...policy import Actor
from .. import inputs, phones
from ..inputs import EMAIL

log = logging.getLogger(__name__)

LAPOR_URL = "https://www.lapor.go.id"
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
LOGO_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
LOGO_MAX_BYTES = 2 * 1024 * 1024  # as uploaded
LOGO_MAX_SIDE = 4000  # pixels of the upload, each side; larger is refused before decoding
LOGO_MIN_SIDE = 32
LOGO_STORED_SIDE = 512  # the stored copy fits in this square (a header shows it at 48 px)
TEXT_FIELDS = ("name", "address", "phone", "whatsapp", "email", "hours", "lapor_url")
_CACHE = "_office_profile"


@dataclass(frozen=True)
class Office:
    """The office as shown: phone numbers in E.164, None where nothing was given."""

    name: str
    address: str | None = None
    phone: str | None = None
    whatsapp: str | None = None
    email: str | None = None
    hours: str | None = None
    lapor_url: str = LAPOR_URL
    logo_version: int | None = None  # None: no logo
    logo_type: str | None = None

    @property
    def has_logo(self) -> bool:
        return self.logo_version is not None

    @property
    def logo_extension(self) -> str | None:
        return LOGO_EXTENSIONS.get(self.logo_type or "")

    @property
    def phone_display(self) -> str | None:
        return phones.readable(self.phone)

    @property
    def phone_link(self) -> str | None:
        return phones.tel_link(self.phone)

    @property
    def whatsapp_display(self) -> str | None:
        return phones.readable(self.whatsapp)

    @property
    def whatsapp_link(self) -> str | None:
        return phones.whatsapp_link(self.whatsapp)

    @property
    def has_contacts(self) -> bool:
        return any((self.address, self.phone, self.whatsapp, self.email, self.hours))


def default_office() -> Office:
    """The office before anyone saved its identity: the configured name alone."""
    return Office(name=current_app.config["PENGADUAN_OFFICE_NAME"])


def current_office() -> Office:
    """The office's identity, read once per application context (a request, a job).
    A database that cannot be read (an error page while it is down) gives the default."""
    cached = g.get(_CACHE) if has_app_context() else None
    if cached is not None:
        return cached
    try:
        row = db.session.get(OfficeProfile, OFFICE_ROW_ID)
    except SQLAlchemyError:
        log.warning("office profile unreadable; the configured name is shown")
        return default_office()
    office = _office_of(row) if row is not None else default_office()
    g.setdefault(_CACHE, office)
    return office


def forget_cached() -> None:
    """Drop the profile read in this context (after a change, the next use reads it again)."""
    if has_app_context():
        g.pop(_CACHE, None)


def _office_of(row: OfficeProfile) -> Office:
    has_logo = row.logo_type is not None
    return Office(name=row.name, address=row.address, phone=row.phone, whatsapp=row.whatsapp,
                  email=row.email, hours=row.hours, lapor_url=row.lapor_url or LAPOR_URL,
                  logo_version=row.logo_version if has_logo else None,
                  logo_type=row.logo_type if has_logo else None)


def logo(version: int) -> tuple[bytes, str] | None:
    """The stored logo's bytes and type if `version` is the current one, else None."""
    row = db.session.get(OfficeProfile, OFFICE_ROW_ID, options=[undefer(OfficeProfile.logo)])
    if row is None or row.logo is None or row.logo_type is None or row.logo_version != version:
        return None
    return row.logo, row.logo_type


@dataclass(frozen=True)
class CheckedLogo:
    data: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_logo(upload, field: str = "logo") -> CheckedLogo | None:
    """The uploaded logo (a file storage, or None when none was chosen) checked by its content
    and re-encoded: a PNG or JPEG that decodes completely, within LOGO_MAX_BYTES and
    LOGO_MAX_SIDE, turned upright, scaled to fit LOGO_STORED_SIDE and saved again without
    EXIF, XMP, ICC profile, comments or text chunks. Raises InvalidFields with the reason.
    Decoding takes time: call it before the request's write transaction begins."""
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return logo_of(upload.read(LOGO_MAX_BYTES + 1), field)


def logo_of(data: bytes, field: str = "logo") -> CheckedLogo:
    """A logo's bytes checked and re-encoded as check_logo does, or InvalidFields."""
    if not data:
        raise InvalidFields({field: _l("The chosen logo file is empty.")})
    if len(data) > LOGO_MAX_BYTES:
        raise InvalidFields({field: _l("The logo is larger than %(mb)d MB. Please send a smaller "
                                       "image.", mb=LOGO_MAX_BYTES // (1024 * 1024))})
    not_an_image = _l("The logo must be a PNG or JPEG image; this file is not one.")
    try:
        image = Image.open(BytesIO(data), formats=list(LOGO_TYPES))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as exc:
        raise InvalidFields({field: not_an_image}) from exc
    with image:
        if image.width > LOGO_MAX_SIDE or image.height > LOGO_MAX_SIDE:
            raise InvalidFields({field: _l(
                "The logo is %(width)d × %(height)d pixels; at most %(max)d pixels on each side, "
                "please.", width=image.width, height=image.height, max=LOGO_MAX_SIDE)})
        if image.width < LOGO_MIN_SIDE or image.height < LOGO_MIN_SIDE:
            raise InvalidFields({field: _l(
                "The logo is %(width)d × %(height)d pixels; it needs at least %(min)d pixels on "
                "each side to be legible.", width=image.width, height=image.height,
                min=LOGO_MIN_SIDE)})
        try:
            return _reencoded(image)
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            raise InvalidFields({field: not_an_image}) from exc


def _reencoded(image: Image.Image) -> CheckedLogo:
    """The first frame, decoded completely, upright, fitted into the stored square and saved
    in its own format with nothing but its pixels (and a PNG's transparency)."""
    kind = image.format
    image.load()
    upright = ImageOps.exif_transpose(image)
    if kind == "JPEG":
        upright = upright.convert("RGB")  # CMYK or greyscale scans: one form browsers all show
    elif upright.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        upright = upright.convert("RGBA")
    upright.thumbnail((LOGO_STORED_SIDE, LOGO_STORED_SIDE), Image.Resampling.LANCZOS)
    keep = {"transparency": image.info["transparency"]} if (
        kind == "PNG" and "transparency" in image.info and upright.mode in ("P", "L", "RGB")) else {}
    upright.info = {}
    out = BytesIO()
    if kind == "JPEG":
        upright.save(out, format="JPEG", quality=90, optimize=True)
    else:
        upright.save(out, format="PNG", optimize=True, **keep)
    return CheckedLogo(out.getvalue(), LOGO_TYPES[kind])


def _checked(values: dict, errors: dict) -> dict:
    """The settings as stored, each problem added to `errors` under its field."""
    limits = {field: inputs.column_length(getattr(OfficeProfile, field)) for field in TEXT_FIELDS}
    cleaned = {"name": inputs.name(values.get("name"), "name", errors, OfficeProfile.name)}
    for field in ("address", "hours"):
        cleaned[field] = inputs.text(values, field, errors, limits)
    if cleaned["address"]:  # lines as typed, without a textarea's \r or blank lines
        cleaned["address"] = "\n".join(
            line.strip() for line in cleaned["address"].splitlines() if line.strip())
    for field, example in (("phone", "(0739) 21234"), ("whatsapp", "0812-3456-7890")):
        typed = inputs.text(values, field, errors, {field: 40})
        cleaned[field] = phones.to_e164(typed) if typed else None
        if typed and cleaned[field] is None and field not in errors:
            errors[field] = _l("is not a telephone number we can dial; write it with its area or "
                               "mobile code, for example %(example)s", example=example)
    email = inputs.text(values, "email", errors, limits)
    if email and "email" not in errors and not EMAIL.match(email):
        errors["email"] = _l("is not a valid email address")
    cleaned["email"] = email.lower() if email else None
    url = inputs.text(values, "lapor_url", errors, limits)
    if url and "lapor_url" not in errors:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
            errors["lapor_url"] = _l("must be a web address starting with https:// (for example "
                                     "%(example)s)", example=LAPOR_URL)
    cleaned["lapor_url"] = url or LAPOR_URL
    return cleaned


def save_office(values: dict, *, logo: CheckedLogo | None = None, remove_logo: bool = False,
                actor: Actor, errors: dict | None = None) -> list[str]:
    """Check and store the office's identity from `values` (the text fields as typed); a new
    `logo` (from check_logo) replaces the stored one, `remove_logo` drops it. Nothing is
    stored when anything is wrong: InvalidFields names each field, together with `errors`
    found before (a refused logo). Returns the names of the fields that changed ("logo"
    included); the audit event names them with their old and new values (the logo by its
    digest): none of them is personal data."""
    errors = dict(errors or {})
    cleaned = _checked(values, errors)
    if errors:
        raise InvalidFields(errors)
    row = db.session.get(OfficeProfile, OFFICE_ROW_ID)
    before = _office_of(row) if row is not None else default_office()
    if row is None:
        row = OfficeProfile(id=OFFICE_ROW_ID, logo_version=0)
        db.session.add(row)
    changes = {field: {"before": getattr(before, field), "after": cleaned[field]}
               for field in TEXT_FIELDS if getattr(before, field) != cleaned[field]}
    for field in TEXT_FIELDS:
        setattr(row, field, cleaned[field])
    if logo is not None:
        row.logo, row.logo_type = logo.data, logo.content_type
        row.logo_version = (row.logo_version or 0) + 1
        changes["logo"] = {"before": "present" if before.has_logo else None,
                           "after": {"sha256": logo.sha256, "size": len(logo.data),
                                     "type": logo.content_type}}
    elif remove_logo and before.has_logo:
        row.logo = row.logo_type = None
        changes["logo"] = {"before": "present", "after": None}
    if changes:
        audit.record(db.session, "office.updated", actor=actor.label, unit=None,
                     payload={"changed": sorted(changes), "changes": changes})
    forget_cached()
    return sorted(changes)


def seed_office(values: dict, *, logo: CheckedLogo | None = None,
                actor: Actor = Actor.system()) -> bool:
    """Store `values` (and `logo`) as the office's identity unless an identity was saved
    already (the demo's seed is idempotent and never overwrites an admin's settings). True
    if stored."""
    if db.session.get(OfficeProfile, OFFICE_ROW_ID) is not None:
        return False
    save_office(values, logo=logo, actor=actor)
    return True
