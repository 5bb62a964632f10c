"""A real Redis for the tests of rate limits shared by several web nodes: Debian's
`redis-server` (`apt-get install redis-server`), started as a subprocess of the test with its
own settings on the command line: 127.0.0.1 at a free port, no password, no persistence (no
RDB snapshot, no append-only file), its working folder a temporary one. Without redis-server
the tests are skipped, unless PENGADUAN_REQUIRE_REDIS=1 (CI)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from system_tools import require

BINARY = "redis-server"


def missing() -> str | None:
    """Why no Redis can run here, or None."""
    if shutil.which(BINARY) is None and not Path("/usr/bin/redis-server").exists():
        return "redis-server is not installed (apt-get install redis-server)"
    return None


def skip_unless_available() -> None:
    """Skip the calling test (or module) without Redis, or fail it when CI requires one."""
    require("REDIS", missing())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One running server. `url` is what RATELIMIT_STORAGE_URI takes; `stop()` and `start()`
    take it away and bring it back on the same port (an outage), `close()` ends it for good."""

    def __init__(self, port: int | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="pengaduan-redis-"))
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which(BINARY) or "/usr/bin/redis-server"
        log = open(self.root / "redis.log", "ab")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
             "--logfile", ""],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server stopped at start: {self.log()}")
            try:
                if self.command("PING") == "+PONG":
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 15 s")

    def command(self, *words: str) -> str:
        """One command in Redis's inline protocol; the first line of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(" ".join(words).encode() + b"\r\n")
            answer = b""
            while not answer.endswith(b"\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return answer.decode(errors="replace").split("\r\n", 1)[0]

    def keys(self, pattern: str = "*") -> list[str]:
        """The keys matching `pattern` (through the redis client the app itself uses)."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        try:
            return sorted(key.decode() for key in client.keys(pattern))
        finally:
            client.close()

    def flush(self) -> None:
        assert self.command("FLUSHALL") == "+OK"

    def log(self) -> str:
        path = self.root / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGKILL: the server is gone at once, as when its machine fails."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server():
    """A Redis server for the module's tests (emptied by each test that needs it so)."""
    skip_unless_available()
    server = RedisServer()
    try:
        yield server
    finally:
        server.close()
