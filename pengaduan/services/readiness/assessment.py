"""Assess units against a rule set: for every unit and item, the finding of each piece of
evidence the item names and the item's status (the worst of them). Each source is asked once
for all units, so the cost grows with the items, not with units x items."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import current_app

from ...i18n import label
from ...models import Unit
from . import sources as _sources  # noqa: F401 - registers the sources
from .registry import SOURCES, STATUSES, Finding, worst
from .rules import Evidence, Item, RuleSet, load

_LOADED: dict[str, tuple[float, RuleSet]] = {}


def rules_path() -> str:
    return current_app.config["PENGADUAN_ASSESSMENT_RULES"]


def current_rules() -> RuleSet:
    """The rule set in force (PENGADUAN_ASSESSMENT_RULES), read again when the file changes."""
    path = rules_path()
    mtime = Path(path).stat().st_mtime
    cached = _LOADED.get(path)
    if cached is None or cached[0] != mtime:
        cached = _LOADED[path] = (mtime, load(path))
    return cached[1]


@dataclass
class Found:
    """One piece of evidence of an item, for one unit."""

    evidence: Evidence
    finding: Finding

    def missing_text(self, lang: str | None = None) -> str:
        """What is missing: the gaps the source found, else the rule file's words for it."""
        if self.finding.gaps:
            return "; ".join(str(gap) for gap in self.finding.gaps)
        return label(self.evidence.missing, lang)


@dataclass
class ItemResult:
    item: Item
    status: str
    found: list[Found]

    @property
    def missing(self) -> list[Found]:
        return [f for f in self.found if f.finding.status != "green"]


@dataclass
class UnitResult:
    unit: Unit
    items: list[ItemResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.items if r.status == status)

    @property
    def status(self) -> str:
        return worst(r.status for r in self.items)


@dataclass
class Assessment:
    rules: RuleSet
    on: date
    units: list[UnitResult]

    def item_counts(self) -> dict[str, dict[str, int]]:
        """{item id: {status: units}}."""
        counts = {item.id: dict.fromkeys(STATUSES, 0) for item in self.rules.items}
        for unit in self.units:
            for result in unit.items:
                counts[result.item.id][result.status] += 1
        return counts

    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys(STATUSES, 0)
        for unit in self.units:
            for status in STATUSES:
                totals[status] += unit.count(status)
        return totals


def assess(units: list[Unit], on: date, rules: RuleSet | None = None) -> Assessment:
    """Every unit's readiness on the day `on` under `rules` (default: the rules in force)."""
    rules = rules or current_rules()
    ctx = _sources.Context(on)
    findings: list[list[dict[int, Finding]]] = [
        [SOURCES[e.source].evaluate(ctx, units, e.params) if units else {} for e in item.evidence]
        for item in rules.items]
    results = []
    for unit in units:
        items = []
        for item, per_evidence in zip(rules.items, findings):
            found = [Found(e, f[unit.id]) for e, f in zip(item.evidence, per_evidence)]
            items.append(ItemResult(item, worst(x.finding.status for x in found), found))
        results.append(UnitResult(unit, items))
    return Assessment(rules, on, results)


CSV_COLUMNS = ["as_of", "rules", "unit", "unit_name", "item", "item_label", "item_status", "source",
               "status", "count", "latest", "found", "missing"]


def csv_rows(assessment: Assessment, lang: str | None = None):
    """readiness.csv: one line per unit, item and piece of evidence; statuses as the words
    green, amber, red; texts in `lang` (default: the reader's)."""
    for unit in assessment.units:
        for result in unit.items:
            for found in result.found:
                f = found.finding
                yield [assessment.on.isoformat(), assessment.rules.name, unit.unit.code, unit.unit.name,
                       result.item.id, label(result.item.label, lang), result.status, found.evidence.source,
                       f.status, "" if f.count is None else f.count, f.latest.isoformat() if f.latest else "",
                       str(f.detail), "" if f.status == "green" else found.missing_text(lang)]
