"""The instance secrets in a backup: the secret key (sessions, two-step secrets, PIN recovery
links, search digests) and the signing key (audit checkpoints, evidence packs). Without them a
restored database cannot be used as before, so a backup carries them (files 0600) unless they
come from the environment, which the manifest then says, without their values."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import current_app

from ..audit import public_key_hex
from .manifest import SECRET_KEY_FILE, SIGNING_KEY_FILE, Refused

SECRET_KEY, SIGNING_KEY = SECRET_KEY_FILE, SIGNING_KEY_FILE
ENVIRONMENT = "environment"


def write_secret(path: Path, data: bytes) -> None:
    """Write a secret readable by its owner only, atomically (a temporary name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)


def _secret_key_file() -> Path | None:
    """The instance folder's secret key file when the app's SECRET_KEY is read from it."""
    path = Path(current_app.instance_path) / "secret_key"
    if path.is_file() and path.read_text().strip() == current_app.config["SECRET_KEY"]:
        return path
    return None


def _signing_key_file() -> Path | None:
    """The signing key's file, unless PENGADUAN_SIGNING_KEY holds the key itself."""
    setting = current_app.config["PENGADUAN_SIGNING_KEY"]
    return None if setting.lstrip().startswith("-----BEGIN") else Path(setting)


def _public_key(pem: bytes) -> str:
    return public_key_hex(serialization.load_pem_private_key(pem, password=None))


def fingerprint(secret_key: str) -> str:
    """What tells whether a secret key is the backup's without revealing it: a SHA-256 of the
    key under a label of its own (never used to key anything)."""
    return hashlib.sha256(b"pengaduan-backup-check\0" + secret_key.strip().encode()).hexdigest()


def back_up(directory: Path) -> dict:
    """Copy the secrets into the backup; what the manifest says of each (a key from the
    environment by its fingerprint or public key only)."""
    said: dict = {}
    source = _secret_key_file()
    check = fingerprint(current_app.config["SECRET_KEY"])
    if source is None:
        said["secret_key"] = {"from": ENVIRONMENT, "fingerprint": check}
    else:
        write_secret(directory / SECRET_KEY, source.read_bytes())
        said["secret_key"] = {"file": SECRET_KEY, "fingerprint": check}
    path = _signing_key_file()
    if path is None:
        said["signing_key"] = {"from": ENVIRONMENT, "public_key": public_key_hex()}
    elif path.is_file():
        pem = path.read_bytes()
        write_secret(directory / SIGNING_KEY, pem)
        said["signing_key"] = {"file": SIGNING_KEY, "public_key": _public_key(pem)}
    else:  # no checkpoint was ever signed: the key is made when the first one is
        said["signing_key"] = {"from": "not made yet"}
    if (directory / "secrets").is_dir():
        os.chmod(directory / "secrets", 0o700)
    return said


@dataclass
class Placement:
    name: str  # what it is, for the summary
    source: Path  # in the backup
    target: Path  # where the instance reads it
    replaces: bool  # a different file is there: kept aside as <name>.replaced-<time>


def plan(directory: Path, said: dict, replace: bool) -> list[Placement]:
    """Where each secret of the backup goes, refusing (before anything is restored) to
    overwrite a different secret already in use unless `replace`, and refusing a key from the
    environment that is not the backup's."""
    reasons, placements = [], []
    secret = said.get("secret_key", {})
    if "file" in secret:
        value = (directory / secret["file"]).read_bytes()
        target = Path(current_app.instance_path) / "secret_key"
        if _secret_key_file() is None:
            if current_app.config["SECRET_KEY"] != value.decode().strip():
                reasons.append("SECRET_KEY is set in the environment to another key than the "
                               f"backup's ({secret['file']}): set it to the backup's key, or unset it")
        elif target.read_bytes().strip() != value.strip():
            # A key this very command's start made has keyed nothing yet: replace it freely.
            fresh = current_app.config.get("PENGADUAN_SECRET_KEY_NEW", False)
            if fresh or replace:
                placements.append(Placement("secret key", directory / secret["file"], target, not fresh))
            else:
                reasons.append(f"{target} holds another secret key than the backup's: rerun with "
                               "--replace-secrets to replace it (the current one is kept beside it)")
    elif "fingerprint" in secret:  # the key came from the environment: the backup lacks it
        if fingerprint(current_app.config["SECRET_KEY"]) != secret["fingerprint"]:
            reasons.append("the backup holds no secret key (SECRET_KEY came from the environment) "
                           "and this instance's SECRET_KEY is another key: set SECRET_KEY to the "
                           "backup's key (fingerprint " + secret["fingerprint"][:16] + "...), or "
                           "every PIN, two-step secret and recovery link of the backup would stop "
                           "working")
    signing = said.get("signing_key", {})
    path = _signing_key_file()
    if "file" in signing:
        pem = (directory / signing["file"]).read_bytes()
        if path is None:
            if public_key_hex() != signing["public_key"]:
                reasons.append("PENGADUAN_SIGNING_KEY is set in the environment to another key "
                               f"than the backup's ({signing['file']}, public key "
                               f"{signing['public_key']}): the checkpoints could not be verified")
        elif not path.exists():
            placements.append(Placement("signing key", directory / signing["file"], path, False))
        elif path.read_bytes() != pem:
            if replace:
                placements.append(Placement("signing key", directory / signing["file"], path, True))
            else:
                reasons.append(f"{path} holds another signing key than the backup's (public key "
                               f"{signing['public_key']}): rerun with --replace-secrets to replace "
                               "it (the current one is kept beside it)")
    elif "public_key" in signing:  # the key came from the environment
        current = public_key_hex() if path is None or path.exists() else None
        if current != signing["public_key"]:
            reasons.append("the backup holds no signing key (PENGADUAN_SIGNING_KEY came from the "
                           f"environment): set PENGADUAN_SIGNING_KEY to the key whose public key is "
                           f"{signing['public_key']}")
    if reasons:
        raise Refused(reasons)
    return placements


def place(placements: list[Placement]) -> list[str]:
    """Put the secrets where the instance reads them; the names of those placed."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for item in placements:
        if item.replaces:
            os.replace(item.target, item.target.with_name(f"{item.target.name}.replaced-{stamp}"))
        write_secret(item.target, item.source.read_bytes())
        if item.name == "secret key":
            current_app.config["SECRET_KEY"] = item.source.read_text().strip()
    current_app.extensions.pop("pengaduan.signing_key", None)  # read the restored key next
    return [item.name for item in placements]
