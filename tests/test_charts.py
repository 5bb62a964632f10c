"""The server-drawn charts (templates/_charts.html): every figure is in the SVG's label and
in the table beside it, long labels wrap, and nothing relies on colour alone."""
from __future__ import annotations

import re

import pytest
from flask import render_template_string

from pengaduan import create_app

CHARTS = '{% from "_charts.html" import column_chart, bar_chart, percent_chart %}'


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("charts")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'unused.sqlite3'}",
                      "SECRET_KEY": "test-secret-key", "PENGADUAN_SIGNING_KEY": str(tmp / "signing_key.pem")},
                     instance_path=str(tmp / "instance"))

    def render(source: str, lang: str = "id", **values) -> str:
        with app.test_request_context(f"/?lang={lang}", headers={"Accept-Language": lang}):
            return render_template_string(CHARTS + source, **values)
    return render


def test_column_chart_labels_every_value_and_repeats_it_in_a_table(page):
    html = page('{{ column_chart("Pengaduan per bulan", items, caption="Diterima") }}',
                items=[("Jan 2026", 12), ("Feb 2026", 1234), ("Mar 2026", 0)])
    assert 'role="img"' in html and 'viewBox="0 0 360 ' in html and 'width="100%"' in html
    assert 'aria-label="Pengaduan per bulan: Jan 2026 12; Feb 2026 1.234; Mar 2026 0"' in html
    assert "<figcaption>Diterima" in html
    table = html.split("<table", 1)[1]
    assert re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', table) == [
        ("Jan 2026", "12"), ("Feb 2026", "1.234"), ("Mar 2026", "0")]
    assert html.count("<rect") == 2  # a zero draws no bar, but still its "0"
    assert ">0</text>" in html


def test_many_columns_leave_labels_out_but_never_from_the_table(page):
    items = [(f"{m:02d}/26", m) for m in range(1, 37)]
    html = page('{{ column_chart("Per bulan", items) }}', items=items)
    assert html.count("<rect") == 36
    drawn = re.findall(r'fill="#374151">(\d\d/26)</text>', html)
    assert "01/26" in drawn and len(drawn) < 36
    assert len(re.findall(r'<th scope="row">\d\d/26</th>', html)) == 36
    assert "sebagian batang tanpa label" in html


def test_bar_chart_wraps_a_long_label_and_gives_shares(page):
    long = "Pelayanan administrasi kependudukan dan pencatatan sipil (KTP-el, KK, akta kelahiran)"
    html = page('{{ bar_chart("Menurut kategori", items, total=55) }}', items=[(long, 40), ("Lainnya", 15)])
    tspans = re.findall(r"<tspan[^>]*>(.*?)</tspan>", html)
    assert " ".join(tspans[:-1]) == long and all(len(t) <= 50 for t in tspans)
    assert "40 · 72,7%" in html and "15 · 27,3%" in html
    assert "<td>72,7%</td>" in html


def test_percent_chart_says_no_data_instead_of_zero_and_speaks_english(page):
    html = page('{{ percent_chart("On time", items) }}', lang="en",
                items=[("Verification", 17, 20), ("Resolution", 0, 0), ("Response", 0, 4)])
    assert "85.0% (17/20)" in html and "0.0% (0/4)" in html and ">no data</text>" in html
    assert 'aria-label="On time: Verification 85.0% (17/20); Resolution no data; Response 0.0% (0/4)"' in html
    assert html.count('fill="#0b5394"') == 1  # only the 85 % has a filled bar


def test_an_empty_chart_says_so(page):
    for macro in ("column_chart", "bar_chart", "percent_chart"):
        html = page("{{ %s('Kosong', []) }}" % macro)
        assert "Tidak ada data" in html and 'aria-label="Kosong: Tidak ada data"' in html
