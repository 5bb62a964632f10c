"""The README's promises: `python run.py` serves, and CI runs the README's test command."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_run_py_migrates_seeds_serves_and_stops_cleanly(tmp_path):
    """`python run.py --demo` upgrades an empty database, serves, and exits 0 on Ctrl-C."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/quickstart.sqlite3",
           "SECRET_KEY": "quickstart-test", "PENGADUAN_SIGNING_KEY": str(tmp_path / "key.pem")}
    proc = subprocess.Popen([sys.executable, "run.py", "--port", str(port), "--demo"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "run.py did not answer within 60 s"
                time.sleep(0.2)
        assert status == 200 and '"ok"' in body
        status, page = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "Pengaduan pelayanan publik" in page
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)  # a loaded CI machine may be slow to stop the worker
    assert proc.returncode == 0, output
    assert "admin@demo.pengaduan.id password: " in output
    assert "waitress" in output.lower()  # a real WSGI server, not the development server


def test_readme_quickstart_matches_ci():
    """The Quickstart has the two commands and .ci/run runs the same test command."""
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n\s*(.+?)\n\s*```", quickstart)
    assert len(commands) == 2
    assert commands[0].endswith("pip install -r requirements.txt && python run.py --demo")
    assert commands[1].endswith("pip install -r requirements-dev.txt && python -m pytest")
    ci = (ROOT / ".ci/run").read_text()
    assert "pip install -q -r requirements-dev.txt" in ci
    assert re.search(r"^python -m pytest \|\|", ci, re.M)
