from pengaduan.extensions import db
from pengaduan.services import advance


def test_full_main_path(world):
    filed = world.file()
    c = filed.complaint
    advance(c, "verify", world.officer_a, unit="UNIT-A", category="GENERAL", classification="pengaduan")
    advance(c, "follow_up", world.officer_a, response="Sudah kami proses.")
    advance(c, "close", world.officer_a, resolution="KTP-el sudah diserahkan.")
    db.session.commit()
    assert c.state == "closed" and c.closure_reason == "resolved"
