#!/usr/bin/env python3
"""Verify a pengaduan evidence pack offline: only Python 3.9+ and the pack are needed.

    python verify_pack.py PACK.zip --key PUBLIC_KEY_HEX

The key is the deployment's published Ed25519 public key; instead of --key it may be pinned
in the environment variable PENGADUAN_PACK_KEY. Without either, anyone could have signed the
pack with a key of their own: every check still runs, but the verdict is UNVERIFIED, never OK.

Checks, and names exactly what is wrong when something is:
1. manifest.sig, the Ed25519 signature of the exact bytes of manifest.json, made with the
   given key (the manifest names its signer); a manifest with a key twice in one JSON object
   is refused, since JSON readers disagree on which value counts;
2. the SHA-256 of every file the manifest lists, and that no file is missing or added;
3. the audit chain slice, event by event: sequence numbers without gap or reordering,
   each event's `prev_hash` equal to the previous event's `hash`, each full event's `hash`
   equal to SHA-256(prev_hash + body) with the body's own `seq` matching, the first and last
   hashes equal to the manifest's; redacted events (other units') are checked for linkage;
4. the signed checkpoints in the pack: signatures valid, and each hash equal to the chain's
   hash at that sequence number when it lies in the slice;
5. the SKM results (skm/results.csv) recomputed: each element's NRR and the IKM and its
   grade from the element totals (exact fractions, rounded once, half up), and the totals
   from the questionnaires themselves (skm/questionnaires.csv);
6. readiness.csv: statuses are green, amber or red, each item's status is the worst of its
   evidence, and a one-unit pack speaks of its unit alone.
7. standards/*.json: each names the unit of its file (a one-unit pack's alone), holds the 14
   components of the service standard, a published one has the maklumat and the six
   components that must be published written, and its poster page is in the pack.
8. evaluation/*.csv: each complaint evaluation report's units make its totals, and each
   improvement action done says when and with what evidence.

Exit status 0 with "OK ..." when everything holds and the key was given; 3 with
"UNVERIFIED ..." when everything holds but no key was given; 1 with one "FAIL ..." line per
problem (a damaged ZIP too: the line names the damaged file); 2 for a usage error.
This file is self-contained on purpose (a pure-Python Ed25519 verifier, RFC 8032 section 6)
so that an auditor can read it, copy it and run it without installing anything.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import struct
import sys
import zipfile
import zlib
from collections import Counter
from contextlib import contextmanager
from fractions import Fraction

FORMAT = "pengaduan-evidence/2"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"  # hex Ed25519 signature of manifest.json's bytes
KEY_ENV = "PENGADUAN_PACK_KEY"
UNVERIFIED = 3  # exit status: consistent, but signed by a key nobody vouched for
# What reading a damaged ZIP entry raises (bad CRC, broken deflate data, a truncated entry,
# an unsupported method or a header pointing elsewhere).
DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError,
          struct.error, ValueError)
EVENTS = "audit/events.jsonl"
CHECKPOINTS = "audit/checkpoints.jsonl"
SKM_RESULTS = "skm/results.csv"
SKM_QUESTIONNAIRES = "skm/questionnaires.csv"
READINESS = "readiness.csv"
STANDARDS = "standards/"
STANDARD_COMPONENT_COUNT = 14  # PermenPANRB 15/2014
STANDARD_MUST_PUBLISH = 6
COMPENSATION = "compensation/compensations.csv"
COMPENSATION_COLUMNS = ["id", "unit", "complaint", "kind", "given_on", "value_rupiah", "description",
                        "approved_by", "recorded_by", "files"]
OMBUDSMAN_PRODUCTS = "ombudsman/products.csv"
OMBUDSMAN_ITEMS = "ombudsman/items.csv"
OMBUDSMAN_PRODUCT_COLUMNS = ["id", "kind", "number", "issued_on", "received_on", "title", "units", "complaints",
                             "reported_back_on", "reported_back_ref", "files"]
OMBUDSMAN_ITEM_COLUMNS = ["id", "product", "unit", "action", "owner", "due_on", "status", "done_on", "on_time",
                          "evidence", "escalations", "files"]
EVALUATION = "evaluation/"  # evaluation/<UNIT>-<QUARTER>.csv and evaluation/actions.csv
EVALUATION_ACTIONS = "evaluation/actions.csv"
EVALUATION_COLUMNS = ["section", "group", "label", "founded", "closed", "previous_founded", "systemic",
                      "recurring", "examples"]
EVALUATION_ACTION_COLUMNS = ["id", "unit", "period", "group", "description", "owner", "due_on", "status",
                             "completed_on", "evidence"]
READINESS_STATUSES = ("green", "amber", "red")  # best first
SKM_ELEMENTS = tuple(f"U{i}" for i in range(1, 10))
# PermenPANRB 14/2017: the lowest converted IKM of each grade, best first.
SKM_GRADES = ((Fraction("88.31"), "A"), (Fraction("76.61"), "B"), (Fraction("65.00"), "C"), (Fraction("25.00"), "D"))

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


def checkpoint_message(seq: int, digest: str, signed_at: str, counter=None, prev_checkpoint_hash=None) -> bytes:
    """What a checkpoint signs: with its counter and the previous checkpoint's hash when it
    is chained (lines with "counter"), only the head and the time for older ones."""
    if counter is None:
        return canonical({"seq": seq, "hash": digest, "signed_at": signed_at}).encode()
    return canonical({"counter": counter, "seq": seq, "hash": digest, "signed_at": signed_at,
                      "prev_checkpoint_hash": prev_checkpoint_hash}).encode()


class DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    found = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def strict_json(data):
    """json.loads refusing what JSON readers disagree on: a key twice in one object (one keeps
    the first value, another the last) and NaN or Infinity."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def is_key(text: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{64}", text or "") is not None


