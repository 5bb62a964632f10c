"""The complaint evaluation reports in an evidence pack: evaluation/<UNIT>-<QUARTER>.csv for each
unit of the pack and each quarter its period overlaps (totals, groups, closed complaints lacking a
finding; confidential complaints' words left out), and evaluation/actions.csv, their improvement
actions (group, owner, due, status, evidence)."""
from __future__ import annotations

from sqlalchemy import select

from .. import spreadsheet
from ..extensions import db
from ..models import Unit
from ..policy import Actor
from ..services.evaluation.report import evaluation, pack_action_rows, pack_rows, previous_quarter
from ..services.surveys.periods import containing
from . import verify_pack


def quarters(start, end) -> list:
    """The quarters the days from `start` to `end` overlap, oldest first."""
    period, out = containing(end, "quarter"), []
    while period.end >= start:
        out.append(period)
        period = previous_quarter(period)
    return out[::-1]


def write(writer, scope, counts: dict, safe) -> None:
    units = [scope.unit] if scope.unit is not None else list(db.session.scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)))
    reader = Actor.cli("evidence")  # reads like an outsider: no confidential complaint's words
    actions = []
    for period in quarters(scope.start, scope.end):
        for unit in units:
            report = evaluation(reader, [unit], period, unit)
            with writer.text(f"{verify_pack.EVALUATION}{safe(unit.code)}-{period.label}.csv") as out:
                rows = spreadsheet.Writer(out)
                rows.writerow(verify_pack.EVALUATION_COLUMNS)
                for row in pack_rows(report):
                    rows.writerow(row)
            actions.extend(pack_action_rows(report))
            counts["evaluation_reports"] = counts.get("evaluation_reports", 0) + 1
    with writer.text(verify_pack.EVALUATION_ACTIONS) as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(verify_pack.EVALUATION_ACTION_COLUMNS)
        for row in actions:
            rows.writerow(row)
    counts["evaluation_actions"] = len(actions)
