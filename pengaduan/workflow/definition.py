"""Workflow definitions: load a YAML file, validate it, and build its state machine.

One `transitions.Machine` is built per definition and shared by every complaint; complaints
are never added to it (see style.md): events are dispatched with the complaint as the model.
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml
from transitions import Machine

from ..models import CHANNELS, Complaint, Role
from .fields import FIELDS
from .findings import check_finding_steps, read_findings
from .guards import GUARDS
from .registers import OmbudsmanRules, read_ombudsman_products

# libyaml's parser where PyYAML was built with it (much faster at start-up), else its own.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ROLES = tuple(role.value for role in Role)  # citizen, officer, supervisor, auditor, admin, system
STAFF_ROLES = (Role.OFFICER.value, Role.SUPERVISOR.value)  # who may be refused a step by `not_by`
SLA_UNITS = ("working_days", "calendar_days", "hours")
SLA_TRACKS = ("stage", "resolution", "complainant")
# Who an escalation level notifies: the assignee (or, with none, the unit's officers), the
# unit's officers or supervisors, or the supervisors of the unit above (the next level).
NOTIFY_TARGETS = ("handler", "unit_officers", "unit_supervisors", "next_level_supervisors")
LADDER_ACTIONS = ("reminder", "expiry")  # the rungs of a complainant clock, reserved names
# The complaint's dates a clock may count from instead of the step that starts it (`counting_from`).
CLOCK_DATES = ("received_at", "lapor_received_at", "lapor_disposed_at")
# ... or the posting to SP4N-LAPOR! of the answer whose step started it: on a complaint with
# a LAPOR! ID the clock has no deadline until that posting is recorded, then counts from it.
ANSWER_POSTED = "lapor_posted"
FILE_TRIGGER = "file"  # the complaint's creation, usable to start clocks
LANGUAGES = ("id", "en")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
CATEGORY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")  # as `categories create` stores them
# Trigger names must not shadow attributes of the model the machine drives (style.md).
RESERVED_TRIGGERS = {"query", "metadata", "registry", "state", "trigger", FILE_TRIGGER}
# Guards whose rule became data: a file still naming one is told where the rule went.
RETIRED_GUARDS = {
    "referral_or_duplicate_named": "the guard 'referral_or_duplicate_named' was replaced by "
    "closure_reasons.<reason>.requires (e.g. referred: {label: ..., requires: [referred_to]})",
}


class WorkflowError(Exception):
    """A definition is invalid: names the file, the key and the reason."""

    def __init__(self, file: str, key: str, reason: str):
        super().__init__(f"{file}: {key}: {reason}")
        self.file, self.key, self.reason = file, key, reason


@dataclass(frozen=True)
class StateDef:
    name: str
    label: dict
    description: dict
    terminal: bool


@dataclass(frozen=True)
class TellComplainant:
    subject: dict
    text: dict
    # The text when no deadline is known (the window's clock does not run, say): required
    # when `text` names {due}, so an email never reads "by -".
    text_without_due: dict | None = None

    def text_for(self, due) -> dict:
        """The text to send: the undated one when there is no deadline to name."""
        return self.text if due is not None or self.text_without_due is None else self.text_without_due


@dataclass(frozen=True)
class Confirm:
    """The page on which the complainant confirms a step (withdrawing, say), per language:
    the link to it (and a hint beside), the question, what the step means (a title and
    points), the label and hint of its field, and the confirming button. Cancelling keeps the
    complaint as it is."""
    link: dict
    question: dict
    button: dict
    link_hint: dict | None = None
    means_title: dict | None = None
    means: tuple[dict, ...] = ()
    field_label: dict | None = None
    field_hint: dict | None = None


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    requires: tuple[str, ...]
    accepts: tuple[str, ...]
    guards: tuple[str, ...]
    label: dict
    public: bool
    reopen: bool
    closure_reason: str | None
    closure_reasons: tuple[str, ...]
    attachments: bool = False  # files may be uploaded with this step
    secondary: bool = False  # its button is drawn as the lesser choice (withdrawing, say)
    done_label: dict | None = None  # what the timeline says happened ("Verified the complaint")
    # What the complainant is emailed when someone else takes this public step: `subject` and
    # `text` per language, `{due}` in the text standing for the deadline of the window it
    # opens for the complainant (services.complaints.complainant_mail).
    tell_complainant: TellComplainant | None = None
    # What the complainant is told once she took this step herself (the general thanks if None).
    done_message: dict | None = None
    # The complainant confirms this step on a page of its own, which says these words.
    confirm: Confirm | None = None
    # The complaint categories the step is offered for (None: every category, and a complaint
    # with none yet) and those it is never offered for, from the file's category_groups.
    categories: frozenset[str] | None = None
    except_categories: frozenset[str] = frozenset()
    # A field's form starts with what an earlier step carried in it: ((field, trigger), ...).
    prefill: tuple[tuple[str, str], ...] = ()
    # While the complaint stays where this step put it, the case page shows the step (who,
    # when, its fields) under this heading: a draft awaiting approval, a returned draft's note.
    notice: dict | None = None
    # Staff told inside the app when the step is taken (escalation's notify targets).
    notify: tuple[str, ...] = ()
    # Four eyes: refused to whoever took the latest of these steps since the complaint entered
    # its current state (the proposer of a draft does not approve it).
    not_by: tuple[str, ...] = ()

    @property
    def done(self) -> dict:
        """The timeline's words for this step once taken (its label when none are given)."""
        return self.done_label or self.label

    def offered_for(self, category_code: str | None) -> bool:
        """Whether the step is offered on a complaint of this category (None: none yet)."""
        if category_code in self.except_categories:
            return False
        return self.categories is None or category_code in self.categories