class Report:
    def __init__(self):
        self.problems: list[str] = []
        self.damaged: set[str] = set()
        self.full_events = 0

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def damage(self, name: str, exc: BaseException) -> None:
        """One FAIL line per damaged entry, however often it is read."""
        if name not in self.damaged:
            self.damaged.add(name)
            self.fail(f"{name}: cannot be read, the pack is damaged ({exc or type(exc).__name__})")


@contextmanager
def _member(pack: zipfile.ZipFile, name: str, report: Report):
    """An entry opened for reading; damage found while it is read ends the reading and is
    reported (the caller checks report.damaged)."""
    try:
        fh = pack.open(name)
    except DAMAGE as exc:  # a header that does not match its directory record
        report.damage(name, exc)
        fh = io.BytesIO()
    try:
        with fh:
            yield fh
    except DAMAGE as exc:
        report.damage(name, exc)


def _sha256_of(pack: zipfile.ZipFile, name: str, report: Report) -> str | None:
    digest = hashlib.sha256()
    with _member(pack, name, report) as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):  # to the end: the CRC is checked there
            digest.update(chunk)
    return None if name in report.damaged else digest.hexdigest()


def _read(pack: zipfile.ZipFile, name: str, report: Report) -> bytes | None:
    """A small entry whole; None (reported) when it is missing or damaged."""
    try:
        return pack.read(name)
    except KeyError:
        report.fail(f"{name}: missing" + (" (the manifest is not signed)" if name == SIGNATURE else ""))
    except DAMAGE as exc:
        report.damage(name, exc)
    return None


def _check_signature(manifest: dict, raw: bytes, signature: bytes | None, expected_key: str | None,
                     report: Report) -> str | None:
    """The signature in manifest.sig over the bytes of manifest.json exactly as stored."""
    signer = manifest.get("signer")
    if not isinstance(signer, dict) or signer.get("algorithm") != "Ed25519" \
            or not isinstance(signer.get("public_key"), str):
        report.fail(f"{MANIFEST}: no valid signer (algorithm Ed25519, public_key)")
        return None
    key = signer["public_key"]
    if expected_key and key.lower() != expected_key.lower():
        report.fail(f"{MANIFEST}: signed with key {key or '(none)'}, not the expected key {expected_key}")
    if signature is None:
        return None
    try:
        ok = ed25519_verify(bytes.fromhex(key), raw, bytes.fromhex(signature.decode("ascii").strip()))
    except ValueError:
        ok = False
    if not ok:
        report.fail(f"{MANIFEST}: the Ed25519 signature does not match the manifest "
                    "(the manifest or its signature was changed)")
        return None
    return key


