"""Run the pooling engine on a campaign from the database, keep the run, report it.

A run is stored with the manager's choices and the plan as it was found, so
the review page, the comparison between runs and the commit all read the same
plan, whatever the solver would find the next time.
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member
from coop.activity.recording import record
from coop.clock import now
from coop.errors import DomainError
from coop.extensions import db
from coop.money import quantize
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need
from coop.orders.pooling.cost_split import Delivered, split_costs
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.pooling.plan import (
    AgreementOutcome,
    Alone,
    Comparison,
    Decision,
    Headline,
    PlanRecord,
    PlanStatus,
    spec_json,
)
from coop.orders.pooling.solver import (
    AgreementIn,
    NeedIn,
    OfferIn,
    Plan,
    Settings,
    SupplierIn,
    greedy,
    solo_purchase,
    solve,
)
from coop.suppliers.models import AgreementStatus, FrameworkAgreement, Offer, Part, Supplier
from coop.suppliers.origin import Origin

POOLABLE = frozenset({CampaignStatus.CLOSED, CampaignStatus.POOLED})
# A campaign in these states has its plan committed (undoing the pooling makes it closed).
COMMITTED = frozenset(
    {
        CampaignStatus.POOLED,
        CampaignStatus.ORDERED,
        CampaignStatus.RECEIVED,
        CampaignStatus.INVOICED,
        CampaignStatus.ARCHIVED,
    }
)
DEFAULT_TIME_LIMIT = 30.0
ZERO = Decimal("0.00")
UNIT_PRICE = Decimal("0.0001")  # unit prices keep 4 decimals (spec/pooling.md)


@dataclass(frozen=True)
class Options:
    """What the manager may change between two runs."""

    time_limit: float = DEFAULT_TIME_LIMIT
    penalties: dict[Origin, Decimal] = field(default_factory=dict)  # empty: the campaign's
    excluded_suppliers: frozenset[str] = frozenset()
    pinned_needs: dict[int, str] = field(default_factory=dict)  # need id -> supplier code
    pinned_parts: dict[str, str] = field(default_factory=dict)  # part SKU -> supplier code

    def as_json(self) -> dict:
        return {
            "time_limit": self.time_limit,
            "penalties": {o.value: str(rate) for o, rate in self.penalties.items()},
            "excluded_suppliers": sorted(self.excluded_suppliers),
            "pinned_needs": {str(k): v for k, v in sorted(self.pinned_needs.items())},
            "pinned_parts": dict(sorted(self.pinned_parts.items())),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Options":
        return cls(
            time_limit=float(data.get("time_limit", DEFAULT_TIME_LIMIT)),
            penalties={Origin(k): Decimal(v) for k, v in data.get("penalties", {}).items()},
            excluded_suppliers=frozenset(data.get("excluded_suppliers", ())),
            pinned_needs={int(k): v for k, v in data.get("pinned_needs", {}).items()},
            pinned_parts=dict(data.get("pinned_parts", {})),
        )

    def penalties_changed(self, campaign: Campaign) -> bool:
        return any(rate != campaign.penalty(o) for o, rate in self.penalties.items())

    def constrains(self, campaign: Campaign) -> bool:
        """Whether these choices may cost something compared with the campaign's own rules."""
        return bool(
            self.penalties_changed(campaign)
            or self.excluded_suppliers
            or self.pinned_needs
            or self.pinned_parts
        )


@dataclass
class Inputs:
    needs: list[NeedIn]
    offers: list[OfferIn]
    suppliers: list[SupplierIn]
    settings: Settings
    # When the campaign was closed as they were read: closed again since, it was reopened
    # meanwhile, and its needs may have changed.
    closed_at: datetime | None = None


def check_poolable(campaign: Campaign) -> None:
    if campaign.status not in POOLABLE:
        raise DomainError(
            f"La campagne {campaign.code} doit être close pour être mutualisée "
            f"(statut : {campaign.status})."
        )


