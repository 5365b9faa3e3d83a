"""A call's answers compared: each maker's latest answer priced for the call's yearly volume,
beside the target price and the cheapest Asian landed cost (docs/manufacturer-calls.md)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from coop.clock import to_local
from coop.csv_export import day as csv_day
from coop.csv_export import figure
from coop.relocation.forecast import AsianCost, cheapest_asian_landed_cost
from coop.relocation.models import CallAnswer, CallInvitation, ManufacturerCall
from coop.suppliers.pricing import Purchase, Terms, buy, premium_percent, typed_price


@dataclass(frozen=True)
class AnswerRow:
    """A maker's latest answer, priced for the call's yearly volume."""

    invitation: CallInvitation
    answer: CallAnswer
    purchase: Purchase | None  # the yearly volume bought on the maker's terms

    @property
    def unit_cost(self) -> Decimal | None:
        """What each unit needed costs on the maker's terms (delivered at the hub)."""
        return self.purchase.cost_per_needed_unit if self.purchase else None

    def premium_over(self, reference: Decimal | None) -> Decimal | None:
        """How much dearer (in percent, negative: cheaper) than `reference`."""
        if reference is None or self.unit_cost is None:
            return None
        return premium_percent(self.unit_cost, reference)

    @property
    def short_of_capacity(self) -> bool:
        return self.answer.yearly_capacity < self.invitation.call.annual_volume


@dataclass(frozen=True)
class Comparison:
    call: ManufacturerCall
    rows: list[AnswerRow]  # cheapest first
    asian: AsianCost | None  # for a call on one part

    @property
    def asian_unit_cost(self) -> Decimal | None:
        return self.asian.cost.per_unit if self.asian else None


def answer_terms(answer: CallAnswer) -> Terms:
    return Terms(pack_size=answer.pack_size, moq=answer.moq, tiers=tuple(answer.tier_values))


def compare_answers(call: ManufacturerCall, today: date) -> Comparison:
    """Each maker's latest answer beside the target price and the cheapest Asian landed cost,
    all for the call's yearly volume (docs/manufacturer-calls.md)."""
    rows = [
        AnswerRow(i, i.latest, buy(call.annual_volume, answer_terms(i.latest)))
        for i in call.invitations
        if i.latest is not None
    ]
    rows.sort(key=lambda r: (r.unit_cost is None, r.unit_cost or 0, r.invitation.name))
    asian = None
    if call.part is not None:
        asian = cheapest_asian_landed_cost(call.part, call.annual_volume, today)
    return Comparison(call, rows, asian)


def comparison_rows(comparison: Comparison) -> list[list]:
    """The comparison as a spreadsheet: a header, then one row per maker's latest answer."""
    rows = [
        [
            "fabricant",
            "email",
            "siret",
            "repondu_le",
            "paliers",
            "cout_unitaire_eur",
            "ecart_prix_cible_pct",
            "ecart_asie_rendue_pct",
            "colis",
            "minimum",
            "delai_jours",
            "capacite_annuelle",
            "echantillons_le",
            "commentaire",
        ]
    ]
    for row in comparison.rows:
        answer = row.answer
        rows.append(
            [
                row.invitation.name,
                row.invitation.email,
                row.invitation.siret,
                csv_day(to_local(answer.submitted_at)),
                " | ".join(f"{q}: {typed_price(p)}" for q, p in answer.tier_values),
                figure(row.unit_cost, 4),
                figure(row.premium_over(comparison.call.target_price), 1),
                figure(row.premium_over(comparison.asian_unit_cost), 1),
                answer.pack_size,
                answer.moq,
                answer.lead_time_days,
                answer.yearly_capacity,
                csv_day(answer.samples_on),
                answer.comment or "",
            ]
        )
    return rows
