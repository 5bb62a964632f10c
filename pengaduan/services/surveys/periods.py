"""Reporting periods written as offices write them: `2026` (a year), `2026-S1` (a semester),
`2026-Q3` (a quarter); and the Krejcie-Morgan sample target of a survey period."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

_PATTERN = re.compile(r"^(\d{4})(?:-(S[12]|Q[1-4]))?$")


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # the last day, inclusive

    @property
    def kind(self) -> str:
        """`year`, `semester` or `quarter`."""
        return "year" if "-" not in self.label else "semester" if "-S" in self.label else "quarter"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


def _last_day(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def parse(text: str) -> Period:
    """The period written `text`; ValueError when it is not `YYYY`, `YYYY-S1|S2` or
    `YYYY-Q1..Q4` (a year from 2000 to 2999)."""
    match = _PATTERN.match((text or "").strip().upper())
    if not match or not 2000 <= int(match.group(1)) <= 2999:
        raise ValueError(f"not a period (2026, 2026-S1 or 2026-Q3): {text!r}")
    year, part = int(match.group(1)), match.group(2)
    if part is None:
        return Period(str(year), date(year, 1, 1), date(year, 12, 31))
    months = 6 if part[0] == "S" else 3
    first = (int(part[1]) - 1) * months + 1
    return Period(f"{year}-{part}", date(year, first, 1), _last_day(year, first + months - 1))


def containing(day: date, kind: str) -> Period:
    """The year, semester or quarter that contains `day`."""
    if kind == "year":
        return parse(str(day.year))
    if kind == "semester":
        return parse(f"{day.year}-S{(day.month - 1) // 6 + 1}")
    return parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def within(period: Period) -> list[Period]:
    """The period and every shorter period inside it (a year: its semesters and quarters)."""
    result = [period]
    year = period.start.year
    if period.kind == "year":
        result += [parse(f"{year}-S{i}") for i in (1, 2)] + [parse(f"{year}-Q{i}") for i in range(1, 5)]
    elif period.kind == "semester":
        half = int(period.label[-1])
        result += [parse(f"{year}-Q{i}") for i in (2 * half - 1, 2 * half)]
    return result


def around(day: date) -> list[Period]:
    """The year, semester and quarter that contain `day`."""
    return [containing(day, kind) for kind in ("year", "semester", "quarter")]


def recent(today: date, years: int = 3) -> list[Period]:
    """Every period of the last `years` years up to the one running on `today`, newest
    first: what a period picker offers."""
    result = []
    for year in range(today.year, today.year - years, -1):
        for label in [f"{year}-Q{i}" for i in (4, 3, 2, 1)] + [f"{year}-S{i}" for i in (2, 1)] + [str(year)]:
            period = parse(label)
            if period.start <= today:
                result.append(period)
    return result


# Krejcie and Morgan (1970): chi-square for one degree of freedom at 95 %, P = 0.5, d = 0.05.
CHI_SQUARE, P, D = Fraction("3.841"), Fraction(1, 2), Fraction(5, 100)


def sample_target(population: int) -> int:
    """The respondents needed for `population` service users, rounded up
    (100 -> 80, 1,000 -> 278, 10,000 -> 370); computed exactly."""
    if population <= 0:
        return 0
    share = P * (1 - P)
    size = CHI_SQUARE * population * share / (D * D * (population - 1) + CHI_SQUARE * share)
    return math.ceil(size)
