"""The complaint service standard (standar pelayanan, PermenPANRB 15/2014) of a unit, or the
kabupaten-wide default a unit without its own follows: its 14 components, the maklumat
pelayanan (the public promise, issued by decree), the last review and whether it is published."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import JSONType, UTCDateTime, utcnow
from .unit import Unit
from .user import User

# The 14 components of PermenPANRB 15/2014 in the regulation's order, as data: each with its
# words in both languages, whether the regulation requires it published (six are) and a hint
# of what to write. The code is what the database, the audit chain and the evidence pack keep.
STANDARD_COMPONENTS: dict[str, dict] = {
    "legal_basis": {
        "label": {"id": "Dasar hukum", "en": "Legal basis"}, "published": False,
        "hint": {"id": "Peraturan yang menjadi dasar pelayanan pengaduan.",
                 "en": "The regulations the complaint service rests on."}},
    "requirements": {
        "label": {"id": "Persyaratan", "en": "Requirements"}, "published": True,
        "hint": {"id": "Apa yang perlu disiapkan pelapor untuk mengadu.",
                 "en": "What a complainant needs in order to file."}},
    "procedure": {
        "label": {"id": "Sistem, mekanisme dan prosedur", "en": "System, mechanism and procedure"},
        "published": True,
        "hint": {"id": "Tahapan penanganan dari pengaduan diterima sampai selesai.",
                 "en": "The stages from receiving a complaint to closing it."}},
    "time_limit": {
        "label": {"id": "Jangka waktu penyelesaian", "en": "Time to complete"}, "published": True,
        "hint": {"id": "Batas waktu tiap tahap dan dasar hukumnya.",
                 "en": "The time limit of each stage and its legal basis."}},
    "cost": {
        "label": {"id": "Biaya/tarif", "en": "Cost or fee"}, "published": True,
        "hint": {"id": "Biaya yang dikenakan (pengaduan tidak dipungut biaya).",
                 "en": "What it costs (filing a complaint is free)."}},
    "product": {
        "label": {"id": "Produk pelayanan", "en": "Service product"}, "published": True,
        "hint": {"id": "Apa yang diterima pelapor.", "en": "What the complainant receives."}},
    "facilities": {
        "label": {"id": "Sarana, prasarana dan/atau fasilitas",
                  "en": "Means, infrastructure and facilities"}, "published": False,
        "hint": {"id": "Saluran pengaduan, loket, dan fasilitas bagi penyandang disabilitas.",
                 "en": "Complaint channels, the counter and facilities for people with disabilities."}},
    "competence": {
        "label": {"id": "Kompetensi pelaksana", "en": "Competence of the staff"}, "published": False,
        "hint": {"id": "Pengetahuan dan keterampilan pengelola pengaduan.",
                 "en": "What the complaint handlers know and can do."}},
    "internal_supervision": {
        "label": {"id": "Pengawasan internal", "en": "Internal supervision"}, "published": False,
        "hint": {"id": "Siapa mengawasi penanganan pengaduan dan seberapa sering.",
                 "en": "Who supervises complaint handling and how often."}},
    "complaint_handling": {
        "label": {"id": "Penanganan pengaduan, saran dan masukan",
                  "en": "Handling of complaints, suggestions and feedback"}, "published": True,
        "hint": {"id": "Cara menyampaikan dan melacak pengaduan, dengan alamat dan nomornya.",
                 "en": "How to file and track a complaint, with the addresses and numbers."}},
    "staff_count": {
        "label": {"id": "Jumlah pelaksana", "en": "Number of staff"}, "published": False,
        "hint": {"id": "Jumlah pengelola pengaduan yang ditetapkan.",
                 "en": "How many complaint handlers are appointed."}},
    "service_guarantee": {
        "label": {"id": "Jaminan pelayanan", "en": "Service guarantee"}, "published": False,
        "hint": {"id": "Kepastian pelayanan sesuai standar (maklumat pelayanan).",
                 "en": "The assurance that the service follows the standard (the maklumat)."}},
    "security_guarantee": {
        "label": {"id": "Jaminan keamanan dan keselamatan pelayanan",
                  "en": "Security and safety guarantee"}, "published": False,
        "hint": {"id": "Perlindungan identitas pelapor dan keamanan data.",
                 "en": "Protection of the complainant's identity and of the data."}},
    "performance_evaluation": {
        "label": {"id": "Evaluasi kinerja pelaksana", "en": "Evaluation of staff performance"},
        "published": False,
        "hint": {"id": "Bagaimana dan kapan kinerja pelaksana dievaluasi.",
                 "en": "How and when the handlers' performance is evaluated."}},
}
PUBLISHED_COMPONENTS = tuple(code for code, c in STANDARD_COMPONENTS.items() if c["published"])


class ServiceStandard(db.Model):
    """A unit's complaint service standard (unit_id set) or the kabupaten-wide default
    (unit_id NULL); `version` counts the saved changes."""

    __tablename__ = "service_standards"
    __table_args__ = (
        # One per unit and a single default: a plain unique constraint lets any number of NULLs in.
        Index("uq_service_standards_unit", text("coalesce(unit_id, 0)"), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    components: Mapped[dict] = mapped_column(JSONType, default=dict)  # {component code: text}
    maklumat: Mapped[str | None] = mapped_column(Text)
    decree_number: Mapped[str | None] = mapped_column(String(120))
    decree_date: Mapped[date | None] = mapped_column(Date)
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    # The review due date its staff were last told about, so each due date is told once.
    review_noticed_for: Mapped[date | None] = mapped_column(Date)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit | None] = relationship()
    updated_by: Mapped[User | None] = relationship()

    @property
    def is_default(self) -> bool:
        return self.unit_id is None

    @property
    def published(self) -> bool:
        return self.published_at is not None

    def text_of(self, code: str) -> str:
        return (self.components or {}).get(code) or ""
