"""Requests for quotation: prepared from a campaign's demand or by hand, sent, followed, closed."""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from coop import bounds
from coop.accounts.models import User
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import N_, sorted_by_name
from coop.negotiation import notifications
from coop.negotiation.links import LinkState, new_link_id, state_of
from coop.negotiation.models import (
    Invitation,
    MessageKind,
    NegotiationMessage,
    Quote,
    QuoteAnswer,
    Rfq,
    RfqLine,
    RfqStatus,
    end_of_day,
)
from coop.numbering import next_value
from coop.orders.campaigns.demand import demand
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.suppliers.catalogue import find_part
from coop.suppliers.comparison import NEAR
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import ORIGINS_NEAR_FIRST, Origin

STATUS_LABELS = {
    RfqStatus.DRAFT: N_("brouillon"),
    RfqStatus.SENT: N_("envoyée"),
    RfqStatus.PARTLY_ANSWERED: N_("réponses partielles"),
    RfqStatus.ANSWERED: N_("répondue"),
    RfqStatus.AWARDED: N_("attribuée"),
    RfqStatus.CLOSED: N_("close"),
}
# The deadline the new-RFQ form suggests, and the answer time a counter-proposal suggests.
DEFAULT_ANSWER_DAYS = timedelta(days=10)
DEFAULT_COUNTER_DAYS = timedelta(days=5)
# A link renewed after the deadline stays open this long.
RENEWED_LINK_DAYS = 7
MAX_MESSAGE_LENGTH = 4000


# --- preparing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandRow:
    """A part a campaign asks for: what the shops requested, and the extra their tolerances take."""

    part: Part
    requested: int
    tolerance: int


def campaign_demand(campaign: Campaign) -> list[DemandRow]:
    """The campaign's aggregated demand, by SKU: the quantities an RFQ starts from."""
    return [DemandRow(d.part, d.signal.requested, d.signal.tolerance) for d in demand(campaign)]


def campaigns_to_quote(limit: int = 50) -> list[Campaign]:
    """Campaigns whose demand an RFQ can start from (opened at least once), newest first."""
    return db.session.scalars(
        select(Campaign)
        .where(Campaign.status != CampaignStatus.DRAFT)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(limit)
    ).all()


def create_rfq(
    title: str,
    deadline_on: date,
    lines: Iterable[tuple[Part, int]],
    *,
    at: datetime,
    campaign: Campaign | None = None,
    message: str | None = None,
    by: User | None = None,
) -> Rfq:
    """A draft RFQ on these parts and quantities, the suggested suppliers already ticked."""
    lines = list(lines)
    title = (title or "").strip()
    if not title:
        raise DomainError("Donnez un titre à la demande de devis.", field="title")
    _check_deadline(deadline_on, at)
    if not lines:
        raise DomainError("Choisissez au moins une pièce et sa quantité.", field="lines")
    seen = set()
    for part, quantity in lines:
        if quantity < 1:
            raise DomainError(f"{part.sku} : la quantité doit être au moins 1.", field="lines")
        if part.id in seen:
            raise DomainError(f"{part.sku} est demandée deux fois.", field="lines")
        seen.add(part.id)
    year = to_local(at).year
    rfq = Rfq(
        number=f"DD-{year}-{next_value(f'DD-{year}'):04d}",
        title=title,
        deadline_on=deadline_on,
        message=_text(message),
        campaign=campaign,
        created_by=by,
        created_at=at,
        status=RfqStatus.DRAFT,
    )
    rfq.lines = [RfqLine(part=part, quantity=quantity) for part, quantity in lines]
    db.session.add(rfq)
    db.session.flush()
    suggestions = suggest_suppliers([line.part for line in rfq.lines])
    set_suppliers(
        rfq,
        {
            line.id: {s.supplier.id for s in suggestions[line.part_id] if s.preselected}
            for line in rfq.lines
        },
    )
    return rfq


_HAND_LINE = re.compile(r"^(?P<part>.+?)\s*[;,\t ]\s*(?P<quantity>[0-9][0-9\s]*)$")


