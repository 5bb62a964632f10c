"""The publishing rules of domain.md section 12, applied to raw figures (figures.py) on the
way to the page and the CSV, so neither can show what the rules hide:

- confidential complaints: the totals count every complaint, confidential ones included
  (received, finished and its share, the time limits and their on-time shares, the complaints
  closed and their days to close, the ratings and their average, each unit's received, closed
  and time limits); the breakdowns leave them out (by channel, type, category and state, and so
  the most frequent categories: figures.py takes them out);
- a count from 1 to 4 is shown as "<5" (0 is shown: it exposes nobody), and a share or an
  average worked out from a hidden count is hidden too (the average rating is shown only when
  no star count is hidden);
- subtraction, within a breakdown (by channel, type, category, state, and the ratings per
  star): its cells add up to a total that is published or can be worked out (received less
  confidential; when the finished count is shown, the states counted as finished and the
  others are also checked as two groups). After "<5", `safe` asks whether a count from 1 to 4
  could be pinned to a single value from that total, the cells shown, and what the rule
  itself tells about the hidden ones ("<5" is 1 to 4; a cell hidden as "hidden" is at least 5
  and at most the smallest count still shown, or 0 once no non-zero count is shown). While one
  could, the smallest non-zero count shown is hidden ("hidden"); when none is left, the
  zeros; and if that is not enough, every cell of the breakdown is hidden (its rows stay,
  "hidden"). Left: a breakdown of a single line, whose count is its total;
- not protected by the subtraction rule, by choice: each unit's received and closed in the
  table of every unit (only "<5": the unit's own page publishes its totals anyway, so the
  figures of both pages agree), the late clocks of a time limit (counted less on time), and
  the number of confidential complaints (the total less a breakdown without a hidden cell).
  Suppression is per table: a unit's or a quarter's total can be worked out by differencing
  pages (every unit less the others, a year less its other quarters): figures about the
  office's workload, not about a person;
- units are listed by name, and ranked (by their on-time share) only among the units with at
  least 10 complaints received in the period; the others are marked "not ranked".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ...i18n import lazy_gettext as _l

SMALL = 5  # a count under this is shown as "<5"
RANKED_FROM = 10  # complaints received in the period before a unit is ranked
TOP_CATEGORIES = 5
LESS_THAN_FIVE, HIDDEN = "<5", "hidden"  # the CSV's words for a suppressed count


@dataclass(frozen=True)
class Cell:
    """A published count: `value`, or None and `mark` (LESS_THAN_FIVE or HIDDEN)."""
    value: int | None
    mark: str | None = None

    @property
    def shown(self) -> bool:
        return self.value is not None

    def csv(self) -> str:
        return str(self.value) if self.value is not None else str(self.mark)


def count(n: int) -> Cell:
    return Cell(None, LESS_THAN_FIVE) if 0 < n < SMALL else Cell(n)


def _merged(intervals: list[tuple]) -> list[tuple]:
    """Integer intervals (low, high; high None: no bound) joined where they touch."""
    result: list[list] = []
    for low, high in sorted(intervals, key=lambda i: i[0]):
        if result and (result[-1][1] is None or low <= result[-1][1] + 1):
            if result[-1][1] is not None and (high is None or high > result[-1][1]):
                result[-1][1] = high
        else:
            result.append([low, high])
    return [tuple(i) for i in result]


def _sums(domains: list[list[tuple]], cap: int) -> list[tuple]:
    """The values a sum of cells can take, each cell's values given as intervals, up to `cap`."""
    reachable = [(0, 0)]
    for domain in domains:
        reachable = _merged([(a + c, None if b is None or d is None else min(b + d, cap))
                             for a, b in reachable for c, d in domain if a + c <= cap])
    return reachable


