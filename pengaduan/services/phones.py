"""Telephone numbers as people type them ("0812-3456-7890", "+62 812 3456 7890", "(0739)
21234") in one form, E.164 ("+6281234567890"), checked against the numbering plan of the
region (Indonesia unless told), and turned back into what people read and links that dial."""
from __future__ import annotations

from urllib.parse import quote

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "ID"


def to_e164(number: str | None, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 ("+6281234567890"), or None when it is empty or not a valid
    number of the region (a number with its own +country code may be of any country)."""
    if not isinstance(number, str) or not number.strip() or len(number) > 40:
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def readable(e164: str | None) -> str | None:
    """An E.164 number as people of its country write it: "0812-3456-7890" and "(0739) 21234"
    for Indonesian numbers, "+65 6123 4567" for others."""
    if not e164:
        return None
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    style = (PhoneNumberFormat.NATIONAL if phonenumbers.region_code_for_number(parsed) == DEFAULT_REGION
             else PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, style)


def tel_link(e164: str | None) -> str | None:
    """A `tel:` link dialling the number ("tel:+6281234567890")."""
    return f"tel:{e164}" if e164 else None


def whatsapp_link(e164: str | None, text: str | None = None) -> str | None:
    """A link opening a WhatsApp chat with the number ("https://wa.me/6281234567890"),
    with `text` typed in when given."""
    if not e164:
        return None
    link = "https://wa.me/" + e164.lstrip("+")
    if text:
        link += "?text=" + quote(text)
    return link
