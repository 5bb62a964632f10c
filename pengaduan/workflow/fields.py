"""The fields a transition may carry, how each is checked, and what it sets on a complaint.

A workflow file names fields; this registry says what they mean. `clean_fields` turns raw
input (form or JSON) into typed values and collects every problem under its field name.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable


from sqlalchemy import select

from ..errors import InvalidFields
from ..extensions import db
from ..i18n import label
from ..i18n import lazy_gettext as _l
from ..models import Category, Complaint, Unit, User
from ..policy import Actor, can_view, handles_cases


WIDGETS = ("select", "line", "textarea", "scale")  # how a step's form asks: scale is 1 to 5


@dataclass(frozen=True)
class FieldSpec:
    """A field a workflow step may carry: how it is checked, shown, asked for, and what its
    value does to the complaint (`attribute`, then `effect`)."""

    name: str
    parse: Callable[[Any, "FieldContext"], Any]
    label: object = ""  # shown next to the value on timelines
    attribute: str | None = None  # the complaint attribute a transition's value sets
    public: bool = True  # shown to the complainant on the public timeline
    free_text: bool = False  # the audit chain records its digest, not the words
    widget: str = "textarea"  # one of WIDGETS
    # A select's options as (value, label or {id, en}) from the workflow and the step; None:
    # the page supplies them (units, categories, officers come from the database).
    options: Callable[[Any, Any], list] | None = None
    current: Callable[[Complaint], str] | None = None  # a select's preselected value
    prompt: object = ""  # the question a scale asks
    effect: Callable[[Complaint, Any, dict], None] | None = None  # more than setting `attribute`
    # How a stored value (a code) reads on a timeline: (workflow, value) -> words; None: as is.
    display: Callable[[Any, Any], str] | None = None
    answer: bool = False  # a response template's text may fill it (see `answer_field`)

    def show(self, workflow, value) -> str:
        """A value kept on the timeline, as a person reads it."""
        return (self.display(workflow, value) or value) if self.display else value

    def apply(self, complaint: Complaint, value, values: dict) -> None:
        """What this field's value does to the complaint when its step is taken."""
        if self.attribute:
            setattr(complaint, self.attribute, value)
        if self.effect:
            self.effect(complaint, value, values)


@dataclass
class FieldContext:
    workflow: Any
    transition: Any
    complaint: Complaint
    values: dict
    actor: Actor | None = None  # who sends the values: fields naming a complaint check it


class FieldError(ValueError):
    pass


def _text(max_length: int):
    def parse(value, _ctx):
        if not isinstance(value, str):
            raise FieldError(_l("must be text"))
        value = value.strip()
        if not value:
            raise FieldError(_l("must not be empty"))
        if len(value) > max_length:
            raise FieldError(_l("must be at most %(n)d characters", n=max_length))
        return value

    return parse


def _unit(value, _ctx):
    unit = Unit.by_code(str(value).strip()) if value else None
    if unit is None or not unit.active:
        raise FieldError(_l("unknown or inactive unit"))
    return unit


def _category(value, _ctx):
    category = Category.by_code(str(value).strip()) if value else None
    if category is None or not category.active:
        raise FieldError(_l("unknown or inactive category"))
    return category


def _one_of(options: dict) -> str:
    return ", ".join(label(labels) for labels in options.values())


def _classification(value, ctx):
    if value not in ctx.workflow.classifications:
        raise FieldError(_l("must be one of: %(options)s", options=_one_of(ctx.workflow.classifications)))
    return value


def _assignee(value, ctx):
    user = User.by_email(str(value)) if value else None
    if user is None or not user.active or not handles_cases(user.role):
        raise FieldError(_l("unknown or inactive officer"))
    unit = ctx.values.get("unit") or ctx.complaint.unit
    if unit is not None and unit.id not in user.unit_ids:
        raise FieldError(_l("the officer does not belong to the target unit"))
    return user


def _closure_reason(value, ctx):
    allowed = ctx.transition.closure_reasons
    if value not in allowed:
        raise FieldError(_l("must be one of: %(options)s", options=_one_of(
            {code: ctx.workflow.closure_reasons[code] for code in allowed})))
    return value


def _rating(value, _ctx):
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise FieldError(_l("must be a whole number from 1 to 5"))
    try:
        rating = int(value)
    except (TypeError, ValueError):
        raise FieldError(_l("must be a whole number from 1 to 5")) from None
    if not 1 <= rating <= 5:
        raise FieldError(_l("must be a whole number from 1 to 5"))
    return rating