def parse_part_lines(text: str) -> list[tuple[Part, int]]:
    """Parts and quantities typed one per line (`SKU ; quantity`); every problem at once."""
    lines, problems = [], []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        match = _HAND_LINE.match(raw.strip())
        if match is None:
            problems.append(f"ligne {number} : « {raw.strip()} » : attendu SKU ; quantité")
            continue
        try:
            part = find_part(match["part"].strip(" ;,"))
        except DomainError as error:
            problems.append(f"ligne {number} : {error.message}")
            continue
        quantity = int("".join(match["quantity"].split()))
        if quantity < 1:
            problems.append(f"ligne {number} : la quantité doit être au moins 1")
            continue
        if quantity > bounds.MAX_QUANTITY:
            problems.append(f"ligne {number} : au plus {bounds.shown(bounds.MAX_QUANTITY)} unités")
            continue
        lines.append((part, quantity))
    if problems:
        raise DomainError(
            "Pièces et quantités : " + " ; ".join(problems) + ".", field="extra_lines"
        )
    return lines


def update_rfq(rfq: Rfq, *, title: str, deadline_on: date, message: str | None, at: datetime):
    """Change the title, message and deadline of a draft; once sent, only extend the deadline.

    Extending the deadline of a sent RFQ keeps every unrevoked link open until then.
    """
    lock_rfq(rfq)
    title = (title or "").strip()
    if not title:
        raise DomainError("Donnez un titre à la demande de devis.", field="title")
    if rfq.status is RfqStatus.DRAFT:
        _check_deadline(deadline_on, at)
        rfq.title, rfq.message, rfq.deadline_on = title, _text(message), deadline_on
    elif rfq.is_negotiable:
        if deadline_on < rfq.deadline_on:
            raise DomainError(
                "La demande est envoyée : sa date limite peut être repoussée, pas avancée.",
                field="deadline_on",
            )
        _check_deadline(deadline_on, at)
        rfq.title, rfq.deadline_on = title, deadline_on
        for invitation in rfq.invitations:
            if invitation.link_id and invitation.revoked_at is None:
                invitation.expires_at = max(invitation.expires_at or rfq.answer_by, rfq.answer_by)
    else:
        raise DomainError(f"La demande {rfq.number} est close.")
    db.session.flush()
    return rfq


def _check_deadline(deadline_on: date | None, at: datetime) -> None:
    if deadline_on is None:
        raise DomainError("Indiquez la date limite de réponse.", field="deadline_on")
    if deadline_on < to_local(at).date():
        raise DomainError("La date limite de réponse est passée.", field="deadline_on")


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > MAX_MESSAGE_LENGTH:
        raise DomainError(f"Le message dépasse {MAX_MESSAGE_LENGTH} caractères.", field="message")
    return value or None


# --- choosing the suppliers --------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A supplier worth asking for a part: it offers it already, or others of its category."""

    supplier: Supplier
    origin: Origin
    has_offer: bool

    @property
    def is_near(self) -> bool:
        return self.origin in NEAR

    @property
    def preselected(self) -> bool:
        """Ticked at first: every current supplier of the part, and near makers of its kind."""
        return bool(self.supplier.email) and (self.has_offer or self.is_near)


