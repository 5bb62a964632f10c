"""Filing throughput over HTTP, as a ratio to a bare Flask endpoint served the same way.

    apt-get install wrk        # the load generator (C, so the client costs little CPU)
    python bench/filing.py [--database-url URL] [--seconds 10] [--workers 2] [--connections 8]

Both apps are served by gunicorn with the same settings (sync workers, as in production);
wrk POSTs the same JSON filing to `/api/v1/complaints` on each. pengaduan validates it,
writes the complaint, its timeline event, clocks with computed deadlines, the officers'
notifications and an audit event chained under the lock, and commits; the bare endpoint
parses the JSON and answers. The two are run alternately, `--rounds` times each, and the
ratio is taken between the medians of the same run. Every filing must be answered 201.
"""
from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import database, machine, migrated_app, parser

HERE = Path(__file__).resolve().parent
BODY = {"unit": "U1", "category": "KTP", "title": "Antrean KTP-el terlalu lama",
        "description": "Saya menunggu lima jam di loket dan berkas belum diproses.",
        "name": "Warga Bench", "email": "warga@contoh.id", "privacy": "public", "consent": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(kind: str, url: str, tmp: str, workers: int):
    port = free_port()
    env = {**os.environ, "BENCH_APP": kind, "BENCH_DATABASE_URL": url, "BENCH_TMP": tmp}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--chdir", str(HERE), "--log-level", "warning", "wsgi_apps:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{kind} server did not start: {proc.stderr.read().decode()[-2000:]}")


def load(port: int, seconds: int, connections: int, script: str) -> tuple[float, int, int]:
    """(requests per second, requests, non-2xx answers or socket errors) from one wrk run."""
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s", "-s", script,
                          f"http://127.0.0.1:{port}/api/v1/complaints"],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    bad += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return rate, total, bad


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--seconds", type=int, default=10)
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    options.add_argument("--connections", type=int, default=8)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from sqlalchemy import func, select

    from pengaduan.extensions import db
    from pengaduan.models import AuditEvent, Complaint
    from pengaduan.services import create_category, create_unit, create_user

    app = migrated_app(url, tmp)
    with app.app_context():
        create_unit("U1", "Dinas Kependudukan")
        create_category("KTP", "KTP-el")
        for k in range(2):
            create_user(f"officer{k}@bench.id", "officer", unit_codes=["U1"])
        create_user("supervisor@bench.id", "supervisor", unit_codes=["U1"])
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(Complaint))

    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(json.dumps(BODY))}\n")
    rates: dict[str, list[float]] = {"bare": [], "pengaduan": []}
    answered = 0
    servers = {kind: serve(kind, url, tmp, args.workers) for kind in rates}
    try:
        for _ in range(args.rounds):
            for kind, (_, port) in servers.items():
                rate, total, bad = load(port, args.seconds, args.connections, str(script))
                if bad:
                    proc = servers[kind][0]
                    proc.terminate()
                    raise SystemExit(f"{kind}: {bad} of {total} filings failed\n"
                                     f"{proc.communicate()[1].decode()[-3000:]}")
                rates[kind].append(rate)
                if kind == "pengaduan":
                    answered += total
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()

    with app.app_context():
        filed = db.session.scalar(select(func.count()).select_from(Complaint)) - before
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        from pengaduan.audit import public_key_hex, verify_chain
        chain = verify_chain(db.session, public_key_hex())
    bare, ours = statistics.median(rates["bare"]), statistics.median(rates["pengaduan"])
    print(machine(url))
    print(f"gunicorn -w {args.workers} (sync), wrk -t1 -c{args.connections}, {args.rounds} rounds "
          f"of {args.seconds} s each, alternating")
    print(f"bare Flask:  {bare:8.1f} requests/s  (rounds: {', '.join(f'{r:.0f}' for r in rates['bare'])})")
    print(f"pengaduan:   {ours:8.1f} filings/s   (rounds: {', '.join(f'{r:.0f}' for r in rates['pengaduan'])})")
    print(f"ratio: {ours / bare:.1%} of the bare endpoint")
    print(f"complaints in the database: +{filed} (wrk counted {answered} answers; a request cut off "
          f"when a round ends may still have been committed); audit chain {events} events, "
          f"verify {'OK' if chain.ok else chain.problem}")


if __name__ == "__main__":
    main()
