"""Needs: a shop posts, edits and withdraws what it needs until the campaign's cutoff."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from coop import clock
from coop.accounts.models import Member
from coop.errors import DomainError, NotAllowed
from coop.extensions import db
from coop.i18n import moment
from coop.orders.campaigns.locking import lock_campaign, lock_campaign_for_shop
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need, PartRequest, RequestStatus
from coop.suppliers.models import Part


@dataclass(frozen=True)
class NeedTerms:
    """What a shop says about one need; validated by `check_terms`."""

    quantity: int
    tolerance: int = 0
    min_quantity: int | None = None  # None: the whole quantity or nothing
    needed_by: date | None = None
    max_unit_price: Decimal | None = None
    ref: str | None = None
    note: str | None = None


def check_terms(terms: NeedTerms, campaign: Campaign) -> list[tuple[str, str]]:
    """Every problem with a need's terms, as (field, French message)."""
    problems = []
    if terms.quantity is None or terms.quantity < 1:
        problems.append(("quantity", "La quantité doit être au moins 1."))
    if terms.tolerance is not None and terms.tolerance < 0:
        problems.append(("tolerance", "La tolérance ne peut pas être négative."))
    if terms.min_quantity is not None and terms.quantity and terms.quantity >= 1:
        if terms.min_quantity < 1:
            problems.append(("min_quantity", "Le minimum accepté doit être au moins 1."))
        elif terms.min_quantity > terms.quantity:
            problems.append(
                ("min_quantity", "Le minimum accepté ne peut pas dépasser la quantité demandée.")
            )
    if terms.max_unit_price is not None and terms.max_unit_price <= 0:
        problems.append(("max_unit_price", "Le prix maximum doit être strictement positif."))
    if terms.needed_by is not None and terms.needed_by < campaign.order_date:
        problems.append(
            (
                "needed_by",
                f"La date souhaitée précède la date de commande ({campaign.order_date:%d/%m/%Y}).",
            )
        )
    if terms.ref is not None and len(terms.ref) > 40:
        problems.append(("ref", "Référence trop longue (40 caractères au plus)."))
    return problems


def may_change_needs(campaign: Campaign, at: datetime) -> bool:
    """Whether shops may post, edit or withdraw needs in the campaign at `at`."""
    return campaign.accepts_needs_at(at)


def ensure_open(campaign: Campaign, at: datetime) -> None:
    """Refuse any change to needs once the campaign no longer accepts them."""
    if may_change_needs(campaign, at):
        return
    if campaign.closes_at is not None and at >= campaign.closes_at:
        raise DomainError(
            f"La campagne {campaign.code} est close depuis le {moment(campaign.closes_at)} : "
            "les besoins ne peuvent plus être modifiés."
        )
    raise DomainError(f"La campagne {campaign.code} n'est pas ouverte aux besoins.")


def lock_and_judge(
    campaign: Campaign, at: datetime | None, member: Member | None = None
) -> datetime:
    """Lock the campaign; the moment a change to its needs is judged at.

    Every change to needs goes through it: a shop's post, edit or withdrawal (`member`)
    shares the campaign's lock with the other shops' (`lock_campaign_for_shop`), the CSV
    import of many shops' lines takes it alone. `at` when the caller says (the demo, a
    conversion, tests); otherwise the clock, read once the lock is held: a request that
    waited on the lock across the cutoff is refused, and what is accepted is stamped with
    this moment, so no need is ever written after the cutoff.
    """
    if member is None:
        lock_campaign(campaign)
    else:
        lock_campaign_for_shop(campaign, member)
    return at or clock.now()


def post_need(
    campaign: Campaign, member: Member, part: Part, terms: NeedTerms, *, at: datetime | None = None
) -> Need:
    """A shop adds a need to an open campaign."""
    judged = lock_and_judge(campaign, at, member)
    ensure_open(campaign, judged)
    _refuse(check_terms(terms, campaign))
    if not part.is_active:
        raise DomainError(f"La pièce {part.sku} n'est plus au catalogue.", field="part")
    ref = terms.ref or _next_ref(campaign, member)
    _refuse_duplicate_ref(campaign.id, member.id, ref)
    need = Need(campaign=campaign, member=member, part=part, ref=ref)
    if at is None:
        need.created_at = need.updated_at = judged
    _apply(need, terms)
    db.session.add(need)
    db.session.flush()
    return need


def update_need(need: Need, part: Part, terms: NeedTerms, *, at: datetime | None = None) -> Need:
    """A shop changes its need until the cutoff."""
    judged = lock_and_judge(need.campaign, at, need.member)
    ensure_open(need.campaign, judged)
    _refuse(check_terms(terms, need.campaign))
    ref = terms.ref or need.ref
    _refuse_duplicate_ref(need.campaign_id, need.member_id, ref, except_id=need.id)
    need.part = part
    need.ref = ref
    if at is None:
        need.updated_at = judged
    _apply(need, terms)
    db.session.flush()
    return need


