"""The A4 poster of a service standard and its record as the evidence pack keeps it: the
poster's page (WeasyPrint makes the PDF of it; the pack keeps the page itself) and the
standard in force for a unit as plain data."""
from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ...i18n import label
from ...models import STANDARD_COMPONENTS, ServiceStandard, Unit
from ..complaints.receipts import tracking_qr
from ..oversight.supervision import today
from . import prefill, review_of


def complaint_form_link(unit: Unit | None) -> str:
    """The complaint form with the unit chosen: what the poster's QR code opens."""
    return prefill.site("form_link", unit.code if unit else None)


def poster_html(unit: Unit | None, standard: ServiceStandard) -> str:
    """The poster as a self-contained page, in Indonesian (the language the standard is
    issued in): the maklumat, the six published components, a QR code to the form."""
    link = complaint_form_link(unit)
    with force_locale("id"):
        return render_template("standards/poster.html", unit=unit, standard=standard, link=link,
                               short=link.split("://", 1)[-1], qr=tracking_qr(link, _("Complaint form")),
                               on_day=today())


def record(unit: Unit | None, standard: ServiceStandard | None) -> dict:
    """The standard in force for `unit` (None: the default itself) as the evidence pack keeps it."""
    source = "none" if standard is None else ("default" if standard.unit_id is None and unit is not None
                                              else "own")
    data = {"unit": unit.code if unit else None, "source": source}
    if standard is None:
        return data
    review = review_of(standard)
    return data | {
        "version": standard.version, "published": standard.published,
        "published_at": standard.published_at.isoformat() if standard.published_at else None,
        "updated_at": standard.updated_at.isoformat(),
        "reviewed_on": standard.reviewed_on.isoformat() if standard.reviewed_on else None,
        "review_due_on": review.due_on.isoformat() if review.due_on else None, "review": review.status,
        "maklumat": standard.maklumat, "decree_number": standard.decree_number,
        "decree_date": standard.decree_date.isoformat() if standard.decree_date else None,
        "components": {code: {"label": label(c["label"], "id"), "must_publish": c["published"],
                              "text": standard.text_of(code)} for code, c in STANDARD_COMPONENTS.items()},
    }
