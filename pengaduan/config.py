"""Configuration from environment variables (design.md section 2)."""
from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _instance_secret(instance_path: Path, name: str, make) -> str:
    """Read a secret stored in the instance folder, creating it once (mode 0600)."""
    path = instance_path / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def base_url(env) -> str:
    """PENGADUAN_BASE_URL without its trailing slash; refuses anything but an http(s) address."""
    value = env.get("PENGADUAN_BASE_URL", "").strip()
    if not value:
        if env.get("MAIL_SERVER"):
            logging.getLogger(__name__).warning(
                "PENGADUAN_BASE_URL is not set: links in emails point at a local address")
        return "http://127.0.0.1:5000"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ValueError(f"PENGADUAN_BASE_URL must be an http(s) address such as "
                         f"https://pengaduan.example.go.id, not {value!r}")
    return value.rstrip("/")


def _whole(env, name: str, default: int, least: int = 1) -> int:
    """A whole-number setting, refused at start-up when it is not one or below `least` (a
    checkpoint interval of 0 minutes, say, would make every `audit verify` fail)."""
    value = env.get(name, str(default)).strip()
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < least:
        raise ValueError(f"{name} must be at least {least}, not {number}")
    return number


def _storage(env) -> str:
    kind = env.get("PENGADUAN_STORAGE", "local").strip() or "local"
    if kind not in ("local", "database"):
        raise ValueError(f"PENGADUAN_STORAGE must be local or database, not {kind!r}")
    return kind


def _seconds(env, name: str, default: float) -> float:
    """A positive number of seconds (a fraction allowed), refused at start-up otherwise."""
    value = env.get(name, str(default)).strip()
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 0 < number < 3600:
        raise ValueError(f"{name} must be above 0 and below 3600, not {value}")
    return number


IMAP_SECURITY = ("ssl", "starttls", "none")


def mailbox(env) -> dict:
    """The office's mailbox read by the worker (integrations/mailbox.py); off without a host.
    The password comes from PENGADUAN_IMAP_PASSWORD or the file PENGADUAN_IMAP_PASSWORD_FILE
    names (a container secret), never from the command line."""
    host = env.get("PENGADUAN_IMAP_HOST", "").strip() or None
    security = env.get("PENGADUAN_IMAP_SECURITY", "ssl").strip().lower()
    if security not in IMAP_SECURITY:
        raise ValueError(f"PENGADUAN_IMAP_SECURITY must be one of {', '.join(IMAP_SECURITY)}, not {security!r}")
    password = env.get("PENGADUAN_IMAP_PASSWORD")
    password_file = env.get("PENGADUAN_IMAP_PASSWORD_FILE", "").strip()
    if password_file and host:
        password = Path(password_file).read_text().strip()
    user = env.get("PENGADUAN_IMAP_USER", "").strip() or None
    address = env.get("PENGADUAN_IMAP_ADDRESS", "").strip() or (user if user and "@" in user else None)
    return {
        "PENGADUAN_IMAP_HOST": host,
        "PENGADUAN_IMAP_PORT": _whole(env, "PENGADUAN_IMAP_PORT", 993 if security == "ssl" else 143),
        "PENGADUAN_IMAP_SECURITY": security,
        "PENGADUAN_IMAP_USER": user,
        "PENGADUAN_IMAP_PASSWORD": password,
        "PENGADUAN_IMAP_FOLDER": env.get("PENGADUAN_IMAP_FOLDER", "").strip() or "INBOX",
        # Handled mail is moved here when set; otherwise it stays, marked with a keyword.
        "PENGADUAN_IMAP_DONE_FOLDER": env.get("PENGADUAN_IMAP_DONE_FOLDER", "").strip() or None,
        # A message that failed integrations.mailbox.MAX_ATTEMPTS runs is moved here when set
        # (to be read by hand); otherwise it is marked handled. Either way it is logged.
        "PENGADUAN_IMAP_FAILED_FOLDER": env.get("PENGADUAN_IMAP_FAILED_FOLDER", "").strip() or None,
        # The mailbox's own address: mail from it, or naming it in X-Loop, is our own.
        "PENGADUAN_IMAP_ADDRESS": address,
        # The unit new mail complaints are registered in (staff re-dispose them at verification).
        "PENGADUAN_IMAP_UNIT": env.get("PENGADUAN_IMAP_UNIT", "").strip() or None,
        "PENGADUAN_IMAP_MINUTES": _whole(env, "PENGADUAN_IMAP_MINUTES", 2),
    }