def safe(cells: dict, counts: dict, loose: set = frozenset()) -> bool:
    """Whether no count from 1 to 4 of a breakdown can be worked out from its total (known)
    and the cells shown: each could still take two values or more. What the rule says of the
    hidden cells is known too: "<5" is 1 to 4; a cell hidden as "hidden" is at least 5 and at
    most the smallest non-zero count still shown, or 0 or at least 5 once none is shown; a cell
    of a breakdown hidden whole (`loose`) could be anything."""
    rest = sum(counts.values()) - sum(cell.value for cell in cells.values() if cell.shown)
    shown = [cell.value for cell in cells.values() if cell.shown and cell.value]
    anything = [(0, None)]

    def domain(key, strict: bool):
        if cells[key].mark == LESS_THAN_FIVE:
            return [(1, SMALL - 1)]
        if key in loose or not strict:
            return anything
        return [(SMALL, min(shown))] if shown else [(0, 0), (SMALL, None)]

    for key, n in counts.items():
        if not 0 < n < SMALL:
            continue
        strict = cells[key].mark == LESS_THAN_FIVE  # else hidden whole: only the total tells
        others = [domain(k, strict) for k, cell in cells.items() if k != key and not cell.shown]
        reachable = _sums(others, rest)
        values = range(1, SMALL) if strict else range(0, rest + 1)
        if sum(1 for v in values if any(low <= rest - v and (high is None or rest - v <= high)
                                        for low, high in reachable)) < 2:
            return False
    return True


def breakdown(counts: dict, groups: list = ()) -> dict:
    """Each count as a Cell: "<5" from 1 to 4, and more hidden until `safe` (the module's
    notes), in the whole breakdown and in each group of its keys whose total is known too."""
    cells = {key: count(n) for key, n in counts.items()}
    loose: set = set()
    scopes = [set(counts)] + [set(group) & set(counts) for group in groups]
    for _ in range(2 * len(counts) + 2 * len(scopes)):  # each turn hides something, or gives up
        scope = next((sc for sc in scopes if not safe({k: cells[k] for k in sc}, {k: counts[k] for k in sc},
                                                      loose & sc)), None)
        if scope is None:
            break
        shown = sorted((counts[k], str(k)) for k in scope if cells[k].shown and counts[k])
        if shown:
            key = next(k for k in scope if str(k) == shown[0][1])
            cells[key] = Cell(None, HIDDEN)
        elif any(cells[k].shown for k in scope):
            cells.update({k: Cell(None, HIDDEN) for k in scope if cells[k].shown})
        elif scope - loose:
            cells.update({k: Cell(None, HIDDEN) for k in scope})
            loose |= scope
        else:  # hidden whole and still given back by its total: a single line (see the README)
            scopes.remove(scope)
    return cells


def share(part: Cell, whole: Cell) -> float | None:
    """part / whole, or None when either is hidden or the whole is 0."""
    if not part.shown or not whole.shown or not whole.value:
        return None
    return part.value / whole.value


def ordered(cells: dict) -> list[tuple]:
    """(key, Cell) largest first; the hidden ones after, by key (their order would tell)."""
    shown = sorted(((k, c) for k, c in cells.items() if c.shown), key=lambda kc: (-kc[1].value, str(kc[0])))
    return shown + sorted(((k, c) for k, c in cells.items() if not c.shown), key=lambda kc: str(kc[0]))


@dataclass
class Stage:
    rule: str
    label: dict
    on_time: Cell
    counted: Cell
    rate: float | None


@dataclass
class UnitLine:
    code: str
    name: str
    received: Cell
    closed: Cell
    on_time: Cell
    counted: Cell
    rate: float | None
    ranked: bool  # enough complaints to be ranked
    rank: int | None = None
    ikm_respondents: Cell | None = None
    ikm: str | None = None  # the converted IKM, "91.48"
    mutu: str | None = None


@dataclass
class Published:
    period: str
    start: str
    end: str
    unit: dict | None
    computed_at: datetime | None
    received: Cell
    confidential: Cell
    finished: Cell
    finished_share: float | None
    by_channel: list
    by_classification: list
    by_category: list
    by_state: list
    top_categories: list
    stages: list[Stage]
    closed: Cell
    median_days: float | None
    p90_days: float | None
    ratings: list  # (stars, Cell), 5 down to 1
    rated: Cell
    average_rating: float | None
    ikm_respondents: Cell | None
    ikm: str | None
    mutu: str | None
    units: list[UnitLine] = field(default_factory=list)

    @property
    def ranking(self) -> list[UnitLine]:
        """The ranked units, best first."""
        return sorted((u for u in self.units if u.rank is not None), key=lambda u: (u.rank, u.name.casefold()))


def _ikm(data: dict | None) -> tuple[Cell | None, str | None, str | None]:
    if not data:
        return Cell(0), None, None
    respondents = count(data["respondents"])
    if not respondents.shown:
        return respondents, None, None
    return respondents, data["converted"], data["mutu"]


