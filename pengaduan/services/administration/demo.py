"""Realistic demo data, reached through the real services so timelines and the audit chain
are genuine. Idempotent: a second run changes nothing."""
from __future__ import annotations

import random
from collections import deque
from datetime import timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import Complaint, Role, Unit, User, utcnow
from ...policy import STAFF_WITH_UNITS, Actor
from ...workflow import current_workflow
from ..complaints.intake import file_complaint
from ..complaints.lifecycle import advance
from ..oversight.supervision import record_supervision
from .accounts import create_category, create_unit, create_user

UNITS = [
    ("DUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil", "12345"),
    ("DPMPTSP", "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", "12345"),
    ("PKM-SUKAMAJU", "Puskesmas Sukamaju", "123456"),
]
CATEGORIES = [
    ("ADMINDUK", "KTP-el, KK dan akta", ["DUKCAPIL"]),
    ("PERIZINAN", "Perizinan berusaha dan bangunan", ["DPMPTSP"]),
    ("LAYANAN-KESEHATAN", "Layanan kesehatan dan obat", ["PKM-SUKAMAJU"]),
    ("PERILAKU-PETUGAS", "Perilaku petugas", []),
    ("WAKTU-LAYANAN", "Waktu dan antrean layanan", []),
    ("PUNGLI", "Biaya tidak resmi (pungutan liar)", []),
]
ACCOUNTS = [
    ("petugas@demo.pengaduan.id", "officer", "Siti Rahmawati", ["DUKCAPIL", "PKM-SUKAMAJU"]),
    ("petugas.perizinan@demo.pengaduan.id", "officer", "Agus Santoso", ["DPMPTSP"]),
    ("atasan@demo.pengaduan.id", "supervisor", "Dr. Bambang Wijaya", ["DUKCAPIL", "DPMPTSP", "PKM-SUKAMAJU"]),
    ("auditor@demo.pengaduan.id", "auditor", "Inspektorat Kabupaten", []),
    ("admin@demo.pengaduan.id", "admin", "Administrator", []),
]
STORIES = [
    ("DUKCAPIL", "ADMINDUK", "KTP-el belum jadi setelah 3 bulan",
     "Saya merekam KTP-el pada bulan lalu dan dijanjikan selesai dua minggu, tetapi sampai sekarang belum bisa diambil."),
    ("DUKCAPIL", "WAKTU-LAYANAN", "Antrean akta kelahiran terlalu lama",
     "Nomor antrean dibagikan hanya 30 per hari sehingga warga harus datang sejak subuh."),
    ("DUKCAPIL", "PUNGLI", "Diminta biaya untuk perubahan KK",
     "Petugas loket meminta uang Rp50.000 agar Kartu Keluarga bisa selesai hari itu juga."),
    ("DPMPTSP", "PERIZINAN", "PBG tidak ada kabar",
     "Permohonan Persetujuan Bangunan Gedung sudah diajukan lewat aplikasi namun statusnya tidak berubah."),
    ("DPMPTSP", "PERILAKU-PETUGAS", "Petugas tidak ramah di loket",
     "Saat bertanya persyaratan NIB, petugas menjawab dengan nada tinggi dan tidak menjelaskan."),
    ("PKM-SUKAMAJU", "LAYANAN-KESEHATAN", "Obat sering kosong di apotek puskesmas",
     "Sudah tiga kali dalam sebulan obat hipertensi ibu saya tidak tersedia."),
    ("PKM-SUKAMAJU", "WAKTU-LAYANAN", "Dokter datang terlambat",
     "Pelayanan poli umum baru dimulai pukul 10.00 padahal jadwal pukul 08.00."),
]
NAMES = ["Budi Hartono", "Dewi Lestari", "Rudi Hermawan", "Nur Aisyah", "Yohanes Manurung",
         "Made Suartika", "Fitri Handayani", "Ahmad Fauzi", "Maria Goreti", "Hendra Gunawan"]