@dataclass(frozen=True)
class LadderStep:
    """A rung of a clock's ladder, `offset` working days from its deadline day: an escalation
    level (notifies staff), a reminder to the complainant, or the expiry (fires `on_expiry`)."""

    level: str
    offset: int
    label: dict
    notify: tuple[str, ...] = ()
    email: bool = True

    @property
    def action(self) -> str:
        return self.level if self.level in LADDER_ACTIONS else "escalate"


@dataclass(frozen=True)
class SlaRule:
    name: str
    label: dict
    amount: int
    unit: str
    start: tuple[str, ...]
    stop: tuple[str, ...]
    pause_in: tuple[str, ...]
    track: str
    restart: bool
    on_expiry: str | None
    source: str
    steps: tuple[LadderStep, ...] = ()
    reminder: dict | None = None  # the reminder's text per language, `{due}` the deadline
    # The channels whose complaints the clock runs for (None: all) and those it skips.
    channels: tuple[str, ...] | None = None
    except_channels: tuple[str, ...] = ()
    # A date of the complaint (CLOCK_DATES) its first cycle counts from, when the complaint
    # has it, instead of the time of the step that starts it.
    counting_from: str | None = None

    @property
    def waits_for_posting(self) -> bool:
        """The clock counts from the posting to SP4N-LAPOR! of the answer that started it."""
        return self.counting_from == ANSWER_POSTED

    def applies_to(self, channel: str | None) -> bool:
        """Whether the clock runs for a complaint received through this channel."""
        return (self.channels is None or channel in self.channels) and channel not in self.except_channels


@dataclass(frozen=True)
class CategoryGroup:
    """A named set of complaint category codes (category_groups.<name>)."""
    name: str
    label: dict
    categories: frozenset[str]


@dataclass
class Workflow:
    name: str
    version: int
    title: dict
    initial: str
    states: dict[str, StateDef]
    transitions: list[TransitionDef]
    classifications: dict[str, dict]
    closure_reasons: dict[str, dict]
    sla: dict[str, SlaRule]
    filing_window_days: int = 30
    path: str = ""
    # The fields a step closing for each reason must carry (closure_reasons.<name>.requires).
    closure_requires: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What the complainant is told when her complaint closes for a reason that says so
    # (closure_reasons.<name>.tell_complainant), instead of what the closing step tells.
    closure_tell: dict[str, TellComplainant] = field(default_factory=dict)
    # What the complainant's page calls her complaint once closed for a reason that says so
    # (closure_reasons.<name>.citizen_label): (the words, {code} standing for the original's
    # tracking code; the words when her page does not show that code).
    closure_citizen: dict[str, tuple[dict, dict]] = field(default_factory=dict)
    # Named sets of complaint category codes that steps are offered for (or not).
    category_groups: dict[str, "CategoryGroup"] = field(default_factory=dict)
    # The register of Ombudsman products: kinds, time limits, escalation (workflow/registers.py).
    ombudsman_products: "OmbudsmanRules | None" = None
    # What an officer may find on a closed complaint, the fields each finding requires, and the
    # forms of maladministration (sections `findings` and `maladministration`).
    findings: dict[str, dict] = field(default_factory=dict)
    finding_requires: dict[str, tuple[str, ...]] = field(default_factory=dict)
    maladministration: dict[str, dict] = field(default_factory=dict)
    _by_trigger: dict[str, TransitionDef] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._by_trigger = {t.trigger: t for t in self.transitions}

    def transition(self, trigger: str) -> TransitionDef | None:
        return self._by_trigger.get(trigger)

    def transitions_from(self, state: str) -> list[TransitionDef]:
        """The steps out of a state, in the file's order."""
        return [t for t in self.transitions if state in t.sources]

    def triggers_from(self, state: str, role: str | None = None) -> list[str]:
        """Triggers available in a state, optionally only those a role may fire."""
        return [
            t.trigger
            for t in self.transitions
            if state in t.sources and (role is None or role in t.roles)
        ]

    def offered(self, complaint, role: str | None = None) -> list[TransitionDef]:
        """The steps out of the complaint's state offered for its category (optionally only
        those a role may take), in the file's order."""
        code = complaint.category.code if complaint.category is not None else None
        return [t for t in self.transitions
                if complaint.state in t.sources and (role is None or role in t.roles)
                and t.offered_for(code)]

    def is_terminal(self, state: str) -> bool:
        return self.states[state].terminal

    @cached_property
    def terminal_states(self) -> list[str]:
        return [name for name, state in self.states.items() if state.terminal]

    @cached_property
    def staff_clocks(self) -> dict[str, SlaRule]:
        """The SLA rules that measure staff work (not the complainant's windows)."""
        return {name: rule for name, rule in self.sla.items() if rule.track != "complainant"}

    @cached_property
    def escalation_levels(self) -> list[str]:
        """The ladder levels meant for staff (not the complainant's reminders and expiries)."""
        return sorted({step.level for rule in self.sla.values() for step in rule.steps
                       if step.action == "escalate"})

    @cached_property
    def machine(self) -> Machine:
        """The shared state machine; complaints are passed in as the model when triggered."""
        return Machine(
            model=None,
            states=list(self.states),
            initial=self.initial,
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                for t in self.transitions
            ],
            auto_transitions=False,
            send_event=True,
            model_attribute="state",
        )

    def to_mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for t in self.transitions:
            for source in t.sources:
                roles = ", ".join(t.roles)
                lines.append(f"    {source} --> {t.dest}: {t.trigger} ({roles})")
        for state in self.states.values():
            if state.terminal:
                lines.append(f"    {state.name} --> [*]")
        return "\n".join(lines) + "\n"