def _units(lines: list[dict]) -> list[UnitLine]:
    # Only "<5", no cell hidden to protect another: the unit's own page publishes its totals.
    received = {line["code"]: count(line["received"]) for line in lines}
    closed = {line["code"]: count(line["closed"]) for line in lines}
    result = []
    for line in lines:  # by name already (figures.py)
        on_time, counted = count(line["on_time"]), count(line["counted"])
        respondents, ikm, mutu = _ikm(line.get("ikm"))
        result.append(UnitLine(line["code"], line["name"], received[line["code"]], closed[line["code"]],
                               on_time, counted, share(on_time, counted),
                               line["received"] >= RANKED_FROM, None, respondents, ikm, mutu))
    rated = sorted((u for u in result if u.ranked and u.rate is not None), key=lambda u: -u.rate)
    for position, line in enumerate(rated):
        # Ties share a rank (1, 2, 2, 4): no unit is put above another with the same share.
        line.rank = position + 1 if position == 0 or line.rate != rated[position - 1].rate \
            else rated[position - 1].rank
    return result


def _finished_groups(figures: dict, finished: Cell) -> list:
    """The states' groups whose totals are published: with the finished count shown, those
    counted as finished and the others (received less confidential less finished)."""
    terminal = set(figures.get("terminal", ()))
    return [terminal, set(figures["by_state"]) - terminal] if finished.shown else []


def publish(figures: dict, computed_at: datetime | None) -> Published:
    """The figures as they may be published."""
    received, confidential, finished = count(figures["received"]), count(figures["confidential"]), \
        count(figures["finished"])
    stages = []
    for stage in figures["stages"]:
        on_time, counted = count(stage["on_time"]), count(stage["counted"])
        stages.append(Stage(stage["rule"], stage["label"], on_time, counted, share(on_time, counted)))
    closed = count(figures["close_days"]["closed"])
    ratings = breakdown({stars: figures["ratings"].get(str(stars), 0) for stars in range(5, 0, -1)})
    rated = count(sum(figures["ratings"].values()))
    average = None
    if rated.value and all(cell.shown for cell in ratings.values()):
        # Only with every star count shown: with one hidden, the average and the count rated
        # could give it back (4, 2 and 1 hidden, 7 rated, average 4.4: one solution).
        average = round(sum(int(k) * v for k, v in figures["ratings"].items()) / rated.value, 1)
    by_category = breakdown(figures["by_category"])
    respondents, ikm, mutu = _ikm(figures.get("ikm")) if figures.get("unit") else (None, None, None)
    days_shown = closed.shown and closed.value
    return Published(
        figures["period"], figures["start"], figures["end"], figures.get("unit"), computed_at,
        received, confidential, finished, share(finished, received),
        ordered(breakdown(figures["by_channel"])), ordered(breakdown(figures["by_classification"])),
        ordered(by_category), ordered(breakdown(figures["by_state"], _finished_groups(figures, finished))),
        [(k, c) for k, c in ordered(by_category) if c.shown][:TOP_CATEGORIES],
        stages, closed,
        figures["close_days"]["median"] if days_shown else None,
        figures["close_days"]["p90"] if days_shown else None,
        list(ratings.items()), rated, average, respondents, ikm, mutu,
        _units(figures.get("units") or []))


