#!/usr/bin/env python3
"""Verify a pengaduan evidence pack offline: only Python 3.9+ and the pack are needed.

    python verify_pack.py PACK.zip [--key PUBLIC_KEY_HEX]

Checks, and names exactly what is wrong when something is:
1. the manifest's Ed25519 signature (with the key in the manifest, which should equal the
   deployment's published key: give it with --key to insist);
2. the SHA-256 of every file the manifest lists, and that no file is missing or added;
3. the audit chain slice, event by event: sequence numbers without gap or reordering,
   each event's `prev_hash` equal to the previous event's `hash`, each full event's `hash`
   equal to SHA-256(prev_hash + body) with the body's own `seq` matching, the first and last
   hashes equal to the manifest's; redacted events (other units') are checked for linkage;
4. the signed checkpoints in the pack: signatures valid, and each hash equal to the chain's
   hash at that sequence number when it lies in the slice.

Exit status 0 with "OK ..." when everything holds; 1 with one "FAIL ..." line per problem.
This file is self-contained on purpose (a pure-Python Ed25519 verifier, RFC 8032 section 6)
so that an auditor can read it, copy it and run it without installing anything.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from collections import Counter

FORMAT = "pengaduan-evidence/1"
MANIFEST = "manifest.json"
EVENTS = "audit/events.jsonl"
CHECKPOINTS = "audit/checkpoints.jsonl"

# --- Ed25519 signature verification (RFC 8032, section 6 reference algorithm) ----------
_P = 2 ** 255 - 19
_Q = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % _P
    y = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _decompress(raw: bytes):
    if len(raw) != 32:
        return None
    y = int.from_bytes(raw, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _Q
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


# --- the pack ---------------------------------------------------------------------------

def canonical(obj) -> str:
    """Canonical JSON as the server hashes and signs it."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checkpoint_message(seq: int, digest: str, signed_at: str) -> bytes:
    return canonical({"seq": seq, "hash": digest, "signed_at": signed_at}).encode()


class Report:
    def __init__(self):
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)


