"""The quarterly complaint evaluation report (laporan evaluasi pengaduan): a quarter's closed
complaints of a unit (or of several) grouped by recurring root cause, by form of
maladministration, by category and by unit, each group with the quarter before for comparison,
its systemic complaints, example complaints and the improvement actions that answer it; and the
closed complaints that still lack a finding.

Root causes are free text: complaints share a cause when their words match once case, spacing and
punctuation are set aside. A confidential complaint's words (its cause, its title) are shown only
to whom policy allows; it still counts everywhere."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...i18n import label
from ...i18n import lazy_gettext as _l
from ...models import Complaint, SupervisionAction, SupervisionRecord, Unit
from ...policy import Actor, sees_complaint_content
from ...workflow import current_workflow
from ..oversight.improvement import status_counts
from ..oversight.reports import bounds
from ..surveys.periods import Period, parse
from .findings import finding_closures

SECTIONS = ("cause", "form", "category", "unit")
EXAMPLES = 5  # complaint codes shown per group
GAP_LIMIT = 200  # closed complaints without a finding listed (all are counted)


def quarter(text: str) -> Period:
    """The quarter written `2026-Q3`; ValueError for anything else."""
    period = parse(text)
    if period.kind != "quarter":
        raise ValueError(f"not a quarter (2026-Q3): {text!r}")
    return period


def previous_quarter(period: Period) -> Period:
    year, q = period.start.year, int(period.label[-1])
    return parse(f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}")


def cause_key(text: str | None) -> str:
    """The group of a root cause: its words compared in lower case, letters and digits only, as a
    digest (a key in a form or a CSV never carries a confidential complaint's words)."""
    words = " ".join(re.sub(r"[^\w]+", " ", (text or "").casefold()).split())
    return hashlib.sha256(words.encode("utf-8")).hexdigest()[:16]


@dataclass
class Example:
    code: str
    title: str | None  # None: confidential, not shown to this reader
    systemic: bool


@dataclass
class Group:
    section: str
    key: str  # what an action names: "<section>:<code or words>"
    label: str | None  # None: the words of confidential complaints only
    founded: int = 0
    closed: int = 0
    previous: int = 0  # founded in the quarter before
    systemic: int = 0
    examples: list[Example] = field(default_factory=list)
    actions: list[SupervisionAction] = field(default_factory=list)

    @property
    def recurring(self) -> bool:
        """Found more than once this quarter, or found again after the quarter before."""
        return self.founded > 1 or (self.founded > 0 and self.previous > 0)


@dataclass
class Evaluation:
    period: Period
    previous_period: Period
    units: list[Unit]  # the units covered
    unit: Unit | None  # the one unit of a unit's report
    closed: int = 0
    founded: int = 0
    unfounded: int = 0
    systemic: int = 0
    previous_closed: int = 0
    previous_founded: int = 0
    groups: dict[str, list[Group]] = field(default_factory=dict)
    gaps: list[Complaint] = field(default_factory=list)  # closed, a finding expected, none recorded
    gap_count: int = 0
    record: SupervisionRecord | None = None
    actions: list[SupervisionAction] = field(default_factory=list)

    @property
    def action_counts(self) -> dict[str, int]:
        return status_counts(self.actions)

    def group(self, key: str) -> Group | None:
        return next((g for groups in self.groups.values() for g in groups if g.key == key), None)


def _closed_in(period: Period, units: list[Unit]) -> list[Complaint]:
    since, until = bounds(period.start, period.end)
    return list(db.session.scalars(
        select(Complaint).where(Complaint.closed_at >= since, Complaint.closed_at < until,
                                Complaint.unit_id.in_([u.id for u in units]),
                                Complaint.duplicate_of_id.is_(None))
        .options(selectinload(Complaint.category), selectinload(Complaint.unit))
        .order_by(Complaint.closed_at, Complaint.id)))


def record_for(unit: Unit, period: Period) -> SupervisionRecord | None:
    """The supervision record holding the unit's improvement actions for the quarter, if any."""
    from ..oversight.supervision import EVALUATION_KIND
    from ...models.supervision import supervision_units
    return db.session.scalars(
        select(SupervisionRecord).join(supervision_units, supervision_units.c.record_id == SupervisionRecord.id)
        .where(SupervisionRecord.kind == EVALUATION_KIND, SupervisionRecord.evaluation_period == period.label,
               supervision_units.c.unit_id == unit.id)
        .order_by(SupervisionRecord.id).limit(1)).first()


def group_counts(unit: Unit, period: Period) -> dict[str, tuple[int, int]]:
    """Every group of the unit's report of `period` (whoever reads it): key -> (founded this
    quarter, founded in the quarter before)."""
    workflow = current_workflow()
    counts: dict[str, list[int]] = {}
    for index, quarter_ in enumerate((period, previous_quarter(period))):
        for complaint in _closed_in(quarter_, [unit]):
            founded = bool(workflow.finding_requires.get(complaint.finding))
            for _section, key, _words in _keys(complaint, workflow):
                if index == 0:
                    counts.setdefault(key, [0, 0])[0] += founded
                elif key in counts:
                    counts[key][1] += founded
    return {key: (now, before) for key, (now, before) in counts.items()}


def recurring_groups(unit: Unit, period: Period) -> int:
    """How many groups of the unit's report of `period` recur (Group.recurring)."""
    return sum(1 for now, before in group_counts(unit, period).values() if now > 1 or (now and before))


def _keys(complaint: Complaint, workflow) -> list[tuple[str, str, str | None]]:
    """(section, key, label) of each group a closed complaint belongs to."""
    keys = []
    founded = bool(workflow.finding_requires.get(complaint.finding))
    if founded and complaint.root_cause:
        keys.append(("cause", f"cause:{cause_key(complaint.root_cause)}", complaint.root_cause.strip()))
    if founded and complaint.maladministration:
        keys.append(("form", f"form:{complaint.maladministration}",
                     label(workflow.maladministration.get(complaint.maladministration)) or complaint.maladministration))
    if complaint.category is not None:
        keys.append(("category", f"category:{complaint.category.code}", complaint.category.name))
    keys.append(("unit", f"unit:{complaint.unit.code}", complaint.unit.name))
    return keys


def evaluation(actor: Actor, units: list[Unit], period: Period, unit: Unit | None = None) -> Evaluation:
    """The report of `period` for `units` (`unit`: the one unit of a unit's report), as `actor`
    may read it."""
    workflow = current_workflow()
    before = previous_quarter(period)
    result = Evaluation(period, before, units, unit)
    expected = finding_closures(workflow)
    groups: dict[str, Group] = {}
    for complaint in _closed_in(period, units):
        result.closed += 1
        founded = bool(workflow.finding_requires.get(complaint.finding))
        result.founded += founded
        result.unfounded += complaint.finding is not None and not founded
        result.systemic += bool(founded and complaint.systemic)
        if complaint.finding is None and complaint.closure_reason in expected:
            result.gap_count += 1
            if len(result.gaps) < GAP_LIMIT:
                result.gaps.append(complaint)
        visible = sees_complaint_content(actor, complaint)
        for section, key, words in _keys(complaint, workflow):
            group = groups.get(key)
            content = section == "cause"  # a cause's words are the complaint's content
            if group is None:
                group = groups[key] = Group(section, key, words if visible or not content else None)
            elif group.label is None and visible:
                group.label = words
            group.closed += 1
            if founded:
                group.founded += 1
                group.systemic += bool(complaint.systemic)
                if len(group.examples) < EXAMPLES:
                    group.examples.append(Example(complaint.tracking_code, complaint.title if visible else None,
                                                  bool(complaint.systemic)))
    for complaint in _closed_in(before, units):
        result.previous_closed += 1
        founded = bool(workflow.finding_requires.get(complaint.finding))
        result.previous_founded += founded
        for _section, key, _words in _keys(complaint, workflow):
            if key in groups and founded:
                groups[key].previous += 1
    if unit is not None:
        result.record = record_for(unit, period)
        result.actions = list(result.record.actions) if result.record else []
        for action in result.actions:
            if action.evaluation_group in groups:
                groups[action.evaluation_group].actions.append(action)
    for section in SECTIONS:
        rows = [g for g in groups.values() if g.section == section and (g.founded or section in ("category", "unit"))]
        rows.sort(key=lambda g: (-g.founded, -g.systemic, -g.closed, g.label or "~"))
        result.groups[section] = rows
    return result


SECTION_TITLES = {"cause": _l("Root causes"), "form": _l("Forms of maladministration"),
                  "category": _l("Categories"), "unit": _l("Units")}


def csv_rows(report: Evaluation) -> list[list]:
    """The report as rows: the totals, every group, the actions, the complaints lacking a finding."""
    rows: list[list] = [
        [str(_l("Complaint evaluation report")), report.unit.code if report.unit else str(_l("All units")),
         report.period.label],
        ["closed", report.closed, "founded", report.founded, "unfounded", report.unfounded,
         "systemic", report.systemic, "previous_closed", report.previous_closed,
         "previous_founded", report.previous_founded, "without_finding", report.gap_count],
        ["section", "group", "label", "founded", "closed", f"founded_{report.previous_period.label}",
         "systemic", "recurring", "examples", "actions"],
    ]
    for section in SECTIONS:
        for g in report.groups.get(section, []):
            rows.append([section, g.key, g.label if g.label is not None else str(_l("(confidential)")),
                         g.founded, g.closed, g.previous, g.systemic, "yes" if g.recurring else "no",
                         " ".join(e.code for e in g.examples), len(g.actions)])
    rows.append([])
    rows.append(["action", "group", "description", "owner", "due_on", "status", "completed_on", "evidence"])
    for a in report.actions:
        rows.append([a.id, a.evaluation_group, a.description, a.owner, a.due_on.isoformat() if a.due_on else "",
                     a.status, a.completed_on.isoformat() if a.completed_on else "", a.evidence or ""])
    rows.append([])
    rows.append(["without_finding", "tracking_code", "closure_reason", "closed_at"])
    for c in report.gaps:
        rows.append(["without_finding", c.tracking_code, c.closure_reason, c.closed_at.isoformat()])
    return rows


def pack_rows(report: Evaluation):
    """The report as the evidence pack keeps it (columns: verify_pack.EVALUATION_COLUMNS): a
    `total` row, a row per group, a row per closed complaint lacking a finding."""
    yield ["total", "", "", report.founded, report.closed, report.previous_founded, report.systemic, "", ""]
    for section in SECTIONS:
        for g in report.groups.get(section, []):
            yield [section, g.key, g.label if g.label is not None else "", g.founded, g.closed, g.previous,
                   g.systemic, "yes" if g.recurring else "no", " ".join(e.code for e in g.examples)]
    for c in report.gaps:
        yield ["without_finding", c.closure_reason or "", "", 0, 1, 0, 0, "", c.tracking_code]


def pack_action_rows(report: Evaluation):
    """The unit's improvement actions of the quarter (columns: verify_pack.EVALUATION_ACTION_COLUMNS)."""
    for a in report.actions:
        yield [a.id, report.unit.code, report.period.label, a.evaluation_group, a.description, a.owner,
               a.due_on.isoformat() if a.due_on else "", a.status,
               a.completed_on.isoformat() if a.completed_on else "", a.evidence or ""]
