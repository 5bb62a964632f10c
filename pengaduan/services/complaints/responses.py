"""Response templates: standard answers officers start from, per category or for all."""
from __future__ import annotations

from sqlalchemy import or_, select

from ... import audit
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import Category, Complaint, ResponseTemplate
from ...policy import Actor
from .. import inputs


def _check(title: str, body: str, category_code: str | None, errors: dict) -> Category | None:
    inputs.name(title, "title", errors, ResponseTemplate.title)
    if not (body or "").strip():
        errors["body"] = _l("is required")
    if category_code:
        category = Category.by_code(category_code)
        if category is None:
            errors["category"] = _l("unknown category %(code)s", code=category_code)
        return category
    return None


def save_response_template(template: ResponseTemplate | None, *, title: str, body: str,
                           category_code: str | None, active: bool = True,
                           actor: Actor) -> ResponseTemplate:
    """Create (template=None) or change a template; audited."""
    errors: dict[str, str] = {}
    category = _check(title, body, category_code, errors)
    if errors:
        raise InvalidFields(errors)
    created = template is None
    template = template or ResponseTemplate()
    template.title, template.body = title.strip(), body.strip()
    template.category, template.active = category, active
    db.session.add(template)
    db.session.flush()
    audit.record(db.session, "response_template.created" if created else "response_template.updated",
                 actor=actor.label, unit=None, payload={"id": template.id, "title": template.title,
                                       "category": category.code if category else None,
                                       "active": active})
    return template


def templates_for(complaint: Complaint) -> list[ResponseTemplate]:
    """Active templates for the complaint's category, and those for every category."""
    return list(db.session.scalars(
        select(ResponseTemplate).where(
            ResponseTemplate.active.is_(True),
            or_(ResponseTemplate.category_id.is_(None),
                ResponseTemplate.category_id == complaint.category_id))
        .order_by(ResponseTemplate.title)))
