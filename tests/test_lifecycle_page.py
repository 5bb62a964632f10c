"""/alur shows the lifecycle the workflow file defines, in Indonesian first; staff also see
internal steps and the Mermaid text."""
from __future__ import annotations

from pengaduan.workflow import current_workflow
from test_staff import OFFICER_A, org, signed_in  # noqa: F401 (org is a fixture)


def test_the_public_sees_every_stage_and_its_public_steps_in_indonesian(client):
    html = client.get("/alur").get_data(as_text=True)
    assert '<html lang="id"' in html
    for state in ("Diterima", "Perlu kelengkapan", "Terverifikasi", "Ditindaklanjuti", "Selesai"):
        assert f"<h2>{state}" in html
    assert "<strong>Minta kelengkapan</strong>" in html
    assert "Dilakukan oleh: pelapor." in html  # provide_info, withdraw, ...
    assert "Disposisi ke unit lain" not in html  # an internal step (public: false)
    assert "stateDiagram-v2" not in html


def test_staff_see_internal_steps_and_the_mermaid_text(app, org):
    client = signed_in(app, OFFICER_A)
    client.set_cookie("lang", "en")
    html = client.get("/alur").get_data(as_text=True)
    assert "<strong>Reassign to another unit</strong>" in html
    assert "Taken by: a complaint officer, a supervisor." in html
    with app.app_context():
        mermaid = current_workflow().to_mermaid()
    assert '<pre class="diagram">' + mermaid.replace(">", "&gt;") in html


def test_the_page_follows_the_file_in_force(app, client):
    """A renamed step or stage shows under its new label: nothing on the page is fixed."""
    from test_workflow_renames import definition, install

    data = definition()
    data["states"]["verified"]["label"] = {"id": "Sudah diperiksa", "en": "Checked"}
    install(app, data)
    html = client.get("/alur").get_data(as_text=True)
    assert "<h2>Sudah diperiksa" in html and "Terverifikasi" not in html
