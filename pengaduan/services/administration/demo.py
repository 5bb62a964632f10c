"""Realistic demo data, reached through the real services so timelines and the audit chain
are genuine. Idempotent: a second run changes nothing."""
from __future__ import annotations

import io
import random
from collections import deque
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from ...extensions import db
from ...models import ELEMENTS, Complaint, Role, SurveyPeriod, Unit, User, utcnow
from ...policy import STAFF_WITH_UNITS, Actor
from ...workflow import current_workflow
from ..complaints.conversation import post_message
from ..complaints.intake import LAPOR, file_complaint
from ..complaints.lapor import answer_triggers, record_posted
from ..complaints.lifecycle import advance, may_take
from ..oversight.supervision import record_supervision
from ..surveys import answers as survey_answers
from ..surveys import opening as survey_opening
from ..surveys import periods as survey_periods
from .accounts import create_category, create_unit, create_user
from .office import logo_of, seed_office

# A fictional kabupaten, as its complaint service would introduce itself.
OFFICE = {
    "name": "Layanan Pengaduan Pemerintah Kabupaten Bukit Sari",
    "address": "Kantor Bupati Bukit Sari, Jl. Jenderal Sudirman No. 1\nKelurahan Pasar Baru, Kecamatan Sukamaju, Bukit Sari 39371",
    "phone": "(0739) 21500",
    "whatsapp": "0812-7300-1500",
    "email": "pengaduan@bukitsarikab.go.id",
    "hours": "Senin–Kamis 08.00–15.30, Jumat 08.00–11.00 WIB",
    "lapor_url": "https://www.lapor.go.id",
}
UNITS = [  # (code, name, working days, parent)
    ("DUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil", "12345", None),
    ("DPMPTSP", "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", "12345", None),
    ("PUPR", "Dinas Pekerjaan Umum dan Penataan Ruang", "12345", None),
    ("DINKES", "Dinas Kesehatan", "12345", None),
    ("PKM-SUKAMAJU", "Puskesmas Sukamaju", "123456", "DINKES"),
]
CATEGORIES = [
    ("ADMINDUK", "KTP-el, KK dan akta", ["DUKCAPIL"]),
    ("PERIZINAN", "Perizinan berusaha dan bangunan", ["DPMPTSP", "PUPR"]),
    ("JALAN-DRAINASE", "Jalan, jembatan dan drainase", ["PUPR"]),
    ("LAYANAN-KESEHATAN", "Layanan kesehatan dan obat", ["DINKES", "PKM-SUKAMAJU"]),
    ("PERILAKU-PETUGAS", "Perilaku petugas", []),
    ("WAKTU-LAYANAN", "Waktu dan antrean layanan", []),
    ("PUNGLI", "Biaya tidak resmi (pungutan liar)", []),
]
ACCOUNTS = [
    ("petugas@demo.pengaduan.id", "officer", "Siti Rahmawati", ["DUKCAPIL", "DINKES", "PKM-SUKAMAJU"]),
    ("petugas.perizinan@demo.pengaduan.id", "officer", "Agus Santoso", ["DPMPTSP", "PUPR"]),
    ("atasan@demo.pengaduan.id", "supervisor", "Dr. Bambang Wijaya", ["DUKCAPIL", "DPMPTSP", "PUPR", "DINKES", "PKM-SUKAMAJU"]),
    ("auditor@demo.pengaduan.id", "auditor", "Inspektorat Kabupaten", []),
    ("admin@demo.pengaduan.id", "admin", "Administrator", []),
    # A second supervisor: a follow-up the first proposed is approved by another (`not_by`).
    ("kepala@demo.pengaduan.id", "supervisor", "Ir. Ratna Kusumawati", ["DUKCAPIL", "DPMPTSP", "PUPR", "DINKES", "PKM-SUKAMAJU"]),
]
STORIES = [  # (unit, category, title, description, place): each in the unit that handles it
    ("DUKCAPIL", "ADMINDUK", "KTP-el belum jadi setelah 3 bulan",
     "Saya merekam KTP-el pada bulan lalu dan dijanjikan selesai dua minggu, tetapi sampai sekarang belum bisa diambil.",
     "Kantor Dinas Dukcapil, Jl. Ahmad Yani No. 12"),
    ("PUPR", "JALAN-DRAINASE", "Jalan berlubang di Jl. Merdeka belum diperbaiki",
     "Lubang besar di depan SD Negeri 3 sudah dua bulan dibiarkan; dua pengendara motor jatuh minggu lalu.",
     "Jl. Merdeka depan SD Negeri 3, Kelurahan Pasar Baru"),
    ("DUKCAPIL", "WAKTU-LAYANAN", "Antrean akta kelahiran terlalu lama",
     "Nomor antrean dibagikan hanya 30 per hari sehingga warga harus datang sejak subuh.",
     "Kantor Dinas Dukcapil, Jl. Ahmad Yani No. 12"),
    ("PKM-SUKAMAJU", "LAYANAN-KESEHATAN", "Obat sering kosong di apotek puskesmas",
     "Sudah tiga kali dalam sebulan obat hipertensi ibu saya tidak tersedia.",
     "Puskesmas Sukamaju, Kecamatan Sukamaju"),
    ("DPMPTSP", "PERIZINAN", "PBG tidak ada kabar",
     "Permohonan Persetujuan Bangunan Gedung sudah diajukan lewat aplikasi namun statusnya tidak berubah.",
     "Mal Pelayanan Publik Bukit Sari"),
    ("DUKCAPIL", "PUNGLI", "Diminta biaya untuk perubahan KK",
     "Petugas loket meminta uang Rp50.000 agar Kartu Keluarga bisa selesai hari itu juga.",
     "Loket Dukcapil di Mal Pelayanan Publik Bukit Sari"),
    ("PUPR", "JALAN-DRAINASE", "Drainase tersumbat, rumah warga kebanjiran",
     "Setiap hujan deras saluran di RT 04 meluap karena tertutup sampah dan sedimen, air masuk ke rumah warga.",
     "RT 04 RW 02, Kelurahan Talang Jawa"),
    ("DINKES", "LAYANAN-KESEHATAN", "Ambulans desa tidak bisa dihubungi",
     "Saat ayah saya sesak napas malam hari, nomor ambulans yang tertera di balai desa tidak aktif.",
     "Desa Tanjung Harapan, Kecamatan Sukamaju"),
    ("DPMPTSP", "PERILAKU-PETUGAS", "Petugas tidak ramah di loket",
     "Saat bertanya persyaratan NIB, petugas menjawab dengan nada tinggi dan tidak menjelaskan.",
     "Mal Pelayanan Publik Bukit Sari"),
    ("PKM-SUKAMAJU", "WAKTU-LAYANAN", "Dokter datang terlambat",
     "Pelayanan poli umum baru dimulai pukul 10.00 padahal jadwal pukul 08.00.",
     "Puskesmas Sukamaju, Kecamatan Sukamaju"),
]
# Complaints a step hands to another unit: filed where the complainant thought right, moved to
# the unit that handles them, with the category that unit offers.
MISFILED = [
    ("DPMPTSP", "PERIZINAN", "Ruko baru menutup saluran drainase",
     "Ruko yang baru dibangun di Jl. Pasar Lama berdiri di atas saluran, sehingga air meluap ke rumah warga setiap hujan.",
     "Jl. Pasar Lama, Kelurahan Pasar Baru", "PUPR", "JALAN-DRAINASE"),
    ("PKM-SUKAMAJU", "LAYANAN-KESEHATAN", "Vaksin anak kosong berbulan-bulan",
     "Anak saya belum mendapat imunisasi lanjutan karena puskesmas menyatakan stok vaksin dari kabupaten belum datang.",
     "Puskesmas Sukamaju, Kecamatan Sukamaju", "DINKES", "LAYANAN-KESEHATAN"),
]
# What each category's complaints are resolved with, and where each unit refers what is not its own.
RESOLUTIONS = {
    "ADMINDUK": "Dokumen kependudukan telah diterbitkan dan diserahkan kepada pelapor.",
    "PERIZINAN": "Permohonan telah diperiksa ulang dan persetujuannya telah terbit di sistem.",
    "JALAN-DRAINASE": "Tim pemeliharaan telah memperbaiki lokasi yang dilaporkan; foto hasil pekerjaan terlampir di berkas.",
    "LAYANAN-KESEHATAN": "Stok telah dipenuhi dari instalasi farmasi kabupaten dan jadwal layanan diumumkan di papan informasi.",
    "PERILAKU-PETUGAS": "Petugas yang bersangkutan telah diberi pembinaan oleh atasannya.",
    "WAKTU-LAYANAN": "Jam dan kuota layanan telah disesuaikan dan diumumkan di loket.",
    "PUNGLI": "Petugas telah diperiksa Inspektorat dan uang telah dikembalikan kepada pelapor.",
}
REFERRALS = {
    "DUKCAPIL": "Kantor Imigrasi (paspor)",
    "DPMPTSP": "Kantor Pertanahan (BPN)",
    "PUPR": "Balai Pelaksanaan Jalan Nasional (jalan nasional)",
    "DINKES": "BPJS Kesehatan Kantor Cabang",
    "PKM-SUKAMAJU": "BPJS Kesehatan Kantor Cabang",
}
NAMES = ["Budi Hartono", "Dewi Lestari", "Rudi Hermawan", "Nur Aisyah", "Yohanes Manurung",
         "Made Suartika", "Fitri Handayani", "Ahmad Fauzi", "Maria Goreti", "Hendra Gunawan"]
