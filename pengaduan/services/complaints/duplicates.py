"""The same matter filed twice: suggestions of possible duplicates on the case page of a new
complaint, complaints linked as related, and closing one as a duplicate of another.

Suggestions: up to SHOWN open complaints of the same unit received in the last WINDOW_DAYS,
ranked by how alike their words are. The database picks the candidates from the search
indexes of migration 0014 (PostgreSQL: ts_rank over the stored tsvector, FTS5's bm25 on
SQLite) with an OR of the complaint's significant words; Indonesian text under the 'simple'
configuration is not stemmed, so a word with a prefix (berlubang, diperbaiki) also asks for
its root as a prefix (lubang:*, perbaiki:*). The candidates are then ranked again in Python:
each text as a set of word cores (prefixes and suffixes stripped), and a core of one counts as
shared when rapidfuzz finds a core of the other at least CORE_MATCH alike, so "lubang" meets
"berlubang" and "perbaikan" meets "diperbaiki". The similarity shown is the Dice coefficient
of the two sets, half for the titles and half for the whole texts (title, description and
place); below MIN_SIMILARITY a candidate is not suggested. The candidate query reads
at most CANDIDATES rows (bench/duplicates_latency.py measures it at 1M complaints).

Closing as a duplicate is the workflow's own step (the one whose closure reason requires the
`duplicate_of` field): the case page opens that step's form filled in, and the lifecycle
service runs it like any step (workflow/fields.py sets `duplicate_of_id` and checks the
original). Links are one row per pair (models.ComplaintLink), audited both ways.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from flask_babel import force_locale
from rapidfuzz import fuzz, process
from sqlalchemy import bindparam, column, func, literal_column, or_, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import gettext
from ...i18n import lazy_gettext as _l
from ...models import Complaint, ComplaintLink, utcnow
from ...policy import Actor, can_add_note, can_view
from ...workflow import current_workflow
from .complainant_mail import language
from .lifecycle import allowed_triggers
from .tracking import normalise_code

WINDOW_DAYS = 90
SHOWN = 5
CANDIDATES = 40  # rows the database ranks and hands over for the second ranking
MAX_TERMS = 16  # significant words asked for (title words first)
MIN_SIMILARITY = 0.2
TITLE_WEIGHT = 0.5  # the title names the matter; the description tells it at any length
CORE_MATCH = 84  # rapidfuzz ratio at which two word cores count as the same word
FIELD = "duplicate_of"  # the workflow field naming the original

WORD = re.compile(r"[^\W\d_]{3,}")
# Words that say nothing of the matter (function words, forms of address, politeness).
STOPWORDS = frozenset("""
yang dan di ke dari untuk dengan pada ini itu ada tidak tak sudah belum akan juga atau karena
saya kami kita mereka dia anda bapak ibu pak agar oleh sebagai dalam tersebut hal bisa dapat
masih telah sangat lebih hanya lagi sejak hingga sampai tetapi tapi namun mohon tolong harap
terima kasih para yg dgn tdk sdh blm mau ingin jadi maka kalau jika bila saat ketika setelah
sebelum antara kepada bagi tentang atas sudah pun lah kah apa siapa mengapa kenapa bagaimana
kapan dimana mana sini situ sana begitu sekali banyak semua setiap beberapa para kali
""".split())
# ke- and se- are left alone: too many roots begin so (kecamatan, kepala, sekolah, sentral).
PREFIXES = ("meng", "meny", "mem", "men", "me", "peng", "peny", "pem", "pen", "per", "pe",
            "ber", "ter", "di")
SUFFIXES = ("nya", "lah", "kah", "kan", "an", "i")
MIN_CORE = 4


@dataclass(frozen=True)
class Suggestion:
    complaint: Complaint
    similarity: float  # 0 to 1

    @property
    def percent(self) -> int:
        return round(self.similarity * 100)


def significant_words(complaint_text: str) -> list[str]:
    """Lower-case words of three letters or more that say something, in order, once each."""
    return list(dict.fromkeys(w for w in (m.lower() for m in WORD.findall(complaint_text or ""))
                              if w not in STOPWORDS))


# One prefix (longest first) or suffix, leaving at least MIN_CORE letters.
PREFIX = re.compile(r"^(?:%s)(?=\w{%d})" % ("|".join(PREFIXES), MIN_CORE))
SUFFIX = re.compile(r"(?<=\w{%d})(?:%s)$" % (MIN_CORE, "|".join(SUFFIXES)))


def _without_prefix(word: str) -> str:
    return PREFIX.sub("", PREFIX.sub("", word, count=1), count=1)  # di-per-baiki, ke-ber-hasil-an


@lru_cache(maxsize=65536)
def core(word: str) -> str:
    """A word without the commonest Indonesian prefixes and suffixes (a light stemmer: enough
    to meet the same word in another form, never shorter than MIN_CORE letters)."""
    return SUFFIX.sub("", _without_prefix(word), count=1)


def cores(words: list[str]) -> set[str]:
    return {core(w) for w in words}


def _dice(a: set[str], b: set[str]) -> float:
    """The Dice coefficient of two sets of word cores, a core counting as shared when the
    other set has one at least CORE_MATCH alike (rapidfuzz)."""
    if not a or not b:
        return 0.0
    smaller, larger = (a, b) if len(a) <= len(b) else (b, a)
    choices = list(larger)
    shared = sum(1 for word in smaller if word in larger
                 or process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=CORE_MATCH))
    return 2 * shared / (len(a) + len(b))


def _cores_of(complaint: Complaint) -> tuple[set[str], set[str]]:
    """The word cores of the title, and of the title, description and place together."""
    title = cores(significant_words(complaint.title))
    return title, title | cores(significant_words(
        f"{complaint.description}\n{complaint.incident_location or ''}"))


def _terms(complaint: Complaint) -> list[tuple[str, bool]]:
    """(term, is a prefix) for the candidate query: the significant words, title first, each
    with its root as a prefix when it has an Indonesian prefix."""
    words = significant_words(complaint.title) + significant_words(complaint.description)
    terms: dict[tuple[str, bool], None] = {}
    for word in dict.fromkeys(words):
        terms[(word, False)] = None
        root = _without_prefix(word)
        if root != word:
            terms[(root, True)] = None
        if len(terms) >= MAX_TERMS:
            break
    return list(terms)[:MAX_TERMS]


def offers_suggestions(actor: Actor, complaint: Complaint) -> bool:
    """Suggestions are for those who handle the complaint, while it is new (the initial state)."""
    return complaint.state == current_workflow().initial and can_add_note(actor, complaint)


def suggestions(actor: Actor, complaint: Complaint, now=None, limit: int = SHOWN) -> list[Suggestion]:
    """Open complaints of the same unit, received in the last WINDOW_DAYS, whose words are
    most like this one's, most alike first; never one the actor may not see, nor one already
    linked to it."""
    if not offers_suggestions(actor, complaint):
        return []
    terms = _terms(complaint)
    if not terms:
        return []
    ids = _candidate_ids(complaint, terms, (now or utcnow()) - timedelta(days=WINDOW_DAYS))
    linked = {c.id for c in _linked(complaint)}
    found = db.session.scalars(select(Complaint).options(joinedload(Complaint.unit))
                               .where(Complaint.id.in_([i for i in ids if i not in linked]))).unique().all()
    title, text_cores = _cores_of(complaint)
    ranked = []
    for other in found:
        if can_view(actor, other):
            other_title, other_text = _cores_of(other)
            ranked.append(Suggestion(other, TITLE_WEIGHT * _dice(title, other_title)
                                     + (1 - TITLE_WEIGHT) * _dice(text_cores, other_text)))
    ranked = [s for s in ranked if s.similarity >= MIN_SIMILARITY]
    ranked.sort(key=lambda s: (-s.similarity, -s.complaint.id))
    return ranked[:limit]


def _candidate_ids(complaint: Complaint, terms, since) -> list[int]:
    """The CANDIDATES best-ranked open complaints of the unit since `since` sharing a term."""
    return list(db.session.scalars(_candidate_statement(complaint, terms, since)))


def _candidate_statement(complaint: Complaint, terms, since):
    workflow = current_workflow()
    scope = (Complaint.unit_id == complaint.unit_id, Complaint.received_at >= since,
             Complaint.state.in_([s for s in workflow.states if s not in workflow.terminal_states]),
             Complaint.id != complaint.id)
    if db.engine.dialect.name == "postgresql":
        query = func.to_tsquery("simple", bindparam("terms", " | ".join(
            f"'{term}':*" if prefix else f"'{term}'" for term, prefix in terms)))
        vector = literal_column("complaints.search_vector")
        return (select(Complaint.id).where(*scope, vector.op("@@")(query))
                .order_by(func.ts_rank(vector, query).desc(), Complaint.id.desc()).limit(CANDIDATES))
    fts = table("complaint_text", column("rowid"))
    match = " OR ".join(f'"{term}"*' if prefix else f'"{term}"' for term, prefix in terms)
    return (select(Complaint.id).select_from(fts).join(Complaint, Complaint.id == fts.c.rowid)
            .where(text("complaint_text MATCH :match").bindparams(match=match), *scope)
            .order_by(text("bm25(complaint_text)"), Complaint.id.desc()).limit(CANDIDATES))



# --- related complaints ------------------------------------------------------------------


def _linked(complaint: Complaint) -> list[Complaint]:
    rows = db.session.execute(select(ComplaintLink.complaint_id, ComplaintLink.related_id).where(
        or_(ComplaintLink.complaint_id == complaint.id, ComplaintLink.related_id == complaint.id))).all()
    ids = {a if b == complaint.id else b for a, b in rows}
    if not ids:
        return []
    return db.session.scalars(select(Complaint).options(joinedload(Complaint.unit))
                              .where(Complaint.id.in_(ids)).order_by(Complaint.id)).unique().all()


def related(actor: Actor, complaint: Complaint) -> list[Complaint]:
    """The complaints linked to this one, from either side, that the actor may see."""
    return [other for other in _linked(complaint) if can_view(actor, other)]


def _other(actor: Actor, complaint: Complaint, code: str) -> Complaint:
    if not can_add_note(actor, complaint):
        raise Forbidden(str(_l("you may not link this complaint")))
    other = Complaint.by_code(normalise_code(code or "")) if (code or "").strip() else None
    if other is None or other.id == complaint.id or not can_view(actor, other):
        raise InvalidFields({"related": _l("must be the tracking code of another complaint")})
    return other


def _pair(complaint: Complaint, other: Complaint):
    low, high = sorted((complaint.id, other.id))
    return db.session.scalar(select(ComplaintLink).where(
        ComplaintLink.complaint_id == low, ComplaintLink.related_id == high)), low, high


def link(actor: Actor, complaint: Complaint, code: str) -> Complaint:
    """Link another complaint the actor may see to this one as related (audited); returns it."""
    other = _other(actor, complaint, code)
    existing, low, high = _pair(complaint, other)
    if existing is not None:
        raise InvalidFields({"related": _l("%(code)s is already linked", code=other.tracking_code)})
    try:
        with db.session.begin_nested():  # another officer linking the same pair at once
            db.session.add(ComplaintLink(complaint_id=low, related_id=high,
                                         created_by_id=actor.user.id if actor.user else None))
    except IntegrityError:
        raise InvalidFields({"related": _l("%(code)s is already linked", code=other.tracking_code)}) from None
    audit.record(db.session, "complaint.linked", actor=actor.label, unit=[complaint.unit, other.unit],
                 complaint=complaint.tracking_code, payload={"related": other.tracking_code})
    return other


def unlink(actor: Actor, complaint: Complaint, code: str) -> Complaint:
    """Remove the link between this complaint and another (audited); returns the other."""
    other = _other(actor, complaint, code)
    existing, _, _ = _pair(complaint, other)
    if existing is None:
        raise InvalidFields({"related": _l("%(code)s is not linked", code=other.tracking_code)})
    db.session.delete(existing)
    db.session.flush()
    audit.record(db.session, "complaint.unlinked", actor=actor.label, unit=[complaint.unit, other.unit],
                 complaint=complaint.tracking_code, payload={"related": other.tracking_code})
    return other


# --- closing as a duplicate ----------------------------------------------------------------


def duplicate_step(actor: Actor, complaint: Complaint):
    """(the step, its closure reason) that closes this complaint as a duplicate, if the actor
    may take it now: the workflow's reason requiring the `duplicate_of` field and a step
    allowed now offering it; None otherwise."""
    workflow = current_workflow()
    reason = next((name for name, needs in workflow.closure_requires.items() if FIELD in needs), None)
    if reason is None:
        return None
    for trigger in allowed_triggers(complaint, actor, workflow):
        transition = workflow.transition(trigger)
        if reason in transition.closure_reasons and FIELD in transition.requires + transition.accepts:
            return transition, reason
    return None


def duplicate_form(actor: Actor, complaint: Complaint, original_code: str) -> tuple[str, dict] | None:
    """(trigger, the step form's values) to close this complaint as a duplicate of the one
    named: the reason chosen, the original named, and a reason for the complainant in her
    language, which the officer may change before sending. None if the step is not offered."""
    found = duplicate_step(actor, complaint)
    if found is None:
        return None
    transition, reason = found
    with force_locale(language(complaint)):
        words = gettext("Your complaint concerns the same matter as another complaint that is already being "
                        "handled, so the two were merged. You can follow its progress on your complaint's page.")
        if complaint.complainant_email:
            words += " " + gettext("We will email you when it is closed.")
    values = {"closure_reason": reason, FIELD: normalise_code(original_code or "")}
    if "reason" in transition.requires + transition.accepts:
        values["reason"] = words
    return transition.trigger, values