def _check_files(pack: zipfile.ZipFile, manifest: dict, report: Report) -> None:
    listed = manifest.get("files") or {}
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        report.fail(f"{MANIFEST}: files is not a map of file names to SHA-256 digests")
        return
    names = Counter(info.filename for info in pack.infolist() if not info.is_dir())
    for name in sorted(n for n, times in names.items() if times > 1):
        # ZIP readers differ in which of two same-named entries they show: refuse both.
        report.fail(f"{name}: appears {names[name]} times in the pack (a second copy was slipped in)")
    present = set(names)
    for name in sorted(set(listed) - present):
        report.fail(f"{name}: listed in the manifest but missing from the pack")
    for name in sorted(present - set(listed) - {MANIFEST, SIGNATURE}):
        report.fail(f"{name}: in the pack but not listed in the manifest")
    for name in sorted(set(listed) & present):
        actual = _sha256_of(pack, name, report)
        if actual is not None and actual != listed[name]:
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
    if EVENTS in report.damaged:  # already named: its garbled lines would only add noise
        return hashes
    with _member(pack, EVENTS, report) as fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{EVENTS} line {number}"
            try:
                line = strict_json(raw)
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
                    inner = strict_json(body).get("seq")
                except (ValueError, AttributeError):
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
    if EVENTS in report.damaged:
        return hashes
    if count != chain.get("events"):
        report.fail(f"{EVENTS}: {count} events, the manifest says {chain.get('events')} (events were removed or added at the end)")
    elif count and prev != chain.get("last_hash"):
        report.fail(f"{EVENTS}: the last hash {prev} is not the manifest's last_hash {chain.get('last_hash')}")
    elif count and expected_seq - 1 != chain.get("last_seq"):
        report.fail(f"{EVENTS}: ends at seq {expected_seq - 1}, the manifest says {chain.get('last_seq')}")
    report.full_events = full
    return hashes


def _read_checkpoints(pack: zipfile.ZipFile, report: Report) -> list[tuple[str, dict]]:
    if CHECKPOINTS not in pack.namelist() or CHECKPOINTS in report.damaged:
        return []
    checkpoints = []
    with _member(pack, CHECKPOINTS, report) as fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{CHECKPOINTS} line {number}"
            try:
                cp = strict_json(raw)
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
            message = checkpoint_message(cp["seq"], cp["hash"], cp["signed_at"], cp.get("counter"),
                                         cp.get("prev_checkpoint_hash"))
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


