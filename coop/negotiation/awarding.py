"""Awarding lines: a supplier's answer becomes its catalogue offer for the part.

The offer's terms and validity are the answer's; its price tiers replace the
previous ones, which the catalogue keeps as history (closed, never deleted:
coop.suppliers.catalogue.replace_tiers). The pooling reads only current tiers,
so the next run prices with the awarded quote.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from coop.accounts.models import User
from coop.activity.recording import record
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation import notifications
from coop.negotiation.models import (
    Award,
    Invitation,
    MessageKind,
    QuoteAnswer,
    Rfq,
    RfqLine,
    RfqStatus,
)
from coop.negotiation.rfqs import lock_rfq, log_entry
from coop.suppliers.catalogue import current_tiers, price_history, save_offer
from coop.suppliers.models import Offer

AWARDABLE = frozenset({RfqStatus.PARTLY_ANSWERED, RfqStatus.ANSWERED, RfqStatus.AWARDED})


def can_award(rfq: Rfq) -> bool:
    """Whether the RFQ has answers to award (or to award again)."""
    return rfq.status in AWARDABLE


def award_lines(
    rfq: Rfq, choices: Mapping[int, int], *, at: datetime, by: User | None = None
) -> list[Award]:
    """Award each line (id) to an answer (id): its supplier's current, priced, valid answer."""
    lock_rfq(rfq)
    if not can_award(rfq):
        raise DomainError(f"La demande {rfq.number} n'a pas de réponse à attribuer.")
    if not choices:
        raise DomainError("Choisissez une réponse sur au moins une ligne.")
    lines = {line.id: line for line in rfq.lines}
    today = to_local(at).date()
    awards, by_invitation = [], defaultdict(list)
    for line_id, answer_id in sorted(choices.items()):
        line = lines.get(line_id)
        if line is None:
            raise DomainError("Cette ligne ne fait pas partie de la demande.")
        answer = db.session.get(QuoteAnswer, answer_id)
        _check(line, answer, today)
        invitation = answer.quote.invitation
        _make_offer(invitation, line, answer)
        award = Award(line=line, answer=answer, awarded_by=by, awarded_at=at)
        db.session.add(award)
        awards.append(award)
        by_invitation[invitation.id].append(line)
    for lines_won in by_invitation.values():
        invitation = lines_won[0].award.answer.quote.invitation
        skus = ", ".join(line.part.sku for line in lines_won)
        log_entry(invitation, MessageKind.AWARD, at, by=by, body=skus)
    if rfq.status is not RfqStatus.AWARDED:
        rfq.status = RfqStatus.AWARDED
    db.session.flush()
    won = [f"{a.line.part.sku} : {a.answer.quote.invitation.supplier.name}" for a in awards]
    record(
        "rfq.awarded",
        object_type="rfq",
        object_id=rfq.id,
        label=rfq.number,
        details={"lines": won},
        actor=by,
    )
    for lines_won in by_invitation.values():
        notifications.lines_awarded(lines_won[0].award.answer.quote.invitation, lines_won)
    return awards


def award_all_to(rfq: Rfq, invitation: Invitation, *, at: datetime, by: User | None = None):
    """Every line not yet awarded that this supplier priced, validly, goes to it."""
    return award_lines(rfq, choices_for_all(rfq, invitation, at=at), at=at, by=by)


def choices_for_all(rfq: Rfq, invitation: Invitation, *, at: datetime) -> dict[int, int]:
    """The answer (id) per line (id) that awarding everything to this supplier would award."""
    if invitation.rfq_id != rfq.id:
        raise DomainError("Ce fournisseur n'est pas interrogé dans cette demande.")
    today = to_local(at).date()
    choices = {}
    for quote in invitation.quotes:
        answer = quote.current
        if quote.line.award is None and _usable(answer, today):
            choices[quote.rfq_line_id] = answer.id
    if not choices:
        raise DomainError(
            f"{invitation.supplier.name} n'a aucune réponse valable sur une ligne restant à "
            "attribuer."
        )
    return choices