def _sha256_of(pack: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with pack.open(name) as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_signature(manifest: dict, expected_key: str | None, report: Report) -> str | None:
    signature = manifest.get("signature")
    if not isinstance(signature, dict) or not all(isinstance(signature.get(k), str)
                                                   for k in ("algorithm", "public_key", "value")):
        report.fail(f"{MANIFEST}: no valid signature (algorithm, public_key, value)")
        return None
    key = signature["public_key"]
    if expected_key and key.lower() != expected_key.lower():
        report.fail(f"{MANIFEST}: signed with key {key or '(none)'}, not the expected key {expected_key}")
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        ok = signature.get("algorithm") == "Ed25519" and ed25519_verify(
            bytes.fromhex(key), canonical(unsigned).encode("utf-8"), bytes.fromhex(signature.get("value", "")))
    except ValueError:
        ok = False
    if not ok:
        report.fail(f"{MANIFEST}: the Ed25519 signature does not match the manifest "
                    "(the manifest or its signature was changed)")
        return None
    return key


def _check_files(pack: zipfile.ZipFile, manifest: dict, report: Report) -> None:
    listed = manifest.get("files") or {}
    names = Counter(info.filename for info in pack.infolist() if not info.is_dir())
    for name in sorted(n for n, times in names.items() if times > 1):
        # ZIP readers differ in which of two same-named entries they show: refuse both.
        report.fail(f"{name}: appears {names[name]} times in the pack (a second copy was slipped in)")
    present = set(names)
    for name in sorted(set(listed) - present):
        report.fail(f"{name}: listed in the manifest but missing from the pack")
    for name in sorted(present - set(listed) - {MANIFEST}):
        report.fail(f"{name}: in the pack but not listed in the manifest")
    for name in sorted(set(listed) & present):
        actual = _sha256_of(pack, name)
        if actual != listed[name]:
            report.fail(f"{name}: SHA-256 is {actual}, the manifest says {listed[name]} (the file was changed)")


def _check_chain(pack: zipfile.ZipFile, manifest: dict, report: Report, wanted: set[int]) -> dict[int, str]:
    """Walk the chain slice in one pass; returns {seq: hash} for the `wanted` sequence
    numbers (those of signed checkpoints), so memory stays flat however long the slice."""
    chain = manifest.get("chain") or {}
    expected_seq = chain.get("first_seq")
    prev = chain.get("first_prev_hash")
    hashes: dict[int, str] = {}
    count = full = 0
    if EVENTS not in pack.namelist():
        report.fail(f"{EVENTS}: missing")
        return hashes
    with pack.open(EVENTS) as fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{EVENTS} line {number}"
            try:
                line = json.loads(raw)
                seq, line_prev, line_hash = line["seq"], line["prev_hash"], line["hash"]
            except (ValueError, KeyError, TypeError):
                report.fail(f"{where}: not a valid event line")
                return hashes
            if seq != expected_seq:
                ahead = isinstance(seq, int) and isinstance(expected_seq, int) and seq > expected_seq
                what = "an event is missing or the lines are out of order" if ahead else \
                    "the lines are out of order or repeated"
                report.fail(f"{where}: seq {seq} where seq {expected_seq} was expected ({what})")
                return hashes
            if line_prev != prev:
                report.fail(f"{where}: seq {seq} prev_hash {line_prev} does not equal the previous "
                            f"event's hash {prev} (the chain is broken here)")
                return hashes
            if "body" in line:
                full += 1
                body = line["body"]
                if not isinstance(body, str) or not isinstance(line_prev, str):
                    report.fail(f"{where}: seq {seq} has a malformed body or prev_hash")
                    return hashes
                computed = hashlib.sha256((line_prev + body).encode("utf-8")).hexdigest()
                if computed != line_hash:
                    report.fail(f"{where}: seq {seq} hash does not match its body (the event was altered)")
                    return hashes
                try:
                    inner = json.loads(body).get("seq")
                except ValueError:
                    inner = None
                if inner != seq:
                    report.fail(f"{where}: the body says seq {inner}, the line says seq {seq}")
                    return hashes
            elif not line.get("redacted"):
                report.fail(f"{where}: seq {seq} has neither a body nor the redacted mark")
                return hashes
            if seq in wanted:
                hashes[seq] = line_hash
            prev, count = line_hash, count + 1
            expected_seq = seq + 1
    if count != chain.get("events"):
        report.fail(f"{EVENTS}: {count} events, the manifest says {chain.get('events')} (events were removed or added at the end)")
    elif count and prev != chain.get("last_hash"):
        report.fail(f"{EVENTS}: the last hash {prev} is not the manifest's last_hash {chain.get('last_hash')}")
    elif count and expected_seq - 1 != chain.get("last_seq"):
        report.fail(f"{EVENTS}: ends at seq {expected_seq - 1}, the manifest says {chain.get('last_seq')}")
    report.full_events = full
    return hashes


def _read_checkpoints(pack: zipfile.ZipFile, report: Report) -> list[tuple[str, dict]]:
    if CHECKPOINTS not in pack.namelist():
        return []
    checkpoints = []
    with pack.open(CHECKPOINTS) as fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{CHECKPOINTS} line {number}"
            try:
                cp = json.loads(raw)
                cp["seq"], cp["hash"], cp["signed_at"], cp["public_key"], cp["signature"]
            except (ValueError, KeyError, TypeError):
                report.fail(f"{where}: not a valid checkpoint line")
                continue
            checkpoints.append((where, cp))
    return checkpoints


def _check_checkpoints(checkpoints, key: str | None, hashes: dict[int, str], report: Report) -> int:
    checked = 0
    for where, cp in checkpoints:
        try:
            message = checkpoint_message(cp["seq"], cp["hash"], cp["signed_at"])
            ok = ed25519_verify(bytes.fromhex(cp["public_key"]), message, bytes.fromhex(cp["signature"]))
        except (ValueError, TypeError):
            report.fail(f"{where}: not a valid checkpoint line")
            continue
        if not ok:
            report.fail(f"{where}: the signature of the checkpoint at seq {cp['seq']} is invalid")
        elif key and cp["public_key"] != key:
            report.fail(f"{where}: checkpoint signed with another key than the manifest's")
        elif cp["seq"] in hashes and hashes[cp["seq"]] != cp["hash"]:
            report.fail(f"{where}: the signed head at seq {cp['seq']} differs from the chain in the pack")
        checked += 1
    return checked


def verify(path: str, expected_key: str | None = None) -> tuple[list[str], dict]:
    """([problems], summary) of a pack; no problems means it verifies."""
    report = Report()
    report.full_events = 0
    try:
        pack = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path}: not a readable ZIP file ({exc})"], {}
    with pack:
        try:
            manifest = json.loads(pack.read(MANIFEST))
        except KeyError:
            return [f"{MANIFEST}: missing"], {}
        except ValueError:
            return [f"{MANIFEST}: not valid JSON"], {}
        if manifest.get("format") != FORMAT:
            return [f"{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT!r}"], {}
        key = _check_signature(manifest, expected_key, report)
        _check_files(pack, manifest, report)
        signed = _read_checkpoints(pack, report)
        hashes = _check_chain(pack, manifest, report, {cp["seq"] for _, cp in signed})
        checkpoints = _check_checkpoints(signed, key, hashes, report)
    chain = manifest.get("chain") or {}
    summary = {"period": manifest.get("period"), "unit": manifest.get("unit"),
               "files": len(manifest.get("files") or {}), "events": chain.get("events"),
               "full_events": report.full_events, "first_seq": chain.get("first_seq"),
               "last_seq": chain.get("last_seq"), "last_hash": chain.get("last_hash"),
               "checkpoints": checkpoints, "key": (manifest.get("signature") or {}).get("public_key")}
    return report.problems, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Verify a pengaduan evidence pack offline.")
    parser.add_argument("pack")
    parser.add_argument("--key", help="the deployment's Ed25519 public key (hex) to insist on")
    args = parser.parse_args(argv)
    problems, summary = verify(args.pack, args.key)
    if problems:
        for problem in problems:
            print(f"FAIL {problem}")
        return 1
    period = summary["period"] or {}
    print(f"OK {args.pack}: period {period.get('from')} to {period.get('to')}, "
          f"unit {summary['unit'] or 'all'}, {summary['files']} files, {summary['events']} events "
          f"(seq {summary['first_seq']}-{summary['last_seq']}, {summary['full_events']} in full), "
          f"{summary['checkpoints']} signed checkpoints, head {summary['last_hash']}, key {summary['key']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