# Sample words for the fields a step carries, by field; a step's walk comes from the workflow.
TEXTS = {
    "message": {"citizen": "Foto dan keterangan yang diminta sudah saya kirim; kejadiannya tanggal 3 bulan ini.",
                "staff": "Mohon lampirkan foto pendukung dan sebutkan tanggal serta lokasi kejadian."},
    "response": "Pengaduan Anda sedang kami tindak lanjuti; petugas akan menghubungi Anda dalam 2 hari kerja.",
    "reason": "Sesuai hasil pemeriksaan dan keterangan pelapor.",
    "comment": {"citizen": "Terima kasih atas tanggapannya.", "staff": "Dicatat."},
}
OTHER_TEXT = "Contoh isian untuk data demo."
# What a few demo complainants ask for to be reached or served (the case page shows it).
DEMO_NEEDS = {"contact_needs": ["voice_call", "large_print"],
              "contact_needs_note": "Penglihatan saya kurang; mohon telepon setelah pukul 16.00."}
# Fields a closing demo step fills although it only accepts them (a citizen rates and comments).
OPTIONAL_SAMPLES = ("rating", "comment")


def seed(complaints: int = 36, rng: random.Random | None = None) -> list[str]:
    """Create the demo organisation, accounts and complaints; returns lines to print."""
    report: list[str] = []
    if seed_office(OFFICE, logo=logo_of(_emblem()), actor=Actor.cli("demo")):
        report.append(f"office: {OFFICE['name']}")
    if Unit.by_code(UNITS[0][0]) is None:
        for code, name, week, parent in UNITS:
            create_unit(code, name, working_days=week, parent=Unit.by_code(parent) if parent else None,
                        actor=Actor.cli("demo"))
        for code, name, units in CATEGORIES:
            create_category(code, name, unit_codes=units, actor=Actor.cli("demo"))
    for email, role, name, units in ACCOUNTS:
        if User.by_email(email):
            report.append(f"{role:10} {email} (exists, password unchanged)")
            continue
        _, password = create_user(email, role, name=name, unit_codes=units, actor=Actor.cli("demo"))
        report.append(f"{role:10} {email} password: {password}")
    report.extend(_surveys(utcnow()))
    report.extend(_readiness_evidence(utcnow()))
    report.extend(_service_standards(utcnow()))
    report.extend(_ombudsman_products(utcnow()))
    if db.session.scalar(select(func.count(Complaint.id))):
        report.append("demo complaints exist already")
        report.extend(_compensation_given(utcnow()))
        report.extend(_evaluation(utcnow()))
        return report
    rng = rng or random.Random(76)
    supervisor = Actor.staff(User.by_email(ACCOUNTS[2][0]))
    now = utcnow()
    workflow = current_workflow()
    walks = demo_walks(workflow)
    filed_codes: list[str] = []
    moved = 0
    for i in range(complaints):
        path = walks[i % len(walks)]
        if any("unit_changes" in t.guards for t in path):
            unit, category, title, description, place, *forward = MISFILED[moved % len(MISFILED)]
            moved += 1
        else:
            unit, category, title, description, place = _story_for(path, i)
            forward = []
        at = now - timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 8))
        privacy = ("public", "public", "anonymous", "confidential")[i % 4]
        filed = file_complaint({
            "unit": unit, "category": category, "classification": next(iter(workflow.classifications)),
            "title": title, "description": description, "privacy": privacy,
            "name": None if privacy == "anonymous" else NAMES[i % len(NAMES)],
            "phone": None if privacy == "anonymous" else f"0812{rng.randint(10**7, 10**8 - 1)}",
            "service_date": (at - timedelta(days=rng.randint(0, 40))).date().isoformat(),
            "incident_location": place,
            "consent": privacy != "anonymous",
            **(DEMO_NEEDS if i % 9 == 4 else {}),
        }, actor=Actor.channel(rng.choice(["web", "web", "walk_in", "phone"])), at=at)
        complaint = filed.complaint
        for transition in path:
            at += timedelta(days=rng.randint(1, 4), hours=rng.randint(1, 5))
            if at >= now:
                break
            actor = _taker(transition, complaint, supervisor)
            advance(complaint, transition.trigger, actor, at=at,
                    **_fields_for(workflow, transition, complaint, actor, i, filed_codes, rng, forward))
        filed_codes.append(complaint.tracking_code)
    report.append(f"{complaints} demo complaints filed")
    report.append(f"{_channels(workflow, now, filed_codes, rng)} demo complaints entered by staff or received by mail")
    _supervision(supervisor, now)
    report.append("2 demo supervision records")
    report.extend(_compensation_given(now))
    report.extend(_evaluation(now))
    return report