class _Reader:
    """Walks the parsed YAML, raising WorkflowError with the exact key at fault."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, reason: str):
        raise WorkflowError(self.file, key, reason)

    def mapping(self, value, key) -> dict:
        if not isinstance(value, dict):
            self.fail(key, "must be a mapping")
        return value

    def keys(self, data: dict, key: str, required: set, optional: set):
        for k in required:
            if k not in data:
                self.fail(f"{key}.{k}" if key else k, "is required")
        for k in data:
            if k not in required | optional:
                self.fail(f"{key}.{k}" if key else k, "unknown key")

    def names(self, value, key, allowed=None, what="name") -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.fail(key, "must be a name or a list of names")
        for item in items:
            if allowed is not None and item not in allowed:
                self.fail(key, f"unknown {what} '{item}'")
        return tuple(items)

    def label(self, value, key) -> dict:
        value = self.mapping(value, key)
        for lang in LANGUAGES:
            if not isinstance(value.get(lang), str) or not value[lang].strip():
                self.fail(f"{key}.{lang}", "a label is required in every language (id, en)")
        return dict(value)

    def single(self, value, key, allowed, what) -> str:
        if not isinstance(value, str):
            self.fail(key, "must be a single name")
        if value not in allowed:
            self.fail(key, f"unknown {what} '{value}'")
        return value

    def flag(self, spec: dict, name: str, key: str, default: bool = False) -> bool:
        value = spec.get(name, default)
        if not isinstance(value, bool):
            self.fail(f"{key}.{name}", "must be true or false")
        return value

    def identifier(self, value, key):
        if not isinstance(value, str) or not IDENTIFIER.match(value):
            self.fail(key, "must be a lower-case identifier (a-z, 0-9, _)")
        return value


def parse_workflow(data, file: str = "<workflow>") -> Workflow:
    """Validate a parsed definition; raise WorkflowError at the first problem found.

    Each section has its reader; later sections are checked against the earlier ones
    (transitions name states and closure reasons, clocks name triggers and states)."""
    r = _Reader(file)
    data = r.mapping(data, "(top level)")
    r.keys(
        data,
        "",
        {"name", "initial", "states", "transitions"},
        {"version", "title", "classifications", "closure_reasons", "sla", "escalation", "intake",
         "category_groups", "findings", "maladministration", "ombudsman_products"},
    )
    states = _read_states(r, data["states"])
    r.single(data["initial"], "initial", states, "state")
    classifications = _read_labelled(r, data, "classifications")
    closure_reasons, closure_requires = _read_closure_reasons(r, data.get("closure_reasons"))
    closure_tell = _read_closure_tells(r, data.get("closure_reasons"))
    closure_citizen = _read_citizen_labels(r, data.get("closure_reasons"), closure_requires)
    groups = _read_category_groups(r, data.get("category_groups"))
    transitions = _read_transitions(r, data["transitions"], states, closure_reasons, closure_requires,
                                    groups)
    _check_reachability(r, data["initial"], states, transitions)
    findings, finding_requires, maladministration = read_findings(r, data)
    check_finding_steps(r, transitions, findings, finding_requires)
    sla = _read_sla(r, data.get("sla"), data.get("escalation"), states,
                    {t.trigger: t for t in transitions})
    _check_told_deadlines(r, transitions, sla)
    window = _read_intake(r, data.get("intake"))
    ombudsman = read_ombudsman_products(r, data.get("ombudsman_products"), LadderStep, _whole)
    if not classifications:
        r.fail("classifications", "at least one classification is required")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        r.fail("version", "must be a whole number")
    title = r.label(data["title"], "title") if "title" in data else {"id": data["name"], "en": data["name"]}
    return Workflow(
        name=r.identifier(data["name"], "name"), version=version, title=title,
        initial=data["initial"], states=states, transitions=transitions,
        classifications=classifications, closure_reasons=closure_reasons, sla=sla,
        filing_window_days=window, path=file, closure_requires=closure_requires, closure_tell=closure_tell,
        closure_citizen=closure_citizen, category_groups=groups, findings=findings,
        finding_requires=finding_requires, maladministration=maladministration,
        ombudsman_products=ombudsman,
    )


def _read_states(r: _Reader, data) -> dict[str, StateDef]:
    states: dict[str, StateDef] = {}
    for name, spec in r.mapping(data, "states").items():
        key = f"states.{name}"
        r.identifier(name, key)
        spec = r.mapping(spec, key)
        r.keys(spec, key, {"label"}, {"description", "terminal"})
        terminal = r.flag(spec, "terminal", key)
        description = r.label(spec["description"], f"{key}.description") if "description" in spec else {}
        states[name] = StateDef(name, r.label(spec["label"], f"{key}.label"), description, terminal)
    if not states:
        r.fail("states", "at least one state is required")
    return states


def _read_labelled(r: _Reader, data: dict, section: str) -> dict[str, dict]:
    """A section of codes, each with its label: {code: {id: ..., en: ...}}."""
    out = {}
    for name, label in r.mapping(data.get(section) or {}, section).items():
        r.identifier(name, f"{section}.{name}")
        out[name] = r.label(label, f"{section}.{name}")
    return out


def _read_closure_reasons(r: _Reader, data) -> tuple[dict[str, dict], dict[str, tuple[str, ...]]]:
    """Closure reasons: a label, or a label and the fields a step closing for that reason
    must then carry (`requires`), e.g. the agency a complaint was referred to."""
    labels, requires = {}, {}
    for name, spec in r.mapping(data or {}, "closure_reasons").items():
        key = f"closure_reasons.{name}"
        r.identifier(name, key)
        spec = r.mapping(spec, key)
        if "label" in spec:
            r.keys(spec, key, {"label"}, {"requires", "tell_complainant", "citizen_label",
                                          "citizen_label_unnamed"})
            labels[name] = r.label(spec["label"], f"{key}.label")
            requires[name] = r.names(spec.get("requires", []), f"{key}.requires", FIELDS, "field")
            if "closure_reason" in requires[name]:
                r.fail(f"{key}.requires", "a closure reason cannot require itself")
        else:
            labels[name], requires[name] = r.label(spec, key), ()
    return labels, requires


def _read_category_groups(r: _Reader, data) -> dict[str, CategoryGroup]:
    """Named groups of category codes: {name: {label, categories: [CODE, ...]}}. An empty
    list is allowed: the steps offered only for the group are then offered for nothing."""
    groups = {}
    for name, spec in r.mapping(data or {}, "category_groups").items():
        key = f"category_groups.{name}"
        r.identifier(name, key)
        spec = r.mapping(spec, key)
        r.keys(spec, key, {"categories"}, {"label"})
        codes = spec["categories"]
        if codes is None:
            codes = []
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            r.fail(f"{key}.categories", "must be a list of category codes")
        for code in codes:
            if not CATEGORY_CODE.match(code):
                r.fail(f"{key}.categories", f"'{code}' is not a category code (upper case: A-Z, 0-9, -, _, .)")
        if len(set(codes)) != len(codes):
            r.fail(f"{key}.categories", "names a category twice")
        label = r.label(spec["label"], f"{key}.label") if "label" in spec else {"id": name, "en": name}
        groups[name] = CategoryGroup(name, label, frozenset(codes))
    return groups


def _transition_categories(r: _Reader, spec: dict, key: str, groups) -> tuple[frozenset | None, frozenset]:
    """`categories` (offered only for the groups named) or `except_categories` (for all but
    them), never both: group names of category_groups, resolved to their codes."""
    if "categories" in spec and "except_categories" in spec:
        r.fail(key, "give either categories or except_categories, not both")
    found = {}
    for name in ("categories", "except_categories"):
        if name in spec:
            named = r.names(spec[name], f"{key}.{name}", groups, "category group (see category_groups)")
            if not named:
                r.fail(f"{key}.{name}", "name at least one category group")
            found[name] = frozenset().union(*(groups[g].categories for g in named))
    return found.get("categories"), found.get("except_categories", frozenset())


def _check_step_extras(r: _Reader, transitions: list[TransitionDef]) -> None:
    """What a step's `prefill` names: a field the step takes, filled from a step that takes it
    too; `notice` needs a step that leaves the complaint somewhere it can be read."""
    by_trigger = {t.trigger: t for t in transitions}
    for i, t in enumerate(transitions):
        for name in t.not_by:
            if name not in by_trigger:
                r.fail(f"transitions[{i}].not_by", f"unknown trigger '{name}'")
            if not all(role in STAFF_ROLES for role in t.roles + by_trigger[name].roles):
                r.fail(f"transitions[{i}].not_by", "only between steps that staff take")
        for name, source in t.prefill:
            key = f"transitions[{i}].prefill.{name}"
            if name not in t.requires + t.accepts:
                r.fail(key, f"the step neither requires nor accepts '{name}'")
            if source not in by_trigger:
                r.fail(key, f"unknown trigger '{source}'")
            if name not in by_trigger[source].requires + by_trigger[source].accepts:
                r.fail(key, f"'{source}' carries no '{name}' to start from")


def _read_transitions(r: _Reader, data, states, closure_reasons, closure_requires,
                      groups=None) -> list[TransitionDef]:
    if not isinstance(data, list):
        r.fail("transitions", "must be a list")
    transitions: list[TransitionDef] = []
    seen: dict[str, int] = {}
    for i, spec in enumerate(data):
        transition = _read_transition(r, f"transitions[{i}]", spec, states, closure_reasons, groups or {})
        if transition.trigger in seen:
            r.fail(f"transitions[{i}].trigger",
                   f"'{transition.trigger}' is already defined at transitions[{seen[transition.trigger]}]")
        seen[transition.trigger] = i
        fields = set(transition.requires) | set(transition.accepts)
        for reason in transition.closure_reasons or (transition.closure_reason,):
            missing = [name for name in closure_requires.get(reason, ()) if name not in fields]
            if missing:
                r.fail(f"transitions[{i}]", f"closure reason '{reason}' requires "
                       f"{', '.join(missing)}, which this transition neither requires nor accepts")
        transitions.append(transition)
    _check_step_extras(r, transitions)
    return transitions


def _read_transition(r: _Reader, key: str, spec, states, closure_reasons, groups) -> TransitionDef:
    spec = r.mapping(spec, key)
    r.keys(
        spec,
        key,
        {"trigger", "source", "dest", "roles"},
        {"requires", "accepts", "guards", "label", "public", "reopen",
         "closure_reason", "closure_reasons", "attachments", "secondary", "done_label",
         "tell_complainant", "done_message", "confirm", "categories", "except_categories",
         "prefill", "notice", "notify", "not_by"},
    )
    trigger = r.identifier(spec["trigger"], f"{key}.trigger")
    if trigger in RESERVED_TRIGGERS or hasattr(Complaint, trigger):
        r.fail(f"{key}.trigger", f"'{trigger}' is reserved (it would shadow a model attribute)")
    sources = r.names(spec["source"], f"{key}.source", states, "state")
    dest = r.single(spec["dest"], f"{key}.dest", states, "state")
    roles = r.names(spec["roles"], f"{key}.roles", ROLES, "role")
    if not roles:
        r.fail(f"{key}.roles", "a transition needs at least one role")
    requires = r.names(spec.get("requires", []), f"{key}.requires", FIELDS, "field")
    accepts = r.names(spec.get("accepts", []), f"{key}.accepts", FIELDS, "field")
    for name in r.names(spec.get("guards", []), f"{key}.guards"):
        if name in RETIRED_GUARDS:
            r.fail(f"{key}.guards", RETIRED_GUARDS[name])
    guards = r.names(spec.get("guards", []), f"{key}.guards", GUARDS, "guard")
    reopen = r.flag(spec, "reopen", key)
    public = r.flag(spec, "public", key)
    attachments = r.flag(spec, "attachments", key)
    if attachments and roles == ("system",):
        r.fail(f"{key}.attachments", "a system transition cannot carry files")
    for source in sources:
        if states[source].terminal and not reopen:
            r.fail(
                f"{key}.source",
                f"terminal state '{source}' has an outgoing transition "
                "(only a transition marked 'reopen: true' may leave a terminal state)",
            )
    if reopen and not all(states[s].terminal for s in sources):
        r.fail(f"{key}.reopen", "only transitions out of terminal states reopen")
    fixed_reason = spec.get("closure_reason")
    if fixed_reason is not None:
        r.single(fixed_reason, f"{key}.closure_reason", closure_reasons, "closure reason")
    reasons = r.names(spec.get("closure_reasons", []), f"{key}.closure_reasons",
                      closure_reasons, "closure reason")
    if fixed_reason is not None and reasons:
        r.fail(key, "give either a fixed closure_reason or a list of closure_reasons, not both")
    if states[dest].terminal:
        if fixed_reason is None and not (reasons and "closure_reason" in requires):
            r.fail(
                key,
                f"a transition into terminal state '{dest}' needs a closure_reason, or "
                "closure_reasons with 'closure_reason' among the required fields",
            )
    elif fixed_reason or reasons or "closure_reason" in requires + accepts:
        r.fail(key, "only transitions into a terminal state carry closure reasons")
    if "system" in roles and requires:
        r.fail(f"{key}.requires", "a system transition cannot require input")
    label = r.label(spec["label"], f"{key}.label") if "label" in spec else {
        "id": trigger, "en": trigger}
    return TransitionDef(
        trigger, sources, dest, roles, requires, accepts, guards, label,
        public, reopen, fixed_reason, reasons, attachments, r.flag(spec, "secondary", key),
        r.label(spec["done_label"], f"{key}.done_label") if "done_label" in spec else None,
        _tell_complainant(r, spec, key, public, roles),
        _complainants_label(r, spec, key, "done_message", roles),
        _confirm(r, spec, key, roles),
        *_transition_categories(r, spec, key, groups),
        _prefill(r, spec, key),
        r.label(spec["notice"], f"{key}.notice") if "notice" in spec else None,
        _notify(r, spec, key),
        r.names(spec.get("not_by", []), f"{key}.not_by"),
    )


def _prefill(r: _Reader, spec: dict, key: str) -> tuple[tuple[str, str], ...]:
    """{field: trigger}: the field's form starts with what that step last carried in it."""
    data = r.mapping(spec.get("prefill") or {}, f"{key}.prefill")
    for name, source in data.items():
        if name not in FIELDS:
            r.fail(f"{key}.prefill.{name}", f"unknown field '{name}'")
        r.identifier(source, f"{key}.prefill.{name}")
    return tuple(data.items())


