"""The register of Ombudsman products: the list with its filters (open, late, done; per
unit), recording and correcting a product, a product's page with its items, carrying an item
out with evidence, dropping or reopening it, changing its deadline, and the date its follow-up
was reported back."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..database import reads_first
from ..errors import Forbidden, InvalidFields
from ..extensions import db
from ..http.uow import rerender, with_uploads
from ..models import OmbudsmanItem, OmbudsmanItemFile, OmbudsmanProduct, OmbudsmanProductFile, utcnow
from ..policy import (Actor, can_keep_ombudsman_product, can_read_ombudsman, can_record_ombudsman_product,
                      can_update_ombudsman_item, can_view_ombudsman_product, sees_every_product)
from ..services import ombudsman as ombudsman_products
from ..services.inputs import local_today
from ..services.oversight.timeliness import units_in_view
from .downloads import send_stored

bp = Blueprint("ombudsman", __name__, url_prefix="/staff/ombudsman")


@bp.app_context_processor
def _words():
    return {"ombudsman_kind_label": ombudsman_products.kind_label, "ombudsman_level_label": ombudsman_products.level_label}


def actor() -> Actor:
    return Actor.staff(current_user)


@bp.before_request
@login_required
def _readers_only():
    if not can_read_ombudsman(actor()):
        abort(403)


def _scope() -> set[int] | None:
    return None if sees_every_product(actor()) else set(current_user.overseen_unit_ids)


@bp.get("")
def index():
    """The products concerning the units in view, by the status of their items."""
    units = units_in_view(current_user)
    status = request.args.get("status", "open")
    status = status if status in ombudsman_products.FILTERS else "open"
    unit = next((u for u in units if u.code == request.args.get("unit")), None)
    scope = {unit.id} if unit else _scope()
    now = utcnow()
    return render_template("ombudsman/index.html", units=units, unit=unit, status=status, now=now,
                           products=ombudsman_products.products(scope, status, now), late=ombudsman_products.late_items(scope, now),
                           configured=ombudsman_products.rules() is not None,
                           can_record=can_record_ombudsman_product(actor()))


def _form(errors=None, typed=None, status=200, product=None):
    rules = ombudsman_products.rules()
    units = [u for u in units_in_view(current_user) if u.active and can_record_ombudsman_product(actor(), [u])]
    return render_template("ombudsman/form.html", errors=errors or {}, typed=typed or {}, product=product,
                           kinds=rules.kinds if rules else {}, units=units), status


@bp.route("/new", methods=["GET", "POST"])
@reads_first  # the files are decoded before the write transaction begins
def new():
    """Record a product received from the Ombudsman, with its scan."""
    if not can_record_ombudsman_product(actor()) or ombudsman_products.rules() is None:
        abort(403)
    if request.method == "GET":
        return _form(typed={"received_on": local_today(None).isoformat()})
    raw = request.form.to_dict()
    raw["units"] = request.form.getlist("units")
    product = with_uploads(lambda stored: ombudsman_products.record_product(actor(), raw, stored), _form, raw)
    flash(_("Ombudsman product recorded. Add the actions it requires."), "success")
    return redirect(url_for("ombudsman.product", product_id=product.id))


def _product_or_404(product_id: int) -> OmbudsmanProduct:
    product = db.session.get(OmbudsmanProduct, product_id)
    if product is None or not can_view_ombudsman_product(actor(), product):
        abort(404)
    return product


def _item_or_404(item_id: int) -> OmbudsmanItem:
    item = db.session.get(OmbudsmanItem, item_id)
    if item is None:
        abort(404)
    _product_or_404(item.product_id)
    return item


@bp.route("/<int:product_id>/edit", methods=["GET", "POST"])
def edit(product_id):
    """Correct a recorded product: its keepers only."""
    product = _product_or_404(product_id)
    if not can_keep_ombudsman_product(actor(), product):
        abort(403)
    if request.method == "GET":
        return _form(typed={"kind": product.kind, "number": product.number, "title": product.title,
                            "summary": product.summary or "", "issued_on": product.issued_on.isoformat(),
                            "received_on": product.received_on.isoformat(), "units": [u.code for u in product.units],
                            "complaints": " ".join(c.tracking_code for c in product.complaints)}, product=product)
    raw = request.form.to_dict()
    raw["units"] = request.form.getlist("units")
    try:
        changed = ombudsman_products.edit_product(actor(), product, raw)
    except InvalidFields as exc:
        rerender(_form, exc.errors, raw, exc.status, product)
    except Forbidden:
        abort(403)
    flash(_("Product corrected.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("ombudsman.product", product_id=product.id))


def _page(product: OmbudsmanProduct, errors=None, typed=None, form=None, status=200):
    me = actor()
    return render_template(
        "ombudsman/product.html", product=product, now=utcnow(), errors=errors or {}, typed=typed or {},
        form=form, can_keep=can_keep_ombudsman_product(me, product),
        updatable={i.id for i in product.items if can_update_ombudsman_item(me, i)},
        report_due=ombudsman_products.report_due(product),
        default_limit=(ombudsman_products.rules().kinds.get(product.kind) if ombudsman_products.rules() else None)), status


@bp.get("/<int:product_id>")
def product(product_id):
    return _page(_product_or_404(product_id))


def _changed(product: OmbudsmanProduct, form: str, change, message: str):
    """Run one change of the product's page; its form again with the errors when refused."""
    raw = request.form.to_dict()
    try:
        change(raw)
    except InvalidFields as exc:
        rerender(_page, product, exc.errors, raw, form, exc.status)
    except Forbidden:
        abort(403)
    flash(message, "success")
    return redirect(url_for("ombudsman.product", product_id=product.id, _anchor=form))


