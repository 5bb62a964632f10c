"""The Indeks Kepuasan Masyarakat of PermenPANRB 14/2017, exactly (domain.md section 9).

NRR of an element = the sum of its scores / the respondents who answered it. IKM = the sum of
the NRR x 1/9 (an interval value from 1 to 4), x 25 for the converted value. Everything is a
Fraction until the converted value is rounded once, half up, to two decimals; the grade is read
from that rounded value. An element nobody answered is left out and the weight becomes 1 over
the elements answered (`complete` is then False, and the report says so).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from ...models import ELEMENTS

# (lowest converted value, mutu, kinerja in Indonesian and English), best first.
GRADES = (
    (Decimal("88.31"), "A", "Sangat baik", "Very good"),
    (Decimal("76.61"), "B", "Baik", "Good"),
    (Decimal("65.00"), "C", "Kurang baik", "Poor"),
    (Decimal("25.00"), "D", "Tidak baik", "Bad"),
)


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """`value` rounded once, half up, to `places` decimals (exact: no float on the way)."""
    scale = 10 ** places
    units = math.floor(value * scale + Fraction(1, 2))
    return Decimal(units).scaleb(-places)


def grade(converted: Decimal) -> tuple[str, str, str]:
    """(mutu, kinerja in Indonesian, in English) of a converted IKM already rounded."""
    for lowest, mutu, kinerja_id, kinerja_en in GRADES:
        if converted >= lowest:
            return mutu, kinerja_id, kinerja_en
    return GRADES[-1][1:]


@dataclass
class Ikm:
    """The IKM of a set of questionnaires. `totals[code]` and `answered[code]`: the sum of the
    scores of an element and how many answered it."""
    respondents: int
    totals: dict[str, int] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)

    def nrr(self, code: str) -> Fraction | None:
        return Fraction(self.totals[code], self.answered[code]) if self.answered.get(code) else None

    def nrr_rounded(self, code: str) -> Decimal | None:
        """The NRR for display: rounded half up to two decimals (never used in the sum)."""
        value = self.nrr(code)
        return None if value is None else round_half_up(value)

    @property
    def elements(self) -> list[str]:
        """The elements someone answered."""
        return [code for code in ELEMENTS if self.answered.get(code)]

    @property
    def complete(self) -> bool:
        return len(self.elements) == len(ELEMENTS)

    @property
    def interval(self) -> Fraction | None:
        """The unrounded interval value (1 to 4)."""
        codes = self.elements
        return sum((self.nrr(code) for code in codes), Fraction(0)) / len(codes) if codes else None

    @property
    def converted(self) -> Decimal | None:
        """The converted IKM (25 to 100), rounded once, half up, to two decimals."""
        interval = self.interval
        return None if interval is None else round_half_up(interval * 25)

    @property
    def mutu(self) -> str | None:
        return None if self.converted is None else grade(self.converted)[0]

    def lowest(self, count: int = 3) -> list[str]:
        """The `count` elements with the lowest NRR (ties in code order)."""
        return sorted(self.elements, key=lambda code: (self.nrr(code), ELEMENTS.index(code)))[:count]

    def as_json(self, unit: str, period: str) -> dict:
        """What `skm report --format json` prints: every element U1..U9 in "nrr", null for one
        nobody answered."""
        rounded = {code: self.nrr_rounded(code) for code in ELEMENTS}
        return {"unit": unit, "period": period, "respondents": self.respondents,
                "nrr": {code: None if value is None else float(value) for code, value in rounded.items()},
                "ikm": None if self.converted is None else float(self.converted), "mutu": self.mutu}


def from_totals(respondents: int, totals: dict[str, int], answered: dict[str, int]) -> Ikm:
    return Ikm(respondents, {c: int(totals.get(c) or 0) for c in ELEMENTS},
               {c: int(answered.get(c) or 0) for c in ELEMENTS})


def from_scores(rows) -> Ikm:
    """The IKM of questionnaires given as rows of nine scores (None: not answered)."""
    rows = list(rows)
    totals = {code: sum(row[i] for row in rows if row[i] is not None) for i, code in enumerate(ELEMENTS)}
    answered = {code: sum(1 for row in rows if row[i] is not None) for i, code in enumerate(ELEMENTS)}
    return from_totals(len(rows), totals, answered)
