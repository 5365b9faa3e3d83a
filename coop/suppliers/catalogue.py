"""The catalogue: find, create and edit suppliers, parts and offers; price history."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, exists, not_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from coop.clock import now
from coop.errors import DomainError
from coop.extensions import db
from coop.suppliers.models import Offer, Part, PriceTier, Supplier
from coop.suppliers.origin import ASIA, EUROPE, ORIGINS_NEAR_FIRST, Origin
from coop.suppliers.pricing import Tier, validate_tiers
from coop.suppliers.search import MAX_TYPED, SearchQuery, parts_matching, suppliers_matching
from coop.uniqueness import refusing_duplicates

SUPPLIER_FIELDS = (
    "code",
    "name",
    "country",
    "address",
    "postcode",
    "city",
    "is_local",
    "siret",
    "vat_number",
    "email",
    "phone",
    "shipping_fee",
    "free_shipping_over",
    "default_lead_time_days",
    "notes",
)
PART_FIELDS = ("sku", "name", "category", "unit", "weight_g", "vat_rate", "ean")
OFFER_FIELDS = ("supplier_ref", "made_in", "pack_size", "moq", "lead_time_days", "valid_until")
CANDIDATES_NAMED = 5  # parts the picker names when what was typed fits several

CATEGORIES = {
    "pneus": _l("Pneus"),
    "chambres": _l("Chambres à air"),
    "chaines": _l("Chaînes"),
    "cassettes": _l("Cassettes et roues libres"),
    "transmission": _l("Transmission"),
    "freins": _l("Freins"),
    "cables": _l("Câbles et gaines"),
    "roulements": _l("Roulements"),
    "eclairage": _l("Éclairage"),
    "selles": _l("Selles"),
    "poignees": _l("Poignées et guidoline"),
    "pedales": _l("Pédales"),
    "outillage": _l("Outillage"),
    "visserie": _l("Visserie"),
}


def origin_clause(origin: Origin) -> ColumnElement[bool]:
    """SQL for "the offer is of this origin"; the query must join Offer to Supplier."""
    if origin is Origin.LOCAL:
        return and_(Offer.made_in == "FR", Supplier.is_local.is_(True))
    if origin is Origin.FRANCE:
        return and_(Offer.made_in == "FR", Supplier.is_local.is_(False))
    if origin is Origin.EUROPE:
        return Offer.made_in.in_(sorted(EUROPE))
    if origin is Origin.ASIA:
        return Offer.made_in.in_(sorted(ASIA))
    return not_(Offer.made_in.in_(sorted(EUROPE | ASIA | {"FR"})))


# --- suppliers ---------------------------------------------------------------------


def search_suppliers(query: str = "", origin: str = "", status: str = "active") -> Select:
    """Suppliers by code, name or city (coop.suppliers.search), best match first."""
    stmt = suppliers_matching(query)
    if status == "active":
        stmt = stmt.where(Supplier.is_active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Supplier.is_active.is_(False))
    if origin in Origin.__members__.values():
        origin = Origin(origin)
        if origin is Origin.LOCAL:
            stmt = stmt.where(Supplier.is_local.is_(True))
        elif origin is Origin.FRANCE:
            stmt = stmt.where(Supplier.country == "FR", Supplier.is_local.is_(False))
        elif origin is Origin.EUROPE:
            stmt = stmt.where(Supplier.country.in_(sorted(EUROPE)))
        elif origin is Origin.ASIA:
            stmt = stmt.where(Supplier.country.in_(sorted(ASIA)))
        else:
            stmt = stmt.where(Supplier.country.not_in(sorted(EUROPE | ASIA | {"FR"})))
    return stmt


def save_supplier(supplier: Supplier | None, **values) -> Supplier:
    """Create (supplier None) or update a supplier; its code must be unique."""
    values = _clean(values)
    if not values.get("code"):
        raise DomainError("Le code est obligatoire.", field="code")
    values["code"] = values["code"].upper()
    clash = select(Supplier.id).where(Supplier.code == values["code"])
    if supplier is not None:
        clash = clash.where(Supplier.id != supplier.id)
    taken = DomainError(f"Le code {values['code']} est déjà pris.", field="code")
    if db.session.scalar(clash):
        raise taken
    with refusing_duplicates(uq_suppliers_code=taken):
        if supplier is None:
            supplier = Supplier(is_active=True)
            db.session.add(supplier)
        for name in SUPPLIER_FIELDS:
            if name in values:
                setattr(supplier, name, values[name])
        if supplier.shipping_fee is None:
            supplier.shipping_fee = Decimal("0.00")
        db.session.flush()
    return supplier


def set_supplier_active(supplier: Supplier, active: bool) -> Supplier:
    """A deactivated supplier stays in history but is no longer offered in campaigns."""
    supplier.is_active = active
    db.session.flush()
    return supplier


# --- parts -------------------------------------------------------------------------


def search_parts(
    query: str = "",
    category: str = "",
    origin: str = "",
    supplier_id: int | None = None,
    status: str = "active",
) -> Select:
    """Parts by name, SKU, EAN, suppliers' references and names (coop.suppliers.search),
    best match first, narrowed by category, origin, supplier and status."""
    stmt = parts_matching(query)
    if status == "active":
        stmt = stmt.where(Part.is_active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Part.is_active.is_(False))
    if category:
        stmt = stmt.where(Part.category == category)
    offer_filters = []
    if origin in Origin.__members__.values():
        offer_filters.append(origin_clause(Origin(origin)))
    if supplier_id:
        offer_filters.append(Offer.supplier_id == supplier_id)
    if offer_filters:
        stmt = stmt.where(
            exists()
            .where(Offer.part_id == Part.id, Offer.supplier_id == Supplier.id, *offer_filters)
            .correlate(Part)
        )
    return stmt


def save_part(part: Part | None, **values) -> Part:
    """Create (part None) or update a part; its SKU and EAN must be unique."""
    values = _clean(values)
    if not values.get("sku"):
        raise DomainError("La référence (SKU) est obligatoire.", field="sku")
    values["sku"] = values["sku"].upper()
    others = (lambda stmt: stmt) if part is None else (lambda stmt: stmt.where(Part.id != part.id))
    sku_taken = DomainError(f"La référence {values['sku']} existe déjà.", field="sku")
    if db.session.scalar(others(select(Part.id).where(Part.sku == values["sku"]))):
        raise sku_taken
    if values.get("ean"):
        holder = db.session.scalar(others(select(Part.sku).where(Part.ean == values["ean"])))
        if holder:
            raise DomainError(f"Ce code EAN est déjà celui de {holder}.", field="ean")
    ean_taken = DomainError(_("Ce code EAN est déjà celui d'une autre pièce."), field="ean")
    with refusing_duplicates(uq_parts_sku=sku_taken, uq_parts_ean=ean_taken):
        if part is None:
            part = Part(is_active=True)
            db.session.add(part)
        for name in PART_FIELDS:
            if name in values:
                setattr(part, name, values[name])
        part.unit = part.unit or "piece"
        db.session.flush()
    return part


def get_part_with_offers(part_id: int) -> Part | None:
    """A part with its offers, their suppliers and current tiers, in one query (a few offers
    of a few tiers: one row each; a query per relationship cost a part's page 60 % of it)."""
    return (
        db.session.scalars(
            select(Part)
            .where(Part.id == part_id)
            .options(
                joinedload(Part.offers).options(joinedload(Offer.tiers), joinedload(Offer.supplier))
            )
        )
        .unique()
        .one_or_none()
    )


# --- offers and their tiers ----------------------------------------------------------


def save_offer(
    offer: Offer | None, *, supplier: Supplier, part: Part, tiers: Sequence[Tier], **values
) -> Offer:
    """Create or update an offer and its tiers; previous tiers are kept as history."""
    problems = validate_tiers(tiers)
    if problems:
        raise DomainError(problems[0][:1].upper() + problems[0][1:] + ".", field="tiers")
    values = _clean(values)
    taken = DomainError(
        f"{supplier.name} a déjà une offre pour {part.sku} : modifiez-la.", field="supplier"
    )
    if offer is None:
        clash = db.session.scalar(
            select(Offer.id).where(Offer.supplier_id == supplier.id, Offer.part_id == part.id)
        )
        if clash:
            raise taken
    # Two people saving one offer's prices at once: the second saw tiers the first just closed.
    changed = DomainError(
        _(
            "Les prix de cette offre viennent d'être modifiés par quelqu'un d'autre : rechargez "
            "la page pour les voir, puis recommencez."
        ),
        field="tiers",
    )
    with refusing_duplicates(uq_offers_supplier_part=taken, uq_price_tiers_current=changed):
        if offer is None:
            offer = Offer(supplier=supplier, part=part)
            db.session.add(offer)
        for name in OFFER_FIELDS:
            if name in values:
                setattr(offer, name, values[name])
        offer.made_in = offer.made_in or supplier.country
        offer.pack_size = offer.pack_size or 1
        offer.moq = offer.moq or 0
        db.session.flush()
        replace_tiers(offer, tiers)
    return offer


def current_tiers(offer: Offer) -> list[Tier]:
    return [(t.min_qty, t.unit_price) for t in offer.tiers]


def replace_tiers(offer: Offer, tiers: Sequence[Tier]) -> bool:
    """Make `tiers` the offer's current prices; return whether anything changed.

    Unchanged tiers are left alone (a re-import changes nothing); changed ones
    are closed, not deleted, so a campaign can show the prices it used.
    """
    wanted = sorted((int(q), p) for q, p in tiers)
    current = db.session.scalars(
        select(PriceTier)
        .where(PriceTier.offer_id == offer.id, PriceTier.valid_to.is_(None))
        .order_by(PriceTier.min_qty)
        .with_for_update()
    ).all()
    if [(t.min_qty, t.unit_price) for t in current] == wanted:
        return False
    moment = now()
    for tier in current:
        tier.valid_to = moment
    db.session.flush()  # close before opening: one current tier per threshold
    db.session.add_all(
        PriceTier(offer_id=offer.id, min_qty=q, unit_price=p, valid_from=moment) for q, p in wanted
    )
    db.session.flush()
    db.session.expire(offer, ["tiers", "tier_history"])
    return True


def tiers_on(offer: Offer, moment) -> list[Tier]:
    """The tiers that applied at `moment` (what a campaign priced with)."""
    rows = db.session.scalars(
        select(PriceTier)
        .where(
            PriceTier.offer_id == offer.id,
            PriceTier.valid_from <= moment,
            or_(PriceTier.valid_to.is_(None), PriceTier.valid_to > moment),
        )
        .order_by(PriceTier.min_qty)
    )
    return [(t.min_qty, t.unit_price) for t in rows]


def price_history(offer: Offer) -> list[tuple]:
    """Past and current tier sets, newest first: (valid_from, valid_to, tiers)."""
    periods: dict = {}
    for tier in offer.tier_history:
        periods.setdefault((tier.valid_from, tier.valid_to), []).append(
            (tier.min_qty, tier.unit_price)
        )
    return [
        (start, end, sorted(tiers))
        for (start, end), tiers in sorted(periods.items(), key=lambda kv: kv[0][0], reverse=True)
    ]


# --- sourcing ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcingOverview:
    part_count: int
    with_origin: dict[Origin, int]  # parts with at least one valid offer of each origin
    asia_only: list[Part]
    without_offer: int

    def share(self, origin: Origin) -> float:
        return self.with_origin[origin] / self.part_count if self.part_count else 0.0


def sourcing_overview(today: date) -> SourcingOverview:
    """For the manager: how much of the catalogue can be bought near home."""
    parts = db.session.scalars(
        select(Part)
        .where(Part.is_active.is_(True))
        .order_by(Part.category, Part.sku)
        .options(selectinload(Part.offers).joinedload(Offer.supplier))
    ).all()
    with_origin = dict.fromkeys(ORIGINS_NEAR_FIRST, 0)
    asia_only, without_offer = [], 0
    for part in parts:
        origins = {o.origin for o in part.offers if o.supplier.is_active and o.is_valid_on(today)}
        for origin in origins:
            with_origin[origin] += 1
        if not origins:
            without_offer += 1
        elif origins == {Origin.ASIA}:
            asia_only.append(part)
    return SourcingOverview(len(parts), with_origin, asia_only, without_offer)


def _clean(values: dict) -> dict:
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}