def suggest_suppliers(parts: list[Part]) -> dict[int, list[Suggestion]]:
    """By part id: active suppliers offering the part, then those offering its category.

    Local, French and European first within each group. "Tagged with the part's
    category" is read from the catalogue: a supplier offering other parts of the
    category (docs/negotiation.md).
    """
    part_ids = [p.id for p in parts]
    categories = {p.category for p in parts if p.category}
    rows = db.session.execute(
        select(Offer, Part.category)
        .join(Offer.part)
        .join(Offer.supplier)
        .where(
            Supplier.is_active.is_(True),
            Offer.part_id.in_(part_ids) | Part.category.in_(categories),
        )
        .options(selectinload(Offer.supplier))
    ).all()
    by_part: dict[int, dict[int, Offer]] = defaultdict(dict)
    by_category: dict[str, dict[int, Supplier]] = defaultdict(dict)
    for offer, category in rows:
        if offer.part_id in part_ids:
            by_part[offer.part_id][offer.supplier_id] = offer
        if category:
            by_category[category][offer.supplier_id] = offer.supplier
    order = {origin: i for i, origin in enumerate(ORIGINS_NEAR_FIRST)}
    result = {}
    for part in parts:
        offering = [Suggestion(o.supplier, o.origin, True) for o in by_part[part.id].values()]
        others = [
            Suggestion(s, s.origin, False)
            for sid, s in by_category.get(part.category, {}).items()
            if sid not in by_part[part.id]
        ]
        result[part.id] = sorted(
            offering, key=lambda s: (order[s.origin], s.supplier.name)
        ) + sorted(others, key=lambda s: (order[s.origin], s.supplier.name))
    return result


def active_suppliers() -> list[Supplier]:
    return sorted_by_name(
        db.session.scalars(
            select(Supplier).where(Supplier.is_active.is_(True)).order_by(Supplier.code)
        )
    )


def can_send(rfq: Rfq) -> bool:
    """Whether the RFQ is a draft: its suppliers may still change, and it may be sent."""
    return rfq.status is RfqStatus.DRAFT


def set_suppliers(rfq: Rfq, chosen: Mapping[int, set[int]]) -> None:
    """Which suppliers each line of a draft asks (line id -> supplier ids); others are dropped."""
    if not can_send(rfq):
        raise DomainError(
            f"La demande {rfq.number} est déjà envoyée : ses fournisseurs ne changent plus."
        )
    wanted_ids = set().union(*chosen.values()) if chosen else set()
    suppliers = {
        s.id: s
        for s in db.session.scalars(
            select(Supplier).where(Supplier.id.in_(wanted_ids), Supplier.is_active.is_(True))
        )
    }
    if wanted_ids - set(suppliers):
        raise DomainError("Un des fournisseurs choisis est inconnu ou désactivé.")
    invitations = {i.supplier_id: i for i in rfq.invitations}
    for supplier_id, supplier in suppliers.items():
        if supplier_id not in invitations:
            invitation = Invitation(supplier=supplier)
            rfq.invitations.append(invitation)
            invitations[supplier_id] = invitation
    for line in rfq.lines:
        wanted = chosen.get(line.id, set())
        for supplier_id, invitation in invitations.items():
            quote = next((q for q in invitation.quotes if q.line is line), None)
            if supplier_id in wanted and quote is None:
                invitation.quotes.append(Quote(line=line))
            elif supplier_id not in wanted and quote is not None:
                invitation.quotes.remove(quote)
    for invitation in list(rfq.invitations):
        if not invitation.quotes:
            rfq.invitations.remove(invitation)
    db.session.flush()


# --- sending and following ----------------------------------------------------------------


def send_rfq(rfq: Rfq, *, at: datetime, by: User | None = None) -> list[Invitation]:
    """E-mail each supplier its private link; the RFQ is sent."""
    lock_rfq(rfq)
    if not can_send(rfq):
        raise DomainError(f"La demande {rfq.number} est déjà envoyée.")
    _check_deadline(rfq.deadline_on, at)
    asked = {q.rfq_line_id for i in rfq.invitations for q in i.quotes}
    missing = [line.part.sku for line in rfq.lines if line.id not in asked]
    if missing:
        raise DomainError(
            f"Aucun fournisseur n'est interrogé pour {', '.join(missing)} : "
            "cochez-en au moins un par pièce."
        )
    if not rfq.invitations:
        raise DomainError("Choisissez au moins un fournisseur.")
    for invitation in rfq.invitations:
        supplier = invitation.supplier
        if not supplier.is_active:
            raise DomainError(f"{supplier.name} est désactivé : retirez-le de la demande.")
        if not supplier.email:
            raise DomainError(
                f"{supplier.name} n'a pas d'adresse e-mail : ajoutez-la à sa fiche "
                "ou retirez-le de la demande."
            )
    for invitation in rfq.invitations:
        invitation.link_id = new_link_id()
        invitation.expires_at = rfq.answer_by
        invitation.sent_at = at
        log_entry(invitation, MessageKind.SENT, at, by=by, body=rfq.message)
    rfq.status, rfq.sent_at = RfqStatus.SENT, at
    db.session.flush()
    for invitation in rfq.invitations:
        notifications.rfq_sent(invitation)
    return list(rfq.invitations)