def _half_up(value: Fraction) -> Fraction:
    """`value` rounded once, half up, to two decimals."""
    return Fraction(int((value * 100 + Fraction(1, 2)) // 1), 100)


def _number(text: str) -> Fraction | None:
    return Fraction(text) if text else None


def _csv_rows(pack: zipfile.ZipFile, name: str, report: Report):
    """(line number, header, cells) of a CSV entry; damage is reported like any other."""
    with _member(pack, name, report) as fh:
        rows = csv.reader(io.TextIOWrapper(fh, encoding="utf-8", newline=""))
        header = next(rows, [])
        for number, cells in enumerate(rows, start=2):
            yield number, header, cells


def _questionnaire_sums(pack: zipfile.ZipFile, report: Report) -> dict[tuple, list[int]]:
    """(unit, period, service or "" for all) -> [respondents, 9 element totals, 9 answered]."""
    sums: dict[tuple, list[int]] = {}
    columns = None
    for _number, header, row in _csv_rows(pack, SKM_QUESTIONNAIRES, report):
        if columns is None:
            columns = (header.index("unit"), header.index("period"), header.index("service_type"),
                       [header.index(code) for code in SKM_ELEMENTS])
        unit, period, service, scores = columns
        keys = [(row[unit], row[period], "")] + ([(row[unit], row[period], row[service])] if row[service] else [])
        for key in keys:
            tally = sums.get(key)
            if tally is None:
                tally = sums[key] = [0] * 19
            tally[0] += 1
            for i, column in enumerate(scores, start=1):
                if row[column]:
                    tally[i] += int(row[column])
                    tally[i + 9] += 1
    return sums


def _check_skm(pack: zipfile.ZipFile, report: Report) -> None:
    """Recompute the SKM results: from the element totals, each NRR, the IKM and the grade;
    and the totals from the questionnaires. Packs without the SKM files are left alone."""
    names = set(pack.namelist())
    if SKM_RESULTS not in names or SKM_QUESTIONNAIRES not in names:
        return
    try:
        sums = _questionnaire_sums(pack, report)
        for number, header, cells in _csv_rows(pack, SKM_RESULTS, report):
            row = dict(zip(header, cells))
            where = f"{SKM_RESULTS} line {number}"
            totals = [int(row[f"{code}_total"]) for code in SKM_ELEMENTS]
            answered = [int(row[f"{code}_answered"]) for code in SKM_ELEMENTS]
            counted = sums.get((row["unit"], row["period"], row["service_type"]), [0] * 19)
            if [int(row["respondents"])] + totals + answered != counted:
                report.fail(f"{where}: the respondents and element totals differ from what the questionnaires "
                            f"in {SKM_QUESTIONNAIRES} add up to ({row['unit']} {row['period']} "
                            f"{row['service_type'] or 'all services'})")
            nrr = {code: Fraction(t, a) for code, t, a in zip(SKM_ELEMENTS, totals, answered) if a}
            for code in SKM_ELEMENTS:
                expected = _half_up(nrr[code]) if code in nrr else None
                if _number(row[f"{code}_nrr"]) != expected:
                    report.fail(f"{where}: {code}_nrr is {row[f'{code}_nrr'] or 'empty'}, the element's total and "
                                f"answers give {'none' if expected is None else f'{float(expected):.2f}'}")
            ikm = _half_up(sum(nrr.values(), Fraction(0)) / len(nrr) * 25) if nrr else None
            mutu = "" if ikm is None else next((g for lowest, g in SKM_GRADES if ikm >= lowest), "D")
            if _number(row["ikm"]) != ikm or row["mutu"] != mutu:
                report.fail(f"{where}: the IKM is {row['ikm'] or 'empty'} {row['mutu']}, the element totals give "
                            f"{'none' if ikm is None else f'{float(ikm):.2f}'} {mutu}".rstrip())
    except (KeyError, IndexError, ValueError, ZeroDivisionError, csv.Error) as exc:
        report.fail(f"skm: the SKM files cannot be read ({type(exc).__name__}: {exc})")


def _check_readiness(pack: zipfile.ZipFile, manifest: dict, report: Report) -> None:
    """Each line's statuses are known words, each item's status is the worst of its pieces
    of evidence, and a one-unit pack has lines of its unit only. Packs without the file are
    left alone."""
    if READINESS not in pack.namelist():
        return
    items: dict[tuple[str, str], tuple[str, list[str], int]] = {}
    try:
        for number, header, cells in _csv_rows(pack, READINESS, report):
            row = dict(zip(header, cells))
            where = f"{READINESS} line {number}"
            for column in ("item_status", "status"):
                if row[column] not in READINESS_STATUSES:
                    report.fail(f"{where}: {column} {row[column]!r} is not one of {', '.join(READINESS_STATUSES)}")
            if manifest.get("unit") and row["unit"] != manifest["unit"]:
                report.fail(f"{where}: unit {row['unit']} in a pack of unit {manifest['unit']}")
            key = (row["unit"], row["item"])
            _status, found, first = items.get(key, (row["item_status"], [], number))
            if row["item_status"] != _status:
                report.fail(f"{where}: item {row['item']} of {row['unit']} has two statuses")
            items[key] = (_status, found + [row["status"]], first)
    except (KeyError, csv.Error) as exc:
        report.fail(f"{READINESS}: cannot be read ({type(exc).__name__}: {exc})")
        return
    for (unit, item), (status, found, first) in items.items():
        worst = max((s for s in found if s in READINESS_STATUSES), key=READINESS_STATUSES.index, default="green")
        if status in READINESS_STATUSES and status != worst:
            report.fail(f"{READINESS} line {first}: item {item} of {unit} is {status}, its evidence makes it {worst}")


def _check_compensation(pack: zipfile.ZipFile, manifest: dict, report: Report) -> None:
    """Each compensation's value is whole rupiah (or empty), its date a date within the
    pack's period, its unit the pack's (a one-unit pack), and each evidence file it names is
    in the pack with the SHA-256 it names. Packs without the file are left alone."""
    if COMPENSATION not in pack.namelist():
        return
    files = manifest.get("files") or {}
    period = manifest.get("period") or {}
    try:
        for number, header, cells in _csv_rows(pack, COMPENSATION, report):
            row = dict(zip(header, cells))
            where = f"{COMPENSATION} line {number}"
            if row["value_rupiah"] and not row["value_rupiah"].isdigit():
                report.fail(f"{where}: value {row['value_rupiah']!r} is not whole rupiah")
            if not (period.get("from", "") <= row["given_on"] <= period.get("to", "9999")):
                report.fail(f"{where}: given on {row['given_on']}, outside the pack's period")
            if manifest.get("unit") and row["unit"] != manifest["unit"]:
                report.fail(f"{where}: unit {row['unit']} in a pack of unit {manifest['unit']}")
            for named in row["files"].split():
                name, _, digest = named.rpartition(":")
                if files.get(name) != digest:
                    report.fail(f"{where}: evidence file {name} is not in the pack with SHA-256 {digest}")
    except (KeyError, csv.Error) as exc:
        report.fail(f"{COMPENSATION}: cannot be read ({type(exc).__name__}: {exc})")


def _check_evaluation(pack: zipfile.ZipFile, manifest: dict, report: Report) -> None:
    """Each complaint evaluation report adds up (its units' founded and closed complaints make
    its totals, systemic ones are founded ones), names the pack's unit alone in a one-unit pack,
    and each improvement action done says when and with what evidence."""
    names = sorted(n for n in pack.namelist() if n.startswith(EVALUATION) and n != EVALUATION_ACTIONS)
    try:
        for name in names:
            totals, sums = None, [0, 0]
            for number, header, cells in _csv_rows(pack, name, report):
                row = dict(zip(header, cells))
                if row["section"] == "total":
                    totals = (int(row["founded"]), int(row["closed"]), int(row["systemic"]))
                elif row["section"] == "unit":
                    sums[0] += int(row["founded"])
                    sums[1] += int(row["closed"])
                    if manifest.get("unit") and row["group"] != f"unit:{manifest['unit']}":
                        report.fail(f"{name} line {number}: {row['group']} in a pack of unit {manifest['unit']}")
            if totals is None:
                report.fail(f"{name}: no total line")
            elif (totals[0], totals[1]) != tuple(sums) or totals[2] > totals[0]:
                report.fail(f"{name}: the units' founded and closed complaints ({sums[0]}, {sums[1]}) do not make "
                            f"the totals ({totals[0]}, {totals[1]}), or more systemic than founded")
        if EVALUATION_ACTIONS in pack.namelist():
            for number, header, cells in _csv_rows(pack, EVALUATION_ACTIONS, report):
                row = dict(zip(header, cells))
                where = f"{EVALUATION_ACTIONS} line {number}"
                if row["status"] not in ("open", "done", "dropped"):
                    report.fail(f"{where}: status {row['status']!r}")
                if row["status"] == "done" and not (row["completed_on"] and row["evidence"]):
                    report.fail(f"{where}: done without the day or the evidence")
                if manifest.get("unit") and row["unit"] != manifest["unit"]:
                    report.fail(f"{where}: unit {row['unit']} in a pack of unit {manifest['unit']}")
                if not re.fullmatch(r"\d{4}-Q[1-4]", row["period"]):
                    report.fail(f"{where}: period {row['period']!r} is not a quarter")
    except (KeyError, ValueError, csv.Error) as exc:
        report.fail(f"evaluation: the files cannot be read ({type(exc).__name__}: {exc})")


def _check_standards(pack: zipfile.ZipFile, manifest: dict, report: Report) -> None:
    """The service standard of each unit: its file's unit, its 14 components, what a published
    one must show, and its poster page present."""
    files = manifest.get("files") or {}
    for name in sorted(n for n in pack.namelist() if n.startswith(STANDARDS) and n.endswith(".json")):
        with _member(pack, name, report) as fh:
            raw = fh.read()
        if name in report.damaged:
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
            scope = name[len(STANDARDS):-len(".json")]
            if (data["unit"] or "default") != scope and re.sub(r"[^A-Za-z0-9._-]+", "_", data["unit"] or "") != scope:
                report.fail(f"{name}: names unit {data['unit']}")
            if manifest.get("unit") and data["unit"] != manifest["unit"]:
                report.fail(f"{name}: unit {data['unit']} in a pack of unit {manifest['unit']}")
            if data["source"] == "none":
                continue
            components = data["components"]
            if len(components) != STANDARD_COMPONENT_COUNT:
                report.fail(f"{name}: {len(components)} components, not {STANDARD_COMPONENT_COUNT}")
            required = [code for code, c in components.items() if c["must_publish"]]
            if len(required) != STANDARD_MUST_PUBLISH:
                report.fail(f"{name}: {len(required)} components must be published, not {STANDARD_MUST_PUBLISH}")
            if data["published"]:
                empty = [code for code in required if not (components[code]["text"] or "").strip()]
                if empty or not (data["maklumat"] or "").strip():
                    report.fail(f"{name}: published without {', '.join(empty + ([] if data['maklumat'] else ['maklumat']))}")
            if data.get("poster") not in files:
                report.fail(f"{name}: its poster {data.get('poster')} is not in the pack")
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            report.fail(f"{name}: cannot be read ({type(exc).__name__}: {exc})")


def _check_ombudsman(pack: zipfile.ZipFile, manifest: dict, report: Report) -> None:
    """Each product's and action's files are in the pack with the SHA-256 they name; an action
    belongs to a product listed, its status is known, a done action has its date and evidence
    and its on_time says whether that date was by the deadline; a one-unit pack's actions are
    its unit's. Packs without the register are left alone."""
    if OMBUDSMAN_PRODUCTS not in pack.namelist():
        return
    files = manifest.get("files") or {}

    def check_files(where: str, cells: str) -> None:
        for named in cells.split():
            name, _, digest = named.rpartition(":")
            if files.get(name) != digest:
                report.fail(f"{where}: file {name} is not in the pack with SHA-256 {digest}")

    try:
        products = set()
        for number, header, cells in _csv_rows(pack, OMBUDSMAN_PRODUCTS, report):
            row = dict(zip(header, cells))
            products.add(row["id"])
            check_files(f"{OMBUDSMAN_PRODUCTS} line {number}", row["files"])
        for number, header, cells in _csv_rows(pack, OMBUDSMAN_ITEMS, report):
            row = dict(zip(header, cells))
            where = f"{OMBUDSMAN_ITEMS} line {number}"
            if row["product"] not in products:
                report.fail(f"{where}: product {row['product']} is not in {OMBUDSMAN_PRODUCTS}")
            if row["status"] not in ("open", "done", "dropped"):
                report.fail(f"{where}: unknown status {row['status']!r}")
            if row["status"] == "done":
                if not row["done_on"] or not row["evidence"]:
                    report.fail(f"{where}: done without its date or evidence")
                elif row["on_time"] != ("yes" if row["done_on"] <= row["due_on"] else "no"):
                    report.fail(f"{where}: on_time {row['on_time']!r} does not follow from {row['done_on']} and {row['due_on']}")
            if manifest.get("unit") and row["unit"] != manifest["unit"]:
                report.fail(f"{where}: unit {row['unit']} in a pack of unit {manifest['unit']}")
            check_files(where, row["files"])
    except (KeyError, csv.Error) as exc:
        report.fail(f"ombudsman: cannot be read ({type(exc).__name__}: {exc})")


def verify(path: str, expected_key: str | None = None) -> tuple[list[str], dict]:
    """([problems], summary) of a pack. No problems means the pack is intact and consistent
    with the key that signed it (summary["key"]); that this is the deployment's key is only
    proven when `expected_key` is given."""
    try:
        return _verify(path, expected_key)
    except Exception as exc:  # noqa: BLE001 - a pack made to trip the verifier still gets a FAIL
        return [f"{path}: cannot be verified ({type(exc).__name__}: {exc})"], {}


def _verify(path: str, expected_key: str | None) -> tuple[list[str], dict]:
    report = Report()
    try:
        pack = zipfile.ZipFile(path)
    except DAMAGE as exc:
        return [f"{path}: not a readable ZIP file ({exc})"], {}
    with pack:
        raw = _read(pack, MANIFEST, report)
        if raw is None:
            return report.problems, {}
        try:
            manifest = strict_json(raw)
        except DuplicateKey as exc:
            return [f"{MANIFEST}: not valid JSON ({exc})"], {}
        except ValueError:
            return [f"{MANIFEST}: not valid JSON"], {}
        if not isinstance(manifest, dict):
            return [f"{MANIFEST}: not a JSON object"], {}
        if manifest.get("format") != FORMAT:
            hint = (" (an earlier format, signed otherwise: check it with the verify_pack.py inside "
                    "it, with --key)") if manifest.get("format") == "pengaduan-evidence/1" else ""
            return [f"{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT!r}{hint}"], {}
        key = _check_signature(manifest, raw, _read(pack, SIGNATURE, report), expected_key, report)
        _check_files(pack, manifest, report)
        signed = _read_checkpoints(pack, report)
        hashes = _check_chain(pack, manifest, report, {cp["seq"] for _, cp in signed})
        checkpoints = _check_checkpoints(signed, key, hashes, report)
        _check_skm(pack, report)
        _check_readiness(pack, manifest, report)
        _check_compensation(pack, manifest, report)
        _check_ombudsman(pack, manifest, report)
        _check_standards(pack, manifest, report)
        _check_evaluation(pack, manifest, report)
    chain = manifest.get("chain") or {}
    summary = {"period": manifest.get("period"), "unit": manifest.get("unit"),
               "files": len(manifest.get("files") or {}), "events": chain.get("events"),
               "full_events": report.full_events, "first_seq": chain.get("first_seq"),
               "last_seq": chain.get("last_seq"), "last_hash": chain.get("last_hash"),
               "checkpoints": checkpoints, "key": (manifest.get("signer") or {}).get("public_key")}
    return report.problems, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Verify a pengaduan evidence pack offline.")
    parser.add_argument("pack")
    parser.add_argument("--key", help="the deployment's published Ed25519 public key (64 hex digits); "
                                      f"default: the {KEY_ENV} environment variable")
    args = parser.parse_args(argv)
    key = args.key or os.environ.get(KEY_ENV) or None
    if key is not None and not is_key(key):
        parser.error(f"--key (or {KEY_ENV}) must be an Ed25519 public key of 64 hex digits")
    problems, summary = verify(args.pack, key)
    if problems:
        for problem in problems:
            print(f"FAIL {problem}")
        return 1
    period = summary["period"] or {}
    facts = (f"period {period.get('from')} to {period.get('to')}, "
             f"unit {summary['unit'] or 'all'}, {summary['files']} files, {summary['events']} events "
             f"(seq {summary['first_seq']}-{summary['last_seq']}, {summary['full_events']} in full), "
             f"{summary['checkpoints']} signed checkpoints, head {summary['last_hash']}")
    if key is None:
        # Anyone can sign a pack with a key of their own: consistency alone proves nothing.
        print(f"UNVERIFIED {args.pack}: signed by key {summary['key']}, which was not given with "
              f"--key (nor in {KEY_ENV}); compare it with the deployment's published key and run "
              f"again with --key. Consistent with that key: {facts}")
        return UNVERIFIED
    print(f"OK {args.pack}: {facts}, key {summary['key']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
