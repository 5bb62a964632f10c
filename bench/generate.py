"""Fill a database with N realistic complaints, their timelines and a valid audit chain.

    python bench/generate.py [--complaints 1000000] [--database-url URL] [--years 3] [--without-history]

The complaints are spread over `--years` years across 20 units and 8 categories, with the
channels, classifications and privacy modes in proportions like a kabupaten's: most old
complaints are closed, a few are stuck open past their deadline, the recent ones are at every
stage. Each has the timeline events of the steps it went through, the running clock of the
stage it is in, and one audit event per step, chained with real hashes so that
`flask --app run audit verify` passes. Rows are written with bulk inserts (tens of thousands
a statement batch), not through the services: filing a million complaints one request at a
time is what the other benchmarks measure. Titles and descriptions are Indonesian sentences of
varied length over a vocabulary with a Zipf-like spread, with a few rare place names, and every
complaint but the anonymous ones has a complainant (name, NIK, phone), so that search has
common, two-word, rare and identity terms to find.

Without `--database-url` a SQLite file is written under /tmp and its URL printed; a
PostgreSQL URL must name an empty database (createdb it first). Other benchmarks take the
same URL and `--reuse` to run on the filled database.
"""
from __future__ import annotations

import itertools
import random
import time
from datetime import timedelta

from common import bulk_insert, database, machine, migrated_app, parser, settle

UNITS = 20
CATEGORIES = ["ADM", "KTP", "KK", "AKTA", "IZIN", "KES", "JALAN", "AIR"]
CHANNELS = [("web", 55), ("walk_in", 15), ("phone", 10), ("sp4n_lapor", 10), ("api", 5),
            ("letter", 3), ("open311", 2)]
CLASSIFICATIONS = [("pengaduan", 80), ("aspirasi", 12), ("permintaan_informasi", 8)]
PRIVACY = [("public", 80), ("confidential", 12), ("anonymous", 8)]
CHUNK = 10_000
PASSWORD = "bench-password-1"
# Titles and descriptions are drawn from a vocabulary of complaint Indonesian, each word with a
# Zipf-like frequency (the most common in about half the complaints, the least in 2 %), so that
# word searches meet common and rare words as in a real register; each RARE word appears in
# about one complaint in 50,000.
VOCABULARY = """
pelayanan petugas loket antrean berkas syarat lambat tidak sudah belum jalan rusak air bersih
puskesmas obat dokter ktp akta kelahiran izin usaha biaya pungutan sistem daring jadwal terlambat
informasi jelas ruang tunggu kantor kecamatan kelurahan desa dinas kependudukan pencatatan sipil
kartu keluarga surat keterangan domisili pindah datang nikah kematian perceraian rekam cetak blangko
habis pengambilan antre lama sekali berhari hari minggu bulan tahun pagi siang sore malam jam buka
tutup istirahat libur pegawai honorer kepala seksi bidang camat lurah kades sekretaris bendahara
operator jaringan gangguan server error aplikasi situs laman formulir unggah dokumen foto scan
fotokopi legalisir tanda tangan stempel cap nomor registrasi antrian tiket online offline calo
perantara uang tambahan tarif resmi gratis bayar kwitansi bukti transfer tunai denda retribusi
pajak bumi bangunan pbb sppt tagihan listrik pdam pipa bocor keruh mati macet sampah menumpuk
bau selokan drainase banjir genangan hujan lubang aspal jembatan lampu penerangan gelap rambu
trotoar parkir liar pedagang kaki lima angkot bus terminal ojek pasar kios los retribusi
sekolah guru murid siswa zonasi penerimaan bantuan beasiswa seragam buku pungli komite rapor ijazah
rumah sakit bidan perawat rujukan bpjs kesehatan kis kartu indonesia sehat rawat inap jalan igd
ambulans vaksin imunisasi posyandu gizi balita stunting lansia disabilitas kursi roda akses
bansos pkh bantuan langsung tunai sembako beras data dtks penerima tepat sasaran salah nama
tanah sertifikat batas sengketa ukur bpn pertanahan imb pbg bangunan liar tata ruang zonasi
lingkungan limbah pabrik asap debu kebisingan pencemaran sungai pohon tumbang taman kota hijau
keamanan ketertiban satpol pp razia preman pungutan liar parkir tukang hilang dompet laporan
pengaduan tindak lanjut jawaban balasan respons telepon whatsapp email kotak saran survei kepuasan
ramah sopan kasar membentak marah acuh cuek main ponsel merokok terlambat datang pulang cepat
sepi kosong penuh sesak panas kipas ac rusak kursi kurang toilet kotor wc air mati mushola
anak ibu bapak orang tua warga masyarakat rt rw tetangga keluarga saudara suami istri nenek kakek
tolong mohon segera diperbaiki ditindaklanjuti diproses dibantu dicek diperhatikan ditertibkan
kami saya kita mereka dia yang dan di ke dari untuk dengan pada karena sehingga agar namun tetapi
juga hanya masih lagi sangat terlalu cukup banyak sedikit semua setiap beberapa sering selalu
pernah akan bisa harus perlu ingin minta tanya apakah kapan bagaimana mengapa siapa dimana berapa
""".split()
RARE = """
lamongan wonosobo trenggalek ngawi pacitan blitar sragen klaten boyolali purworejo kebumen
cilacap banyumas purbalingga banjarnegara temanggung magelang salatiga ungaran kendal batang
pekalongan pemalang tegal brebes jepara kudus pati rembang blora grobogan demak sukoharjo
wonogiri karanganyar jombang nganjuk madiun magetan ponorogo tulungagung kediri mojokerto
""".split()
FIRST_NAMES = """
siti nur sri dewi rina ani yuni wati lestari fitri indah ayu putri dian eka tri rudi budi agus
andi ahmad muhammad dedi hendra joko slamet bambang hadi wahyu eko dwi iwan yusuf rizki fajar
bayu dimas arif hasan ismail ketut made wayan nyoman komang gede yohanes maria fransiska
""".split()
LAST_NAMES = """
rahayu wulandari susanti handayani pratiwi kusuma saputra santoso wibowo setiawan hidayat
nugroho prasetyo gunawan kurniawan siregar nasution harahap lubis simanjuntak sitorus tanjung
pohan hutapea sinaga manurung panjaitan hasibuan daulay situmorang pangaribuan wijaya halim
""".split()