def _complaint_code(value, ctx):
    """Another complaint the actor may see; one she may not see is as unknown as a code that
    names nothing (the answer must not tell other units' codes apart)."""
    other = Complaint.by_code(str(value)) if value else None
    if (other is None or other.id == ctx.complaint.id or ctx.actor is None
            or not can_view(ctx.actor, other)):
        raise FieldError(_l("must be the tracking code of another complaint"))
    original = other.duplicate_of
    if original is not None:  # one level only: a duplicate's complainant follows an original
        if original.id != ctx.complaint.id and can_view(ctx.actor, original):
            raise FieldError(_l("%(code)s is itself a duplicate: name its original, %(original)s",
                                code=other.tracking_code, original=original.tracking_code))
        raise FieldError(_l("%(code)s is itself a duplicate: name its original instead",
                            code=other.tracking_code))
    if ctx.workflow.is_terminal(other.state):  # her complainant would wait for a closing that came
        raise FieldError(_l("%(code)s is already closed: a complaint can be merged only with one still "
                            "handled. Link it as related instead, and answer this one on its own",
                            code=other.tracking_code))
    return other


def _take_its_duplicates_along(complaint: Complaint, original: Complaint, _values: dict) -> None:
    """A complaint closed as a duplicate hands the duplicates it had to its own original: their
    complainants follow the matter where it is handled (one level, as the parser requires)."""
    for duplicate in db.session.scalars(select(Complaint).where(Complaint.duplicate_of_id == complaint.id)):
        duplicate.duplicate_of = original


def _keep_comment_with_rating(complaint: Complaint, _rating, values: dict) -> None:
    """A rating keeps the comment given with it; a comment alone stays on the timeline."""
    complaint.rating_comment = values.get("comment")


def _finding(value, ctx):
    if value not in ctx.workflow.findings:
        raise FieldError(_l("must be one of: %(options)s", options=_one_of(ctx.workflow.findings)))
    return value


def _maladministration(value, ctx):
    if value not in ctx.workflow.maladministration:
        raise FieldError(_l("must be one of: %(options)s", options=_one_of(ctx.workflow.maladministration)))
    return value


YES_NO = (("no", {"id": "Tidak", "en": "No"}), ("yes", {"id": "Ya", "en": "Yes"}))


def _yes_no(value, _ctx):
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("yes", "true", "1", "on"):
        return True
    if str(value).strip().lower() in ("no", "false", "0", "off"):
        return False
    raise FieldError(_l("must be yes or no"))


def _yes_no_label(_workflow, value) -> str:
    return label(dict(YES_NO)["yes" if value else "no"])


def _unit_name(_workflow, code) -> str | None:
    unit = Unit.by_code(code)
    return unit.name if unit else None


def _category_name(_workflow, code) -> str | None:
    category = Category.by_code(code)
    return category.name if category else None


def _classification_label(workflow, code) -> str:
    return label(workflow.classifications.get(code))


def _closure_reason_label(workflow, code) -> str:
    return label(workflow.closure_reasons.get(code))


def _finding_label(workflow, code) -> str:
    return label(workflow.findings.get(code))


def _maladministration_label(workflow, code) -> str:
    return label(workflow.maladministration.get(code))


def _classification_options(workflow, _transition) -> list:
    return list(workflow.classifications.items())


def _closure_reason_options(workflow, transition) -> list:
    return [(code, workflow.closure_reasons[code]) for code in transition.closure_reasons]


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("unit", _unit, _l("Unit"), attribute="unit", widget="select", display=_unit_name,
                  current=lambda complaint: complaint.unit.code),
        FieldSpec("category", _category, _l("Category"), attribute="category", widget="select",
                  display=_category_name,
                  current=lambda complaint: complaint.category.code if complaint.category else ""),
        FieldSpec("classification", _classification, _l("Classification"), attribute="classification",
                  widget="select", options=_classification_options, display=_classification_label,
                  current=lambda complaint: complaint.classification),
        FieldSpec("assignee", _assignee, _l("Assigned officer"), attribute="assignee", public=False,
                  widget="select"),
        FieldSpec("message", _text(5000), _l("Message"), free_text=True, answer=True),
        FieldSpec("response", _text(10000), _l("Response"), free_text=True, answer=True),
        FieldSpec("resolution", _text(10000), _l("Resolution"), free_text=True, answer=True),
        FieldSpec("reason", _text(2000), _l("Reason"), free_text=True),
        FieldSpec("closure_reason", _closure_reason, _l("Closure reason"), attribute="closure_reason",
                  widget="select", options=_closure_reason_options, display=_closure_reason_label),
        FieldSpec("referred_to", _text(300), _l("Referred to"), free_text=True, widget="line"),
        FieldSpec("duplicate_of", _complaint_code, _l("Duplicate of"), attribute="duplicate_of",
                  public=False, widget="line", effect=_take_its_duplicates_along),
        FieldSpec("note", _text(5000), _l("Internal note"), free_text=True, public=False),
        FieldSpec("rating", _rating, _l("Rating"), attribute="rating", widget="scale",
                  prompt=_l("How satisfied are you with the service?"),
                  effect=_keep_comment_with_rating),
        FieldSpec("comment", _text(2000), _l("Comment"), free_text=True),
        # The finding on a closed complaint (workflow sections `findings`, `maladministration`).
        FieldSpec("finding", _finding, _l("Finding"), attribute="finding", public=False, widget="select",
                  options=lambda workflow, _t: [("", {"id": "—", "en": "—"}), *workflow.findings.items()],
                  display=_finding_label, current=lambda complaint: complaint.finding or ""),
        FieldSpec("maladministration", _maladministration, _l("Form of maladministration"),
                  attribute="maladministration", public=False, widget="select",
                  options=lambda workflow, _t: [("", {"id": "—", "en": "—"}), *workflow.maladministration.items()],
                  display=_maladministration_label, current=lambda complaint: complaint.maladministration or ""),
        FieldSpec("systemic", _yes_no, _l("Systemic"), attribute="systemic", public=False, widget="select",
                  options=lambda _w, _t: list(YES_NO), display=_yes_no_label,
                  current=lambda complaint: "yes" if complaint.systemic else "no"),
        FieldSpec("root_cause", _text(2000), _l("Root cause"), attribute="root_cause", public=False,
                  free_text=True, widget="line"),
    )
}