@dataclass(frozen=True)
class PriceChange:
    """One line an award would write in the catalogue: the offer's tiers before and after."""

    sku: str
    part_name: str
    supplier_name: str
    before: list[tuple[int, Decimal]]  # empty: the supplier had no offer for the part
    after: list[tuple[int, Decimal]]

    @property
    def is_new(self) -> bool:
        return not self.before

    @property
    def changes(self) -> bool:
        return self.before != self.after


def price_changes(rfq: Rfq, choices: Mapping[int, int], *, at: datetime) -> list[PriceChange]:
    """What awarding `choices` would do to the catalogue's prices, checked as the award checks."""
    if not can_award(rfq):
        raise DomainError(f"La demande {rfq.number} n'a pas de réponse à attribuer.")
    if not choices:
        raise DomainError("Choisissez une réponse sur au moins une ligne.")
    lines = {line.id: line for line in rfq.lines}
    today = to_local(at).date()
    changes = []
    for line_id, answer_id in sorted(choices.items()):
        line = lines.get(line_id)
        if line is None:
            raise DomainError("Cette ligne ne fait pas partie de la demande.")
        answer = db.session.get(QuoteAnswer, answer_id)
        _check(line, answer, today)
        supplier = answer.quote.invitation.supplier
        offer = db.session.scalar(
            select(Offer).where(Offer.supplier_id == supplier.id, Offer.part_id == line.part_id)
        )
        changes.append(
            PriceChange(
                sku=line.part.sku,
                part_name=line.part.name,
                supplier_name=supplier.name,
                before=current_tiers(offer) if offer else [],
                after=answer.tier_values,
            )
        )
    return changes


def awarded_offers(rfq: Rfq) -> dict[int, tuple[Offer | None, list]]:
    """By awarded line id: the offer the award made, and its price history (newest first)."""
    result = {}
    for line in rfq.lines:
        if line.award is None:
            continue
        supplier_id = line.award.answer.quote.invitation.supplier_id
        offer = db.session.scalar(
            select(Offer).where(Offer.supplier_id == supplier_id, Offer.part_id == line.part_id)
        )
        result[line.id] = (offer, price_history(offer) if offer else [])
    return result


def _usable(answer: QuoteAnswer | None, today) -> bool:
    return (
        answer is not None
        and not answer.is_declined
        and bool(answer.tiers)
        and (answer.valid_until is None or today <= answer.valid_until)
    )


def _check(line: RfqLine, answer: QuoteAnswer | None, today) -> None:
    sku = line.part.sku
    if line.award is not None:
        raise DomainError(f"La ligne {sku} est déjà attribuée.")
    if answer is None or answer.quote.rfq_line_id != line.id:
        raise DomainError(f"Cette réponse ne porte pas sur la ligne {sku}.")
    if answer is not answer.quote.current:
        raise DomainError(f"{sku} : le fournisseur a révisé cette réponse ; rechargez la page.")
    if answer.is_declined or not answer.tiers:
        raise DomainError(f"{sku} : le fournisseur a décliné cette ligne.")
    if not _usable(answer, today):
        raise DomainError(f"{sku} : cette réponse n'est plus valable.")
    if not answer.quote.invitation.supplier.is_active:
        raise DomainError(f"{answer.quote.invitation.supplier.name} est désactivé.")


def _make_offer(invitation: Invitation, line: RfqLine, answer: QuoteAnswer) -> Offer:
    supplier, part = invitation.supplier, line.part
    offer = db.session.scalar(
        select(Offer).where(Offer.supplier_id == supplier.id, Offer.part_id == part.id)
    )
    return save_offer(
        offer,
        supplier=supplier,
        part=part,
        tiers=answer.tier_values,
        supplier_ref=answer.supplier_ref,
        made_in=answer.made_in or supplier.country,
        pack_size=answer.pack_size,
        moq=answer.moq,
        lead_time_days=answer.lead_time_days,
        valid_until=answer.valid_until,
    )
