"""The workflow file's `findings` and `maladministration` sections: what an officer may find on
a closed complaint, the forms of maladministration, and the fields a finding requires."""
from __future__ import annotations

from .fields import FIELDS

FINDING_FIELDS = ("finding", "maladministration", "systemic", "root_cause")


def read_findings(r, data) -> tuple[dict[str, dict], dict[str, tuple[str, ...]], dict[str, dict]]:
    """(finding labels, the fields each finding requires, maladministration labels)."""
    labels, requires = {}, {}
    for name, spec in r.mapping(data.get("findings") or {}, "findings").items():
        key = f"findings.{name}"
        r.identifier(name, key)
        spec = r.mapping(spec, key)
        if "label" in spec:
            r.keys(spec, key, {"label"}, {"requires"})
            labels[name] = r.label(spec["label"], f"{key}.label")
            needed = r.names(spec.get("requires", []), f"{key}.requires", FINDING_FIELDS[1:], "finding field")
            requires[name] = needed
        else:
            labels[name], requires[name] = r.label(spec, key), ()
    forms = {}
    for name, label in r.mapping(data.get("maladministration") or {}, "maladministration").items():
        r.identifier(name, f"maladministration.{name}")
        forms[name] = r.label(label, f"maladministration.{name}")
    if labels and not forms and any("maladministration" in needed for needed in requires.values()):
        r.fail("maladministration", "a finding requires a form of maladministration: list them")
    return labels, requires, forms


def check_finding_steps(r, transitions, labels: dict, requires: dict) -> None:
    """A step that takes a finding takes the fields every finding may require."""
    for i, t in enumerate(transitions):
        fields = set(t.requires) | set(t.accepts)
        taken = fields & set(FINDING_FIELDS)
        if not taken:
            continue
        if not labels:
            r.fail(f"transitions[{i}]", "takes finding fields, but the file lists no findings")
        if "finding" not in fields:
            r.fail(f"transitions[{i}]", "takes finding fields without the finding itself")
        missing = sorted({name for needed in requires.values() for name in needed} - fields)
        if missing:
            r.fail(f"transitions[{i}]", f"a finding requires {', '.join(missing)}, which this "
                   "transition neither requires nor accepts")