def _notify(r: _Reader, spec: dict, key: str) -> tuple[str, ...]:
    """Who among the staff is told inside the app that the step was taken."""
    return r.names(spec.get("notify", []), f"{key}.notify", NOTIFY_TARGETS, "notify target")


def _complainants_label(r: _Reader, spec: dict, key: str, name: str, roles) -> dict | None:
    """Words only the complainant reads after her own step."""
    if name not in spec:
        return None
    if "citizen" not in roles:
        r.fail(f"{key}.{name}", "only a step the complainant takes tells her it was done")
    return r.label(spec[name], f"{key}.{name}")


CONFIRM_KEYS = ("link", "question", "button")


def _confirm(r: _Reader, spec: dict, key: str, roles) -> Confirm | None:
    """The complainant's page confirming the step: only on a step she alone takes."""
    if "confirm" not in spec:
        return None
    where = f"{key}.confirm"
    if roles != ("citizen",):
        r.fail(where, "only a step the complainant alone takes is confirmed on her page")
    data = r.mapping(spec["confirm"], where)
    optional = ("link_hint", "means_title", "field_label", "field_hint")
    r.keys(data, where, set(CONFIRM_KEYS), {*optional, "means"})
    words = {name: r.label(data[name], f"{where}.{name}")
             for name in (*CONFIRM_KEYS, *optional) if name in data}
    points = data.get("means", [])
    if not isinstance(points, list):
        r.fail(f"{where}.means", "must be a list of texts in every language (id, en)")
    means = tuple(r.label(point, f"{where}.means[{i}]") for i, point in enumerate(points))
    return Confirm(means=means, **words)