# Closed complaints of the quarter before with their findings (unit, category, title, finding
# fields, day of the quarter filed; before 0, the quarter before that), so that the evaluation
# report shows recurring causes.
EVALUATED = [
    ("DUKCAPIL", "ADMINDUK", "Blangko KTP-el kosong sejak awal bulan",
     {"maladministration": "penundaan_berlarut", "systemic": "yes",
      "root_cause": "Stok blangko KTP-el tidak dipantau sehingga habis sebelum kiriman berikutnya"}, -40),
    ("DUKCAPIL", "ADMINDUK", "Blangko KTP-el habis, warga disuruh kembali bulan depan",
     {"maladministration": "penundaan_berlarut", "systemic": "yes",
      "root_cause": "Stok blangko KTP-el tidak dipantau sehingga habis sebelum kiriman berikutnya"}, 5),
    ("DUKCAPIL", "ADMINDUK", "KTP-el tidak bisa dicetak karena blangko kosong",
     {"maladministration": "penundaan_berlarut", "systemic": "yes",
      "root_cause": "Stok blangko KTP-el tidak dipantau sehingga habis sebelum kiriman berikutnya"}, 20),
    ("DUKCAPIL", "ADMINDUK", "Sudah tiga kali datang, KTP-el belum tercetak",
     {"maladministration": "penundaan_berlarut", "systemic": "no",
      "root_cause": "Stok blangko KTP-el tidak dipantau sehingga habis sebelum kiriman berikutnya."}, 38),
    ("DUKCAPIL", "PUNGLI", "Calo di depan kantor menawarkan KK jadi sehari",
     {"maladministration": "permintaan_imbalan", "systemic": "yes",
      "root_cause": "Antrean loket tanpa sistem nomor membuka peluang calo dan pungutan"}, 12),
    ("DUKCAPIL", "PUNGLI", "Petugas meminta uang rokok untuk akta kelahiran",
     {"maladministration": "permintaan_imbalan", "systemic": "yes",
      "root_cause": "Antrean loket tanpa sistem nomor membuka peluang calo dan pungutan"}, 30),
    ("DUKCAPIL", "WAKTU-LAYANAN", "Loket tutup sebelum jam layanan berakhir",
     {"maladministration": "tidak_patut", "systemic": "no",
      "root_cause": "Jadwal istirahat petugas loket tidak diatur bergiliran"}, 45),
    ("PUPR", "JALAN-DRAINASE", "Laporan jalan amblas tidak ditindaklanjuti",
     {"maladministration": "tidak_memberikan_pelayanan", "systemic": "yes",
      "root_cause": "Laporan kerusakan dari kecamatan tidak diteruskan ke bidang bina marga"}, 8),
    ("PUPR", "JALAN-DRAINASE", "Gorong-gorong runtuh dibiarkan berbulan-bulan",
     {"maladministration": "tidak_memberikan_pelayanan", "systemic": "yes",
      "root_cause": "Laporan kerusakan dari kecamatan tidak diteruskan ke bidang bina marga"}, 25),
    ("PUPR", "PERIZINAN", "Rekomendasi teknis tidak terbit tanpa alasan",
     {"maladministration": "penyimpangan_prosedur", "systemic": "no",
      "root_cause": "Persyaratan rekomendasi teknis berbeda antara loket dan bidang teknis"}, 40),
]
# Improvement actions DUKCAPIL set from the quarter before's report and carried out.
EVALUATION_ACTIONS = [
    ("cause", "Stok blangko KTP-el tidak dipantau sehingga habis sebelum kiriman berikutnya",
     "Buat kartu kendali stok blangko mingguan dan ajukan kiriman saat stok di bawah 500 keping",
     "Kepala Seksi Identitas Penduduk", "Kartu kendali stok dipakai sejak Oktober; stok tidak pernah di bawah 500 keping"),
    ("form", "permintaan_imbalan",
     "Pasang mesin nomor antrean dan papan \"layanan gratis\" di semua loket",
     "Sekretaris Dinas", "Mesin antrean terpasang dan foto papan pengumuman biaya Rp0 di empat loket"),
]