def record_answer(rfq: Rfq) -> None:
    """After a supplier submits: answered once every supplier has, partly answered before."""
    if rfq.status not in (RfqStatus.SENT, RfqStatus.PARTLY_ANSWERED):
        return
    everyone = all(i.submitted_at is not None for i in rfq.invitations)
    rfq.status = RfqStatus.ANSWERED if everyone else RfqStatus.PARTLY_ANSWERED


def close_rfq(rfq: Rfq, *, at: datetime) -> None:
    """No more answers: every link of the RFQ stops working; awards already made stay."""
    lock_rfq(rfq)
    if not rfq.can_become(RfqStatus.CLOSED):
        raise DomainError(f"La demande {rfq.number} est déjà close.")
    rfq.status, rfq.closed_at = RfqStatus.CLOSED, at
    db.session.flush()


def revoke_link(invitation: Invitation, *, at: datetime, by: User | None = None) -> None:
    """The supplier's link stops working at once (a wrong address, a forwarded e-mail…)."""
    lock_rfq(invitation.rfq)
    if invitation.link_id is None:
        raise DomainError("Cette demande n'a pas encore été envoyée à ce fournisseur.")
    if invitation.revoked_at is not None:
        raise DomainError("Ce lien est déjà révoqué.")
    invitation.revoked_at = at
    log_entry(invitation, MessageKind.REVOKED, at, by=by)
    db.session.flush()


def renew_link(invitation: Invitation, *, at: datetime, by: User | None = None) -> None:
    """A new link replaces the old one (which stops working), e-mailed to the supplier."""
    rfq = invitation.rfq
    lock_rfq(rfq)
    if invitation.link_id is None or not rfq.is_negotiable:
        raise DomainError(f"La demande {rfq.number} n'est pas ouverte aux réponses.")
    if not invitation.supplier.email:
        raise DomainError(f"{invitation.supplier.name} n'a pas d'adresse e-mail.")
    invitation.link_id = new_link_id()
    invitation.revoked_at = None
    renewed_until = end_of_day(to_local(at).date() + timedelta(days=RENEWED_LINK_DAYS))
    invitation.expires_at = max(rfq.answer_by, renewed_until)
    log_entry(invitation, MessageKind.RENEWED, at, by=by)
    db.session.flush()
    notifications.rfq_sent(invitation, renewed=True)


def send_due_reminders(at: datetime, before: timedelta = timedelta(days=2)) -> list[Invitation]:
    """Remind suppliers who have not answered, their link closing within 2 days; once each."""
    due = db.session.scalars(
        select(Invitation)
        .join(Invitation.rfq)
        .where(
            Rfq.status.in_((RfqStatus.SENT, RfqStatus.PARTLY_ANSWERED)),
            Invitation.link_id.is_not(None),
            Invitation.revoked_at.is_(None),
            Invitation.submitted_at.is_(None),
            Invitation.reminded_at.is_(None),
            Invitation.expires_at > at,
            Invitation.expires_at <= at + before,
        )
        .order_by(Rfq.number, Invitation.id)
        .with_for_update(of=Invitation)
    ).all()
    for invitation in due:
        invitation.reminded_at = at
        log_entry(invitation, MessageKind.REMINDER, at)
    db.session.flush()
    for invitation in due:
        notifications.rfq_reminder(invitation)
    return due


# --- reading --------------------------------------------------------------------------------


