"""Search over every complaint the person may open, in any state: by tracking code (exact or
a fragment), by the words of titles and descriptions, and (recorded) by the complainant's
name, NIK or phone.

The indexes come from migration 0014: FTS5 tables kept in sync by triggers on SQLite, a
stored tsvector and pg_trgm on PostgreSQL. Results are ranked in buckets, each read straight
off an index newest first: tracking codes containing the fragment, then complaints with every
word in the title, then those with the words elsewhere (a code fragment without a digit or a
dash, which may just as well be a word, comes after the words). A relevance score (bm25,
ts_rank) would have to score every match before showing the first page, which for a common
word is most of a million rows; the buckets never read more than a page of each. Pages
follow a cursor (bucket, id), so page 100 costs what page 1 does and nothing is counted.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import joinedload

from ... import audit
from ...errors import Forbidden
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import PRIVACY_MODES, Complaint, User
from ...policy import Actor
from ...policy.search import (can_search, can_search_identity, identity_search_scope,
                              searchable_unit_ids)
from ...workflow import current_workflow
from .tracking import ALPHABET, CODE_LENGTH, normalise_code

PAGE_SIZE = 25
MIN_LENGTH = 3
MAX_LENGTH = 100
MAX_WORDS = 8
STATES = ("any", "open", "closed")
IDENTITY_ACTION = "search.identity"

# What lives outside the models (migration 0014), for the schema comparison in the tests.
SEARCH_TABLES = ("complaint_text", "complaint_codes", "complaint_identity")
SEARCH_INDEXES = {"ix_complaints_search_vector", "ix_complaints_code_trgm", "ix_complaints_identity_name",
                  "ix_complaints_identity_nik", "ix_complaints_identity_phone",
                  "ix_complaints_title_words"}
# The normalised phone, spelled exactly as the PostgreSQL index of migration 0014 spells it.
_DIGITS = "replace(replace(replace(replace(replace({c}, ' ', ''), '-', ''), '(', ''), ')', ''), '+', '')"
PHONE_SQL = "CASE WHEN {d} LIKE '62%' THEN '0' || substr({d}, 3) ELSE {d} END".format(
    d=_DIGITS.format(c="c.complainant_phone"))

WORD = re.compile(r"[^\W_]+")
CODE_FRAGMENT = re.compile(r"[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{0,8})?|-[A-Za-z0-9]{1,8}")
PHONE = re.compile(r"\+?[0-9 ()-]{6,24}")


class InvalidQuery(ValueError):
    """A query that cannot be searched; its message says what to type instead."""


@dataclass
class Results:
    items: list[Complaint]
    next_cursor: str | None
    exact: Complaint | None = None  # the complaint an exact tracking code names


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...]
    fragment: str | None  # a code fragment, canonical (no dash, upper case)
    code_first: bool


def parse(raw: str) -> Query:
    """What a typed query asks for, or InvalidQuery saying what is wrong with it."""
    typed = (raw or "").strip()
    if not typed:
        raise InvalidQuery(_l("Type a tracking code or some words to search for."))
    if len(typed) > MAX_LENGTH:
        raise InvalidQuery(_l("Type at most %(n)d characters.", n=MAX_LENGTH))
    if len(typed) < MIN_LENGTH:
        raise InvalidQuery(_l("Type at least %(n)d characters.", n=MIN_LENGTH))
    digits = re.sub(r"[\s()+.-]", "", typed)
    if digits.isdigit() and len(digits) >= 8:
        # A NIK or a phone number: finding complaints by it is an identity search, audited
        # and limited to what the person sees anyway (search_identity), never a word search.
        raise InvalidQuery(_l("Numbers of 8 digits or more (a NIK, a phone number) are not searched here: "
                              "officers and supervisors look them up under “Search by complainant”, "
                              "where every search is recorded."))
    words = tuple(dict.fromkeys(w.lower() for w in WORD.findall(typed)))[:MAX_WORDS]
    fragment = None
    if CODE_FRAGMENT.fullmatch(typed.replace(" ", "")):
        canonical = normalise_code(typed).replace("-", "")
        if MIN_LENGTH <= len(canonical) <= CODE_LENGTH and set(canonical) <= set(ALPHABET):
            fragment = canonical
    if not words and fragment is None:
        raise InvalidQuery(_l("Type letters or digits to search for."))
    return Query(words, fragment, code_first=fragment is not None and
                 (any(ch.isdigit() for ch in typed) or "-" in typed))


def exact_match(user: User, raw: str) -> Complaint | None:
    """The complaint whose whole tracking code was typed, in any state, if the person may
    open it; None otherwise (another unit's code finds nothing, as on the complaint page)."""
    code = normalise_code(raw or "")
    if len(code) != CODE_LENGTH + 1 or code[CODE_LENGTH // 2] != "-":
        return None
    complaint = Complaint.by_code(code)
    if complaint is None or not _in_scope(complaint.unit_id, searchable_unit_ids(user)):
        return None
    return complaint


def search(actor: Actor, raw: str, state: str = "any", cursor: str | None = None,
           limit: int = PAGE_SIZE) -> Results:
    """Complaints matching a tracking code or words, newest first within each rank."""
    if not can_search(actor):
        raise Forbidden(str(_l("you may not search complaints")))
    exact = exact_match(actor.user, raw)
    if exact is not None:
        return Results([exact], None, exact=exact)
    query = parse(raw)
    units = searchable_unit_ids(actor.user)
    if units is not None and not units:
        return Results([], None)
    streams = []
    if query.fragment and query.code_first:
        streams.append(("code", query.fragment))
    if query.words:
        streams += [("title", query.words), ("text", query.words)]
    if query.fragment and not query.code_first:
        streams.append(("code", query.fragment))
    return _page(streams, units, None, state, cursor, limit)


def search_identity(actor: Actor, raw: str, state: str = "any", cursor: str | None = None,
                    limit: int = PAGE_SIZE) -> Results:
    """Complaints whose complainant has this name, NIK or phone, among those whose identity
    the person sees without a reveal (never an anonymous or confidential one). Every search
    is an audit event naming who searched, the kind of term and its keyed digest (never the
    term itself), and the codes listed."""
    if not can_search_identity(actor):
        raise Forbidden(str(_l("you may not search by the complainant's identity")))
    kind, term = parse_identity(raw)
    units, privacy = identity_search_scope(actor)
    results = _page([(kind, term)], units, privacy, state, cursor, limit) if units else Results([], None)
    audit.record(db.session, IDENTITY_ACTION, actor=actor.label, unit=actor.user.units,
                 payload={"kind": kind, "term_digest": term_digest(kind, term), "state": state,
                          "page": bool(cursor), "codes": [c.tracking_code for c in results.items]})
    return results


def parse_identity(raw: str) -> tuple[str, str]:
    """("nik", 16 digits) | ("phone", digits with 62 read as 0) | ("name", words joined by
    spaces), or InvalidQuery."""
    typed = (raw or "").strip()
    if not typed:
        raise InvalidQuery(_l("Type a name, a 16-digit NIK or a phone number."))
    if len(typed) > MAX_LENGTH:
        raise InvalidQuery(_l("Type at most %(n)d characters.", n=MAX_LENGTH))
    digits = re.sub(r"[\s()+-]", "", typed)
    if digits.isdigit():
        if len(digits) == 16:
            return "nik", digits
        if PHONE.fullmatch(typed) and 8 <= len(digits) <= 15:
            return "phone", "0" + digits[2:] if digits.startswith("62") else digits
        raise InvalidQuery(_l("A NIK has 16 digits and a phone number 8 to 15; type a whole one."))
    words = tuple(dict.fromkeys(w.lower() for w in WORD.findall(typed) if not w.isdigit()))[:MAX_WORDS]
    if not words or sum(len(w) for w in words) < MIN_LENGTH:
        raise InvalidQuery(_l("Type at least %(n)d letters of the name.", n=MIN_LENGTH))
    return "name", " ".join(words)


def term_digest(kind: str, term: str) -> str:
    """The searched term as the audit chain keeps it: an HMAC keyed by SECRET_KEY, so that an
    auditor holding a NIK can check whether it was searched, while the chain (and any
    evidence pack) never carries a NIK, phone or name, nor a hash guessable without the key."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"identity-search:{kind}:{term}".encode(), hashlib.sha256).hexdigest()


# --- the streams -----------------------------------------------------------------------


def _page(streams, units, privacy, state, cursor, limit) -> Results:
    """The next `limit` complaints after the cursor, taking each stream in rank order."""
    position = decode_cursor(cursor, len(streams))
    start, after = position if position else (0, None)
    ids: list[tuple[int, int]] = []
    seen: set[int] = set()
    for rank in range(start, len(streams)):
        kind, term = streams[rank]
        want = limit + 1 - len(ids)
        for complaint_id in _stream(kind, term, units, privacy, state, after if rank == start else None, want):
            if complaint_id not in seen:
                seen.add(complaint_id)
                ids.append((rank, complaint_id))
        if len(ids) > limit:
            break
    more = len(ids) > limit
    ids = ids[:limit]
    found = {c.id: c for c in db.session.scalars(
        select(Complaint).options(joinedload(Complaint.unit), joinedload(Complaint.category))
        .where(Complaint.id.in_([i for _, i in ids]))).unique()}
    items = [found[i] for _, i in ids if i in found]
    next_cursor = f"{ids[-1][0]}.{ids[-1][1]}" if more and ids else None
    return Results(items, next_cursor)


def decode_cursor(cursor: str | None, streams: int) -> tuple[int, int] | None:
    """(rank, last id) from "rank.id"; a mangled cursor starts from the top."""
    rank, _, last = (cursor or "").partition(".")
    if not (rank.isdigit() and last.isdigit() and len(rank) < 3 and len(last) < 19):
        return None
    return (int(rank), int(last)) if int(rank) < streams else None


def _stream(kind, term, units, privacy, state, after, limit) -> list[int]:
    """Ids of one rank's complaints within the scope, newest first, below `after`."""
    sqlite = db.engine.dialect.name != "postgresql"
    conditions, params = [], {"limit": limit}
    if units is not None:
        conditions.append("c.unit_id IN :units")
        params["units"] = sorted(units)
    if privacy is not None:  # the policy's constants, checked here, written as literals so that
        # PostgreSQL sees the predicate of the partial identity indexes
        conditions.append("c.privacy IN (%s)" % ", ".join(f"'{p}'" for p in privacy if p in PRIVACY_MODES))
    finished = list(current_workflow().terminal_states)
    if state == "open":
        conditions.append("c.state NOT IN :finished")
        params["finished"] = finished
    elif state == "closed":
        conditions.append("c.state IN :finished")
        params["finished"] = finished
    if after is not None:  # FTS5 reads its rowids below the cursor straight off the index
        conditions.append(f"{'f.rowid' if sqlite else 'c.id'} < :after")
        params["after"] = after
    if sqlite:
        table, params["match"] = _fts_match(kind, term)
        sql = (f"SELECT c.id FROM {table} AS f CROSS JOIN complaints AS c ON c.id = f.rowid "
               f"WHERE {table} MATCH :match{''.join(' AND ' + c for c in conditions)} "
               "ORDER BY f.rowid DESC LIMIT :limit")
    else:
        few = kind in ("title", "text") and _few_matches(term, units, kind)
        condition, extra = _pg_condition(kind, term, few)
        params.update(extra)
        sql = (f"SELECT c.id FROM complaints AS c WHERE {condition}"
               f"{''.join(' AND ' + c for c in conditions)} ORDER BY c.id DESC LIMIT :limit")
    statement = text(sql)
    for name in ("units", "finished"):
        if name in params:
            statement = statement.bindparams(bindparam(name, expanding=True))
    if sqlite or not few:
        return list(db.session.scalars(statement, params))
    # Few matches: read them off the GIN index and sort them, rather than walk the primary key
    # backwards hoping to meet 26 soon, which PostgreSQL would do (it guesses 0.5 % for any word
    # outside its statistics, and ignores the title weight), reading a million rows for a rare one.
    db.session.execute(text("SET LOCAL enable_indexscan = off"))
    try:
        return list(db.session.scalars(statement, params))
    finally:
        db.session.execute(text("SET LOCAL enable_indexscan = on"))


FEW_MATCHES = 2_000  # below this many matches, reading them off the GIN index beats walking the key
_word_statistics: dict = {}
# Where PostgreSQL keeps the statistics of each kind's words: the stored vector (words anywhere)
# and the title's own index (0018; ANALYZE gathers statistics for an expression index too).
_STATISTICS = {"text": ("complaints", "search_vector"),
               "title": ("ix_complaints_title_words", "to_tsvector")}


def _few_matches(words, units: set[int] | None, kind: str = "text") -> bool:
    """Whether the words, all together, occur in few complaints of the scope (in their titles,
    for `kind` "title"), judged from PostgreSQL's own statistics (refreshed every ten
    minutes): a word outside the most common elements is rare."""
    now = time.monotonic()
    stats = _word_statistics.get(kind)
    if stats is None or stats["until"] < now:
        relation, column = _STATISTICS[kind]
        row = db.session.execute(text(
            "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples, "
            "(SELECT count(*) FROM units) FROM pg_class c LEFT JOIN pg_stats s ON s.tablename = :relation "
            "AND s.attname = :column WHERE c.relname = 'complaints'"),
            {"relation": relation, "column": column}).first()
        elements, frequencies, rows, unit_count = row if row else (None, None, 0, 1)
        stats = _word_statistics[kind] = dict(
            until=now + 600, rows=max(rows or 0, 0), units=max(unit_count or 1, 1),
            frequency=dict(zip(elements or (), frequencies or ())))
    share = 1.0 if units is None else min(1.0, len(units) / stats["units"])
    expected = stats["rows"] * share
    for word in words:
        expected *= stats["frequency"].get(word, 0.0)
    return expected < FEW_MATCHES


def _quoted(words) -> str:
    return " AND ".join(f'"{w}"' for w in words)  # words are letters and digits only


def _fts_match(kind: str, term) -> tuple[str, str]:
    """(FTS5 table, MATCH expression); every term is a quoted string of letters and digits,
    so nothing typed is read as an FTS5 operator."""
    if kind == "code":
        return "complaint_codes", f'"{term}"'
    if kind == "title":
        return "complaint_text", f"{{title}} : ({_quoted(term)})"
    if kind == "text":
        return "complaint_text", f"({_quoted(term)}) NOT ({{title}} : ({_quoted(term)}))"
    if kind == "name":
        words = term.split()
        return "complaint_identity", f"{{name}} : ({_quoted(words[:-1]) + ' AND ' if words[:-1] else ''}\"{words[-1]}\"*)"
    return "complaint_identity", f'{{{kind}}} : "{term}"'


def _tsquery(words, weight: str = "") -> str:
    return " & ".join(f"'{w}':{weight}" if weight else f"'{w}'" for w in words)


def _pg_condition(kind: str, term, few: bool = False) -> tuple[str, dict]:
    """(WHERE condition, its parameters) for PostgreSQL, each served by a 0014 or 0018 index.
    Words in the title, when they are `few`, are read off the title's own index (exact; the
    weighted vector's index would recheck every complaint with the words anywhere); when they
    are many, the key is walked and the stored vector tested (computing the title's vector row
    by row would cost more)."""
    if kind == "code":
        return "replace(c.tracking_code, '-', '') LIKE :pattern", {"pattern": f"%{term}%"}
    if kind == "title" and few:
        return ("to_tsvector('simple', coalesce(c.title, '')) @@ to_tsquery('simple', :title)",
                {"title": _tsquery(term)})
    if kind == "title":
        return "c.search_vector @@ to_tsquery('simple', :title)", {"title": _tsquery(term, "A")}
    if kind == "text":
        return ("c.search_vector @@ to_tsquery('simple', :words) "
                "AND NOT c.search_vector @@ to_tsquery('simple', :title)",
                {"words": _tsquery(term), "title": _tsquery(term, "A")})
    if kind == "name":
        words = term.split()
        query = " & ".join([f"'{w}'" for w in words[:-1]] + [f"'{words[-1]}':*"])
        return ("to_tsvector('simple', coalesce(c.complainant_name, '')) @@ to_tsquery('simple', :name)",
                {"name": query})
    if kind == "nik":
        return "c.complainant_nik = :nik", {"nik": term}
    return f"{PHONE_SQL} = :phone", {"phone": term}


def _in_scope(unit_id: int, units: set[int] | None) -> bool:
    return units is None or unit_id in units