# Sample words for the fields a step carries, by field; a step's walk comes from the workflow.
TEXTS = {
    "message": {"citizen": "Bukti pendaftaran sudah saya kirim, saya datang tanggal 3.",
                "staff": "Mohon lampirkan foto bukti pendaftaran dan tanggal kedatangan Anda."},
    "response": "Kami telah memeriksa berkas Anda dan petugas akan menghubungi Anda dalam 2 hari kerja.",
    "resolution": "Dokumen telah diterbitkan dan diserahkan kepada pelapor.",
    "reason": "Sesuai hasil pemeriksaan berkas dan keterangan pelapor.",
    "referred_to": "Kantor Pertanahan (BPN)",
    "comment": {"citizen": "Terima kasih atas tanggapannya.", "staff": "Dicatat."},
}
OTHER_TEXT = "Contoh isian untuk data demo."
# Fields a closing demo step fills although it only accepts them (a citizen rates and comments).
OPTIONAL_SAMPLES = ("rating", "comment")


def seed(complaints: int = 36, rng: random.Random | None = None) -> list[str]:
    """Create the demo organisation, accounts and complaints; returns lines to print."""
    report: list[str] = []
    if Unit.by_code(UNITS[0][0]) is None:
        for code, name, week in UNITS:
            create_unit(code, name, working_days=week, actor=Actor.cli("demo"))
        for code, name, units in CATEGORIES:
            create_category(code, name, unit_codes=units, actor=Actor.cli("demo"))
    for email, role, name, units in ACCOUNTS:
        if User.by_email(email):
            report.append(f"{role:10} {email} (exists, password unchanged)")
            continue
        _, password = create_user(email, role, name=name, unit_codes=units, actor=Actor.cli("demo"))
        report.append(f"{role:10} {email} password: {password}")
    if db.session.scalar(select(func.count(Complaint.id))):
        report.append("demo complaints exist already")
        return report
    rng = rng or random.Random(76)
    supervisor = Actor.staff(User.by_email(ACCOUNTS[2][0]))
    now = utcnow()
    workflow = current_workflow()
    walks = demo_walks(workflow)
    filed_codes: list[str] = []
    for i in range(complaints):
        unit, category, title, description = STORIES[i % len(STORIES)]
        path = walks[i % len(walks)]
        at = now - timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 8))
        privacy = ("public", "public", "anonymous", "confidential")[i % 4]
        filed = file_complaint({
            "unit": unit, "category": category, "classification": next(iter(workflow.classifications)),
            "title": title, "description": description, "privacy": privacy,
            "name": None if privacy == "anonymous" else NAMES[i % len(NAMES)],
            "phone": None if privacy == "anonymous" else f"0812{rng.randint(10**7, 10**8 - 1)}",
            "service_date": (at - timedelta(days=rng.randint(0, 40))).date().isoformat(),
            "incident_location": "Kantor pelayanan, Kecamatan Sukamaju",
            "consent": privacy != "anonymous",
        }, actor=Actor.channel(rng.choice(["web", "web", "walk_in", "phone"])), at=at)
        complaint = filed.complaint
        for transition in path:
            at += timedelta(days=rng.randint(1, 4), hours=rng.randint(1, 5))
            if at >= now:
                break
            actor = _taker(transition, complaint, supervisor)
            advance(complaint, transition.trigger, actor, at=at,
                    **_fields_for(workflow, transition, complaint, actor, i, filed_codes, rng))
        filed_codes.append(complaint.tracking_code)
    report.append(f"{complaints} demo complaints filed")
    _supervision(supervisor, now)
    report.append("2 demo supervision records")
    return report