def _read_citizen_labels(r: _Reader, data, requires) -> dict[str, tuple[dict, dict]]:
    """What the complainant's page calls her complaint's state, and the step that closed it,
    when it closed for a reason with words of its own (a duplicate is merged, not rejected).
    `{code}` (the original's tracking code) only for a reason requiring `duplicate_of`, and
    then `citizen_label_unnamed` for a page that does not show that code."""
    found = {}
    for name, spec in (data or {}).items():
        if not isinstance(spec, dict) or "citizen_label" not in spec:
            if isinstance(spec, dict) and "citizen_label_unnamed" in spec:
                r.fail(f"closure_reasons.{name}.citizen_label_unnamed", "goes with a citizen_label")
            continue
        key = f"closure_reasons.{name}.citizen_label"
        named = r.label(spec["citizen_label"], key)
        coded = any("{code}" in words for words in named.values())
        for lang, words in named.items():
            if words.replace("{code}", "").count("{") or words.replace("{code}", "").count("}"):
                r.fail(f"{key}.{lang}", "may name only {code} in braces")
            if coded and "{code}" not in words:
                r.fail(f"{key}.{lang}", "names {code} in one language: name it in every language")
        if coded and "duplicate_of" not in requires.get(name, ()):
            r.fail(key, "{code} is the original's tracking code: only a reason requiring duplicate_of has one")
        if coded and "citizen_label_unnamed" not in spec:
            r.fail(f"{key}_unnamed", "a citizen_label naming {code} needs the words for a page that "
                   "does not show the code")
        unnamed = r.label(spec.get("citizen_label_unnamed", spec["citizen_label"]), f"{key}_unnamed")
        if any("{" in words or "}" in words for words in unnamed.values()):
            r.fail(f"{key}_unnamed", "may not contain braces")
        found[name] = (named, unnamed)
    return found


