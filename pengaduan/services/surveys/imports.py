"""Paper questionnaires imported from a spreadsheet saved as CSV (`flask --app run skm import`).

One row per questionnaire: columns U1..U9 (scores 1 to 4; an empty cell is an element left
unanswered) and, optionally, the respondent's profile (sex, age_band, education, occupation:
an option's code or its Indonesian or English label from the questionnaire), service_type and
suggestion. Header names are read case-insensitively; a BOM, semicolons (what Excel writes in
an Indonesian locale) or tabs as separators, and Windows-1252 text are accepted.

All or nothing: every row is checked as the public page checks an answer (answers.check), and
one bad cell refuses the whole file, each bad line named (line 2 is the first row under the
header) up to a cap. The rows are inserted in batches as they are read, so a file of any size
takes flat memory, in the caller's one transaction together with the opening of the period
(when it had none yet) and one audit event naming the count and the file's SHA-256; a refusal
raises, and the caller's rollback takes the batches with it. Nothing here commits.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from ... import audit
from ...errors import DomainError, Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import ELEMENTS, PROFILE_FIELDS, Role, SurveyPeriod, SurveyResponse, Unit, User, utcnow
from ...policy import Actor, can_enter_questionnaires
from ..inputs import local_today
from . import answers, opening, periods
from .questionnaire import load as load_questionnaire

BATCH = 1000  # rows per INSERT
ERROR_CAP = 50  # bad lines named; the rest are counted
_CHUNK = 1 << 16
_SCORE = re.compile(r"^([1-4])(?:[.,]0+)?$")  # "4", and "4.0" / "4,0" as a spreadsheet may write it
_VALUE_SHOWN = 40  # characters of a bad cell quoted in a message
# A Core INSERT of the table: one executemany per batch (the ORM's bulk insert splits a batch
# wherever the rows leave different columns empty, a statement every few rows).
_INSERT = insert(SurveyResponse.__table__)

# Header names (lower case, runs of anything but letters and digits as "_") for each field.
_ALIASES = {
    "sex": ("sex", "gender", "jenis_kelamin", "kelamin"),
    "age_band": ("age_band", "age", "usia", "umur", "kelompok_usia"),
    "education": ("education", "pendidikan", "pendidikan_terakhir"),
    "occupation": ("occupation", "pekerjaan"),
    "service_type": ("service_type", "service", "layanan", "jenis_layanan"),
    "suggestion": ("suggestion", "saran", "saran_dan_masukan", "saran_masukan", "masukan"),
}
# What paper forms write for the sex options (compared in lower case, "-" read as a space),
# for a questionnaire whose options are coded `male` and `female`.
_SEX_SPELLINGS = {
    "male": ("l", "lk", "laki laki", "laki", "pria", "m", "male", "man"),
    "female": ("p", "pr", "perempuan", "wanita", "f", "female", "woman"),
}
_IGNORED = ("no", "nomor", "")  # a row-number column, as paper registers have


class ImportRefused(DomainError):
    """The file was refused and nothing of it was imported: `problems` names each reason
    (each bad line, up to ERROR_CAP), `more` how many further lines were bad."""

    code, status = "import_refused", 422

    def __init__(self, problems: list, more: int = 0):
        super().__init__(problems[0] if len(problems) == 1 and not more else
                         _l("nothing was imported: %(n)d problems", n=len(problems) + more))
        self.problems, self.more = problems, more


@dataclass
class Imported:
    """What an import did."""
    survey: SurveyPeriod
    imported: int
    respondents: int  # the period's questionnaires now, the imported ones included
    opened: bool  # the import opened the period
    sha256: str
    skipped_blank: int = 0  # empty lines (every cell empty) passed over


def _name(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def _quoted(value: str) -> str:
    value = value if len(value) <= _VALUE_SHOWN else value[:_VALUE_SHOWN] + "..."
    return f"\"{value}\""


def _plain(value: str) -> str:
    return " ".join(value.lower().split())


def _loose(value: str) -> str:
    return " ".join(value.lower().replace("-", " ").split())


# --- the file ------------------------------------------------------------------------------

class _Source:
    """The file read as bytes: once for its digest and its encoding (UTF-8, with or without a
    BOM, else Windows-1252 as Excel's "CSV" writes it), then as text, hashed again as it is
    read, so that the digest recorded is the one of the rows imported."""

    def __init__(self, source: str | Path | BinaryIO):
        self.path = None if hasattr(source, "read") else Path(source)
        self.stream = source if self.path is None else None
        utf8 = codecs.getincrementaldecoder("utf-8")()
        self.is_utf8, self.start = True, b""
        with self.raw() as raw:
            for chunk in iter(lambda: raw.read(_CHUNK), b""):
                self.start = self.start or chunk[:8]
                if self.is_utf8:
                    try:
                        utf8.decode(chunk)
                    except UnicodeDecodeError:
                        self.is_utf8 = False
            self.sha256, self.size = raw.digest.hexdigest(), raw.size
        if self.is_utf8:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                self.is_utf8 = False

    @property
    def is_workbook(self) -> bool:
        """An Excel workbook (.xlsx is a ZIP, .xls an OLE file) given instead of its CSV."""
        return self.start.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))

    def raw(self) -> _Hashing:
        if self.path is not None:
            return _Hashing(open(self.path, "rb"), close=True)
        self.stream.seek(0)
        return _Hashing(self.stream, close=False)

    def text(self, raw: _Hashing):
        """The bytes of `raw` as text (newlines left to the csv module)."""
        return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig" if self.is_utf8 else "cp1252",
                                errors="strict", newline="")


class _Hashing(io.RawIOBase):
    """A binary file read through, hashing what passes; a caller's stream is left open."""

    def __init__(self, stream, close: bool):
        super().__init__()
        self._stream, self._close = stream, close
        self.digest, self.size = hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def drain(self) -> str:
        """Read what is left (hashing it); the digest of the whole file."""
        for _ in iter(lambda: self.read(_CHUNK), b""):
            pass
        return self.digest.hexdigest()

    def close(self) -> None:
        if self._close and not self.closed:
            self._stream.close()
        super().close()


def _separator(first_line: str) -> str:
    """The separator the header line uses: `;` (Indonesian Excel), tab or `,`."""
    counts = {sep: first_line.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


@dataclass
class _Row:
    line: int  # the line the record begins on (1: the first line of the file)
    cells: list[str]


class _Reader:
    """The CSV records of a text, each with the line it begins on: the first one not blank
    is the header; blank records (every cell empty) are skipped and counted; a record that
    cannot be read ends the reading and is kept in `broken` as (line, reason)."""

    def __init__(self, text):
        skipped, first = 0, text.readline()
        while first and not first.strip():
            skipped, first = skipped + 1, text.readline()
        self.reader = csv.reader(itertools.chain([first], text), delimiter=_separator(first), strict=True)
        self.offset = self._last = skipped
        self.blank, self.broken = 0, None
        self.header = next(self._records(), None) if first else None

    def _records(self):
        while True:
            start = self._last + 1
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except csv.Error as error:
                self.broken = (start, str(error))
                return
            self._last = self.offset + self.reader.line_num
            if not any(cell.strip() for cell in cells):
                self.blank += 1
                continue
            yield _Row(start, cells)

    def rows(self):
        """The records after the header."""
        return self._records()


# --- the header ------------------------------------------------------------------------------

@dataclass
class _Columns:
    fields: dict[int, str]  # position -> U1..U9 or a profile field, service_type, suggestion
    width: int


def _columns(header: _Row | None, questionnaire: dict) -> _Columns:
    if header is None:
        raise ImportRefused([_l("the file is empty")])
    names = {code.lower(): code for code in ELEMENTS}
    for fieldname, aliases in _ALIASES.items():
        for alias in aliases:
            names[alias] = fieldname
    for fieldname, question in (questionnaire.get("profile") or {}).items():
        for text in question["label"].values():
            names.setdefault(_name(text), fieldname)
    fields: dict[int, str] = {}
    unknown, twice = [], []
    for position, header_cell in enumerate(header.cells):
        name = _name(header_cell)
        if name in names:
            if names[name] in fields.values():
                twice.append(header_cell.strip())
            fields[position] = names[name]
        elif name not in _IGNORED:
            unknown.append(header_cell.strip())
    problems = []
    missing = [code for code in ELEMENTS if code not in fields.values()]
    if missing:
        problems.append(_l("missing column %(columns)s: the header needs U1 to U9 (an empty cell "
                           "is an unanswered element)", columns=", ".join(missing)))
    if unknown:
        problems.append(_l("unknown column %(columns)s (the columns are U1 to U9 and, optionally, "
                           "%(optional)s)", columns=", ".join(_quoted(u) for u in unknown),
                           optional=", ".join(_ALIASES)))
    if twice:
        problems.append(_l("column %(columns)s appears twice", columns=", ".join(twice)))
    if problems:
        raise ImportRefused(problems)
    return _Columns(fields, len(header.cells))


# --- the rows --------------------------------------------------------------------------------

class _Checker:
    """Turns one row's cells into Answers, or into the messages naming its bad cells."""

    def __init__(self, survey: SurveyPeriod, columns: _Columns, headers: list[str], default_service: str | None,
                 reference: dict):
        self.survey, self.columns, self.default_service = survey, columns, default_service
        # Messages name an element by its code, and any other column as the file writes it.
        self.headers = {pos: name if name in ELEMENTS else headers[pos].strip()
                        for pos, name in columns.fields.items()}
        self.options: dict[str, dict[str, str]] = {}
        for name, question in (survey.questionnaire.get("profile") or {}).items():
            lookup = {}
            for code, labels in question["options"].items():
                for text in (code, *labels.values()):
                    lookup.setdefault(_plain(text), code)
            if name == "sex":
                for code, spellings in _SEX_SPELLINGS.items():
                    if code in question["options"]:
                        for text in spellings:
                            lookup.setdefault(text, code)
            self.options[name] = lookup
        # Options named in the order of the questionnaire in force (PostgreSQL keeps a period's
        # snapshot as JSONB, which does not keep the order of its keys).
        self.listed = {}
        for name, lookup in self.options.items():
            order = list((reference.get("profile") or {}).get(name, {}).get("options", {}))
            codes = sorted(set(lookup.values()), key=lambda c: (order.index(c) if c in order else len(order), c))
            self.listed[name] = ", ".join(codes) or "—"
        self.services = {_plain(s): s for s in survey.service_types or []}

    def check(self, row: _Row) -> tuple[answers.Answers | None, list]:
        line, problems = row.line, []
        if len(row.cells) != self.columns.width:
            return None, [_l("line %(line)d: %(cells)d cells where the header has %(columns)d",
                             line=line, cells=len(row.cells), columns=self.columns.width)]
        if any("\x00" in cell for cell in row.cells):
            return None, [_l("line %(line)d: contains a NUL character (0x00)", line=line)]
        raw: dict[str, str | None] = {}
        for position, name in self.columns.fields.items():
            value = row.cells[position].strip()
            column = self.headers[position]
            if not value:
                raw[name] = None
            elif name in ELEMENTS:
                score = _SCORE.match(value)
                if score:
                    raw[name] = score.group(1)
                else:
                    problems.append(_l("line %(line)d: %(column)s: %(value)s is not a score from 1 to 4",
                                       line=line, column=column, value=_quoted(value)))
            elif name in PROFILE_FIELDS:
                lookup = self.options.get(name, {})
                code = lookup.get(_plain(value))
                if code is None and name == "sex":
                    code = lookup.get(_loose(value))
                if code is None:
                    problems.append(_l("line %(line)d: %(column)s: %(value)s is not one of the options "
                                       "(%(options)s)", line=line, column=column, value=_quoted(value),
                                       options=self.listed.get(name, "—")))
                raw[name] = code
            elif name == "service_type":
                service = self.services.get(_plain(value))
                if service is None:
                    problems.append(_l("line %(line)d: %(column)s: %(value)s is not a service this survey "
                                       "covers (%(services)s)", line=line, column=column,
                                       value=_quoted(value),
                                       services=", ".join(self.survey.service_types or []) or "—"))
                raw[name] = service
            else:
                raw[name] = value
        if raw.get("service_type") is None and self.default_service:
            raw["service_type"] = self.default_service
        if problems:
            return None, problems
        if not any(raw.get(code) for code in ELEMENTS):
            return None, [_l("line %(line)d: no element answered (U1 to U9 are all empty)", line=line)]
        try:
            return answers.check(self.survey, raw), []
        except InvalidFields as refused:
            return None, [_l("line %(line)d: %(column)s: %(reason)s", line=line, column=name, reason=reason)
                          for name, reason in refused.errors.items()]


def _values(survey: SurveyPeriod, checked: answers.Answers, entered_by: User | None, moment) -> dict:
    """One questionnaire as the row answers.record stores (channel paper)."""
    return {"period_id": survey.id, "channel": "paper", "entered_by_id": entered_by.id if entered_by else None,
            "submitted_at": moment, "service_type": checked.service_type, "suggestion": checked.suggestion,
            **{name: checked.profile.get(name) for name in PROFILE_FIELDS},
            **{code.lower(): checked.scores.get(code) for code in ELEMENTS}}


def _file_services(source: _Source, columns: _Columns) -> list[str]:
    """The service types a file names, in order (first spelling kept): what a period the
    import opens surveys."""
    position = next((pos for pos, name in columns.fields.items() if name == "service_type"), None)
    if position is None:
        return []
    found: dict[str, str] = {}
    with source.raw() as raw, source.text(raw) as text:
        for row in _Reader(text).rows():
            value = row.cells[position].strip() if len(row.cells) == columns.width else ""
            if value:
                found.setdefault(_plain(value), value)
    return list(found.values())


# --- the import ------------------------------------------------------------------------------

def _may_import(actor: Actor, unit: Unit) -> bool:
    return actor.role == Role.SYSTEM or can_enter_questionnaires(actor, unit)


def _check_entered_by(user: User | None, unit: Unit) -> None:
    if user is None:
        return
    if not user.active or not can_enter_questionnaires(Actor.staff(user), unit):
        raise ImportRefused([_l("%(email)s may not enter questionnaires for unit %(unit)s (its officers "
                                "and supervisors do)", email=user.email, unit=unit.code)])


def _header(source: _Source, questionnaire: dict) -> tuple[_Columns, list[str]]:
    """The columns of the file, checked before anything is written."""
    with source.raw() as raw, source.text(raw) as text:
        reader = _Reader(text)
        if reader.header is None and reader.broken:
            raise ImportRefused([_l("line %(line)d: cannot be read as CSV (%(reason)s)",
                                    line=reader.broken[0], reason=reader.broken[1])])
        return _columns(reader.header, questionnaire), reader.header.cells


def _survey(actor: Actor, unit: Unit, label: str, service_type: str | None, source: _Source,
            columns: _Columns) -> tuple[SurveyPeriod, bool]:
    """The unit's survey period, opened (with the services named) when it has none yet."""
    survey = opening.find(unit, label)
    if survey is None:
        code = unit.code  # read now: after a failed flush the session answers nothing until rolled back
        services = ([service_type] if service_type else []) + _file_services(source, columns)
        try:
            return opening.open_period(actor, unit, label, service_types=opening.service_list(services),
                                       for_paper=True), True
        except InvalidFields as refused:
            raise ImportRefused([_l("the survey period cannot be opened: %(field)s: %(reason)s",
                                    field=name, reason=reason) for name, reason in refused.errors.items()]) from None
        except IntegrityError:  # another import opened it meanwhile (PostgreSQL; SQLite runs them in turn)
            raise ImportRefused([_l("the survey of unit %(unit)s for %(period)s was opened meanwhile: import "
                                    "the file again", unit=code, period=label)]) from None
    if survey.closed_at is not None:
        raise ImportRefused([_l("the survey of unit %(unit)s for %(period)s is closed to answers",
                                unit=unit.code, period=survey.label)])
    if not opening.takes_paper(survey, local_today(unit)):
        raise ImportRefused([_l("%(period)s has not begun: paper questionnaires are entered once it has",
                                period=survey.label)])
    if service_type is not None and service_type not in (survey.service_types or []):
        raise ImportRefused([_l("service %(service)s is not one the survey of unit %(unit)s for %(period)s "
                                "covers (%(services)s)", service=_quoted(service_type), unit=unit.code,
                                period=survey.label, services=", ".join(survey.service_types or []) or "—")])
    return survey, False


def import_csv(source: str | Path | BinaryIO, unit: Unit, label: str, *, actor: Actor,
               service_type: str | None = None, entered_by: User | None = None) -> Imported:
    """Import the paper questionnaires of `source` (a path, or a seekable binary stream) into
    the survey of `unit` for the period written `label`, opening it when the unit has none
    (with the services `service_type` and the file name); flushes only. ImportRefused, with
    every reason, when anything is wrong: nothing of the file may then be kept (the caller
    rolls back)."""
    if not _may_import(actor, unit):
        raise Forbidden(str(_l("only the unit's officers and supervisors enter questionnaires")))
    try:
        label = periods.parse(label).label
    except ValueError:
        raise ImportRefused([_l("%(label)s is not a period (2026, 2026-S1 or 2026-Q3)",
                                label=_quoted(label or ""))]) from None
    _check_entered_by(entered_by, unit)
    service_type = (service_type or "").strip() or None
    try:
        source = _Source(source)
        if source.is_workbook:
            raise ImportRefused([_l("the file is an Excel workbook, not CSV: save it as \"CSV UTF-8\" first")])
        existing, in_force = opening.find(unit, label), load_questionnaire()
        columns, headers = _header(source, existing.questionnaire if existing else in_force)
        survey, opened = _survey(actor, unit, label, service_type, source, columns)
        checker = _Checker(survey, columns, headers, service_type, in_force)
        problems: list = []
        bad_lines = shown_lines = imported = 0
        batch: list[dict] = []
        moment = utcnow()
        with source.raw() as raw, source.text(raw) as text:
            reader = _Reader(text)
            for row in reader.rows():
                checked, found = checker.check(row)
                if found:
                    bad_lines += 1
                    if shown_lines < ERROR_CAP:
                        shown_lines += 1
                        problems.extend(found)
                elif not bad_lines:  # once the file is refused its rows are only checked
                    batch.append(_values(survey, checked, entered_by, moment))
                    imported += 1
                    if len(batch) == BATCH:
                        db.session.execute(_INSERT, batch)
                        batch = []
            if reader.broken:
                bad_lines += 1
                problems.append(_l("line %(line)d: cannot be read as CSV (%(reason)s)",
                                   line=reader.broken[0], reason=reader.broken[1]))
            digest = raw.drain()
    except UnicodeDecodeError:
        raise ImportRefused([_l("the file is not text: save it as \"CSV UTF-8\"")]) from None
    except OSError as error:
        raise ImportRefused([_l("the file cannot be read: %(reason)s", reason=error.strerror or str(error))]) \
            from None
    if problems:
        raise ImportRefused(problems, more=bad_lines - shown_lines - (1 if reader.broken else 0))
    if not imported:
        raise ImportRefused([_l("the file has a header but no questionnaire rows")])
    if digest != source.sha256:
        raise ImportRefused([_l("the file changed while it was read: import it again")])
    if batch:
        db.session.execute(_INSERT, batch)
    count = opening.respondents([survey.id])[survey.id]
    audit.record(db.session, "survey.imported", actor=actor.label, unit=unit, payload={
        "unit": unit.code, "label": survey.label,
        "period": {"from": survey.starts_on.isoformat(), "to": survey.ends_on.isoformat()},
        "rows": imported, "channel": "paper", "sha256": source.sha256, "bytes": source.size,
        "service_type": service_type, "entered_by": entered_by.email if entered_by else None,
        "respondents": count})
    return Imported(survey, imported, count, opened, source.sha256, reader.blank)
