"""Named guards a workflow file may attach to a transition.

A guard looks at the complaint and the cleaned field values and raises InvalidFields naming
the field at fault; it never fails silently. Rules that are only "this field is then
required" are data instead (closure_reasons.<name>.requires in the workflow file).
"""
from __future__ import annotations


from ..errors import InvalidFields
from ..i18n import lazy_gettext as _l


def category_offered_by_unit(complaint, values, actor):
    unit = values.get("unit") or complaint.unit
    category = values.get("category") or complaint.category
    if unit is not None and category is not None and not unit.offers(category):
        raise InvalidFields({"category": _l("not handled by %(unit)s", unit=unit.name)})


def unit_changes(complaint, values, actor):
    if values.get("unit") is not None and values["unit"].id == complaint.unit_id:
        raise InvalidFields({"unit": _l("the complaint is already with this unit")})


GUARDS = {
    fn.__name__: fn
    for fn in (category_offered_by_unit, unit_changes)
}