def find_part(text: str) -> Part:
    """The active part a person means by a SKU, an EAN, a supplier's reference, a name,
    `name (SKU)`, or words enough to single it out."""
    text = (text or "").strip()[:MAX_TYPED]
    if text.endswith(")") and "(" in text:
        text = text[text.rindex("(") + 1 : -1].strip()
    query = SearchQuery.parse(text)
    candidates = []
    if query:
        rank = query.rank(Part.search_text)
        candidates = db.session.execute(
            select(Part, rank)
            .where(Part.is_active.is_(True), query.matches(Part.search_text))
            .order_by(rank, Part.sku)
            .limit(CANDIDATES_NAMED + 1)
        ).all()
    if not candidates:
        raise DomainError(
            f"Aucune pièce « {text} » au catalogue : choisissez-la dans la liste, "
            "ou demandez-la comme pièce hors catalogue.",
            field="part",
        )
    exact = [part for part, score in candidates if score == 0]
    if len(candidates) == 1 or len(exact) == 1:
        return exact[0] if exact else candidates[0][0]
    # Name the parts that answer best when several tie, else the best few.
    best = [part for part, score in candidates if score == candidates[0][1]]
    named = best if len(best) > 1 else [part for part, _score in candidates]
    more = " …" if len(named) > CANDIDATES_NAMED else ""
    skus = ", ".join(part.sku for part in named[:CANDIDATES_NAMED])
    raise DomainError(
        f"Plusieurs pièces correspondent à « {text} » : {skus}{more} ; précisez la référence.",
        field="part",
    )


PICKER_CHOICES = 15  # suggestions a part picker shows for what was typed


def part_choices(typed: str) -> list[tuple[str, str]]:
    """(sku, name) of the active parts that best match what was typed, for a part picker.

    The catalogue's search (names, SKU, EAN, suppliers' references and names, accents
    and case ignored), best first: a page with a part field carries no list of the whole
    catalogue, it asks for these as the user types. Nothing typed, nothing suggested.
    """
    if not typed.strip():
        return []
    return list(
        db.session.execute(
            search_parts(typed).with_only_columns(Part.sku, Part.name).limit(PICKER_CHOICES)
        ).tuples()
    )