def _evaluation(now: datetime) -> list[str]:
    """Closed complaints of the quarter before with their findings (recurring causes in both
    demo units); the ready unit (DUKCAPIL) turned its report into improvement actions, done with
    their evidence; the unit with gaps (PUPR) has none. Added once, whatever the quarter: the
    first demo finding's complaint already there is left alone."""
    from ..evaluation import actions as evaluation_actions
    from ..evaluation.report import evaluation, previous_quarter

    unit, officer, supervisor = (Unit.by_code("DUKCAPIL"), User.by_email(ACCOUNTS[0][0]),
                                 User.by_email(ACCOUNTS[2][0]))
    period = previous_quarter(survey_periods.containing(now.date(), "quarter"))
    if unit is None or officer is None or supervisor is None:
        return []
    if db.session.scalar(select(Complaint.id).where(Complaint.unit_id == unit.id,
                                                    Complaint.title == EVALUATED[0][2]).limit(1)):
        return []  # seeded before, maybe in an earlier quarter
    workflow = current_workflow()
    zone = ZoneInfo(unit.timezone)
    for i, (code, category, title, finding, day) in enumerate(EVALUATED):
        staff = Actor.staff(officer if code == "DUKCAPIL" else User.by_email(ACCOUNTS[1][0]))
        at = datetime.combine(period.start + timedelta(days=day), datetime.min.time(), zone).replace(hour=9)
        complaint = file_complaint({
            "unit": code, "category": category, "classification": next(iter(workflow.classifications)),
            "title": title, "description": title + ".", "privacy": "confidential" if i == 5 else "public",
            "name": NAMES[i % len(NAMES)], "consent": True}, actor=Actor.channel("walk_in"), at=at).complaint
        verify = next(t for t in workflow.offered(complaint) if "classification" in t.requires)
        advance(complaint, verify.trigger, staff, at=at + timedelta(days=1), unit=code, category=category,
                classification=complaint.classification)
        answer = "Pengaduan Anda telah kami tindak lanjuti; rinciannya kami sampaikan di bawah."
        steps = _answer_steps(workflow, complaint)  # the answer, or its draft then its approval
        for day, step in enumerate(steps, start=5 - len(steps)):
            taker = staff if Role.OFFICER in step.roles else Actor.staff(supervisor)
            advance(complaint, step.trigger, taker, at=at + timedelta(days=day), response=answer)
        close = next(t for t in workflow.offered(complaint) if "finding" in t.accepts)
        advance(complaint, close.trigger, staff, at=at + timedelta(days=9), resolution="Masalah telah diselesaikan.",
                finding="founded", **finding)
    report = evaluation(Actor.staff(supervisor), [unit], period, unit)
    for section, words, description, owner, evidence in EVALUATION_ACTIONS:
        group = next(g.key for g in report.groups[section] if words in (g.label, g.key.split(":", 1)[1]))
        action = evaluation_actions.add_action(unit, period, Actor.staff(supervisor), {
            "group": group, "description": description, "owner": owner})
        evaluation_actions.update_action(unit, period, action, Actor.staff(supervisor),
                                         {"status": "done", "evidence": evidence})
    return [f"{len(EVALUATED)} demo findings up to {period.label}, 2 improvement actions done (DUKCAPIL)"]


def _supervision(supervisor: Actor, now) -> None:
    """A quarterly review and a coaching session, as a supervisor would record them."""
    units = [code for code, *_ in UNITS]
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


# The SKM of each demo unit: the services it surveys, its service users in a quarter, how well
# it is rated on the whole and the elements it does worse on.
SURVEYS = {  # unit: (services, population, mean score, weak elements)
    "DUKCAPIL": (["KTP-el", "Kartu Keluarga", "Akta kelahiran", "Pindah datang"], 1200, 3.45, ("U3", "U8")),
    "DPMPTSP": (["Nomor Induk Berusaha (NIB)", "Persetujuan Bangunan Gedung (PBG)", "Izin reklame"], 400, 3.1, ("U2", "U3")),
    "PUPR": (["Rekomendasi teknis", "Pengaduan jalan dan drainase"], 150, 2.9, ("U3", "U9")),
    "DINKES": (["Perizinan tenaga kesehatan", "Layanan ambulans"], 250, 3.3, ("U4", "U8")),
    "PKM-SUKAMAJU": (["Poli umum", "Kesehatan ibu dan anak", "Apotek"], 900, 3.75, ("U8",)),
}
SURVEY_SUGGESTIONS = [
    "Mohon tambah kursi di ruang tunggu.",
    "Petugas ramah, tetapi antrean masih panjang pada hari Senin.",
    "Informasi persyaratan sebaiknya ditempel di depan loket.",
    "Pelayanan sudah cepat, terima kasih.",
    "Tolong sediakan nomor WhatsApp untuk menanyakan status berkas.",
    "Toilet perlu lebih bersih.",
    "Jam buka loket mohon tepat waktu.",
    "Sudah baik, pertahankan.",
]
SURVEY_RESPONSES = 40  # questionnaires seeded in each period


