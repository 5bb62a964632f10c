"""What leaves the system for superiors and auditors: the periodic report and the evidence
pack. Auditors cover every unit; supervisors and officers their own."""
from __future__ import annotations

import io
import os
import tempfile
from datetime import date, timedelta

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user, login_required

from .. import audit, spreadsheet
from ..database import read_only
from ..evidence import export_pack
from ..i18n import lazy_gettext as _l
from ..models import Unit
from ..policy import Actor, can_export_evidence, can_read_reports, sees_all_units
from ..services.complaints.lapor_oversight import with_lapor
from ..services.inputs import in_calendar, out_of_calendar
from ..services.oversight.timeliness import units_in_view
from ..services.oversight.reports import PDF_OVERDUE_LIMIT, PdfUnavailable, csv_rows, periodic_report, write_pdf
from ..services.oversight.supervision import today
from .downloads import attachment_header

bp = Blueprint("reporting", __name__, url_prefix="/staff")


@bp.before_request
@login_required
def _staff():
    if not can_read_reports(Actor.staff(current_user)):
        abort(403)


def _last_quarter() -> tuple[date, date]:
    first_of_quarter = date(today().year, 3 * ((today().month - 1) // 3) + 1, 1)
    end = first_of_quarter - timedelta(days=1)
    return date(end.year, end.month - 2, 1), end


def _quick_periods() -> list[tuple[str, date, date]]:
    """The periods offices report on, one click each (the last quarter is the default)."""
    now = today()
    last_start, last_end = _last_quarter()
    return [(_l("This quarter so far"), date(now.year, 3 * ((now.month - 1) // 3) + 1, 1), now),
            (_l("Last quarter"), last_start, last_end),
            (_l("This year so far"), date(now.year, 1, 1), now),
            (_l("Last year"), date(now.year - 1, 1, 1), date(now.year - 1, 12, 31))]


def _choice(values, one_unit: bool = True) -> tuple[date, date, Unit | None, dict]:
    """The period and unit asked for, or the defaults; errors name the bad field. Without
    `one_unit`, no unit means all the units this user may see."""
    default_start, default_end = _last_quarter()
    errors = {}
    try:
        start = date.fromisoformat(values.get("from") or default_start.isoformat())
    except ValueError:
        start, errors["from"] = default_start, _l("must be a date (YYYY-MM-DD)")
    try:
        end = date.fromisoformat(values.get("to") or default_end.isoformat())
    except ValueError:
        end, errors["to"] = default_end, _l("must be a date on or after the start")
    for name, value, default in (("from", start, default_start), ("to", end, default_end)):
        if not in_calendar(value):  # the period's bounds would fall off the calendar
            errors[name] = out_of_calendar()
    start = start if "from" not in errors else default_start
    end = end if "to" not in errors else default_end
    if end < start and "to" not in errors:
        errors["to"] = _l("must be a date on or after the start")
    units = units_in_view(current_user)
    code = values.get("unit") or ""
    unit = next((u for u in units if u.code == code), None)
    if code and unit is None:
        abort(404)  # not a unit of mine: as if it did not exist
    if unit is None and not sees_all_units(current_user):  # auditors may ask for all units
        if len(units) == 1:
            unit = units[0]
        elif one_unit:
            errors["unit"] = "required"
    return start, end, unit, errors


@bp.get("/reports")
def report():
    """The periodic report (Perpres 76/2013) for a period and one unit or all the units this
    user may see (a line per unit), as a page, CSV (`format=csv`) or a PDF ready to sign
    (`format=pdf`)."""
    return _report(request.args.get("format") or "html")


@bp.get("/reports.pdf")
def report_pdf():
    """The periodic report as an A4 PDF with the office's name and a signature block."""
    return _report("pdf")


def _report(fmt: str):
    if fmt not in ("html", "csv", "pdf"):
        abort(404)
    start, end, unit, errors = _choice(request.args, one_unit=False)
    units = units_in_view(current_user)
    if errors:
        return render_template("reports/page.html", report=None, units=units, start=start,
                               end=end, unit=unit, errors=errors, quick_periods=_quick_periods()), 422
    with read_only():
        result = with_lapor(periodic_report(start, end, unit, units=None if sees_all_units(current_user) else units,
                                            overdue_limit=PDF_OVERDUE_LIMIT if fmt == "pdf" else 500))
    name = f"laporan-{unit.code if unit else 'semua'}-{start}-{end}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = spreadsheet.Writer(buffer)
        for row in csv_rows(result):
            writer.writerow(row)
        return Response(buffer.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": attachment_header(f"{name}.csv")})
    if fmt == "pdf":
        try:
            pdf = write_pdf(render_template("reports/document.html", report=result, preparer=current_user))
        except PdfUnavailable:
            current_app.logger.exception("report PDF: WeasyPrint or Pango is missing")
            abort(503)
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": attachment_header(f"{name}.pdf")})
    return render_template("reports/page.html", report=result, units=units, start=start,
                           end=end, unit=unit, errors={}, quick_periods=_quick_periods())


@bp.route("/evidence", methods=["GET", "POST"])
def evidence():
    """Download a signed evidence pack; the export itself is recorded in the audit chain."""
    if not can_export_evidence(Actor.staff(current_user)):
        abort(403)
    values = request.form if request.method == "POST" else request.args
    start, end, unit, errors = _choice(values)
    if request.method == "GET" or errors:
        shown = errors if request.method == "POST" else {}
        return render_template("evidence/page.html", units=units_in_view(current_user), start=start, end=end,
                               unit=unit, errors=shown,
                               key=audit.public_key_hex()), 422 if shown else 200
    # A file without a name on disk (the pack holds the whole register): nothing stays behind
    # whatever the WSGI server does with the response, and it is gone once closed.
    pack = tempfile.TemporaryFile()
    try:
        export_pack(pack, start, end, unit, actor=Actor.staff(current_user), seal=True)
        size = pack.seek(0, os.SEEK_END)
    except BaseException:
        pack.close()
        raise
    name = f"bukti-{unit.code if unit else 'semua'}-{start}-{end}.zip"
    response = Response(_chunks(pack), mimetype="application/zip", headers={
        "Content-Disposition": attachment_header(name), "Content-Length": str(size),
        "Cache-Control": "private, no-store"})
    response.call_on_close(pack.close)  # also when the body was never read
    return response


def _chunks(pack, size: int = 1 << 16):
    """The pack's bytes; the file is closed at the end, or when the client goes away."""
    try:
        pack.seek(0)
        while data := pack.read(size):
            yield data
    finally:
        pack.close()
