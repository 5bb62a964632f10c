"""Recording or correcting the finding on a closed complaint: complaints closed by the
complainant's acceptance or automatically had no officer's closing step to carry it."""
from __future__ import annotations

from ...errors import Forbidden, InvalidFields
from ...i18n import lazy_gettext as _l
from ...models import Complaint, ComplaintEvent
from ...policy import Actor, can_record_finding
from ...workflow import current_workflow
from ...workflow.findings import FINDING_FIELDS
from ..complaints.casework import record_internal_step

KIND = "finding"


def record_finding(complaint: Complaint, actor: Actor, raw: dict) -> ComplaintEvent:
    """Set the finding of a closed complaint (`raw`: finding, maladministration, systemic,
    root_cause): an internal timeline step with its audit event; flushes only."""
    if not can_record_finding(actor, complaint):
        raise Forbidden(str(_l("only the unit's officers and supervisors record findings")))
    workflow = current_workflow()
    if not workflow.is_terminal(complaint.state):
        raise InvalidFields({"finding": _l("a finding is recorded when the complaint is closed")})
    raw = {name: raw.get(name) for name in FINDING_FIELDS if raw.get(name) not in (None, "")}
    before = {"finding": complaint.finding, "maladministration": complaint.maladministration,
              "systemic": complaint.systemic}
    event, values = record_internal_step(
        complaint, actor, KIND, "complaint.finding", raw, requires=("finding",),
        accepts=FINDING_FIELDS[1:], extra={"before": before})
    complaint.finding = values["finding"]
    detailed = bool(workflow.finding_requires.get(values["finding"]))  # founded: its details kept
    complaint.maladministration = values.get("maladministration") if detailed else None
    complaint.systemic = values.get("systemic", False) if detailed else None
    complaint.root_cause = values.get("root_cause") if detailed else None
    return event


def finding_closures(workflow) -> set[str]:
    """The closure reasons a finding is expected for: those of the steps that close a complaint
    from where an officer's closing step (one taking a finding) closes it."""
    sources = {s for t in workflow.transitions if "finding" in t.requires + t.accepts for s in t.sources}
    return {t.closure_reason for t in workflow.transitions
            if t.closure_reason and workflow.is_terminal(t.dest) and sources & set(t.sources)}