def _read_closure_tells(r: _Reader, data) -> dict[str, TellComplainant]:
    """What the complainant's email says when her complaint closes for a reason that has its
    own words (a duplicate is merged, not left without follow-up): a subject and a text, no
    deadline named."""
    tells = {}
    for name, spec in (data or {}).items():
        if not isinstance(spec, dict) or "tell_complainant" not in spec:
            continue
        key = f"closure_reasons.{name}.tell_complainant"
        tell = r.mapping(spec["tell_complainant"], key)
        r.keys(tell, key, {"subject", "text"}, set())
        subject, text = r.label(tell["subject"], f"{key}.subject"), r.label(tell["text"], f"{key}.text")
        for part, words in (("subject", subject), ("text", text)):
            for lang, value in words.items():
                if "{" in value or "}" in value:
                    r.fail(f"{key}.{part}.{lang}", "may not contain braces")
        tells[name] = TellComplainant(subject, text)
    return tells


def _tell_complainant(r: _Reader, spec: dict, key: str, public: bool, roles) -> TellComplainant | None:
    """What the complainant's email says about a public step someone else takes. Required
    there (the complainant hears of every step on the public timeline), refused elsewhere: an
    internal step is not told, and the complainant needs no email about her own step."""
    told = roles != ("citizen",)
    if "tell_complainant" not in spec:
        if public and told:
            r.fail(f"{key}.tell_complainant", "a public step that staff or the system take needs "
                   "what the complainant's email says: subject and text in every language (id, en)")
        return None
    if not public:
        r.fail(f"{key}.tell_complainant", "only a public step is told to the complainant")
    if not told:
        r.fail(f"{key}.tell_complainant", "only the complainant takes this step: nobody to tell")
    tell = r.mapping(spec["tell_complainant"], f"{key}.tell_complainant")
    r.keys(tell, f"{key}.tell_complainant", {"subject", "text"}, {"text_without_due"})
    subject = r.label(tell["subject"], f"{key}.tell_complainant.subject")
    text = r.label(tell["text"], f"{key}.tell_complainant.text")
    undated = (r.label(tell["text_without_due"], f"{key}.tell_complainant.text_without_due")
               if "text_without_due" in tell else None)
    for lang in LANGUAGES:
        for name, words in (("subject", subject), ("text_without_due", undated)):
            if words is not None and ("{" in words[lang] or "}" in words[lang]):
                r.fail(f"{key}.tell_complainant.{name}.{lang}", "may not contain braces")
        try:
            text[lang].format(due="")
        except (KeyError, IndexError, ValueError):
            r.fail(f"{key}.tell_complainant.text.{lang}", "may name only {due} in braces")
    dated = any("{due}" in text[lang] for lang in LANGUAGES)
    if dated and undated is None:
        r.fail(f"{key}.tell_complainant.text_without_due", "the text names {due}: give the text "
               "to send when no deadline runs, without {due}, in every language (id, en)")
    if undated is not None and not dated:
        r.fail(f"{key}.tell_complainant.text_without_due", "only a text naming {due} needs one")
    return TellComplainant(subject, text, undated)


