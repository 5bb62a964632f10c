"""A real Redis for the tests of rate limits shared by several web nodes: Debian's
`redis-server` (`apt-get install redis-server`), started as a subprocess of the test with its
own settings on the command line: no TCP port at all, only a unix socket in its own temporary
folder (no other test's server can answer on it, and none can take it between a stop and a
start), no password, no persistence (no RDB snapshot, no append-only file). Without redis-server
the tests are skipped, unless PENGADUAN_REQUIRE_REDIS=1 (CI)."""
from __future__ import annotations

import os
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
    """One running server. `url` is what RATELIMIT_STORAGE_URI takes (redis+unix://, as limits
    reads it); `stop()` and `start()` take it away and bring it back on the same socket (an
    outage), `close()` ends it for good. `tcp=True`, for a client that cannot reach the socket
    (a container): 127.0.0.1 at a free port instead; a port taken in the meantime stops the
    server at its start (another is tried at the first start), and the server is known by its
    process id, so another test's Redis on that port is never taken for this one."""

    def __init__(self, tcp: bool = False):
        self.root = Path(tempfile.mkdtemp(prefix="pengaduan-redis-"))
        self.socket = self.root / "redis.sock"
        self.port = _free_port() if tcp else None
        self.url = f"redis://127.0.0.1:{self.port}/0" if tcp else f"redis+unix://{self.socket}?db=0"
        self.process: subprocess.Popen | None = None
        for attempt in range(3 if tcp else 1):
            try:
                self.start()
                return
            except RuntimeError:
                if attempt == 2 or not tcp:
                    raise
                self.port = _free_port()
                self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which(BINARY) or "/usr/bin/redis-server"
        log = open(self.root / "redis.log", "ab")
        self.process = subprocess.Popen(
            [binary, *self._listen(), "--dir", str(self.root), "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--logfile", ""],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait()

    def _listen(self) -> list[str]:
        if self.port:
            return ["--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "yes"]
        return ["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"]

    def _connect(self) -> socket.socket:
        if self.port:
            return socket.create_connection(("127.0.0.1", self.port), timeout=2)
        conn = socket.socket(socket.AF_UNIX)
        conn.settimeout(2)
        try:
            conn.connect(str(self.socket))
        except OSError:
            conn.close()
            raise
        return conn

    def _wait(self) -> None:
        """Until the server started here answers on its socket (its process id in INFO)."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server stopped at start: {self.log()}")
            try:
                if f"process_id:{self.process.pid}" in self.command("INFO", "server", whole=True):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 15 s")

    def command(self, *words: str, whole: bool = False) -> str:
        """One command in Redis's inline protocol; the first line of the answer, or with
        `whole` the entire answer (a bulk string such as INFO's, read to its end)."""
        with self._connect() as conn:
            conn.sendall(" ".join(words).encode() + b"\r\n")
            answer = b""
            while not answer.endswith(b"\r\n") or (whole and not _complete(answer)):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
        text = answer.decode(errors="replace")
        return text if whole else text.split("\r\n", 1)[0]

    def keys(self, pattern: str = "*") -> list[str]:
        """The keys matching `pattern` (through the redis client the app itself uses)."""
        import redis

        client = (redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2) if self.port
                  else redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2))
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
        if self.socket.exists():  # a killed server leaves its socket file behind
            os.unlink(self.socket)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _complete(answer: bytes) -> bool:
    """A RESP bulk string ($<length>, CRLF, the data, CRLF) received whole (any other answer is
    one line)."""
    if not answer.startswith(b"$"):
        return True
    head, _, rest = answer.partition(b"\r\n")
    return int(head[1:]) < 0 or len(rest) >= int(head[1:]) + 2


@pytest.fixture(scope="module")
def redis_server():
    """A Redis server for the module's tests (emptied by each test that needs it so)."""
    skip_unless_available()
    server = RedisServer()
    try:
        yield server
    finally:
        server.close()