def _supervision(supervisor: Actor, now) -> None:
    """A quarterly review and a coaching session, as a supervisor would record them."""
    units = [code for code, _, _ in UNITS]
    day = (now - timedelta(days=14)).date()
    record_supervision(supervisor, {
        "kind": "monitoring_evaluation", "held_on": day.isoformat(), "units": units,
        "title": "Monitoring dan evaluasi pengelolaan pengaduan triwulan",
        "participants": "Kepala dinas, para kepala bidang, pengelola pengaduan tiap unit",
        "findings": "Tiga pengaduan melewati batas verifikasi; kanal WhatsApp belum diumumkan di loket.",
        "actions": [{"description": "Umumkan nomor WhatsApp pengaduan di semua loket",
                     "owner": "Kepala Seksi Pelayanan", "due_on": (day + timedelta(days=14)).isoformat()}]})
    record_supervision(supervisor, {
        "kind": "coaching", "held_on": (day + timedelta(days=3)).isoformat(), "units": units,
        "title": "Pembinaan pengelola pengaduan: menulis tanggapan yang jelas",
        "participants": "Siti Rahmawati, Agus Santoso", "findings": "Peserta berlatih memakai templat tanggapan."})


def demo_walks(workflow) -> list[list]:
    """The paths the sample complaints take: none at all, then, for every step a person takes
    (in the file's order), the shortest walk from the initial state that ends with it."""
    reached = {workflow.initial: []}
    frontier = deque([workflow.initial])
    while frontier:
        state = frontier.popleft()
        for transition in workflow.transitions:
            if state in transition.sources and _is_manual(transition) and transition.dest not in reached:
                reached[transition.dest] = reached[state] + [transition]
                frontier.append(transition.dest)
    walks: list[list] = [[]]
    for transition in workflow.transitions:
        sources = [s for s in transition.sources if s in reached]
        if _is_manual(transition) and sources:
            walks.append(reached[min(sources, key=lambda s: len(reached[s]))] + [transition])
    return walks


def _is_manual(transition) -> bool:
    return bool({Role.CITIZEN, *STAFF_WITH_UNITS} & set(transition.roles))


def _taker(transition, complaint, supervisor: Actor) -> Actor:
    """Who takes the step: the complainant, the demo supervisor, or an officer of the unit."""
    if Role.CITIZEN in transition.roles:
        return Actor.citizen(complaint)
    if Role.SUPERVISOR in transition.roles:
        return supervisor
    officer = next(User.by_email(email) for email, role, _, units in ACCOUNTS
                   if role == Role.OFFICER and complaint.unit.code in units)
    return Actor.staff(officer)


def _fields_for(workflow, transition, complaint, actor: Actor, i: int, filed_codes: list[str],
                rng: random.Random) -> dict:
    """Sample values for what the step requires (and a rating where it takes one)."""
    closing = workflow.is_terminal(transition.dest)
    names = list(transition.requires) + [n for n in OPTIONAL_SAMPLES if closing and n in transition.accepts]
    reason = transition.closure_reason
    if transition.closure_reasons:
        reason = transition.closure_reasons[i % len(transition.closure_reasons)]
    names += [n for n in workflow.closure_requires.get(reason, ()) if n not in names]
    moving = "unit_changes" in transition.guards  # the step hands the complaint to another unit
    if moving and "category" in transition.accepts and "category" not in names:
        names.append("category")  # one the next unit offers
    unit = next(code for code, _, _ in UNITS if code != complaint.unit.code) if moving else complaint.unit.code
    samples = {
        "unit": unit,
        "category": "PERILAKU-PETUGAS" if moving else complaint.category.code,
        "classification": next(iter(workflow.classifications)),
        "closure_reason": reason,
        "rating": rng.randint(3, 5),
        "duplicate_of": filed_codes[0] if filed_codes else None,
    }
    role = "citizen" if actor.role == Role.CITIZEN else "staff"
    values = {}
    for name in names:
        value = samples.get(name, TEXTS.get(name, OTHER_TEXT))
        values[name] = value.get(role) if isinstance(value, dict) else value
    return values
