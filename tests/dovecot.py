"""A real IMAP server for the mailbox tests: Debian's Dovecot (`apt-get install
dovecot-imapd`), started as a subprocess with a configuration of its own (`dovecot -F -c`):
one passwd-file user, Maildir in a temporary folder, plain-text login on 127.0.0.1 at a free
port, no TLS, no chroot (so that it also runs as an ordinary user). Without Dovecot the tests are skipped, unless PENGADUAN_REQUIRE_MAIL=1 (CI)."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imap_tools import MailBoxUnencrypted

REQUIRED = os.environ.get("PENGADUAN_REQUIRE_MAIL") == "1"
USER, PASSWORD = "pengaduan@dinas.example.go.id", "mailbox-test-password"


def missing() -> str | None:
    """Why no Dovecot can run here, or None."""
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        return "Dovecot is not installed (apt-get install dovecot-imapd)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """One running server; `mailbox()` logs in, `deliver(raw)` appends a message to INBOX."""

    def __init__(self):
        # Not under pytest's temporary folder: Dovecot's unprivileged processes must reach
        # their sockets and the mail, and that folder is private to its owner.
        self.root = Path(tempfile.mkdtemp(prefix="pengaduan-dovecot-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        if os.geteuid() == 0:  # Dovecot refuses mail access as root: the package's own user
            account = pwd.getpwnam("dovecot")
            user_settings = ""
        else:
            account = pwd.getpwuid(os.getuid())
            user_settings = (f"default_login_user = {account.pw_name}\n"
                             f"default_internal_user = {account.pw_name}\n")
        for folder in ("run", "state", "mail"):
            (self.root / folder).mkdir()
        os.chown(self.root / "mail", account.pw_uid, account.pw_gid)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.config = self.root / "dovecot.conf"
        self.config.write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = pengaduan-test-{self.port}
log_path = {self.root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
{user_settings}mail_location = maildir:{self.root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={account.pw_uid} gid={account.pw_gid} home={self.root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.process = subprocess.Popen([binary, "-F", "-c", str(self.config)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace")
                raise RuntimeError(f"dovecot stopped at start: {output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not answer within 15 s")

    def settings(self) -> dict:
        """The app's configuration for this mailbox."""
        return {"PENGADUAN_IMAP_HOST": "127.0.0.1", "PENGADUAN_IMAP_PORT": self.port,
                "PENGADUAN_IMAP_SECURITY": "none", "PENGADUAN_IMAP_USER": USER,
                "PENGADUAN_IMAP_PASSWORD": PASSWORD, "PENGADUAN_IMAP_FOLDER": "INBOX",
                "PENGADUAN_IMAP_ADDRESS": USER, "PENGADUAN_IMAP_DONE_FOLDER": None}

    def mailbox(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=10).login(USER, PASSWORD, "INBOX")

    def deliver(self, *messages: bytes) -> None:
        with self.mailbox() as box:
            for raw in messages:
                box.append(raw, "INBOX")

    def empty(self) -> None:
        """Delete every message (each test starts with an empty INBOX)."""
        with self.mailbox() as box:
            uids = box.uids()
            if uids:
                box.delete(uids)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)
