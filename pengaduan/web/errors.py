"""The error pages people see (templates/errors/): http/errors.py hands every error of a
page request here."""
from __future__ import annotations

from flask import render_template

from ..errors import ConcurrentChange, DomainError
from ..http.errors import DatabaseUnavailable, HTTPError

PAGES = (400, 403, 404, 413, 429, 503)  # statuses with a page of their own in errors/


def page(error: DomainError):
    """The page for people: a status's own page, a domain error's message, "changed
    meanwhile" with a way back for a conflict (a form that can keep what was typed catches
    ConcurrentChange itself and shows the form again)."""
    if isinstance(error, DatabaseUnavailable):
        return render_template("errors/unavailable.html"), error.status
    if isinstance(error, ConcurrentChange):
        return render_template("errors/409.html", error=error), error.status
    if isinstance(error, HTTPError) and error.status in PAGES:
        return render_template(f"errors/{error.status}.html", error=error), error.status
    return render_template("errors/generic.html", error=error), error.status
