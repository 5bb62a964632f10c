"""The first draft of a complaint service standard, written from what the system already
knows: the procedure from the workflow's stages, the time limits from its SLA clocks, the
channels from the office's profile and the channels complaints arrive through, the cost
(free), how to file and track with the site's own addresses, and the number of handlers.

Links come from the site's configured address, as in emails (the macros of DRAFT). The text
is Indonesian: the standard is an Indonesian public document, issued by decree.
Every component stays editable; this only saves typing the obvious."""
from __future__ import annotations

import re

from flask import current_app, get_template_attribute
from sqlalchemy import func, select

from ...extensions import db
from ...i18n import label
from ...models import STAFF_CHANNELS, Role, Unit, User
from ...models.user import user_units
from ...workflow import current_workflow

DRAFT = "standards/_draft.txt"  # the parts taken from the site's address and the office's profile

UNITS = {"working_days": "hari kerja", "calendar_days": "hari kalender", "hours": "jam"}
# How the channels staff type complaints in from read in the standard (models.STAFF_CHANNELS).
CHANNEL_WORDS = {
    "walk_in": "datang langsung ke loket pengaduan", "phone": "telepon", "letter": "surat",
    "email": "surat elektronik (email)", "whatsapp": "WhatsApp", "sms": "SMS",
    "social_media": "media sosial", "complaint_box": "kotak pengaduan",
    "sp4n_lapor": "SP4N-LAPOR! (lapor.go.id)", "other": "saluran lain",
}
LEGAL_BASIS = (
    "Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik",
    "Peraturan Presiden Nomor 76 Tahun 2013 tentang Pengelolaan Pengaduan Pelayanan Publik",
    "Peraturan Menteri PANRB Nomor 15 Tahun 2014 tentang Pedoman Standar Pelayanan",
)
REGULATION = re.compile(r"\b(\d+)/(\d{4})\b")  # "PermenPANRB 5/2025": number and year
MAKLUMAT = ("Dengan ini, kami menyatakan sanggup menyelenggarakan pelayanan pengaduan sesuai "
            "standar pelayanan yang telah ditetapkan dan apabila tidak menepati janji ini, kami "
            "siap menerima sanksi sesuai peraturan perundang-undangan yang berlaku.")


def _lines(items) -> str:
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))


def _procedure(workflow) -> str:
    stages = [f"{label(s.label, 'id')}: {label(s.description, 'id')}".rstrip(": ")
              for s in workflow.states.values()]
    return _lines(stages + ["Pelapor dapat melacak status pengaduan setiap saat dengan kode "
                            "pelacakan dan PIN yang diterima saat mengadu."])


def _time_limits(workflow) -> str:
    return _lines(f"{label(rule.label, 'id')}: {rule.amount} {UNITS.get(rule.unit, rule.unit)} "
                  f"({rule.source})" for rule in workflow.staff_clocks.values())


def _legal_basis(workflow) -> str:
    """The regulations above, then those the workflow's clocks cite that they do not name
    (a source without a number, a unit's own policy, is no legal basis)."""
    cited = {part.strip() for rule in workflow.staff_clocks.values() for part in re.split(r"[;,]", rule.source)}
    extra = sorted(source for source in cited if (found := REGULATION.search(source))
                   and not any(f"Nomor {found[1]} Tahun {found[2]}" in law for law in LEGAL_BASIS))
    return _lines(list(LEGAL_BASIS) + extra)


def site(name: str, *args) -> str:
    """A part of the draft from the site's address or the office's profile (a macro of DRAFT)."""
    return str(get_template_attribute(DRAFT, name)(*args)).strip()


def _addresses() -> list[str]:
    """Where and how a complaint reaches the office: the site, then the office's contacts."""
    return [line.strip() for line in site("ways").splitlines() if line.strip()]


def _handlers(unit: Unit | None) -> int:
    """Active officers and supervisors of the unit (of every unit for the default)."""
    query = select(func.count(func.distinct(User.id))).where(
        User.active.is_(True), User.role.in_((Role.OFFICER, Role.SUPERVISOR)))
    if unit is not None:
        query = query.join(user_units, user_units.c.user_id == User.id).where(user_units.c.unit_id == unit.id)
    return db.session.scalar(query) or 0


def drafted(unit: Unit | None) -> dict[str, str]:
    """The 14 components as the system can write them for `unit` (None: the default)."""
    workflow = current_workflow()
    where = unit.name if unit is not None else site("office_name")
    handlers = _handlers(unit)
    channels = ", ".join(CHANNEL_WORDS.get(c, c) for c in STAFF_CHANNELS if c != "other")
    return {
        "legal_basis": _legal_basis(workflow),
        "requirements": _lines((
            "Uraian pengaduan: apa yang terjadi, di mana dan kapan.",
            "Identitas pelapor (nama dan kontak); pelapor dapat memilih anonim atau identitas dirahasiakan.",
            f"Bukti pendukung bila ada (foto, dokumen), paling besar "
            f"{current_app.config['PENGADUAN_MAX_UPLOAD_MB']} MB per berkas.",
        )),
        "procedure": _procedure(workflow),
        "time_limit": _time_limits(workflow),
        "cost": "Gratis / tanpa biaya.",
        "product": _lines((
            "Tanda terima berisi kode pelacakan dan PIN.",
            "Tanggapan dan tindak lanjut tertulis atas pengaduan.",
        )),
        "facilities": _lines([f"Formulir pengaduan daring: {site('form_link')}",
                              f"Saluran lain: {channels}.",
                              "Bantuan bagi penyandang disabilitas (juru bahasa isyarat, cetak besar, "
                              "bantuan di loket) dapat diminta pada formulir pengaduan."]),
        "competence": "Pengelola pengaduan memahami standar pelayanan, alur penanganan pengaduan, "
                      "bentuk-bentuk maladministrasi dan kerahasiaan identitas pelapor, serta "
                      "mampu menggunakan aplikasi pengaduan.",
        "internal_supervision": "Supervisi oleh atasan langsung setiap bulan dan pengawasan oleh "
                                "Inspektorat; pengaduan yang melewati batas waktu dieskalasi "
                                "otomatis kepada atasan.",
        "complaint_handling": _lines(
            [f"Sampaikan pengaduan melalui {way}." for way in _addresses()]
            + [f"Lacak pengaduan di {site('track_link')} dengan kode pelacakan dan PIN."]),
        "staff_count": (f"{handlers} orang pengelola pengaduan di {where}." if handlers
                        else "Ditetapkan dengan surat keputusan tim pengelola pengaduan."),
        "service_guarantee": f"Pelayanan pengaduan diberikan sesuai standar ini, dijamin dengan "
                             f"maklumat pelayanan {where}.",
        "security_guarantee": "Identitas pelapor yang memilih anonim atau rahasia tidak "
                              "diungkapkan; setiap akses dan perubahan data tercatat dalam jejak "
                              "audit yang tidak dapat diubah.",
        "performance_evaluation": "Survei Kepuasan Masyarakat (SKM) setiap triwulan dan evaluasi "
                                  "penanganan pengaduan setiap triwulan oleh atasan langsung.",
    }


def drafted_maklumat() -> str:
    return MAKLUMAT
