"""The pooling plan as stored on its run: one typed record, read and written in one place.

A run keeps the plan exactly as the manager reviewed it (coop.orders.pooling.models),
as JSON. Every reader (the review, the commit into purchase orders, the cost split's
"bought alone" figures) goes through `PlanRecord`; nothing else knows the JSON's keys.

The JSON is versioned. Version 1 is the shape stored before the version existed (no
`version` key): version 2 is the same shape with its version written; version 3 adds the
framework agreements' shortfall fees (`commitment`, `agreements`), none in older plans.
Amounts are strings with 2 decimals, unit prices with 4, as Decimal keeps them.
"""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from coop.money import quantize
from coop.orders.pooling.solver import NeedIn, Reason

VERSION = 3
KNOWN_VERSIONS = frozenset({1, 2, 3})
ZERO = Decimal("0.00")


class PlanFormatError(ValueError):
    """A stored plan this code cannot read (a newer format, or not a plan at all)."""


class PlanStatus(StrEnum):
    OPTIMAL = "optimal"  # proven by the solver
    FEASIBLE = "feasible"  # a time limit stopped it: `gap` is the proven relative gap
    GREEDY = "greedy"  # the greedy rule: nothing proven


@dataclass(frozen=True)
class Decision:
    """What the plan gives one need: an offer and units, or nothing and why."""

    need: int
    offer: int | None
    supplier: str | None
    units: int
    why: Reason | None
    # What the need would cost bought alone, and the supplier's fee in it (None: it cannot).
    solo: Decimal | None = None
    solo_shipping: Decimal | None = None
    # Set when served: the tier bought, its unit price, and the need's estimated split.
    tier_min_qty: int | None = None
    unit_price: Decimal | None = None
    goods: Decimal | None = None
    shipping_share: Decimal | None = None

    @property
    def is_served(self) -> bool:
        return self.offer is not None

    @property
    def pooled(self) -> Decimal:
        """What the need costs in the plan: its goods and its share of the fee."""
        return (self.goods or ZERO) + (self.shipping_share or ZERO)


@dataclass(frozen=True)
class Comparison:
    """Another plan's headline figures, kept to compare (the greedy rule's)."""

    unserved_units: int
    total: Decimal
    objective: Decimal


@dataclass(frozen=True)
class Alone:
    """The needs that could be bought alone: their solo cost against their pooled cost."""

    needs: int
    solo: Decimal
    pooled: Decimal

    @property
    def savings(self) -> Decimal:
        return self.solo - self.pooled


@dataclass(frozen=True)
class AgreementOutcome:
    """What the plan does with a framework agreement in force (take-or-pay): its target for
    the campaign, the units its offer gets, the shortfall and the fee owed for it."""

    agreement: str
    offer: int
    supplier: str
    sku: str
    target: int
    bought: int
    shortfall: int
    fee: Decimal