def _surveys(now: datetime) -> list[str]:
    """This quarter's SKM (open) and last quarter's (closed) for each demo unit, with about
    forty questionnaires each; skipped once any survey period exists."""
    if db.session.scalar(select(func.count(SurveyPeriod.id))) or Unit.by_code(UNITS[0][0]) is None:
        return []
    rng = random.Random(1417)  # the same demo answers on every machine
    today = now.date()
    current = survey_periods.containing(today, "quarter")
    previous = survey_periods.containing(current.start - timedelta(days=1), "quarter")
    officer = User.by_email(ACCOUNTS[0][0])
    actor = Actor.cli("demo")
    count = 0
    for code, (services, population, mean, weak) in SURVEYS.items():
        unit = Unit.by_code(code)
        for period in (previous, current):
            survey = survey_opening.open_period(actor, unit, period.label, services, population)
            last = min(period.end, today)
            span = max((last - period.start).days, 0)
            for i in range(SURVEY_RESPONSES):
                raw = _questionnaire(survey, rng, mean, weak)
                paper = i % 5 == 0
                response = survey_answers.record(survey, survey_answers.check(survey, raw),
                                                 channel="paper" if paper else "web",
                                                 entered_by=officer if paper else None)
                day = period.start + timedelta(days=rng.randint(0, span))
                response.submitted_at = min(datetime(day.year, day.month, day.day, 1 + rng.randint(0, 8),
                                                     rng.randint(0, 59), tzinfo=now.tzinfo), now)
                count += 1
            if period is previous:
                survey_opening.close_period(actor, survey)
    return [f"{len(SURVEYS) * 2} demo SKM periods ({previous.label} closed, {current.label} open) "
            f"with {count} questionnaires"]


def _questionnaire(survey: SurveyPeriod, rng: random.Random, mean: float, weak) -> dict:
    """One plausible questionnaire as the public form would send it."""
    raw = {}
    for code in ELEMENTS:
        if rng.random() < 0.04:
            raw[code] = ""  # left unanswered
            continue
        score = rng.gauss(mean - (0.6 if code in weak else 0), 0.55)
        raw[code] = str(min(4, max(1, round(score))))
    for name, question in survey.questionnaire["profile"].items():
        raw[name] = "" if rng.random() < 0.08 else rng.choice(sorted(question["options"]))
    raw["service_type"] = rng.choice(survey.service_types)
    raw["suggestion"] = rng.choice(SURVEY_SUGGESTIONS) if rng.random() < 0.25 else ""
    return raw


# Complaints that did not come through the web form: typed in by an officer from the counter,
# a letter and SP4N-LAPOR!, and one read from the office's mailbox; then the same matter filed
# twice, so that the case page of the newer one suggests the older. (channel, officer's email
# or None for the mailbox, unit, category, title, description, place, days ago, extra fields)
CHANNEL_SAMPLES = [
    ("walk_in", ACCOUNTS[0][0], "DUKCAPIL", "ADMINDUK", "Nama ibu di akta kelahiran anak salah ketik",
     "Di akta kelahiran anak saya nama ibu tertulis Sri Wahyuni, seharusnya Sri Wahyuningsih. "
     "Saya sudah membawa KK dan buku nikah ke loket.",
     "Loket Dukcapil di Mal Pelayanan Publik Bukit Sari", 2,
     {"name": "Sri Wahyuningsih", "phone": "081273004411", "consent": True, "arrived_hours_earlier": 22,
      "arrival_note": "Datang ke loket Jumat sore menjelang tutup; dicatat pada hari kerja berikutnya."}),
    ("letter", ACCOUNTS[1][0], "PUPR", "JALAN-DRAINASE", "Surat warga: jembatan gantung Desa Lubuk Kupang rusak",
     "Surat Kepala Dusun II: papan lantai jembatan gantung banyak yang lapuk dan dua tali baja "
     "kendur; anak sekolah tetap melintas setiap hari.",
     "Jembatan gantung Dusun II, Desa Lubuk Kupang", 4,
     {"name": "Sarjono (Kepala Dusun II)", "address": "Dusun II, Desa Lubuk Kupang", "consent": True,
      "arrived_hours_earlier": 0}),
    (LAPOR, ACCOUNTS[0][0], "DINKES", "LAYANAN-KESEHATAN", "Klaim persalinan ditolak puskesmas mitra",
     "Pengaduan dari SP4N-LAPOR!: biaya persalinan dengan BPJS diminta dibayar tunai karena "
     "berkas rujukan dianggap tidak lengkap.",
     "Puskesmas Sukamaju, Kecamatan Sukamaju", 8,
     {"name": "Rina Marlina", "consent": True, "lapor_id": "4827361", "arrived_hours_earlier": 3,
      "arrival_note": "Disposisi LAPOR! dibaca pagi hari, dicatat siang.", "lapor_received_days": 2}),
    ("email", None, "DPMPTSP", "WAKTU-LAYANAN", "NIB belum terbit setelah dua minggu",
     "Saya mengajukan NIB lewat OSS dua minggu lalu dan diminta verifikasi di MPP, "
     "tetapi belum ada jadwal verifikasi sampai sekarang.", "Mal Pelayanan Publik Bukit Sari", 3,
     {"name": "Lina Kusuma", "email": "lina.kusuma@contoh.id"}),
    ("walk_in", ACCOUNTS[1][0], "PUPR", "JALAN-DRAINASE", "Lampu penerangan jalan mati di Jl. Diponegoro",
     "Sudah dua minggu lampu penerangan jalan di Jl. Diponegoro dekat pasar mati; malam hari gelap "
     "dan rawan kecelakaan.", "Jl. Diponegoro dekat Pasar Baru", 6,
     {"name": "Wahyu Pratama", "consent": True, "arrived_hours_earlier": 0}),
    ("phone", ACCOUNTS[1][0], "PUPR", "JALAN-DRAINASE", "Lampu jalan Diponegoro padam, jalan gelap",
     "Penelepon menyampaikan lampu jalan di sepanjang Jl. Diponegoro padam sejak dua minggu, "
     "pengendara sulit melihat lubang di malam hari.", "Jl. Diponegoro, Kelurahan Pasar Baru", 1,
     {"name": "Yuliana Sari", "phone": "085266001234", "consent": True, "arrived_hours_earlier": 0}),
]


