"""Every answer carries the browser-side protections: a Content-Security-Policy without
inline script or framing, nosniff, a same-origin referrer policy; and no page relies on
inline script or style that the policy would block."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["/", "/complaints/new", "/track", "/login", "/api/v1/units", "/api/v1/docs",
         "/open311/v2/services.json", "/static/css/app.css", "/no-such-page", "/metrics", "/readyz"]


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_template_served_in_the_browser_has_inline_script_or_style():
    """Emails, the evidence-pack summary and the documents made into a PDF on the server (the
    periodic report, a survey's results, the complaint evaluation report, the service
    standard's poster, and the style they share), or printed by the command line, are not
    served as pages."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        rel = path.relative_to(ROOT / "templates").as_posix()
        if rel.startswith(("emails/", "evidence/summary", "reports/document", "survey_results/document",
                           "evaluation/document", "standards/poster", "_document")):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=|javascript:|\sstyle\s*=|<style", text, re.I):
            offenders.append(rel)
    assert offenders == []
