"""The comparison matrix: every line x every supplier asked, priced at the pooled quantity.

Each answer is priced as the catalogue prices an offer (coop.suppliers.pricing):
whole packs, at least the MOQ and the lowest tier, all units at the tier the
quantity bought reaches. Answers are ranked on what the line costs in total,
so a big pack or a high minimum counts against an answer, not only its unit price.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from coop.negotiation.models import Award, Invitation, Quote, QuoteAnswer, Rfq, RfqLine
from coop.suppliers.comparison import NEAR
from coop.suppliers.origin import ORIGINS_NEAR_FIRST, Origin
from coop.suppliers.pricing import Purchase, Terms, Tier, buy, premium_percent, tier_for

_NEARNESS = {origin: i for i, origin in enumerate(ORIGINS_NEAR_FIRST)}


@dataclass(frozen=True)
class Quoted:
    """One submitted answer to one line, as the plain values pricing needs."""

    key: int
    origin: Origin
    terms: Terms


@dataclass(frozen=True)
class Priced:
    quoted: Quoted
    purchase: Purchase  # units bought (whole packs), unit price, line amount

    @property
    def tier(self) -> Tier:
        return tier_for(self.purchase.bought, self.quoted.terms.tiers)


@dataclass(frozen=True)
class LineComparison:
    quantity: int
    priced: dict[int, Priced]  # by Quoted.key
    cheapest: Priced | None
    best_near: Priced | None  # the cheapest local, French or European answer

    @property
    def near_extra(self) -> Decimal | None:
        """What choosing the best near answer over the cheapest costs on this line, in euros."""
        if self.cheapest is None or self.best_near is None:
            return None
        return self.best_near.purchase.amount - self.cheapest.purchase.amount

    @property
    def near_extra_percent(self) -> Decimal | None:
        if self.cheapest is None or self.best_near is None:
            return None
        return premium_percent(self.best_near.purchase.amount, self.cheapest.purchase.amount)


def compare_line(quantity: int, answers: Sequence[Quoted]) -> LineComparison:
    """Price every answer at `quantity`; the cheapest line amount wins, the nearer on a tie."""
    priced = {}
    for quoted in answers:
        purchase = buy(quantity, quoted.terms)
        if purchase is not None:
            priced[quoted.key] = Priced(quoted, purchase)
    ranked = sorted(priced.values(), key=lambda p: (p.purchase.amount, _NEARNESS[p.quoted.origin]))
    near = [p for p in ranked if p.quoted.origin in NEAR]
    return LineComparison(
        quantity=quantity,
        priced=priced,
        cheapest=ranked[0] if ranked else None,
        best_near=near[0] if near else None,
    )


# --- the manager's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    quote: Quote | None  # None: this supplier was not asked for this line
    answer: QuoteAnswer | None  # its current (submitted) answer
    priced: Priced | None
    is_expired: bool = False
    is_cheapest: bool = False
    is_best_near: bool = False
    is_awarded: bool = False

    @property
    def can_be_awarded(self) -> bool:
        return self.priced is not None and not self.is_expired


@dataclass(frozen=True)
class Row:
    line: RfqLine
    cells: list[Cell]  # aligned with Matrix.columns
    comparison: LineComparison
    award: Award | None


@dataclass(frozen=True)
class Column:
    invitation: Invitation
    origin: Origin
    lines_priced: int
    total: Decimal  # the lines it prices, each at the pooled quantity


@dataclass(frozen=True)
class Matrix:
    columns: list[Column]
    rows: list[Row]

    @property
    def cheapest_total(self) -> Decimal:
        return sum(
            (r.comparison.cheapest.purchase.amount for r in self.rows if r.comparison.cheapest),
            Decimal("0.00"),
        )

    @property
    def near_extra_total(self) -> Decimal:
        """Choosing the best near answer on every line that has one, rather than the cheapest."""
        return sum(
            (r.comparison.near_extra for r in self.rows if r.comparison.near_extra is not None),
            Decimal("0.00"),
        )

    @property
    def lines_with_near(self) -> int:
        return sum(r.comparison.best_near is not None for r in self.rows)


def terms_of(answer: QuoteAnswer) -> Terms:
    return Terms(pack_size=answer.pack_size, moq=answer.moq, tiers=tuple(answer.tier_values))


def build_matrix(rfq: Rfq, today: date) -> Matrix:
    """The matrix of an RFQ loaded with coop.negotiation.rfqs.get_rfq: current answers only."""
    invitations = sorted(
        (i for i in rfq.invitations if i.quotes),
        key=lambda i: (_NEARNESS[i.supplier.origin], i.supplier.name),
    )
    quotes = {(i.id, q.rfq_line_id): q for i in invitations for q in i.quotes}
    rows = []
    for line in rfq.lines:
        current = {}
        for invitation in invitations:
            quote = quotes.get((invitation.id, line.id))
            answer = quote.current if quote is not None else None
            current[invitation.id] = (quote, answer)
        usable = [
            Quoted(a.id, a.origin(i.supplier), terms_of(a))
            for i in invitations
            for q, a in [current[i.id]]
            if a is not None and not a.is_declined and _is_valid(a, today)
        ]
        comparison = compare_line(line.quantity, usable)
        award = line.award
        cells = []
        for invitation in invitations:
            quote, answer = current[invitation.id]
            priced = comparison.priced.get(answer.id) if answer is not None else None
            cells.append(
                Cell(
                    quote=quote,
                    answer=answer,
                    priced=priced,
                    is_expired=answer is not None and not _is_valid(answer, today),
                    is_cheapest=priced is not None and priced is comparison.cheapest,
                    is_best_near=priced is not None and priced is comparison.best_near,
                    is_awarded=award is not None
                    and answer is not None
                    and award.answer.quote_id == answer.quote_id,
                )
            )
        rows.append(Row(line=line, cells=cells, comparison=comparison, award=award))
    columns = []
    for position, invitation in enumerate(invitations):
        priced = [r.cells[position].priced for r in rows if r.cells[position].priced]
        columns.append(
            Column(
                invitation=invitation,
                origin=invitation.supplier.origin,
                lines_priced=len(priced),
                total=sum((p.purchase.amount for p in priced), Decimal("0.00")),
            )
        )
    return Matrix(columns=columns, rows=rows)


def _is_valid(answer: QuoteAnswer, today: date) -> bool:
    return answer.valid_until is None or today <= answer.valid_until