def _channels(workflow, now: datetime, filed_codes: list[str], rng: random.Random) -> int:
    """File CHANNEL_SAMPLES through the intake service as staff (or the mailbox) would, and
    follow the SP4N-LAPOR! one up: an answer posted to LAPOR! and a later one not yet."""
    for channel, email, unit_code, category, title, description, place, days, extra in CHANNEL_SAMPLES:
        extra = dict(extra)
        entered = now - timedelta(days=days, hours=2)
        zone = ZoneInfo(Unit.by_code(unit_code).timezone)
        arrived = entered - timedelta(hours=extra.pop("arrived_hours_earlier", 0))
        received_days = extra.pop("lapor_received_days", None)
        raw = {"unit": unit_code, "category": category, "classification": next(iter(workflow.classifications)),
               "title": title, "description": description, "incident_location": place, "privacy": "public",
               **extra}
        if email is None:  # read from the office's mailbox, as services.complaints.mail_intake files it
            file_complaint(raw, actor=Actor.channel(channel), at=entered, consent_unasked=True)
            continue
        if arrived < entered:
            raw["arrival"] = _local(arrived, zone)
        if channel == LAPOR:
            raw["lapor_disposed_at"] = _local(arrived - timedelta(hours=20), zone)
            raw["lapor_received_at"] = _local(arrived - timedelta(days=received_days), zone)
        officer = Actor.staff(User.by_email(email))
        complaint = file_complaint(raw, actor=officer.via(channel), at=entered).complaint
        if channel == LAPOR:
            _answer_on_lapor(workflow, complaint, officer, entered, now, filed_codes, rng)
    return len(CHANNEL_SAMPLES)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as the staff entry form gives it: the unit's local time, to the minute."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _answer_on_lapor(workflow, complaint: Complaint, officer: Actor, at: datetime, now: datetime,
                     filed_codes: list[str], rng: random.Random) -> None:
    """Walk the complaint by staff steps to its first answer that leaves it open, record that
    answer as posted to LAPOR! a few hours later, then write a message not yet posted."""
    answers = answer_triggers(workflow)
    walk = max((w for w in demo_walks(workflow) if w and w[-1].trigger in answers
                and all(not workflow.is_terminal(t.dest) and officer.role in t.roles
                        and t.offered_for(complaint.category.code) for t in w)),
               key=len, default=None)
    for transition in walk or []:
        at += timedelta(days=1, hours=3)
        event = advance(complaint, transition.trigger, officer, at=at,
                        **_fields_for(workflow, transition, complaint, officer, 0, filed_codes, rng))
    if walk:
        posted = at + timedelta(hours=4)
        record_posted(complaint, event, posted, officer, at=posted + timedelta(minutes=10))
    post_message(complaint, officer, "Kami sudah meminta keterangan dari puskesmas; hasilnya kami sampaikan "
                 "paling lambat Jumat ini.", at=min(at + timedelta(days=2), now - timedelta(hours=5)))


# The standing documents of the demo's ready unit, and the one out of date of the unit with
# gaps: (unit, kind, title, valid from (days ago), valid for (days, None: no end)).
READINESS_DOCUMENTS = [
    ("DUKCAPIL", "handler_decree", "SK Kepala Dinas tentang Tim Pengelola Pengaduan 2026", 300, 730),
    ("DUKCAPIL", "complaint_sop", "SOP Pengelolaan Pengaduan Pelayanan Adminduk", 280, None),
    ("DUKCAPIL", "channel_photos", "Foto papan kanal pengaduan di loket dan ruang tunggu", 200, None),
    ("DUKCAPIL", "compensation_policy", "SK Kepala Dinas tentang Kompensasi Pelayanan", 250, None),
    ("DUKCAPIL", "ombudsman_followup", "Laporan tindak lanjut saran perbaikan Ombudsman RI", 60, None),
    ("PUPR", "handler_decree", "SK Tim Pengelola Pengaduan 2024", 800, 730),
]


def _readiness_evidence(now: datetime) -> list[str]:
    """What the readiness page asks of the ready demo unit (DUKCAPIL) beyond the registers:
    its standing documents and a supervision record in each of the last four months; the
    unit with gaps (PUPR) gets a handlers' decree out of date. Each is added once: a unit's
    document of a kind, or a month's record, that exists is left alone."""
    from ..attachments import stored_files
    from ..oversight.documents import upload_document
    from ...models import StandingDocument, SupervisionRecord

    supervisor = User.by_email(ACCOUNTS[2][0])
    if Unit.by_code("DUKCAPIL") is None or supervisor is None:
        return []
    actor = Actor.staff(supervisor)
    today = now.date()
    added = 0
    for code, kind, title, ago, lasting in READINESS_DOCUMENTS:
        unit = Unit.by_code(code)
        if unit is None or db.session.scalar(select(func.count(StandingDocument.id)).where(
                StandingDocument.unit_id == unit.id, StandingDocument.kind == kind)):
            continue
        start = today - timedelta(days=ago)
        with stored_files([(f"{kind}.png", _document_image(title), "image/png")], field="file") as stored:
            upload_document(actor, unit, {
                "kind": kind, "title": title, "valid_from": start.isoformat(),
                "valid_until": (start + timedelta(days=lasting)).isoformat() if lasting else ""}, stored)
        added += 1
    first = today.replace(day=1)
    for back in range(4, 0, -1):
        month = first
        for _ in range(back):
            month = (month - timedelta(days=1)).replace(day=1)
        title = f"Monitoring bulanan pengelolaan pengaduan {month.strftime('%m/%Y')}"
        if db.session.scalar(select(func.count(SupervisionRecord.id)).where(SupervisionRecord.title == title)):
            continue
        record_supervision(actor, {
            "kind": "monitoring_evaluation", "held_on": month.replace(day=12).isoformat(), "units": ["DUKCAPIL"],
            "title": title, "participants": "Kepala Dinas, Kepala Bidang Pelayanan, Tim Pengelola Pengaduan",
            "findings": "Pengaduan bulan ini ditindaklanjuti tepat waktu; papan kanal pengaduan terpasang."})
        added += 1
    return [f"{added} demo standing documents and monthly supervision records for the readiness page"] if added else []


