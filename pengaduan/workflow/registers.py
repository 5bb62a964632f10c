"""The `ombudsman_products:` section of a workflow file: per kind of Ombudsman product its
words and the time limit its items get by default, and the escalation ladder of late items
(offsets in working days of the item's unit from the deadline day, like `escalation:`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..models.ombudsman import PRODUCT_KINDS

# Who a rung of an item's ladder notifies: the officers or supervisors of the item's unit,
# or the supervisors of the unit above it.
ITEM_NOTIFY_TARGETS = ("unit_officers", "unit_supervisors", "next_level_supervisors")
ITEM_TIME_UNITS = ("working_days", "calendar_days")


@dataclass(frozen=True)
class ProductKind:
    code: str
    label: dict
    amount: int  # the items' default time limit, counted from the day the product was received
    unit: str  # working_days or calendar_days
    basis: dict | None = None  # where the time limit comes from (e.g. UU 37/2008 Pasal 38)


@dataclass(frozen=True)
class OmbudsmanRules:
    kinds: dict[str, ProductKind]
    levels: tuple  # LadderStep, in order of increasing offset


def read_ombudsman_products(r, data, ladder_step, whole) -> OmbudsmanRules | None:
    """Validate the section with the workflow reader `r`; None when the file has none."""
    if data is None:
        return None
    key = "ombudsman_products"
    data = r.mapping(data, key)
    r.keys(data, key, {"kinds", "escalation"}, set())
    kinds = {}
    for code, spec in r.mapping(data["kinds"], f"{key}.kinds").items():
        at = f"{key}.kinds.{code}"
        if code not in PRODUCT_KINDS:
            r.fail(at, f"unknown kind of product (one of: {', '.join(PRODUCT_KINDS)})")
        spec = r.mapping(spec, at)
        r.keys(spec, at, {"label", "time_limit"}, {"basis"})
        limit = r.mapping(spec["time_limit"], f"{at}.time_limit")
        r.keys(limit, f"{at}.time_limit", {"amount", "unit"}, set())
        amount = whole(r, limit["amount"], f"{at}.time_limit.amount", minimum=1)
        unit = r.single(limit["unit"], f"{at}.time_limit.unit", ITEM_TIME_UNITS, "time unit")
        basis = r.label(spec["basis"], f"{at}.basis") if "basis" in spec else None
        kinds[code] = ProductKind(code, r.label(spec["label"], f"{at}.label"), amount, unit, basis)
    if not kinds:
        r.fail(f"{key}.kinds", "at least one kind is required")
    ladder = r.mapping(data["escalation"], f"{key}.escalation")
    r.keys(ladder, f"{key}.escalation", {"levels"}, set())
    levels = []
    for name, spec in r.mapping(ladder["levels"], f"{key}.escalation.levels").items():
        at = f"{key}.escalation.levels.{name}"
        r.identifier(name, at)
        spec = r.mapping(spec, at)
        r.keys(spec, at, {"offset", "notify", "label"}, set())
        offset = whole(r, spec["offset"], f"{at}.offset")
        notify = r.names(spec["notify"], f"{at}.notify", ITEM_NOTIFY_TARGETS, "notify target")
        if not notify:
            r.fail(f"{at}.notify", "a level must notify someone")
        levels.append(ladder_step(name, offset, r.label(spec["label"], f"{at}.label"), notify))
    if not levels:
        r.fail(f"{key}.escalation.levels", "at least one level is required")
    offsets = [level.offset for level in levels]
    if offsets != sorted(set(offsets)):
        r.fail(f"{key}.escalation.levels", "levels must be listed in order of increasing offset, "
               "each at a different offset")
    return OmbudsmanRules(kinds, tuple(levels))
