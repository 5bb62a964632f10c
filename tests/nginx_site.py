"""The deploy kit's nginx site (deploy/nginx/pengaduan.conf) for the tests: read as data (its
servers, locations and body limits, and which location nginx picks for a path), and run for
real with Debian's nginx (`apt-get install nginx`) as an unprivileged, non-daemon process with
its own prefix, pid, logs and temporary folders, on free loopback ports, in front of the test's
web nodes and with a self-signed certificate. Without nginx the tests that run it are skipped,
unless PENGADUAN_REQUIRE_NGINX=1 (CI)."""
from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from system_tools import require

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "pengaduan.conf"
BINARY = "/usr/sbin/nginx"


def missing() -> str | None:
    """Why no nginx can run here, or None."""
    if shutil.which("nginx") is None and not Path(BINARY).exists():
        return "nginx is not installed (apt-get install nginx)"
    return None


def skip_unless_available() -> None:
    require("NGINX", missing())


# --- the configuration as data ---------------------------------------------------------------

@dataclass
class Block:
    """A `name args { ... }` block: its simple directives (name -> list of argument lists)
    and its inner blocks, in order."""
    name: str
    args: list[str]
    directives: dict[str, list[list[str]]] = field(default_factory=dict)
    blocks: list["Block"] = field(default_factory=list)

    def one(self, name: str) -> list[str] | None:
        found = self.directives.get(name)
        return found[-1] if found else None

    def inner(self, name: str) -> list["Block"]:
        return [b for b in self.blocks if b.name == name]


TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([{};])|([^\s{};"\']+)')


def parse(text: str) -> Block:
    """nginx's syntax, enough for a site file: directives, blocks, quotes, comments."""
    text = re.sub(r"(?m)#.*$", "", text)
    root = Block("main", [])
    stack, words = [root], []
    for match in TOKEN.finditer(text):
        quoted, single, punct, word = match.groups()
        if punct is None:
            words.append(quoted if quoted is not None else single if single is not None else word)
        elif punct == "{":
            block = Block(words[0], words[1:])
            stack[-1].blocks.append(block)
            stack.append(block)
            words = []
        elif punct == ";":
            stack[-1].directives.setdefault(words[0], []).append(words[1:])
            words = []
        else:
            assert not words, f"unterminated directive {words}"
            stack.pop()
    assert len(stack) == 1 and not words, "unbalanced braces"
    return root


def site() -> Block:
    return parse(SITE.read_text())


def tls_server(config: Block) -> Block:
    [server] = [s for s in config.inner("server") if any("ssl" in a for a in s.directives["listen"])]
    return server


def location_for(server: Block, path: str) -> Block | None:
    """The location nginx chooses for `path` (its documented order): an exact `=` match; else
    the longest prefix, final if it is `^~`; else the first regex (`~`, `~*`) that matches, in
    the file's order; else that longest prefix."""
    prefix, regexes = None, []
    for loc in server.inner("location"):
        modifier, pattern = (loc.args if len(loc.args) == 2 else ["", loc.args[0]])
        if modifier == "=":
            if path == pattern:
                return loc
        elif modifier in ("~", "~*"):
            regexes.append((re.compile(pattern, re.I if modifier == "~*" else 0), loc))
        elif path.startswith(pattern) and (prefix is None or len(pattern) > len(prefix[0])):
            prefix = (pattern, loc, modifier == "^~")
    if prefix and prefix[2]:
        return prefix[1]
    for regex, loc in regexes:
        if regex.search(path):
            return loc
    return prefix[1] if prefix else None


SIZE = re.compile(r"(\d+)([kKmMgG]?)")


def size_in_bytes(value: str) -> int:
    number, unit = SIZE.fullmatch(value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit.lower()]


def body_limit(server: Block, path: str) -> int:
    """client_max_body_size for a request to `path` (a location's own, or the server's)."""
    loc = location_for(server, path)
    value = (loc.one("client_max_body_size") if loc else None) or server.one("client_max_body_size")
    return size_in_bytes(value[0])


# --- running it ------------------------------------------------------------------------------

def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"{SITE.name} no longer has {old!r}: update the test's substitutions"
    return text.replace(old, new)


def render(folder: Path, nodes: list[int], http_port: int, https_port: int,
           monitoring: str = "127.0.0.1") -> Path:
    """The site with this machine's substitutions (the lines marked CHANGE, the log folder,
    the ports) inside a main nginx.conf of the test's own. Returns the main file."""
    cert, key = self_signed(folder)
    text = SITE.read_text()
    upstream = re.search(r"upstream pengaduan_nodes \{(.*?)\}", text, re.S).group(1)
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in nodes)
    text = text.replace(upstream, "\n" + servers)
    for old, new in (("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen [::]:80;", ""),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     ("listen [::]:443 ssl http2;", ""),
                     ("/etc/letsencrypt/live/pengaduan.example.go.id/fullchain.pem", str(cert)),
                     ("/etc/letsencrypt/live/pengaduan.example.go.id/privkey.pem", str(key)),
                     ("/var/log/nginx/pengaduan.access.log", f"{folder}/access.log"),
                     ("/var/log/nginx/", f"{folder}/"),
                     ("/var/www/letsencrypt", f"{folder}/acme"),
                     ("/opt/pengaduan/static/", f"{ROOT}/static/"),
                     ("allow 10.0.0.20;", f"allow {monitoring};")):
        text = _replace(text, old, new)
    (folder / "site.conf").write_text(text)
    user = "user root;\n" if os.geteuid() == 0 else ""  # the test's folders are root's own
    main = folder / "nginx.conf"
    main.write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder}/other-access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""")
    return main


class Nginx:
    """nginx in the foreground with a configuration made by `render`."""

    def __init__(self, folder: Path, config: Path, http_port: int, https_port: int):
        self.folder, self.config = folder, config
        self.http = f"http://127.0.0.1:{http_port}"
        self.https = f"https://127.0.0.1:{https_port}"
        self.ca = str(folder / "cert.pem")
        binary = shutil.which("nginx") or BINARY
        check = subprocess.run([binary, "-t", "-p", str(folder), "-e", str(folder / "error.log"),
                                "-c", str(config)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.log = open(folder / "nginx.out", "ab")
        self.process = subprocess.Popen([binary, "-p", str(folder), "-e", str(folder / "error.log"),
                                         "-c", str(config)], stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            assert self.process.poll() is None, f"nginx stopped: {self.errors()}"
            try:
                requests.get(self.http + "/", timeout=2, allow_redirects=False)
                return
            except requests.RequestException:
                assert time.monotonic() < deadline, f"nginx did not answer: {self.errors()}"
                time.sleep(0.05)

    def errors(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def access_log(self) -> list[str]:
        path = self.folder / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)  # graceful: the master and its worker
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