def _compensation_given(now: datetime) -> list[str]:
    """The ready unit (DUKCAPIL) refunded an illegal levy this year, with its receipt kept;
    the unit with gaps (PUPR) gave none. Added once: a DUKCAPIL compensation is left alone."""
    from ..attachments import stored_files
    from ..oversight.compensation import record_compensation
    from ...models import Category, Compensation

    unit, officer = Unit.by_code("DUKCAPIL"), User.by_email(ACCOUNTS[0][0])
    if unit is None or officer is None or db.session.scalar(
            select(func.count(Compensation.id)).where(Compensation.unit_id == unit.id)):
        return []
    levy = db.session.scalar(select(Complaint).join(Category, Complaint.category_id == Category.id).where(
        Complaint.unit_id == unit.id, Category.code == "PUNGLI").order_by(Complaint.id).limit(1))
    today = now.date()
    with stored_files([("kuitansi-pengembalian.png", _document_image("Kuitansi pengembalian uang"),
                        "image/png")], field="files") as stored:
        record_compensation(Actor.staff(officer), {
            "unit": unit.code, "complaint": levy.tracking_code if levy else "", "kind": "refund",
            "given_on": max(today.replace(month=1, day=1), today - timedelta(days=20)).isoformat(),
            "value": "50.000", "approved_by": "Drs. Hendra Saputra, Kepala Dinas Dukcapil",
            "description": "Uang yang diminta petugas loket dikembalikan kepada pelapor di hadapan "
                           "Kepala Bidang Pelayanan, disertai permintaan maaf tertulis."}, stored)
    return ["1 demo compensation (DUKCAPIL)"]


def _service_standards(now: datetime) -> list[str]:
    """The kabupaten-wide default, published; the ready unit (DUKCAPIL) with its own standard,
    published, reviewed recently, its maklumat issued by decree; the unit with gaps (PUPR)
    with its own whose yearly review is overdue. Each is made once: one that exists is left alone."""
    from .. import standards

    admin = User.by_email(ACCOUNTS[4][0])
    if admin is None:
        return []
    actor, today = Actor.staff(admin), now.date()
    plans = [  # unit, decree, days since the review, what the unit writes differently
        (None, ("800/112/Setda/2026", 200), {}),
        ("DUKCAPIL", ("470/045/Disdukcapil/2026", 40), {
            "maklumat": "Dengan ini, kami Dinas Kependudukan dan Pencatatan Sipil menyatakan sanggup "
                        "menanggapi setiap pengaduan paling lambat 14 hari dan menyelenggarakan pelayanan "
                        "sesuai standar pelayanan yang telah ditetapkan. Apabila tidak menepati janji ini, "
                        "kami siap menerima sanksi sesuai peraturan perundang-undangan yang berlaku.",
            "component_staff_count": "4 orang: 1 Ketua Tim Pengaduan, 3 petugas pengelola pengaduan "
                                     "(SK Kepala Dinas Nomor 470/045/Disdukcapil/2026)."}),
        ("PUPR", ("600/021/PUPR/2025", 400), {}),
    ]
    made = []
    for code, (decree, days), changes in plans:
        unit = Unit.by_code(code) if code else None
        if code and unit is None:
            continue
        if (standards.own_standard(unit) if unit else standards.default_standard()) is not None:
            continue
        standard = standards.create_standard(actor, unit)
        raw = {f"component_{c}": t for c, t in standard.components.items()} | {
            "version": standard.version, "maklumat": standard.maklumat, "decree_number": decree,
            "decree_date": (today - timedelta(days=days + 5)).isoformat(),
            "reviewed_on": (today - timedelta(days=days)).isoformat(), "published": "1", **changes}
        standards.update_standard(actor, standard, raw)
        made.append(code or "default")
    return [f"demo service standards: {', '.join(made)}"] if made else []


OMBUDSMAN_DEMO = [  # unit, kind, number, title, days since received, actions (text, owner, done days after receipt)
    ("DUKCAPIL", "tindakan_korektif", "LAHP/0412/LM.09-15/VII/2026",
     "Penundaan berlarut penerbitan KTP-el di Dinas Dukcapil", 80, [
         ("Menerbitkan SOP antrean dan jangka waktu penerbitan KTP-el", "Kepala Bidang Pelayanan Pendaftaran Penduduk", 18),
         ("Memasang papan informasi jangka waktu dan biaya (gratis) di loket", "Sekretaris Dinas", 12)]),
    ("PUPR", "saran_perbaikan", "B/0977/SRN.04/X/2026",
     "Perbaikan tata kelola pengaduan perbaikan jalan dan drainase", 75, [
         ("Menetapkan jadwal pemeliharaan drainase yang diumumkan kepada warga", "Kepala Bidang Bina Marga", None),
         ("Menunjuk petugas penghubung pengaduan di setiap UPT", "Sekretaris Dinas", 20)]),
]