def withdraw_need(need: Need, *, at: datetime | None = None) -> None:
    """A shop withdraws a need until the cutoff; it is deleted, as if never posted."""
    ensure_open(need.campaign, lock_and_judge(need.campaign, at, need.member))
    db.session.delete(need)
    db.session.flush()


def ensure_owner(need: Need, member: Member | None) -> None:
    """A shop reaches only its own needs, whatever the URL says."""
    if member is None or need.member_id != member.id:
        raise NotAllowed("Ce besoin n'est pas le vôtre.")


def member_needs(campaign: Campaign, member: Member) -> Select:
    """A shop's needs in a campaign, oldest first, each with its part (one query: a need has
    one part, so the join keeps one row per need)."""
    return (
        select(Need)
        .where(Need.campaign_id == campaign.id, Need.member_id == member.id)
        .options(joinedload(Need.part))
        .order_by(Need.created_at, Need.id)
    )


def request_part(
    campaign: Campaign, member: Member, description: str, quantity: int, note: str | None, *, at
) -> PartRequest:
    """A shop asks for a part the catalogue does not have yet."""
    lock_campaign(campaign)
    ensure_open(campaign, at)
    if not (description or "").strip():
        raise DomainError("Décrivez la pièce souhaitée.", field="description")
    if not quantity or quantity < 1:
        raise DomainError("La quantité doit être au moins 1.", field="quantity")
    request = PartRequest(
        campaign=campaign,
        member=member,
        description=description.strip()[:300],
        quantity=quantity,
        note=(note or "").strip() or None,
    )
    db.session.add(request)
    db.session.flush()
    return request


def _apply(need: Need, terms: NeedTerms) -> None:
    need.quantity = terms.quantity
    need.tolerance = terms.tolerance or 0
    need.min_quantity = terms.min_quantity or terms.quantity
    need.needed_by = terms.needed_by
    need.max_unit_price = terms.max_unit_price
    need.note = (terms.note or "").strip() or None


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        field, message = problems[0]
        raise DomainError(message, field=field)


def _refuse_duplicate_ref(
    campaign_id: int, member_id: int, ref: str, except_id: int | None = None
) -> None:
    stmt = select(Need.id).where(
        Need.campaign_id == campaign_id, Need.member_id == member_id, Need.ref == ref
    )
    if except_id is not None:
        stmt = stmt.where(Need.id != except_id)
    if db.session.scalar(stmt):
        raise DomainError(f"Vous avez déjà un besoin de référence {ref}.", field="ref")


def _next_ref(campaign: Campaign, member: Member) -> str:
    """The shop's next free line number in this campaign."""
    count = db.session.scalar(
        select(func.count()).where(Need.campaign_id == campaign.id, Need.member_id == member.id)
    )
    taken = set(
        db.session.scalars(
            select(Need.ref).where(Need.campaign_id == campaign.id, Need.member_id == member.id)
        )
    )
    n = count + 1
    while str(n) in taken:
        n += 1
    return str(n)


def convert_request(part_request: PartRequest, part: Part, *, at) -> Need:
    """The manager found the part: the shop's request becomes one of its needs."""
    if part_request.status is not RequestStatus.OPEN:
        raise DomainError("Cette demande a déjà été traitée.")
    need = post_need(
        part_request.campaign,
        part_request.member,
        part,
        NeedTerms(quantity=part_request.quantity, note=part_request.note),
        at=at,
    )
    part_request.status = RequestStatus.CONVERTED
    part_request.need = need
    db.session.flush()
    return need


def member_requests(campaign: Campaign, member: Member) -> list[PartRequest]:
    """The shop's requests for parts not in the catalogue, and the need each became."""
    return db.session.scalars(
        select(PartRequest)
        .where(PartRequest.campaign_id == campaign.id, PartRequest.member_id == member.id)
        .options(selectinload(PartRequest.need).selectinload(Need.part))
        .order_by(PartRequest.created_at, PartRequest.id)
    ).all()


@dataclass(frozen=True)
class PartNeed:
    """Where a shop adding a catalogue part to its needs goes: its need for the part in an
    open campaign, else the open campaign to post it to; neither when none is open."""

    campaign: Campaign | None
    need: Need | None


def need_for_part(member: Member, part: Part, *, at) -> PartNeed:
    """The shop's need for `part` in a campaign open now, or the campaign to post it to."""
    open_now = [
        c
        for c in db.session.scalars(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.OPEN)
            .order_by(Campaign.closes_at.is_(None), Campaign.closes_at, Campaign.id)
        )
        if c.accepts_needs_at(at)
    ]
    if not open_now:
        return PartNeed(None, None)
    need = db.session.scalar(
        select(Need)
        .where(
            Need.member_id == member.id,
            Need.part_id == part.id,
            Need.campaign_id.in_([c.id for c in open_now]),
        )
        .order_by(Need.created_at, Need.id)
        .limit(1)
    )
    return PartNeed(need.campaign if need else open_now[0], need)
