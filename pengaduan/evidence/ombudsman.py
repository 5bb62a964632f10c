"""The register of Ombudsman products in an evidence pack: ombudsman/products.csv (the
products concerning the pack's units that were received in the period or had an action open
during it), ombudsman/items.csv (their actions of those units: deadline, status, on time,
evidence, the escalation levels that fired) and the files (each named with its SHA-256)."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from .. import spreadsheet
from ..extensions import db
from ..models import OmbudsmanEscalation, OmbudsmanItem, OmbudsmanProduct
from ..models.ombudsman import product_units
from ..services.attachments import chunks_of
from . import verify_pack


def write(writer, scope, counts: dict, safe) -> None:
    """Write the two CSV files and copy the files; `safe` makes an uploaded name a safe path part."""
    unit_ids = [scope.unit.id] if scope.unit is not None else list(scope.unit_codes)
    active_in_period = select(OmbudsmanItem.product_id).where(
        OmbudsmanItem.unit_id.in_(unit_ids),
        or_(OmbudsmanItem.status == "open", OmbudsmanItem.done_on >= scope.start))
    products = db.session.scalars(
        select(OmbudsmanProduct).options(selectinload(OmbudsmanProduct.units), selectinload(OmbudsmanProduct.items),
                                         selectinload(OmbudsmanProduct.complaints), selectinload(OmbudsmanProduct.files))
        .where(OmbudsmanProduct.received_on <= scope.end,
               OmbudsmanProduct.id.in_(select(product_units.c.product_id).where(product_units.c.unit_id.in_(unit_ids))),
               or_(OmbudsmanProduct.received_on >= scope.start, OmbudsmanProduct.id.in_(active_in_period)))
        .order_by(OmbudsmanProduct.received_on, OmbudsmanProduct.id)).all()
    items = [i for p in products for i in p.items if i.unit_id in unit_ids]
    fired: dict[int, list[str]] = {}
    for item_id, level in db.session.execute(
            select(OmbudsmanEscalation.item_id, OmbudsmanEscalation.level)
            .where(OmbudsmanEscalation.item_id.in_([i.id for i in items])).order_by(OmbudsmanEscalation.id)):
        fired.setdefault(item_id, []).append(level)
    copies = []

    def named(prefix: str, files) -> str:
        names = []
        for f in files:
            name = f"{prefix}/{f.id}-{safe(f.filename)}"
            names.append(f"{name}:{f.sha256}")
            copies.append((name, f))
        return " ".join(names)

    with writer.text(verify_pack.OMBUDSMAN_PRODUCTS) as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(verify_pack.OMBUDSMAN_PRODUCT_COLUMNS)
        for p in products:
            rows.writerow([p.id, p.kind, p.number, p.issued_on.isoformat(), p.received_on.isoformat(), p.title,
                           " ".join(u.code for u in p.units), " ".join(c.tracking_code for c in p.complaints),
                           p.reported_back_on.isoformat() if p.reported_back_on else "", p.reported_back_ref or "",
                           named(f"ombudsman/{p.id}", p.files)])
    with writer.text(verify_pack.OMBUDSMAN_ITEMS) as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(verify_pack.OMBUDSMAN_ITEM_COLUMNS)
        for i in items:
            due_on = i.due_at.date()
            on_time = "" if i.status != "done" else ("yes" if i.done_on <= due_on else "no")
            rows.writerow([i.id, i.product_id, scope.unit_codes[i.unit_id], i.action, i.owner, due_on.isoformat(),
                           i.status, i.done_on.isoformat() if i.done_on else "", on_time, i.evidence or "",
                           " ".join(fired.get(i.id, ())), named(f"ombudsman/{i.product_id}/items/{i.id}", i.files)])
    for name, f in copies:
        writer.copy_chunks(name, chunks_of(f))
    counts["ombudsman_products"] = len(products)
    counts["ombudsman_items"] = len(items)