def _check_told_deadlines(r: _Reader, transitions, sla) -> None:
    """`{due}` needs a deadline: a window for the complainant (a clock on the complainant
    track) that the step starts."""
    for i, transition in enumerate(transitions):
        tell = transition.tell_complainant
        if tell is None or not any("{due}" in tell.text[lang] for lang in LANGUAGES):
            continue
        if not complainant_window(transition.trigger, sla):
            r.fail(f"transitions[{i}].tell_complainant.text", "names {due}, but the step starts "
                   "no clock on the complainant track (sla.<rule>.track: complainant)")


def complainant_window(trigger: str, sla: dict) -> list[str]:
    """The clocks on the complainant track that this trigger starts (their deadline is the
    `{due}` of its email)."""
    return [name for name, rule in sla.items() if rule.track == "complainant" and trigger in rule.start]


def _read_sla(r: _Reader, data, escalation, states, triggers) -> dict[str, SlaRule]:
    ladder_tracks, levels = _escalation(r, escalation)
    sla: dict[str, SlaRule] = {}
    for name, spec in r.mapping(data or {}, "sla").items():
        key = f"sla.{name}"
        r.identifier(name, key)
        sla[name] = _read_sla_rule(r, name, key, spec, states, triggers, ladder_tracks, levels)
    if sum(1 for rule in sla.values() if rule.track == "resolution") > 1:
        r.fail("sla", "at most one rule may track the resolution")
    return sla


def _read_sla_rule(r: _Reader, name, key, spec, states, triggers, ladder_tracks, levels) -> SlaRule:
    spec = r.mapping(spec, key)
    r.keys(spec, key, {"amount", "unit", "start", "track"},
           {"label", "stop", "pause_in", "restart", "on_expiry", "remind_before", "reminder", "source",
            "channels", "except_channels", "counting_from"})
    amount = spec["amount"]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        r.fail(f"{key}.amount", "must be a positive whole number")
    if spec["unit"] not in SLA_UNITS:
        r.fail(f"{key}.unit", f"unknown unit '{spec['unit']}' (use one of {', '.join(SLA_UNITS)})")
    if spec["track"] not in SLA_TRACKS:
        r.fail(f"{key}.track", f"unknown track '{spec['track']}' (use one of {', '.join(SLA_TRACKS)})")
    known = set(triggers) | {FILE_TRIGGER}
    start = r.names(spec["start"], f"{key}.start", known, "trigger")
    stop = r.names(spec.get("stop", []), f"{key}.stop", triggers, "trigger")
    pause_in = r.names(spec.get("pause_in", []), f"{key}.pause_in", states, "state")
    on_expiry = spec.get("on_expiry")
    if on_expiry is not None:
        if on_expiry not in triggers:
            r.fail(f"{key}.on_expiry", f"unknown trigger '{on_expiry}'")
        if "system" not in triggers[on_expiry].roles:
            r.fail(f"{key}.on_expiry", f"'{on_expiry}' must allow the role 'system'")
    restart = r.flag(spec, "restart", key, default=True)
    label = r.label(spec["label"], f"{key}.label") if "label" in spec else {"id": name, "en": name}
    steps = _complainant_ladder(r, spec, key, on_expiry, triggers)
    reminder = _reminder_text(r, spec, key)
    if spec["track"] in ladder_tracks:
        if on_expiry is not None:
            r.fail(f"{key}.on_expiry", f"a clock on the '{spec['track']}' track escalates; "
                   "only clocks outside escalation.tracks may expire")
        steps = levels
    channels, skipped = _rule_channels(r, spec, key)
    counting_from = spec.get("counting_from")
    if counting_from is not None:
        if not isinstance(counting_from, str) or counting_from not in (*CLOCK_DATES, ANSWER_POSTED):
            r.fail(f"{key}.counting_from", f"unknown date field {counting_from!r} of a complaint "
                   f"(use one of {', '.join((*CLOCK_DATES, ANSWER_POSTED))})")
        if counting_from == ANSWER_POSTED and FILE_TRIGGER in start:
            r.fail(f"{key}.counting_from", f"'{ANSWER_POSTED}' counts from the posting of the answer "
                   "a step gave: the clock must start on steps, not on 'file'")
    return SlaRule(name, label, amount, spec["unit"], start, stop, pause_in, spec["track"],
                   restart, on_expiry, str(spec.get("source", "")), steps, reminder,
                   channels, skipped, counting_from)