@bp.post("/<int:product_id>/items")
def add_item(product_id):
    product = _product_or_404(product_id)
    return _changed(product, "new-item", lambda raw: ombudsman_products.add_item(actor(), product, raw), _("Action added."))


@bp.post("/<int:product_id>/reported")
def reported(product_id):
    product = _product_or_404(product_id)
    return _changed(product, "reported", lambda raw: ombudsman_products.record_reported_back(actor(), product, raw),
                    _("Report back recorded."))


@bp.post("/items/<int:item_id>/done")
@reads_first
def item_done(item_id):
    """Mark an action done with what was done and its evidence files."""
    item = _item_or_404(item_id)
    form = f"item-{item.id}"
    raw = request.form.to_dict()
    with_uploads(lambda stored: ombudsman_products.complete_item(actor(), item, raw, stored),
                 lambda errors, typed, status: _page(item.product, errors, typed, form, status), raw)
    flash(_("Action marked done."), "success")
    return redirect(url_for("ombudsman.product", product_id=item.product_id, _anchor=form))


@bp.post("/items/<int:item_id>/drop")
def item_drop(item_id):
    item = _item_or_404(item_id)
    return _changed(item.product, f"item-{item.id}", lambda raw: ombudsman_products.drop_item(actor(), item, raw),
                    _("Action dropped."))


@bp.post("/items/<int:item_id>/reopen")
def item_reopen(item_id):
    item = _item_or_404(item_id)
    return _changed(item.product, f"item-{item.id}", lambda raw: ombudsman_products.reopen_item(actor(), item, raw),
                    _("Action reopened."))


@bp.post("/items/<int:item_id>/deadline")
def item_deadline(item_id):
    """Change an open action's deadline (the Ombudsman extended it), with the reason."""
    item = _item_or_404(item_id)
    return _changed(item.product, f"item-{item.id}", lambda raw: ombudsman_products.change_deadline(actor(), item, raw),
                    _("Deadline changed."))


@bp.get("/files/<int:file_id>")
def product_file(file_id):
    found = db.session.get(OmbudsmanProductFile, file_id)
    if found is None:
        abort(404)
    _product_or_404(found.product_id)
    return send_stored(found)


@bp.get("/evidence/<int:file_id>")
def item_file(file_id):
    found = db.session.get(OmbudsmanItemFile, file_id)
    if found is None:
        abort(404)
    _item_or_404(found.item_id)
    return send_stored(found)