def answer_field(transition) -> str | None:
    """The field of a step a response template's text goes into: the first it takes whose
    spec is marked `answer`; None if it takes none."""
    return next((name for name in transition.requires + transition.accepts
                 if FIELDS[name].answer), None)


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_fields(workflow, transition, complaint: Complaint, raw: dict,
                 actor: Actor | None = None) -> dict:
    """Check raw input against a transition; return typed values or raise InvalidFields."""
    return clean_values(workflow, complaint, raw, transition.requires, transition.accepts,
                        transition, actor=actor)


def clean_values(workflow, complaint: Complaint, raw: dict, requires, accepts,
                 transition=None, actor: Actor | None = None) -> dict:
    """Check raw input against the fields a step requires and accepts."""
    errors: dict[str, str] = {}
    allowed = set(requires) | set(accepts)
    for name in raw:
        if name not in allowed:
            errors[name] = _l("not accepted by this step")
    values: dict = {}
    ctx = FieldContext(workflow, transition, complaint, values, actor)
    # Units first: other fields (assignee, category) are checked against the target unit.
    for name in sorted(allowed, key=lambda n: n != "unit"):
        value = raw.get(name)
        if _is_blank(value):
            if name in requires:
                errors[name] = _l("is required")
            continue
        try:
            values[name] = FIELDS[name].parse(value, ctx)
        except FieldError as exc:
            errors[name] = exc.args[0]
    _closure_reason_needs(workflow, transition, values, errors)
    _finding_needs(workflow, values, errors)
    if errors:
        raise InvalidFields(errors)
    return values


def _closure_reason_needs(workflow, transition, values: dict, errors: dict) -> None:
    """The fields the chosen closure reason requires (closure_reasons.<name>.requires):
    a referral names the agency, a duplicate names the original complaint."""
    reason = values.get("closure_reason") or (transition.closure_reason if transition else None)
    for name in workflow.closure_requires.get(reason, ()) if reason else ():
        if name not in values and name not in errors:
            errors[name] = _l("is required when the closure reason is %(reason)s",
                              reason=label(workflow.closure_reasons[reason]))


def _finding_needs(workflow, values: dict, errors: dict) -> None:
    """The fields the chosen finding requires (findings.<name>.requires): a founded complaint
    names the form of maladministration and the root cause; its details go with a finding."""
    finding = values.get("finding")
    if finding is None:
        for name in ("maladministration", "root_cause"):
            if name in values and "finding" not in errors:
                errors["finding"] = _l("is required with %(field)s", field=FIELDS[name].label)
        return
    needed = workflow.finding_requires.get(finding, ())
    for name in needed:
        if name not in values and name not in errors:
            errors[name] = _l("is required when the finding is %(finding)s",
                              finding=label(workflow.findings[finding]))
    for name in ("maladministration", "root_cause"):
        if name in values and name not in needed and name not in errors:
            errors[name] = _l("goes only with a finding that requires it")


def serialise(values: dict) -> dict:
    """Field values as JSON for the timeline and the audit chain (codes, never objects)."""
    out = {}
    for name, value in values.items():
        if isinstance(value, (Unit, Category)):
            out[name] = value.code
        elif isinstance(value, User):
            out[name] = value.email
        elif isinstance(value, Complaint):
            out[name] = value.tracking_code
        else:
            out[name] = value
    return out


def digest(text: str | None) -> dict | None:
    """Free text as durable records keep it: its SHA-256 and length."""
    if text is None:
        return None
    return {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "length": len(text)}


def for_audit(data: dict) -> dict:
    """Serialised values as the audit chain keeps them: free text only as its digest, so
    that words a complainant typed (a phone number, a name) never become part of the
    permanent chain, while the timeline's text can still be proven unaltered. Keys that are
    not workflow fields are kept as they are."""
    out = {}
    for name, value in (data or {}).items():
        spec = FIELDS.get(name)
        out[name] = digest(value) if spec is not None and spec.free_text and isinstance(value, str) else value
    return out