def _ombudsman_products(now: datetime) -> list[str]:
    """The ready unit (DUKCAPIL) followed up a corrective action in time, each action with its
    evidence, and reported back; the unit with gaps (PUPR) has a saran perbaikan with an action
    past its deadline. Each product is recorded once (by its number)."""
    from .. import ombudsman
    from ..attachments import stored_files
    from ...models import OmbudsmanProduct

    admin = User.by_email(ACCOUNTS[4][0])
    if admin is None or ombudsman.rules() is None:
        return []
    actor, today, made = Actor.staff(admin), now.date(), []
    for code, kind, number, title, ago, actions in OMBUDSMAN_DEMO:
        unit = Unit.by_code(code)
        if unit is None or db.session.scalar(select(func.count(OmbudsmanProduct.id)).where(
                OmbudsmanProduct.number == number)):
            continue
        received = today - timedelta(days=ago)
        with stored_files([("lahp.png", _document_image(f"{number} {title}"), "image/png")], field="files") as stored:
            product = ombudsman.record_product(actor, {
                "kind": kind, "number": number, "issued_on": (received - timedelta(days=4)).isoformat(),
                "received_on": received.isoformat(), "title": title, "units": [code],
                "summary": "Ombudsman RI Perwakilan meminta instansi melaksanakan tindakan berikut dan "
                           "melaporkan pelaksanaannya."}, stored)
        for text, owner, done_after in actions:
            item = ombudsman.add_item(actor, product, {"action": text, "owner": owner, "unit": code})
            item.created_at = datetime.combine(received, time(3, 0), tzinfo=timezone.utc)  # added on receipt
            if done_after is None:
                continue
            with stored_files([("bukti.png", _document_image(text), "image/png")], field="files") as stored:
                ombudsman.complete_item(actor, item, {
                    "done_on": (received + timedelta(days=done_after)).isoformat(),
                    "evidence": f"Dilaksanakan: {text}. Bukti terlampir."}, stored)
        if all(i.status == "done" for i in product.items):
            ombudsman.record_reported_back(actor, product, {
                "reported_back_on": (received + timedelta(days=25)).isoformat(),
                "reported_back_ref": "800/311/Disdukcapil/2026"})
        made.append(code)
    return [f"demo Ombudsman products: {', '.join(made)}"] if made else []


def _document_image(title: str) -> bytes:
    """A plain page standing in for a scanned document."""
    image = Image.new("RGB", (420, 594), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 400, 574), outline=(60, 60, 60), width=2)
    draw.text((40, 50), "PEMERINTAH KABUPATEN BUKIT SARI", fill=(0, 0, 0))
    for i, start in enumerate(range(0, len(title), 40)):
        draw.text((40, 90 + 18 * i), title[start:start + 40], fill=(0, 0, 0))
    for y in range(180, 520, 22):
        draw.line((40, y, 380, y), fill=(190, 190, 190))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _emblem() -> bytes:
    """A made-up kabupaten emblem: a green shield with a gold mountain and sun."""
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(28, 20), (228, 20), (228, 140), (128, 240), (28, 140)], fill=(21, 101, 52),
                 outline=(234, 179, 8), width=10)
    draw.ellipse((98, 46, 158, 106), fill=(250, 204, 21))
    draw.polygon([(52, 170), (104, 96), (136, 140), (160, 112), (204, 170)], fill=(234, 179, 8))
    draw.rectangle((52, 170, 204, 182), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


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


def _story_for(path, i: int) -> tuple:
    """The i-th story, or the next one whose category every step of the walk is offered for
    (steps the workflow offers only for some categories: a verified follow-up, say)."""
    for k in range(len(STORIES)):
        story = STORIES[(i + k) % len(STORIES)]
        if all(t.offered_for(story[1]) for t in path):
            return story
    return STORIES[i % len(STORIES)]


def _is_manual(transition) -> bool:
    return bool({Role.CITIZEN, *STAFF_WITH_UNITS} & set(transition.roles))


def _answer_steps(workflow, complaint) -> list:
    """The steps that send the complainant her answer from where the complaint is: the step
    offered for its category that requires a response and, when that one is internal (a draft
    for review), the step out of the review whose form starts with its response."""
    first = next(t for t in workflow.offered(complaint) if "response" in t.requires)
    if first.public:
        return [first]
    return [first, next(t for t in workflow.transitions if first.dest in t.sources
                        and ("response", first.trigger) in t.prefill)]


def _taker(transition, complaint, supervisor: Actor) -> Actor:
    """Who takes the step: the complainant, the demo supervisor (the second one when the step's
    `not_by` refuses the first), or an officer of the unit."""
    if Role.CITIZEN in transition.roles:
        return Actor.citizen(complaint)
    if Role.SUPERVISOR in transition.roles:
        if may_take(supervisor, complaint, transition):
            return supervisor
        return Actor.staff(User.by_email(ACCOUNTS[5][0]))
    officer = next(User.by_email(email) for email, role, _, units in ACCOUNTS
                   if role == Role.OFFICER and complaint.unit.code in units)
    return Actor.staff(officer)


def _fields_for(workflow, transition, complaint, actor: Actor, i: int, filed_codes: list[str],
                rng: random.Random, forward=()) -> dict:
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
    if moving:  # the unit that handles it (or, for a complaint of no story, another unit)
        unit, category = forward or (next(code for code, *_ in UNITS if code != complaint.unit.code),
                                     "PERILAKU-PETUGAS")
    else:
        unit, category = complaint.unit.code, complaint.category.code
    samples = {
        "unit": unit,
        "category": category,
        "resolution": RESOLUTIONS.get(complaint.category.code, OTHER_TEXT),
        "referred_to": REFERRALS.get(complaint.unit.code, OTHER_TEXT),
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
