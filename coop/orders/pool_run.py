"""Run the pooling engine on a campaign from the database, and report it as the spec says."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.errors import DomainError
from coop.extensions import db
from coop.orders.models import Campaign, CampaignStatus, Need
from coop.orders.pooling import NeedIn, OfferIn, Plan, Settings, SupplierIn, solve
from coop.suppliers.models import Offer, Supplier
from coop.suppliers.origin import Origin

POOLABLE = frozenset({CampaignStatus.CLOSED, CampaignStatus.POOLED})


def pool_campaign(campaign: Campaign, time_limit: float = 30.0) -> Plan:
    """The pooled plan of a closed campaign (changes nothing)."""
    if campaign.status not in POOLABLE:
        raise DomainError(
            f"La campagne {campaign.code} doit être close pour être mutualisée "
            f"(statut : {campaign.status})."
        )
    needs = db.session.scalars(
        select(Need)
        .where(Need.campaign_id == campaign.id)
        .options(selectinload(Need.member), selectinload(Need.part))
        .order_by(Need.created_at, Need.id)
    ).all()
    part_ids = {n.part_id for n in needs}
    offers = db.session.scalars(
        select(Offer)
        .join(Offer.supplier)
        .where(Offer.part_id.in_(part_ids), Supplier.is_active.is_(True))
        .options(selectinload(Offer.tiers), selectinload(Offer.supplier),
                 selectinload(Offer.part))
    ).all()  # fmt: skip
    suppliers = {o.supplier for o in offers}
    return solve(
        [
            NeedIn(
                id=n.id, member=n.member.code, ref=n.ref, part=n.part.sku, quantity=n.quantity,
                tolerance=n.tolerance, min_quantity=n.min_quantity, needed_by=n.needed_by,
                max_unit_price=n.max_unit_price, rank=rank,
            )
            for rank, n in enumerate(needs)
        ],
        [
            OfferIn(
                id=o.id, supplier=o.supplier.code, part=o.part.sku,
                tiers=tuple((t.min_qty, t.unit_price) for t in o.tiers), origin=o.origin,
                pack_size=o.pack_size, moq=o.moq, lead_time_days=o.effective_lead_time_days,
                valid_until=o.valid_until,
            )
            for o in offers
        ],
        [SupplierIn(s.code, s.shipping_fee, s.free_shipping_over) for s in suppliers],
        Settings(
            order_date=campaign.order_date,
            penalties={origin: campaign.penalty(origin) for origin in Origin},
            time_limit=time_limit,
        ),
    )  # fmt: skip


def plan_as_json(campaign: Campaign, plan: Plan) -> dict:
    """`coop pool CODE --json` (spec/pooling.md): amounts with 2 decimals, unit prices 4."""
    report = {
        "campaign": campaign.code,
        "status": plan.status,
        "unserved_units": plan.unserved_units,
        "goods_eur": f"{plan.goods:.2f}",
        "shipping_eur": f"{plan.shipping_total:.2f}",
        "total_cost_eur": f"{plan.total_cost:.2f}",
        "penalty_eur": f"{plan.penalty_total:.2f}",
        "objective_eur": f"{plan.objective:.2f}",
    }
    if plan.status != "optimal":
        report["gap"] = plan.gap
    report["needs"] = []
    for allocation in plan.allocations:
        need = allocation.need
        item = {
            "member": need.member, "ref": need.ref, "sku": need.part,
            "quantity": need.quantity, "allocated": allocation.allocated,
            "supplier": allocation.offer.supplier if allocation.offer else None,
        }  # fmt: skip
        if allocation.tier is not None:
            item["unit_price_eur"] = f"{allocation.tier[1]:.4f}"
        if allocation.reason:
            item["reason"] = allocation.reason
        report["needs"].append(item)
    report["orders"] = []
    for code in sorted({line.offer.supplier for line in plan.lines}):
        lines = [line for line in plan.lines if line.offer.supplier == code]
        report["orders"].append({
            "supplier": code,
            "goods_eur": f"{sum(line.amount for line in lines):.2f}",
            "shipping_eur": f"{plan.shipping[code]:.2f}",
            "lines": [
                {"sku": line.offer.part, "quantity": line.quantity,
                 "unit_price_eur": f"{line.tier[1]:.4f}", "tier_min_qty": line.tier[0]}
                for line in lines
            ],
        })  # fmt: skip
    return report