def load_inputs(campaign: Campaign, options: Options) -> Inputs:
    """The engine's plain inputs for a campaign, with the manager's choices applied."""
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
        .options(selectinload(Offer.tiers), selectinload(Offer.supplier), selectinload(Offer.part))
        .order_by(Offer.id)
    ).all()
    penalties = {origin: campaign.penalty(origin) for origin in Origin} | options.penalties
    agreements = agreements_in_force(campaign)
    # An agreement's offer on a part nobody needs this time is still the campaign's: short.
    offers = [*offers, *{g.offer for g, _ in agreements} - set(offers)]
    suppliers = sorted({o.supplier for o in offers}, key=lambda s: s.code)
    return Inputs(
        closed_at=campaign.closed_at,
        needs=[
            NeedIn(
                id=n.id,
                member=n.member.code,
                ref=n.ref,
                part=n.part.sku,
                quantity=n.quantity,
                tolerance=n.tolerance,
                min_quantity=n.min_quantity,
                needed_by=n.needed_by,
                max_unit_price=n.max_unit_price,
                rank=rank,
            )
            for rank, n in enumerate(needs)
        ],
        offers=[
            OfferIn(
                id=o.id,
                supplier=o.supplier.code,
                part=o.part.sku,
                tiers=tuple((t.min_qty, t.unit_price) for t in o.tiers),
                origin=o.origin,
                pack_size=o.pack_size,
                moq=o.moq,
                lead_time_days=o.effective_lead_time_days,
                valid_until=o.valid_until,
            )
            for o in sorted(offers, key=lambda o: o.id)
        ],
        suppliers=[SupplierIn(s.code, s.shipping_fee, s.free_shipping_over) for s in suppliers],
        settings=Settings(
            order_date=campaign.order_date,
            penalties=penalties,
            time_limit=options.time_limit,
            excluded_suppliers=options.excluded_suppliers,
            pinned_needs=options.pinned_needs,
            pinned_parts=options.pinned_parts,
            agreements=tuple(
                AgreementIn(g.code, g.offer_id, target, g.shortfall_fee) for g, target in agreements
            ),
        ),
    )