# The data dictionary: every measure of the CSV, its dimension and what it means. The page
# /statistik/kamus-data lists it; the CSV's rows use these names and nothing else.
MEASURES = [
    ("received", "", _l("Complaints received in the period (confidential ones included; a complaint "
                        "closed as a duplicate counts once, with its original).")),
    ("confidential", "", _l("Of those, complaints filed as confidential: counted in the totals only, in "
                            "no breakdown.")),
    ("finished", "", _l("Of the complaints received in the period, those finished (closed) by the time "
                        "of the figures.")),
    ("finished_share", "", _l("finished / received, from 0 to 1.")),
    ("by_channel", _l("channel code"), _l("Complaints received, by the channel they came through "
                                          "(confidential ones left out).")),
    ("by_classification", _l("type code"), _l("Complaints received, by type: complaint, suggestion, "
                                              "information request (confidential ones left out).")),
    ("by_category", _l("category name"), _l("Complaints received, by category (confidential ones left out).")),
    ("by_state", _l("state code"), _l("Complaints received, by their state at the time of the figures "
                                      "(confidential ones left out).")),
    ("on_time", _l("time limit code"), _l("Time limits met: clocks of the stage that stopped in the "
                                          "period within their limit.")),
    ("counted", _l("time limit code"), _l("Time limits counted: clocks that stopped in the period plus "
                                          "those running past their deadline at its end (or now).")),
    ("on_time_share", _l("time limit code"), _l("on_time / counted, from 0 to 1.")),
    ("closed", "", _l("Complaints closed in the period (whenever they were received).")),
    ("close_days_median", "", _l("Days from receipt to closure of the complaints closed in the period: "
                                 "the median (half were closed within it).")),
    ("close_days_p90", "", _l("The same, 90th percentile (nine in ten were closed within it).")),
    ("rating", _l("stars, 1 to 5"), _l("Complainants' ratings of the complaints closed in the period, "
                                       "by number of stars.")),
    ("rated", "", _l("Ratings given on the complaints closed in the period.")),
    ("rating_average", "", _l("The average number of stars, to one decimal; empty when a star count is hidden.")),
    ("ikm_respondents", "", _l("SKM questionnaires answered in survey periods within the period.")),
    ("ikm", "", _l("The converted IKM (Indeks Kepuasan Masyarakat, 25 to 100; PermenPANRB 14/2017).")),
    ("ikm_mutu", "", _l("The IKM's grade: A (88.31-100), B (76.61-88.30), C (65.00-76.60), D (25.00-64.99).")),
    ("rank", "", _l("The unit's place by on-time share among the units with at least 10 complaints "
                    "received in the period; empty for the others.")),
]
COLUMNS = [
    ("period", _l("The period: 2026 (a year), 2026-S1 (a semester) or 2026-Q3 (a quarter).")),
    ("unit", _l("The unit's code, or \"all\" for the figures of every unit together.")),
    ("measure", _l("What is counted: one of the measures below.")),
    ("dimension", _l("The item of a breakdown (a channel, a category, a time limit...); empty for a total.")),
    ("value", _l("A number (shares from 0 to 1, days with two decimals), \"<5\" for a count from 1 to 4, "
                 "\"hidden\" for a count hidden so that one under 5 cannot be worked out by subtraction, "
                 "or empty when there is nothing to count.")),
]


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def csv_rows(published: Published):
    """The figures as rows (period, unit, measure, dimension, value), the same suppression as
    the page."""
    period = published.period
    scope = published.unit["code"] if published.unit else "all"
    yield ("period", "unit", "measure", "dimension", "value")
    yield (period, scope, "received", "", published.received.csv())
    yield (period, scope, "confidential", "", published.confidential.csv())
    yield (period, scope, "finished", "", published.finished.csv())
    yield (period, scope, "finished_share", "", _number(published.finished_share, 4))
    for name in ("by_channel", "by_classification", "by_category", "by_state"):
        for key, cell in getattr(published, name):
            yield (period, scope, name, key, cell.csv())
    for stage in published.stages:
        yield (period, scope, "on_time", stage.rule, stage.on_time.csv())
        yield (period, scope, "counted", stage.rule, stage.counted.csv())
        yield (period, scope, "on_time_share", stage.rule, _number(stage.rate, 4))
    yield (period, scope, "closed", "", published.closed.csv())
    yield (period, scope, "close_days_median", "", _number(published.median_days, 2))
    yield (period, scope, "close_days_p90", "", _number(published.p90_days, 2))
    for stars, cell in published.ratings:
        yield (period, scope, "rating", str(stars), cell.csv())
    yield (period, scope, "rated", "", published.rated.csv())
    yield (period, scope, "rating_average", "", _number(published.average_rating, 1))
    if published.unit:
        yield (period, scope, "ikm_respondents", "", published.ikm_respondents.csv())
        yield (period, scope, "ikm", "", published.ikm or "")
        yield (period, scope, "ikm_mutu", "", published.mutu or "")
    for line in published.units:
        yield (period, line.code, "received", "", line.received.csv())
        yield (period, line.code, "closed", "", line.closed.csv())
        yield (period, line.code, "on_time", "", line.on_time.csv())
        yield (period, line.code, "counted", "", line.counted.csv())
        yield (period, line.code, "on_time_share", "", _number(line.rate, 4))
        yield (period, line.code, "rank", "", "" if line.rank is None else str(line.rank))
        yield (period, line.code, "ikm_respondents", "", line.ikm_respondents.csv())
        yield (period, line.code, "ikm", "", line.ikm or "")
        yield (period, line.code, "ikm_mutu", "", line.mutu or "")