def rfqs_query(status: RfqStatus | None = None, search: str = "") -> Select:
    stmt = (
        select(Rfq)
        .options(selectinload(Rfq.lines), selectinload(Rfq.invitations), selectinload(Rfq.campaign))
        .order_by(Rfq.created_at.desc(), Rfq.id.desc())
    )
    if status is not None:
        stmt = stmt.where(Rfq.status == status)
    if search.strip():
        pattern = f"%{search.strip()}%"
        stmt = stmt.where(Rfq.number.ilike(pattern) | Rfq.title.ilike(pattern))
    return stmt


def supplier_invitations(supplier: Supplier) -> list[Invitation]:
    """The RFQs a supplier was asked in, newest first."""
    return db.session.scalars(
        select(Invitation)
        .join(Invitation.rfq)
        .where(Invitation.supplier_id == supplier.id)
        .options(selectinload(Invitation.rfq), selectinload(Invitation.quotes))
        .order_by(Rfq.created_at.desc(), Rfq.id.desc())
    ).all()


def get_rfq(rfq_id: int) -> Rfq | None:
    return db.session.scalar(
        select(Rfq)
        .where(Rfq.id == rfq_id)
        .options(
            selectinload(Rfq.lines).selectinload(RfqLine.part),
            selectinload(Rfq.lines).selectinload(RfqLine.award),
            selectinload(Rfq.invitations).selectinload(Invitation.supplier),
            selectinload(Rfq.invitations)
            .selectinload(Invitation.quotes)
            .selectinload(Quote.answers)
            .selectinload(QuoteAnswer.tiers),
        )
    )


class Progress(StrEnum):
    """Where a supplier stands, as the manager's RFQ page shows it."""

    NOT_SENT = "not_sent"
    NOT_OPENED = "not_opened"
    OPENED = "opened"
    DRAFT = "draft"
    ANSWERED = "answered"
    REOPENED = "reopened"  # answered, then a counter-proposal reopened lines
    REVOKED = "revoked"
    EXPIRED = "expired"


PROGRESS_LABELS = {
    Progress.NOT_SENT: N_("pas encore envoyée"),
    Progress.NOT_OPENED: N_("lien pas encore ouvert"),
    Progress.OPENED: N_("lien ouvert, pas de réponse"),
    Progress.DRAFT: N_("brouillon enregistré, pas envoyé"),
    Progress.ANSWERED: N_("a répondu"),
    Progress.REOPENED: N_("contre-proposition en attente de réponse"),
    Progress.REVOKED: N_("lien révoqué"),
    Progress.EXPIRED: N_("lien expiré sans réponse"),
}
# Who the coop is still waiting for.
WAITING = frozenset({Progress.NOT_OPENED, Progress.OPENED, Progress.DRAFT, Progress.REOPENED})


def progress(invitation: Invitation, at: datetime) -> Progress:
    if invitation.link_id is None:
        return Progress.NOT_SENT
    state = state_of(invitation, at)
    if state is LinkState.REVOKED:
        return Progress.REVOKED
    waiting = invitation.has_open_quotes
    if not waiting:
        return Progress.ANSWERED
    if state is not LinkState.OPEN:
        return Progress.EXPIRED if invitation.submitted_at is None else Progress.ANSWERED
    if invitation.submitted_at is not None:
        return Progress.REOPENED
    if any(q.draft is not None for q in invitation.quotes):
        return Progress.DRAFT
    return Progress.OPENED if invitation.opened_at else Progress.NOT_OPENED


# --- shared -----------------------------------------------------------------------------------


def lock_rfq(rfq: Rfq) -> None:
    """Lock the RFQ row: sending, answering, awarding and closing decide on its status."""
    db.session.execute(select(Rfq.id).where(Rfq.id == rfq.id).with_for_update())
    db.session.refresh(rfq, ["status"])


def log_entry(
    invitation: Invitation,
    kind: MessageKind,
    at: datetime,
    *,
    by: User | None = None,
    body: str | None = None,
) -> NegotiationMessage:
    """Add an entry to the supplier's thread."""
    entry = NegotiationMessage(kind=kind, author=by, body=body, created_at=at)
    invitation.messages.append(entry)
    return entry