@lru_cache(maxsize=16)
def _networks(listed: str) -> tuple:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in listed.split(",") if part.strip())


def address_in(address: str | None, listed: str) -> bool:
    """Is `address` in the comma-separated `listed` (an IPv4-mapped IPv6 address counts as IPv4)?"""
    try:
        parsed = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in _networks(listed))


def _addresses(env, name: str, default: str) -> str:
    """A comma-separated list of addresses and networks (CIDR), each checked at start-up."""
    listed = env.get(name, default)
    for item in filter(None, (part.strip() for part in listed.split(","))):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {item!r} is not an address or network") from None
    return listed


def monitoring(env) -> dict:
    """Log lines, /metrics and /readyz (README "Monitoring"), checked at start-up."""
    log_format = env.get("PENGADUAN_LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise ValueError(f"PENGADUAN_LOG_FORMAT must be text or json, not {log_format!r}")
    allow = _addresses(env, "PENGADUAN_METRICS_ALLOW", "127.0.0.1,::1")
    token = env.get("PENGADUAN_METRICS_TOKEN", "").strip() or None
    if token is not None and len(token) < 16:
        raise ValueError("PENGADUAN_METRICS_TOKEN must be at least 16 characters long")
    return {
        "PENGADUAN_LOG_FORMAT": log_format,
        # Addresses and networks (comma-separated) that may read /metrics without the token.
        "PENGADUAN_METRICS_ALLOW": allow,
        "PENGADUAN_METRICS_TOKEN": token,
        # /readyz fails when the worker has run no job for this long (0: not checked).
        "PENGADUAN_READY_WORKER_MINUTES": _whole(env, "PENGADUAN_READY_WORKER_MINUTES", 5, least=0),
    }


def load_config(instance_path: str, env=os.environ) -> dict:
    """Build the Flask config mapping; every value can be overridden by the environment."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'pengaduan.sqlite3'}"
    # Made by this start: it keyed nothing yet, so `backup restore` may replace it freely.
    new_secret_key = not env.get("SECRET_KEY") and not (instance / "secret_key").exists()
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": env.get("SECRET_KEY")
        or _instance_secret(instance, "secret_key", lambda: secrets.token_hex(32)),
        "PENGADUAN_SECRET_KEY_NEW": new_secret_key,
        "PENGADUAN_WORKFLOW": env.get(
            "PENGADUAN_WORKFLOW", str(PROJECT_ROOT / "workflows" / "perpres76.yaml")
        ),
        # The SKM questionnaire's wording (the element codes U1..U9 are fixed).
        "PENGADUAN_SKM_QUESTIONNAIRE": env.get(
            "PENGADUAN_SKM_QUESTIONNAIRE", str(PROJECT_ROOT / "workflows" / "skm.yaml")
        ),
        # The items of the assessment the readiness page checks, and the evidence for each.
        "PENGADUAN_ASSESSMENT_RULES": env.get(
            "PENGADUAN_ASSESSMENT_RULES", str(PROJECT_ROOT / "workflows" / "assessment" / "ombudsman-2025.yaml")
        ),
        # How often the worker refreshes the figures of /statistik (the page says as of when).
        "PENGADUAN_STATISTICS_MINUTES": _whole(env, "PENGADUAN_STATISTICS_MINUTES", 5),
        "PENGADUAN_TIMEZONE": env.get("PENGADUAN_TIMEZONE", "Asia/Jakarta"),
        "PENGADUAN_UPLOAD_DIR": env.get("PENGADUAN_UPLOAD_DIR", str(instance / "uploads")),
        # Where attachments' bytes live: "local" (the folder above) or "database" (reached by
        # every web node); `flask --app run storage move` carries files from one to the other.
        "PENGADUAN_STORAGE": _storage(env),
        "PENGADUAN_MAX_UPLOAD_MB": _whole(env, "PENGADUAN_MAX_UPLOAD_MB", 10),
        "PENGADUAN_MAX_ATTACHMENTS": _whole(env, "PENGADUAN_MAX_ATTACHMENTS", 5, least=0),
        # Pixels one request may decode, over all its photos and their frames (a 150 KB PNG
        # can decode to 160 MB); five 20-megapixel photos fit.
        "PENGADUAN_MAX_UPLOAD_MEGAPIXELS": _whole(env, "PENGADUAN_MAX_UPLOAD_MEGAPIXELS", 100),
        # Any body but a multipart form (JSON, a plain form) is read whole into memory: kept small.
        "PENGADUAN_MAX_BODY_KB": _whole(env, "PENGADUAN_MAX_BODY_KB", 1024),
        "PENGADUAN_SCHEDULER": env.get("PENGADUAN_SCHEDULER", "off"),
        # A standby scheduler tries the leader lock this often; the leader checks it as often
        # (on SQLite its lease lasts six times this, at least 30 s). Tests use a fraction of a second.
        "PENGADUAN_LEADER_RETRY_SECONDS": _seconds(env, "PENGADUAN_LEADER_RETRY_SECONDS", 5),
        # A PEM string, or a path to a PEM file; generated in the instance folder when unset.
        "PENGADUAN_SIGNING_KEY": env.get("PENGADUAN_SIGNING_KEY")
        or str(instance / "signing_key.pem"),
        # Sign the chain head automatically each time it crosses a multiple of this many events.
        "PENGADUAN_CHECKPOINT_EVERY": _whole(env, "PENGADUAN_CHECKPOINT_EVERY", 100),
        # The worker signs the head this often even when nothing happened; `audit verify`
        # reports a newest checkpoint older than twice this (removed checkpoints, or no worker).
        "PENGADUAN_CHECKPOINT_MINUTES": _whole(env, "PENGADUAN_CHECKPOINT_MINUTES", 15),
        # Staff email is held outside these hours (local time of the recipient's unit) and on
        # days off, and goes out at the start of the next working day.
        "PENGADUAN_OFFICE_HOURS": env.get("PENGADUAN_OFFICE_HOURS", "08:00-16:00"),
        # The address of the site as users reach it: every link in an email and every
        # absolute link is built from it, never from the request's Host header.
        "PENGADUAN_BASE_URL": base_url(env),
        # The office named at the top of the periodic report and in its signature block.
        "PENGADUAN_OFFICE_NAME": env.get("PENGADUAN_OFFICE_NAME", "").strip() or "Unit Pengelola Pengaduan",
        # Receipt emails one address may be sent in 24 hours (anyone can type any address).
        "PENGADUAN_RECEIPTS_PER_ADDRESS": _whole(env, "PENGADUAN_RECEIPTS_PER_ADDRESS", 3, least=0),
        # Roles whose accounts must use two-step verification ("admin,auditor"); none by
        # default, and the administration warns while admins and auditors are not covered.
        "PENGADUAN_REQUIRE_2FA_ROLES": env.get("PENGADUAN_REQUIRE_2FA_ROLES", ""),
        # The SP4N-LAPOR! bridge: "manual" (staff post answers by hand and confirm them) or
        # an adapter, "package.module:Class" (integrations/lapor.py).
        "PENGADUAN_LAPOR_ADAPTER": env.get("PENGADUAN_LAPOR_ADAPTER", "").strip() or "manual",
        **mailbox(env),
        **monitoring(env),
        "MAIL_SERVER": env.get("MAIL_SERVER"),
        "MAIL_PORT": _whole(env, "MAIL_PORT", 25),
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "pengaduan@localhost"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Redis unreachable (RATELIMIT_STORAGE_URI=redis://...): each process keeps counting in
        # its own memory, with the same limits, until Redis answers again (checked now and
        # then), rather than refusing every request; an unreachable Redis costs a request at
        # most the second of these timeouts. README: "Several web nodes".
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted; rate
        # limits key on the client address, so behind a proxy this must be set.
        "PENGADUAN_PROXY_COUNT": _whole(env, "PENGADUAN_PROXY_COUNT", 0, least=0),
        # The direct peers (addresses, CIDR) those proxies are: only their X-Forwarded-* headers
        # are read; any other peer is taken at its own address (http/proxies.py).
        "PENGADUAN_TRUSTED_PROXIES": _addresses(env, "PENGADUAN_TRUSTED_PROXIES", "127.0.0.1/8,::1"),
        "BABEL_DEFAULT_LOCALE": "id",
        "BABEL_DEFAULT_TIMEZONE": env.get("PENGADUAN_TIMEZONE", "Asia/Jakarta"),
        "LANGUAGES": ("id", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        # Behind the TLS proxy of a production install cookies travel over HTTPS only.
        "SESSION_COOKIE_SECURE": env.get("PENGADUAN_SECURE_COOKIES",
                                         "1" if _whole(env, "PENGADUAN_PROXY_COUNT", 0, least=0) else "0") == "1",
        "SESSION_COOKIE_SAMESITE": "Lax",
        # hide_parameters: a database error (logged with its traceback) shows none of its
        # statement's parameters, so a complainant's name, address or words never reach the log.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    }