@dataclass(frozen=True)
class Headline:
    """A plan's figures, without its decisions: what the run history and comparisons read."""

    status: PlanStatus
    gap: float
    seconds: float
    requested_units: int
    unserved_units: int
    goods: Decimal
    shipping: Decimal
    total: Decimal
    penalty: Decimal
    objective: Decimal
    greedy: Comparison
    alone: Alone
    # The agreements' shortfall fees: in the objective, not in the total (goods + shipping).
    commitment: Decimal = ZERO

    def to_json(self) -> dict:
        return {
            "status": self.status.value,
            # A greedy plan proves nothing (gap NaN): JSON, and PostgreSQL, have no NaN.
            "gap": None if math.isnan(self.gap) else self.gap,
            "seconds": self.seconds,
            "requested_units": self.requested_units,
            "unserved_units": self.unserved_units,
            "goods": _amount(self.goods),
            "shipping": _amount(self.shipping),
            "total": _amount(self.total),
            "penalty": _amount(self.penalty),
            "commitment": _amount(self.commitment),
            "objective": _amount(self.objective),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Headline":
        """A stored plan's figures, without reading its thousands of decisions."""
        version = _version(data)
        try:
            greedy, alone = data["greedy"], data["alone"]
            return cls(
                status=PlanStatus(data["status"]),
                gap=float("nan") if data["gap"] is None else float(data["gap"]),
                seconds=float(data["seconds"]),
                requested_units=int(data["requested_units"]),
                unserved_units=int(data["unserved_units"]),
                goods=Decimal(data["goods"]),
                shipping=Decimal(data["shipping"]),
                total=Decimal(data["total"]),
                penalty=Decimal(data["penalty"]),
                objective=Decimal(data["objective"]),
                commitment=Decimal(data["commitment"]) if version >= 3 else ZERO,
                greedy=Comparison(
                    unserved_units=int(greedy["unserved_units"]),
                    total=Decimal(greedy["total"]),
                    objective=Decimal(greedy["objective"]),
                ),
                alone=Alone(
                    needs=int(alone["needs"]),
                    solo=Decimal(alone["solo"]),
                    pooled=Decimal(alone["pooled"]),
                ),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as error:
            raise PlanFormatError(
                f"stored plan (version {version}) is malformed: {error!r}"
            ) from error


@dataclass(frozen=True)
class PlanRecord:
    headline: Headline
    shipping_by_supplier: Mapping[str, Decimal]
    decisions: tuple[Decision, ...]
    agreements: tuple[AgreementOutcome, ...] = ()

    @property
    def served(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.is_served)

    def shipping_of(self, supplier: str) -> Decimal:
        return self.shipping_by_supplier[supplier]

    def to_json(self) -> dict:
        """The record as stored, in the current version."""
        headline = self.headline
        return {
            "version": VERSION,
            **headline.to_json(),
            "shipping_by_supplier": {
                code: _amount(fee) for code, fee in self.shipping_by_supplier.items()
            },
            "allocations": [_decision_json(d) for d in self.decisions],
            "agreements": [_agreement_json(a) for a in self.agreements],
            "greedy": {
                "unserved_units": headline.greedy.unserved_units,
                "total": _amount(headline.greedy.total),
                "objective": _amount(headline.greedy.objective),
            },
            "alone": {
                "needs": headline.alone.needs,
                "solo": _amount(headline.alone.solo),
                "pooled": _amount(headline.alone.pooled),
                "savings": _amount(headline.alone.savings),
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PlanRecord":
        """A stored record, of any known version; a format this code does not know is refused."""
        headline = Headline.from_json(data)
        try:
            return cls(
                headline=headline,
                shipping_by_supplier={
                    code: Decimal(fee) for code, fee in data["shipping_by_supplier"].items()
                },
                decisions=tuple(decisions_of(data)),
                agreements=tuple(
                    _agreement_of(a) for a in (data["agreements"] if _version(data) >= 3 else ())
                ),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as error:
            raise PlanFormatError(
                f"stored plan (version {_version(data)}) is malformed: {error!r}"
            ) from error


def decisions_of(data: Mapping[str, Any], needs: set[int] | None = None) -> list[Decision]:
    """A stored record's decisions (only `needs`' when given): a shop's lines of a plan of
    15,000 read without building the other 14,980."""
    _version(data)
    try:
        return [_decision_of(d) for d in data["allocations"] if needs is None or d["need"] in needs]
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise PlanFormatError(
            f"stored plan (version {_version(data)}) is malformed: {error!r}"
        ) from error


def _version(data: Mapping[str, Any]) -> int:
    if not isinstance(data, Mapping):
        raise PlanFormatError(f"a stored plan is a JSON object, not {type(data).__name__}")
    version = data.get("version", 1)
    if version not in KNOWN_VERSIONS:
        raise PlanFormatError(
            f"stored plan version {version!r} is unknown: this code reads versions "
            f"{', '.join(map(str, sorted(KNOWN_VERSIONS)))}"
        )
    return version


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _price(value: Decimal) -> str:
    return f"{value:.4f}"


def _optional(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def reason_json(why: Reason | None) -> dict | None:
    """A reason as stored, in a plan or on a need (Need.pooling_reason)."""
    return {"code": why.code, "params": dict(why.params)} if why is not None else None


def reason_of(data: Mapping[str, Any] | None) -> Reason | None:
    """A stored reason back (a plan's, or Need.pooling_reason)."""
    return Reason(data["code"], dict(data.get("params", {}))) if data else None


def _decision_json(d: Decision) -> dict:
    item = {
        "need": d.need,
        "offer": d.offer,
        "supplier": d.supplier,
        "units": d.units,
        "why": reason_json(d.why),
        "solo": _amount(d.solo) if d.solo is not None else None,
        "solo_shipping": _amount(d.solo_shipping) if d.solo_shipping is not None else None,
    }
    if d.is_served:
        item |= {
            "tier_min_qty": d.tier_min_qty,
            "unit_price": _price(d.unit_price),
            "goods": _amount(d.goods),
            "shipping_share": _amount(d.shipping_share),
        }
    return item


def _decision_of(data: Mapping[str, Any]) -> Decision:
    served = data["offer"] is not None
    return Decision(
        need=int(data["need"]),
        offer=int(data["offer"]) if served else None,
        supplier=data["supplier"],
        units=int(data["units"]),
        why=reason_of(data["why"]),
        # Version 1 plans stored before the solo figures have neither.
        solo=_optional(data.get("solo")),
        solo_shipping=_optional(data.get("solo_shipping")),
        tier_min_qty=int(data["tier_min_qty"]) if served else None,
        unit_price=Decimal(data["unit_price"]) if served else None,
        goods=Decimal(data["goods"]) if served else None,
        shipping_share=Decimal(data["shipping_share"]) if served else None,
    )


def _agreement_json(a: AgreementOutcome) -> dict:
    return {
        "agreement": a.agreement,
        "offer": a.offer,
        "supplier": a.supplier,
        "sku": a.sku,
        "target": a.target,
        "bought": a.bought,
        "shortfall": a.shortfall,
        "fee": _amount(a.fee),
    }


def _agreement_of(data: Mapping[str, Any]) -> AgreementOutcome:
    return AgreementOutcome(
        agreement=data["agreement"],
        offer=int(data["offer"]),
        supplier=data["supplier"],
        sku=data["sku"],
        target=int(data["target"]),
        bought=int(data["bought"]),
        shortfall=int(data["shortfall"]),
        fee=Decimal(data["fee"]),
    )


# --- the spec's JSON --------------------------------------------------------------------------


def spec_json(campaign: str, record: PlanRecord, needs: Mapping[int, NeedIn]) -> dict:
    """`coop pool CODE --json` (spec/pooling.md): amounts with 2 decimals, unit prices 4.

    A rendering of the record; `needs` names each need (member, ref, part, quantity).
    The orders' lines are the plan's: one per offer and tier, the units of its needs.
    """
    headline = record.headline
    report = {
        "campaign": campaign,
        "status": headline.status.value,
        "unserved_units": headline.unserved_units,
        "goods_eur": _amount(headline.goods),
        "shipping_eur": _amount(headline.shipping),
        "total_cost_eur": _amount(headline.total),
        "penalty_eur": _amount(headline.penalty),
        "commitment_eur": _amount(headline.commitment),
        "objective_eur": _amount(headline.objective),
    }
    if headline.status is not PlanStatus.OPTIMAL:
        report["gap"] = None if math.isnan(headline.gap) else headline.gap
    report["needs"] = []
    units: dict[tuple[int, int], int] = defaultdict(int)
    line_of: dict[tuple[int, int], Decision] = {}
    for decision in record.decisions:
        need = needs[decision.need]
        item = {
            "member": need.member,
            "ref": need.ref,
            "sku": need.part,
            "quantity": need.quantity,
            "allocated": decision.units,
            "supplier": decision.supplier,
        }
        if decision.is_served:
            item["unit_price_eur"] = _price(decision.unit_price)
            key = (decision.offer, decision.tier_min_qty)
            units[key] += decision.units
            line_of.setdefault(key, decision)
        if decision.why is not None:
            item["reason"] = decision.why.english()
        report["needs"].append(item)
    lines_by_supplier: dict[str, list[dict]] = defaultdict(list)
    goods_by_supplier: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for key in sorted(units):
        first = line_of[key]
        lines_by_supplier[first.supplier].append(
            {
                "sku": needs[first.need].part,
                "quantity": units[key],
                "unit_price_eur": _price(first.unit_price),
                "tier_min_qty": first.tier_min_qty,
            }
        )
        goods_by_supplier[first.supplier] += quantize(first.unit_price * units[key])
    report["orders"] = [
        {
            "supplier": code,
            "goods_eur": _amount(goods_by_supplier[code]),
            "shipping_eur": _amount(record.shipping_of(code)),
            "lines": lines_by_supplier[code],
        }
        for code in sorted(lines_by_supplier)
    ]
    report["agreements"] = [
        {
            "agreement": a.agreement,
            "supplier": a.supplier,
            "sku": a.sku,
            "target": a.target,
            "bought": a.bought,
            "shortfall": a.shortfall,
            "fee_eur": _amount(a.fee),
        }
        for a in record.agreements
    ]
    return report