def agreements_in_force(campaign: Campaign) -> list[tuple[FrameworkAgreement, int]]:
    """The framework agreements binding this campaign, each with its target `T(g)`
    (spec/pooling.md, "Framework agreements"), by code.

    In force: active, the campaign's order date within its period, its offer usable that
    day (its supplier active, the offer valid with a price). The target spreads the
    committed volume not yet bought over the campaigns left, this one included, rounded
    up to whole packs: the units bought so far are those of the offer in the committed
    plans of the period's earlier campaigns (order date before this one's, or the same
    day and created before it).
    """
    day = campaign.order_date
    found = db.session.scalars(
        select(FrameworkAgreement)
        .join(FrameworkAgreement.offer)
        .join(Offer.supplier)
        .where(
            FrameworkAgreement.status == AgreementStatus.ACTIVE,
            FrameworkAgreement.valid_from <= day,
            FrameworkAgreement.valid_to >= day,
            Supplier.is_active.is_(True),
        )
        .options(
            selectinload(FrameworkAgreement.offer).selectinload(Offer.tiers),
            selectinload(FrameworkAgreement.offer).selectinload(Offer.supplier),
            selectinload(FrameworkAgreement.offer).selectinload(Offer.part),
        )
        .order_by(FrameworkAgreement.code)
    ).all()
    found = [
        g
        for g in found
        if g.offer.tiers and (g.offer.valid_until is None or day <= g.offer.valid_until)
    ]
    if not found:
        return []
    earlier = db.session.execute(
        select(Campaign.id, Campaign.order_date).where(
            Campaign.status.in_(COMMITTED),
            Campaign.order_date >= min(g.valid_from for g in found),
            or_(
                Campaign.order_date < day,
                (Campaign.order_date == day) & (Campaign.id < campaign.id),
            ),
        )
    ).all()
    bought = committed_units([campaign_id for campaign_id, _ in earlier])
    result = []
    for g in found:
        period = [c for c, d in earlier if g.valid_from <= d <= g.valid_to]
        so_far = sum(bought.get((c, g.offer_id), 0) for c in period)
        left = max(1, g.campaigns_planned - len(period))
        remaining = g.committed_qty - so_far
        pack = g.offer.pack_size
        result.append((g, max(0, -(-remaining // (left * pack)) * pack)))
    return result


def committed_units(campaign_ids: list[int]) -> dict[tuple[int, int], int]:
    """Units per (campaign id, offer id) in the committed plans of these campaigns: the
    plan of each one's run committed last."""
    runs = db.session.scalars(
        select(PoolingRun)
        .where(PoolingRun.campaign_id.in_(campaign_ids), PoolingRun.committed_at.is_not(None))
        .order_by(PoolingRun.committed_at, PoolingRun.id)
    ).all()
    latest = {run.campaign_id: run for run in runs}
    units: dict[tuple[int, int], int] = defaultdict(int)
    for campaign_id, run in latest.items():
        for decision in run.record.served:
            units[campaign_id, decision.offer] += decision.units
    return units


@dataclass(frozen=True)
class PinnableNeed:
    id: int
    member: str
    ref: str
    part: str
    quantity: int


def choices(campaign: Campaign) -> dict:
    """What the manager may exclude or pin: suppliers, and the parts and needs with a choice.

    Plain columns, not whole objects: a campaign has thousands of needs.
    """
    offered = db.session.execute(
        select(Part.sku, Supplier.code, Supplier.name)
        .join(Offer, Offer.part_id == Part.id)
        .join(Supplier, Offer.supplier_id == Supplier.id)
        .where(
            Supplier.is_active.is_(True),
            Part.id.in_(select(Need.part_id).where(Need.campaign_id == campaign.id)),
        )
        .distinct()
    ).all()
    suppliers_of = defaultdict(set)
    for sku, code, _ in offered:
        suppliers_of[sku].add(code)
    needs = db.session.execute(
        select(Need.id, Member.code, Need.ref, Part.sku, Need.quantity)
        .join(Member, Need.member_id == Member.id)
        .join(Part, Need.part_id == Part.id)
        .where(Need.campaign_id == campaign.id)
        .order_by(Member.code, Need.ref)
    ).all()
    return {
        "suppliers": sorted({code for _, code, _ in offered}),
        "supplier_names": {code: name for _, code, name in offered},
        "parts": {
            sku: sorted(codes) for sku, codes in sorted(suppliers_of.items()) if len(codes) > 1
        },
        "needs": [
            (PinnableNeed(*row), sorted(suppliers_of[row[3]]))
            for row in needs
            if len(suppliers_of[row[3]]) > 1
        ],
    }


def pool_campaign(campaign: Campaign, options: Options | None = None, on_progress=None) -> Plan:
    """The pooled plan of a closed campaign (changes nothing)."""
    check_poolable(campaign)
    inputs = load_inputs(campaign, options or Options())
    return solve(
        inputs.needs, inputs.offers, inputs.suppliers, inputs.settings, on_progress=on_progress
    )


def plan_campaign(campaign: Campaign, options: Options) -> tuple[Plan, PlanRecord]:
    """The pooled plan of a closed campaign and its record, as a run would store it (changes
    nothing): `coop pool --json` renders the record."""
    inputs = pool_inputs(campaign, options)
    plan = solve(inputs.needs, inputs.offers, inputs.suppliers, inputs.settings)
    return plan, record_of(plan, inputs)


def pool_inputs(campaign: Campaign, options: Options) -> Inputs:
    """What pooling the campaign solves, once it is known that it may be pooled."""
    check_poolable(campaign)
    return load_inputs(campaign, options)


def pool_now(
    campaign: Campaign, options: Options, user=None, inputs: Inputs | None = None
) -> tuple[Plan, PoolingRun]:
    """Solve at once, without a background job, and store the run (`coop pool --commit`).

    `inputs` read beforehand (`pool_inputs`) let the caller end its reading transaction
    before the solve: the run is then stored in a new one, which checks the campaign again.
    The caller commits the run into purchase orders (coop.orders.purchasing.ordering):
    pooling sits below purchasing.
    """
    if inputs is None:
        inputs = pool_inputs(campaign, options)
    plan = solve(inputs.needs, inputs.offers, inputs.suppliers, inputs.settings)
    run = start_run(campaign, options, user=user)
    if campaign.closed_at != inputs.closed_at:
        raise DomainError(
            "La campagne a été rouverte pendant le calcul : relancez la mutualisation."
        )
    finish_run(run, plan, inputs)
    return plan, run


# --- runs ------------------------------------------------------------------------------------


def start_run(campaign: Campaign, options: Options, user=None) -> PoolingRun:
    """A new run of a closed campaign, to execute now or in the background."""
    check_poolable(campaign)
    run = PoolingRun(
        campaign=campaign,
        options=options.as_json(),
        created_by=user,
        status=RunStatus.RUNNING,
        message="En attente du solveur…",
    )
    db.session.add(run)
    db.session.flush()
    return run


def execute_run(run_id: int) -> None:
    """Solve a started run, writing its progress as it goes; commits (a job of its own)."""
    run = db.session.get(PoolingRun, run_id)
    try:
        options = Options.from_json(run.options)
        inputs = load_inputs(run.campaign, options)
        # End the reading transaction before solving: on SQLite it holds the write lock
        # (coop._may_write), which the pages' writes must not wait for during a solve.
        db.session.commit()
        last_write = 0.0

        def progress(done: float, message: str) -> None:
            nonlocal last_write
            # A progress bar needs a write a second, not one per solver event.
            if time.monotonic() - last_write < 0.5 and done < 1:
                return
            last_write = time.monotonic()
            db.session.execute(
                update(PoolingRun)
                .where(PoolingRun.id == run_id)
                .values(
                    progress=quantize(Decimal(str(min(max(done, 0), 1))), Decimal("0.0001")),
                    message=message[:200],
                )
            )
            db.session.commit()

        plan = solve(
            inputs.needs, inputs.offers, inputs.suppliers, inputs.settings, on_progress=progress
        )
        run = db.session.get(PoolingRun, run_id)
        finish_run(run, plan, inputs)
    except Exception:
        current_app.logger.exception("pooling run %s failed", run_id)
        db.session.rollback()
        run = db.session.get(PoolingRun, run_id)
        run.status = RunStatus.FAILED
        run.error = "Le calcul a échoué : l'équipe technique a été prévenue."
        run.finished_at = now()
        db.session.flush()
        _record_run(run)
    db.session.commit()


def finish_run(run: PoolingRun, plan: Plan, inputs: Inputs) -> None:
    """Store a solved plan on its run, with the greedy rule's plan to compare."""
    run.record = record_of(plan, inputs)
    run.status = RunStatus.DONE
    run.progress = Decimal(1)
    run.message = None
    run.finished_at = now()
    db.session.flush()
    _record_run(run)


def _record_run(run: PoolingRun) -> None:
    """The log's line for a finished run: by whoever started it, with its figures."""
    details: dict = {"status": run.status}
    if (headline := run.headline) is not None:
        details |= {"total": headline.total, "gap": round(Decimal(str(headline.gap)), 4)}
    record(
        "pooling.run",
        object_type="pooling_run",
        object_id=run.id,
        label=run.campaign.code,
        details=details,
        actor=run.created_by,
    )


def run_is_stale(run: PoolingRun) -> bool:
    """A run still 'running' long after its time limit died with its process."""
    limit = float(run.options.get("time_limit", DEFAULT_TIME_LIMIT))
    return run.status is RunStatus.RUNNING and now() - run.created_at > timedelta(
        seconds=3 * limit + 120
    )


def latest_runs(campaign: Campaign, limit: int = 10) -> list[PoolingRun]:
    return db.session.scalars(
        select(PoolingRun)
        .where(PoolingRun.campaign_id == campaign.id)
        .order_by(PoolingRun.created_at.desc(), PoolingRun.id.desc())
        .limit(limit)
    ).all()


def get_run(campaign: Campaign, run_id: int) -> PoolingRun | None:
    run = db.session.get(PoolingRun, run_id)
    return run if run is not None and run.campaign_id == campaign.id else None


def reference_run(run: PoolingRun) -> PoolingRun | None:
    """The latest finished run before `run` made without the manager's choices."""
    candidates = db.session.scalars(
        select(PoolingRun)
        .where(
            PoolingRun.campaign_id == run.campaign_id,
            PoolingRun.status == RunStatus.DONE,
            PoolingRun.id != run.id,
        )
        .order_by(PoolingRun.created_at.desc(), PoolingRun.id.desc())
    ).all()
    for candidate in candidates:
        if not Options.from_json(candidate.options).constrains(run.campaign):
            return candidate
    return None


# --- the stored plan -------------------------------------------------------------------------


def record_of(plan: Plan, inputs: Inputs) -> PlanRecord:
    """A solved plan's record, with the greedy rule's plan to compare."""
    baseline = greedy(inputs.needs, inputs.offers, inputs.suppliers, inputs.settings)
    return plan_record(plan, baseline, inputs)


def plan_record(plan: Plan, baseline: Plan, inputs: Inputs) -> PlanRecord:
    """The plan as stored with its run: every need's decision and money, and comparisons.

    Per need: goods rounded to the cent, the share of its supplier's fee (largest
    remainder, pro rata to goods: coop.orders.cost_split) and what it would cost
    bought alone (spec/pooling.md).
    """
    # The plan's split, exactly as the delivery issue's cost split would make it if
    # everything arrived: the estimate shops and the manager see before ordering.
    split = split_costs(
        [
            Delivered(
                need=a.need.id,
                member=a.need.member,
                supplier=a.offer.supplier,
                units=a.allocated,
                unit_price=a.tier[1],
            )
            for a in plan.allocations
            if a.offer is not None
        ],
        plan.shipping,
    ).needs
    decisions = []
    alone_needs, alone_solo, alone_pooled = 0, ZERO, ZERO
    for allocation in plan.allocations:
        need = allocation.need
        solo = solo_purchase(need, inputs.offers, inputs.suppliers, inputs.settings)
        decision = Decision(
            need=need.id,
            offer=allocation.offer.id if allocation.offer else None,
            supplier=allocation.offer.supplier if allocation.offer else None,
            units=allocation.allocated,
            why=allocation.why,
            solo=quantize(solo.cost) if solo else None,
            # The supplier's fee in the solo cost: shops see goods and shipping saved apart.
            solo_shipping=quantize(solo.shipping) if solo else None,
        )
        if allocation.offer is not None:
            goods, share = split[need.id].goods, split[need.id].shipping
            decision = replace(
                decision,
                tier_min_qty=allocation.tier[0],
                unit_price=quantize(allocation.tier[1], UNIT_PRICE),
                goods=quantize(goods),
                shipping_share=quantize(share),
            )
            if solo:
                alone_needs += 1
                alone_solo += solo.cost
                alone_pooled += goods + share
        decisions.append(decision)
    headline = Headline(
        status=PlanStatus(plan.status),
        gap=plan.gap,
        seconds=round(plan.seconds, 2),
        requested_units=sum(n.quantity for n in inputs.needs),
        unserved_units=plan.unserved_units,
        goods=quantize(plan.goods),
        shipping=quantize(plan.shipping_total),
        total=quantize(plan.total_cost),
        penalty=quantize(plan.penalty_total),
        commitment=quantize(plan.commitment_total),
        objective=quantize(plan.objective),
        greedy=Comparison(
            unserved_units=baseline.unserved_units,
            total=quantize(baseline.total_cost),
            objective=quantize(baseline.objective),
        ),
        alone=Alone(needs=alone_needs, solo=quantize(alone_solo), pooled=quantize(alone_pooled)),
    )
    return PlanRecord(
        headline=headline,
        shipping_by_supplier={code: quantize(fee) for code, fee in plan.shipping.items()},
        decisions=tuple(decisions),
        agreements=tuple(
            AgreementOutcome(
                agreement=c.agreement.code,
                offer=c.offer.id,
                supplier=c.offer.supplier,
                sku=c.offer.part,
                target=c.agreement.target,
                bought=c.bought,
                shortfall=c.shortfall,
                fee=c.fee,
            )
            for c in plan.commitments
        ),
    )


def plan_as_json(campaign: Campaign, plan: Plan, record: PlanRecord) -> dict:
    """`coop pool CODE --json` (spec/pooling.md): the record rendered, needs named by the plan."""
    return spec_json(campaign.code, record, {a.need.id: a.need for a in plan.allocations})
