"""What anyone may read of a complaint, by privacy mode: the one rule that Open311 and the
public pages follow, and the words in which the complaint form and the home page explain it.

- public: listed; its description and the place of the incident are published;
- anonymous: listed with its unit, category, dates and status only, never its text, which
  may give its author away;
- confidential: never listed.

No mode ever publishes the complainant's identity. Change a rule and its explanation here,
together.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement

from ...i18n import lazy_gettext as _l
from ...models import PRIVACY_MODES, Complaint


@dataclass(frozen=True)
class Publication:
    listed: bool  # appears in public listings (Open311 requests, public pages)
    text: bool  # its description and place are published
    explanation: object  # what the complaint form and the home page say of it


RULES: dict[str, Publication] = {
    "public": Publication(True, True, _l(
        "Your name is known to the officers who handle the complaint. The description of the "
        "complaint and the place of the incident are published with its status (open data, "
        "Open311), never your identity.")),
    "anonymous": Publication(True, False, _l(
        "Your identity is hidden from the unit you complain about and from the public. Only the "
        "unit, category, dates and status of the complaint are published, never its text. You "
        "may leave the identity fields empty.")),
    "confidential": Publication(False, False, _l(
        "Your identity and the content of the complaint are never made public: it appears in no "
        "public list.")),
}
assert set(RULES) == set(PRIVACY_MODES)


def listed() -> ColumnElement[bool]:
    """The SQL condition for complaints a public listing may show."""
    return Complaint.privacy.in_([mode for mode, rule in RULES.items() if rule.listed])


def publishable(complaint: Complaint) -> dict | None:
    """The complaint's own words anyone may read: None when it is never listed; else its
    `description` and `place`, each None when the mode withholds the text."""
    rule = RULES.get(complaint.privacy)
    if rule is None or not rule.listed:
        return None
    return {"description": complaint.description if rule.text else None,
            "place": complaint.incident_location if rule.text else None}