def _rule_channels(r: _Reader, spec: dict, key: str) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """`channels` (the clock runs only for complaints received through these) or
    `except_channels` (for all but these), never both, never an empty list."""
    if "channels" in spec and "except_channels" in spec:
        r.fail(key, "give either channels or except_channels, not both")
    found = {}
    for name in ("channels", "except_channels"):
        if name in spec:
            found[name] = r.names(spec[name], f"{key}.{name}")
            for channel in found[name]:
                if channel not in CHANNELS:
                    r.fail(f"{key}.{name}", f"unknown channel '{channel}' (use one of {', '.join(CHANNELS)})")
            if not found[name]:
                r.fail(f"{key}.{name}", "name at least one channel")
    return found.get("channels"), found.get("except_channels", ())


def _reminder_text(r: _Reader, spec: dict, key: str) -> dict | None:
    """What the reminder tells the complainant, in each language; `{due}` stands for the
    deadline. Required with `remind_before`: the email has no other words for it."""
    if "reminder" not in spec:
        if spec.get("remind_before") is not None:
            r.fail(f"{key}.reminder", "a clock that reminds the complainant needs the reminder's "
                   "text in every language (id, en), with {due} where the deadline goes")
        return None
    if spec.get("remind_before") is None:
        r.fail(f"{key}.reminder", "only a clock with remind_before sends a reminder")
    text = r.label(spec["reminder"], f"{key}.reminder")
    for lang in LANGUAGES:
        try:
            text[lang].format(due="")
        except (KeyError, IndexError, ValueError):
            r.fail(f"{key}.reminder.{lang}", "may name only {due} in braces")
    return text


def _read_intake(r: _Reader, data) -> int:
    intake = r.mapping(data or {}, "intake")
    r.keys(intake, "intake", set(), {"filing_window_days"})
    window = intake.get("filing_window_days", 30)
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        r.fail("intake.filing_window_days", "must be a positive whole number")
    return window


def _whole(r: _Reader, value, key: str, minimum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
        r.fail(key, "must be a whole number" + (f" of at least {minimum}" if minimum is not None else ""))
    return value


def _escalation(r: _Reader, data) -> tuple[tuple[str, ...], tuple[LadderStep, ...]]:
    """The escalation ladder shared by the clocks of the tracks it names."""
    if data is None:
        return (), ()
    data = r.mapping(data, "escalation")
    r.keys(data, "escalation", {"tracks", "levels"}, set())
    tracks = r.names(data["tracks"], "escalation.tracks", SLA_TRACKS, "track")
    levels = []
    for name, spec in r.mapping(data["levels"], "escalation.levels").items():
        key = f"escalation.levels.{name}"
        r.identifier(name, key)
        if name in LADDER_ACTIONS:
            r.fail(key, f"'{name}' is reserved for complainant clocks")
        spec = r.mapping(spec, key)
        r.keys(spec, key, {"offset", "notify"}, {"label", "email"})
        offset = _whole(r, spec["offset"], f"{key}.offset")
        notify = r.names(spec["notify"], f"{key}.notify", NOTIFY_TARGETS, "notify target")
        if not notify:
            r.fail(f"{key}.notify", "a level must notify someone")
        label = r.label(spec["label"], f"{key}.label") if "label" in spec else {"id": name, "en": name}
        levels.append(LadderStep(name, offset, label, notify, r.flag(spec, "email", key, default=True)))
    if not levels:
        r.fail("escalation.levels", "at least one level is required")
    offsets = [level.offset for level in levels]
    if offsets != sorted(set(offsets)):
        r.fail("escalation.levels", "levels must be listed in order of increasing offset, "
               "each at a different offset")
    return tracks, tuple(levels)


REMINDER_LABEL = {"id": "Pengingat kepada pelapor", "en": "Reminder to the complainant"}


def _complainant_ladder(r: _Reader, spec: dict, key: str, on_expiry, triggers) -> tuple[LadderStep, ...]:
    """A clock that expires: an optional reminder `remind_before` working days ahead, then
    the expiry itself, which fires the `on_expiry` trigger as the system."""
    remind = spec.get("remind_before")
    if remind is not None:
        _whole(r, remind, f"{key}.remind_before", minimum=1)
        if on_expiry is None:
            r.fail(f"{key}.remind_before", "only a clock with on_expiry reminds the complainant")
    if on_expiry is None:
        return ()
    steps = [LadderStep("expiry", 0, triggers[on_expiry].label)]
    if remind:
        steps.insert(0, LadderStep("reminder", -remind, REMINDER_LABEL))
    return tuple(steps)


def _check_reachability(r: _Reader, initial, states, transitions):
    reached, queue = {initial}, deque([initial])
    while queue:
        state = queue.popleft()
        for t in transitions:
            if state in t.sources and t.dest not in reached:
                reached.add(t.dest)
                queue.append(t.dest)
    for name in states:
        if name not in reached:
            r.fail(f"states.{name}", f"unreachable from the initial state '{initial}'")
    for name, state in states.items():
        if not state.terminal and not any(name in t.sources for t in transitions):
            r.fail(f"states.{name}", "a non-terminal state needs at least one outgoing transition")
    if not any(s.terminal for s in states.values()):
        r.fail("states", "at least one state must be terminal")


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate a workflow file."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
    except FileNotFoundError:
        raise WorkflowError(str(path), "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(str(path), "(file)", f"cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise WorkflowError(str(path), "(syntax)", str(exc).replace("\n", " ")) from None
    return parse_workflow(data, str(path))