def tracking_code(number: int) -> str:
    """A unique code in the real alphabet and shape (XXXX-XXXX), one for each number."""
    from pengaduan.services.complaints.tracking import ALPHABET, CODE_LENGTH

    digits = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    raw = "".join(reversed(digits))
    return f"{raw[:4]}-{raw[4:]}"


class Writer:
    """Titles, descriptions and complainants, from their own random stream (the rest of a
    complaint is drawn as before, whatever the text)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        ranks = range(1, len(VOCABULARY) + 1)  # Zipf-Mandelbrot: 1 / (rank + 20)
        self.cumulative = list(itertools.accumulate(1 / (r + 20) for r in ranks))

    def words(self, count: int) -> list[str]:
        chosen = self.rng.choices(VOCABULARY, cum_weights=self.cumulative, k=count)
        if self.rng.random() < len(RARE) / 50_000:
            chosen[self.rng.randrange(count)] = self.rng.choice(RARE)
        return chosen

    def title(self) -> str:
        return " ".join(self.words(self.rng.randint(4, 9))).capitalize()

    def description(self) -> str:
        sentences = [" ".join(self.words(self.rng.randint(6, 16))).capitalize() + "."
                     for _ in range(self.rng.randint(2, 6))]
        return " ".join(sentences)

    def complainant(self, cid: int) -> dict:
        rng = self.rng
        return {"complainant_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}".title(),
                "complainant_nik": f"{rng.randint(11, 94)}{rng.randint(1, 79):02d}{rng.randint(1, 40):02d}"
                                   f"{rng.randint(10101, 711299):06d}{cid % 10_000:04d}",
                "complainant_phone": f"08{rng.randint(11, 99)}-{rng.randint(1000, 9999)}-{cid % 100_000:05d}",
                "complainant_email": f"warga{cid}@contoh.id"}


def weighted(rng: random.Random, table):
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def setup(db) -> dict:
    """Units, categories and staff: four officers and a supervisor a unit, one auditor."""
    from pengaduan.models import Category, Unit, User

    hashed = User()
    hashed.set_password(PASSWORD)  # one hash for all: Argon2 is slow on purpose
    password = hashed.password_hash
    units = [Unit(code=f"U{u:02d}", name=f"Unit layanan {u:02d}") for u in range(UNITS)]
    db.session.add_all(units)
    db.session.add_all(Category(code=c, name=f"Kategori {c}") for c in CATEGORIES)
    db.session.flush()
    staff = {}
    for unit in units:
        for role, count in (("officer", 4), ("supervisor", 1)):
            for k in range(count):
                user = User(email=f"{role}{k}.{unit.code.lower()}@bench.id", name=f"{role} {k} {unit.code}",
                            role=role, password_hash=password)
                user.units.append(unit)
                db.session.add(user)
                staff.setdefault((unit.code, role), []).append(user)
    db.session.add(User(email="auditor@bench.id", name="Auditor", role="auditor", password_hash=password))
    db.session.commit()
    categories = {c.code: c.id for c in db.session.query(Category)}
    return {"units": [(u.id, u.code) for u in units], "categories": categories,
            "officers": {code: [u.id for u in staff[(code, "officer")]] for _, code in
                         [(u.id, u.code) for u in units]}}


def life(rng: random.Random, received, now):
    """The steps a complaint went through by `now`: [(trigger, from, to, at)], and where it is."""
    steps = []
    at = received
    path = [("verify", "received", "verified", 1 + rng.random() * 3),
            ("follow_up", "verified", "followed_up", 3 + rng.random() * 10),
            ("close", "followed_up", "closed", 5 + rng.random() * 10)]
    if rng.random() < 0.12:  # some first ask for more information
        path[0:0] = [("request_info", "received", "awaiting_info", 0.5 + rng.random()),
                     ("provide_info", "awaiting_info", "received", 1 + rng.random() * 4)]
    stuck = rng.random() < 0.03  # an old case someone forgot: open and overdue
    for trigger, source, dest, days in path:
        if stuck and dest == "closed":
            break
        nxt = at + timedelta(days=days)
        if nxt > now:
            break
        steps.append((trigger, source, dest, nxt))
        at = nxt
    state = steps[-1][2] if steps else "received"
    return steps, state, at


STAGE_DAYS = {"received": 5, "awaiting_info": 10, "verified": 14, "followed_up": 14}
STAGE_RULE = {"received": "verification", "awaiting_info": "info_window", "verified": "first_follow_up",
              "followed_up": "reply_window"}


def fill(app, n: int, years: float, seed: int = 7, progress=print, history: bool = True) -> dict:
    """`history=False` writes the complaints alone, without their timelines, clocks and audit
    events (enough for search and the queue page, in a fraction of the time)."""
    from pengaduan.audit.chain import canonical, chain_hash, iso_utc
    from pengaduan.extensions import db
    from pengaduan.models import AuditEvent, Complaint, ComplaintClock, ComplaintEvent, utcnow

    rng = random.Random(seed)
    writer = Writer(seed + 1)
    anonymous = dict.fromkeys(("complainant_name", "complainant_nik", "complainant_phone", "complainant_email"))
    with app.app_context():
        world = setup(db)
        now = utcnow()
        first = now - timedelta(days=365 * years)
        span = (now - first).total_seconds()
        seq, prev = _chain_head(db)
        counts = {"complaints": 0, "events": 0, "audit": 0, "open": 0}
        started = time.perf_counter()
        for base in range(0, n, CHUNK):
            complaints, timeline, clocks, audit_rows = [], [], [], []
            for i in range(base, min(n, base + CHUNK)):
                cid = i + 1
                received = first + timedelta(seconds=span * i / n)
                unit_id, unit_code = world["units"][rng.randrange(UNITS)]
                category = rng.choice(CATEGORIES)
                channel = weighted(rng, CHANNELS)
                privacy = weighted(rng, PRIVACY)
                code = tracking_code(cid)
                steps, state, since = life(rng, received, now)
                due = since + timedelta(days=STAGE_DAYS[state]) if state != "closed" else None
                assignee = rng.choice(world["officers"][unit_code]) if steps else None
                complaints.append({
                    "id": cid, "tracking_code": code, "pin_hash": "-", "title": writer.title(),
                    "description": writer.description(),
                    "classification": weighted(rng, CLASSIFICATIONS), "channel": channel,
                    "privacy": privacy, "late_filing": False,
                    **(anonymous if privacy == "anonymous" else writer.complainant(cid)),
                    "unit_id": unit_id, "category_id": world["categories"][category],
                    "assignee_id": assignee, "state": state,
                    "closure_reason": "resolved" if state == "closed" else None,
                    "rating": rng.choice((None, 3, 4, 5)) if state == "closed" else None,
                    "received_at": received, "state_changed_at": since, "updated_at": since,
                    "closed_at": since if state == "closed" else None,
                    "stage_due_at": due, "resolution_due_at": received + timedelta(days=60),
                    "version": 1 + len(steps)})
                events = [("filed", "file", None, "received", received, "citizen")]
                events += [("transition", t, s, d, at, "officer") for t, s, d, at in steps]
                if not history:
                    counts["open"] += due is not None
                    continue
                for kind, trigger, source, dest, at, role in events:
                    timeline.append({"complaint_id": cid, "occurred_at": at, "kind": kind,
                                     "trigger": trigger, "from_state": source, "to_state": dest,
                                     "actor_role": role, "unit_id": unit_id, "public": True,
                                     "data": {"channel": channel} if kind == "filed" else {}})
                    seq += 1
                    action = "complaint.filed" if kind == "filed" else f"complaint.{trigger}"
                    actor = "citizen" if role == "citizen" else f"user:{assignee}"
                    payload = ({"unit": unit_code, "category": category, "channel": channel,
                                "privacy": privacy, "state": dest} if kind == "filed"
                               else {"from": source, "to": dest})
                    body = canonical({"seq": seq, "occurred_at": iso_utc(at), "actor": actor,
                                      "action": action, "complaint": code, "units": [unit_code],
                                      "payload": payload})
                    digest = chain_hash(prev, body)
                    audit_rows.append({"seq": seq, "occurred_at": at, "actor": actor, "action": action,
                                       "complaint_code": code, "units": unit_code, "body": body,
                                       "prev_hash": prev, "hash": digest})
                    prev = digest
                if due is not None:
                    counts["open"] += 1
                    clocks.append({"complaint_id": cid, "rule": STAGE_RULE[state], "counting_from": since,
                                   "due_at": due, "consumed": 0, "explanation": {}, "cycle": 1,
                                   "next_step": 0 if due > now else 3,
                                   "next_check_at": due - timedelta(days=1) if due > now else None})
            for model, rows in ((Complaint, complaints), (ComplaintEvent, timeline),
                                (ComplaintClock, clocks), (AuditEvent, audit_rows)):
                bulk_insert(db, model, rows)
            db.session.commit()
            counts["complaints"] += len(complaints)
            counts["events"] += len(timeline)
            counts["audit"] += len(audit_rows)
            if base // CHUNK % 10 == 9 or base + CHUNK >= n:
                rate = counts["complaints"] / (time.perf_counter() - started)
                progress(f"  {counts['complaints']:>9,} complaints, {counts['audit']:>10,} audit events "
                         f"({rate:,.0f} complaints/s)")
        _analyze(db)
    return counts


def _chain_head(db) -> tuple[int, str]:
    from pengaduan.audit.chain import head

    return head(db.session)


def _analyze(db) -> None:
    """Complaint ids were given: on PostgreSQL its sequence must move past them."""
    from sqlalchemy import text

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('complaints', 'id'), "
                              "(SELECT max(id) FROM complaints))"))
    settle(db)


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--complaints", type=int, default=1_000_000)
    options.add_argument("--years", type=float, default=3)
    options.add_argument("--without-history", action="store_true",
                         help="complaints only: no timelines, clocks or audit events (search benchmarks)")
    args = options.parse_args()
    url, tmp = database(args.database_url)
    app = migrated_app(url, tmp)
    print(machine(url))
    started = time.perf_counter()
    counts = fill(app, args.complaints, args.years, history=not args.without_history)
    seconds = time.perf_counter() - started
    print(f"filled {counts['complaints']:,} complaints ({counts['open']:,} open), "
          f"{counts['events']:,} timeline events, {counts['audit']:,} audit events in {seconds:.0f} s")
    print(f"database: {url}")


if __name__ == "__main__":
    main()
