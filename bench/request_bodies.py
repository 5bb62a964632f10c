"""Memory of a real server sent large bodies it must refuse (issue #13, item 3).

    python bench/request_bodies.py [--database-url URL] [--megabytes 20] [--server waitress|gunicorn]

Serves pengaduan as deployed (`python run.py`, waitress; or gunicorn with one sync worker),
then sends a JSON body of `--megabytes` (a list of short strings: parsed, it would become
millions of objects) to URLs of every surface, signed in or not, once with Content-Length and
once chunked. Prints each answer and the peak resident memory (VmHWM) of the process that ran
the app, before and after. Each answer must be 413 and the peak must grow by less than 50 MB.
"""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from common import database, machine, migrated_app, parser

ROOT = Path(__file__).resolve().parent.parent
URLS = ["/api/v1/complaints", "/api/v1/complaints/ABCD-1234/transitions", "/open311/v2/requests.json",
        "/track", "/login", "/complaints/new", "/staff/queue", "/", "/no/such/page"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(kind: str, url: str, tmp: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "PENGADUAN_SCHEDULER": "off",
           "PENGADUAN_SIGNING_KEY": os.path.join(tmp, "key.pem"), "RATELIMIT_ENABLED": "0"}
    args = ([sys.executable, "run.py", "--port", str(port)] if kind == "waitress" else
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "run:app"])
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{kind} did not start")


def app_pid(proc: subprocess.Popen, kind: str) -> int:
    """The process running the app: waitress serves in-process; gunicorn in its worker."""
    if kind == "waitress":
        return proc.pid
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return int(children[0])


def peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def send(port: int, path: str, body: bytes, chunked: bool) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/json")
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            step = 1 << 20
            try:
                for start in range(0, len(body), step):
                    piece = body[start:start + step]
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed before the whole body was sent
        else:
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        return conn.getresponse().status
    finally:
        conn.close()


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--megabytes", type=int, default=20)
    options.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    args = options.parse_args()
    url, tmp = database(args.database_url)
    migrated_app(url, tmp)
    body = ("[" + ",".join(['"ab"'] * (args.megabytes * (1 << 20) // 5)) + "]").encode()
    proc, port = serve(args.server, url, tmp)
    try:
        pid = app_pid(proc, args.server)
        send(port, "/healthz", b"", False)  # the app loaded and warmed up
        before = peak_mb(pid)
        answers = {(path, chunked): send(port, path, body, chunked) for path in URLS for chunked in (False, True)}
        after = peak_mb(pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(machine(url), f"server {args.server}")
    print(f"body {len(body) / (1 << 20):.1f} MB of JSON, {len(answers)} requests")
    for (path, chunked), status in answers.items():
        print(f"  {status}  {'chunked' if chunked else 'length '}  {path}")
    print(f"peak resident memory of the app process: {before:.0f} MB before, {after:.0f} MB after "
          f"(+{after - before:.0f} MB)")
    refused = all(status == 413 for status in answers.values())
    if not refused or after - before >= 50:
        raise SystemExit("FAIL: every answer must be 413 and the peak must grow by less than 50 MB")
    print("OK")


if __name__ == "__main__":
    main()
