"""A backup's manifest: what it holds and the SHA-256 and size of every file in it, written
last, so that a directory without one is a backup still being written (or an interrupted one)
and is never taken for a complete backup."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..storage.local import sync_folder

MANIFEST = "manifest.json"
FORMAT = "pengaduan-backup"
VERSION = 1
CHUNK = 1024 * 1024


class Refused(Exception):
    """A backup that must not be restored, or a target it must not be restored into: each
    reason names the file or the setting concerned."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


class Writer:
    """The manifest, written as the backup is: each file's entry as soon as the file is
    complete (made durable first), so the list of files is never held in memory; `finish`
    adds the rest and renames it into place, last: only then is the directory a backup."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.partial = directory / (MANIFEST + ".partial")
        self.fh = open(self.partial, "x", encoding="utf-8")
        self.fh.write('{\n  "files": {')
        self.count = 0
        self.size = 0

    def add(self, name: str, sha256: str, size: int) -> None:
        """List a file of the backup, once it is durable."""
        with open(self.directory / name, "rb") as fh:
            os.fsync(fh.fileno())
        self.fh.write(("\n    " if not self.count else ",\n    ")
                      + f"{json.dumps(name)}: {json.dumps({'sha256': sha256, 'size': size}, sort_keys=True)}")
        self.count += 1
        self.size += size

    def add_file(self, name: str) -> None:
        self.add(name, *digest(self.directory / name))

    def finish(self, manifest: dict) -> None:
        """Write the rest of the manifest and rename it into place, atomically."""
        for folder in (self.directory, self.directory / "files", self.directory / "secrets"):
            if folder.is_dir():
                sync_folder(folder)
        rest = json.dumps(manifest, indent=2, sort_keys=True)
        self.fh.write("\n  },\n" + rest[2:] + "\n")  # the rest's members after "files"
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.partial, self.directory / MANIFEST)
        sync_folder(self.directory)

    def close(self) -> None:
        self.fh.close()


def read(directory: Path) -> dict:
    """The manifest of a complete backup, or Refused saying why there is none to trust."""
    path = directory / MANIFEST
    if not path.is_file():
        raise Refused([f"{directory}: no {MANIFEST}: not a complete backup (one still being "
                       "written, or an interrupted one)"])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused([f"{MANIFEST}: not readable JSON ({exc})"]) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Refused([f"{MANIFEST}: not a pengaduan backup manifest"])
    if manifest.get("version") != VERSION:
        raise Refused([f"{MANIFEST}: backup format version {manifest.get('version')!r}; this "
                       f"release reads version {VERSION}"])
    if not isinstance(manifest.get("files"), dict):
        raise Refused([f"{MANIFEST}: lists no files"])
    reasons = _shape(manifest)
    if reasons:
        raise Refused(reasons)
    return manifest


# What a backup holds besides files/<stored name>: the database by its kind, the secrets.
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
SECRET_KEY_FILE = "secrets/secret_key"
SIGNING_KEY_FILE = "secrets/signing_key.pem"
SECRET_FILES = (SECRET_KEY_FILE, SIGNING_KEY_FILE)


def _shape(manifest: dict) -> list[str]:
    """What a manifest must say, and only names a backup may hold (an attachment's random
    name directly under files/: nothing is written outside the places restore puts it)."""
    reasons = []
    try:
        database, head = manifest["database"], manifest["audit_head"]
        required = (database["kind"], database["file"], database["rows"], head["seq"], head["hash"],
                    manifest["started_at"], manifest["storage"], manifest["secrets"])
    except (KeyError, TypeError) as exc:
        return [f"{MANIFEST}: incomplete, it lacks {exc}"]
    if not all(value is not None for value in required):
        reasons.append(f"{MANIFEST}: incomplete")
    if database["file"] != DATABASE_FILES.get(database["kind"]) or database["file"] not in manifest["files"]:
        reasons.append(f"{MANIFEST}: the database file {database['file']!r} is not one a backup holds")
    for secret in manifest["secrets"].values():
        if "file" in secret and secret["file"] not in SECRET_FILES:
            reasons.append(f"{MANIFEST}: the secret file {secret['file']!r} is not one a backup holds")
    for name in manifest["files"]:
        parts = Path(name).parts
        if not (name in DATABASE_FILES.values() or name in SECRET_FILES
                or (len(parts) == 2 and parts[0] == "files" and parts[1] not in (".", ".."))):
            reasons.append(f"{name}: not a file a backup holds (a path outside its places)")
    return reasons


def problems(directory: Path, manifest: dict) -> list[str]:
    """Every file of the backup that is missing, altered or not listed in the manifest."""
    found = []
    listed = manifest["files"]
    for name, expected in sorted(listed.items()):
        path = directory / name
        if not path.is_file():
            found.append(f"{name}: missing (the manifest lists it)")
        else:
            sha, size = digest(path)
            if size != expected.get("size"):
                found.append(f"{name}: {size} bytes, the manifest says {expected.get('size')}")
            elif sha != expected.get("sha256"):
                found.append(f"{name}: its SHA-256 differs from the manifest's: altered")
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_file() and name != MANIFEST and name not in listed:
            found.append(f"{name}: a file the manifest does not list")
    return found
