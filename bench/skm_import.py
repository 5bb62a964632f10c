"""Time and memory of `skm import` on a large file, and of the evidence pack carrying it.

    python bench/skm_import.py [--rows 100000] [--database-url URL]

Writes a CSV of `--rows` paper questionnaires (semicolons, a BOM, the profile as labels and
codes, 2% of the scores left empty), imports it into a new period (the period opened by the
import), imports the same file with a bad cell on its last line (refused: every row checked and
inserted, then rolled back), then exports the year's evidence pack and verifies it (the pack
verifier recomputes the IKM from the questionnaires). Each step runs in a fresh process whose
resident memory is sampled; run it with two sizes to see memory stay flat while the work grows.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

from common import PeakRss, database, machine, migrated_app, parser, rss_mb

ELEMENTS = [f"U{i}" for i in range(1, 10)]


def write_csv(path: str, rows: int, bad_last: bool = False) -> None:
    rng = random.Random(18)
    ages = ["20-29 tahun", "30_39", "40-49 tahun", "50_59", "60 tahun ke atas", ""]
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        out.write(";".join(ELEMENTS + ["Jenis kelamin", "Usia", "Pendidikan", "Layanan", "Saran"]) + "\r\n")
        for i in range(rows):
            scores = [str(rng.randint(2, 4)) if rng.random() > 0.02 else "" for _ in ELEMENTS]
            scores[0] = scores[0] or "3"
            education = "S9" if bad_last and i == rows - 1 else rng.choice(["SMA/SMK", "s1", ""])
            out.write(";".join(scores + [rng.choice(["Perempuan", "male", ""]), rng.choice(ages), education,
                                         rng.choice(["KTP-el", "KK"]), "Antrean lama" if i % 40 == 0 else ""])
                      + "\r\n")


def step(url: str, tmp: str, args: list[str]) -> dict:
    """Run one command in a fresh process: exit status, seconds, memory before and at the peak."""
    result = subprocess.run([sys.executable, __file__, "--step", url, tmp, json.dumps(args)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def run_step(url: str, tmp: str, args: list[str]) -> None:
    from common import make_app

    app = make_app(url, tmp)
    runner = app.test_cli_runner()
    before = rss_mb()
    started = time.perf_counter()
    with PeakRss() as peak:
        result = runner.invoke(args=args)
    print(json.dumps({"exit": result.exit_code, "seconds": round(time.perf_counter() - started, 2),
                      "rss_before": round(before, 1), "rss_peak": round(peak.peak, 1),
                      "output": result.output.strip().splitlines()[-1][:160]}))


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--rows", type=int, default=100_000)
    args = options.parse_args()
    url, tmp = database(args.database_url)
    app = migrated_app(url, tmp)
    with app.app_context():
        from pengaduan.extensions import db
        from pengaduan.services import create_unit

        create_unit("DUKCAPIL", "Dinas Dukcapil")
        db.session.commit()
    good, bad = os.path.join(tmp, "good.csv"), os.path.join(tmp, "bad.csv")
    write_csv(good, args.rows)
    write_csv(bad, args.rows, bad_last=True)
    print(machine(url), f"rows {args.rows:,}, file {os.path.getsize(good) / 1e6:.1f} MB")
    pack = os.path.join(tmp, "pack.zip")
    for name, command in (
            ("import", ["skm", "import", good, "--unit", "DUKCAPIL", "--period", "2026-Q3"]),
            ("import refused at the last line", ["skm", "import", bad, "--unit", "DUKCAPIL", "--period", "2026-Q3"]),
            ("evidence export", ["evidence", "export", "--from", "2026-01-01", "--to", "2026-12-31", "--out", pack]),
            ("evidence verify", ["evidence", "verify", pack])):
        found = step(url, tmp, command)
        print(f"{name}: exit {found['exit']}, {found['seconds']} s, RSS {found['rss_before']} -> "
              f"{found['rss_peak']} MB; {found['output']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        run_step(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    else:
        main()
