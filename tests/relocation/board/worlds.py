"""A small catalogue and campaigns pooled by the engine, for the relocation tests.

Four suppliers: TAIWAN (TW, Taichung; a 120.00 fee, no threshold), FORGE (local, Saint-Étienne;
15.00, free from 200.00), OUEST (France, Nantes; 25.00) and MORAVIA (CZ, Brno; 30.00, free from
100.00). Four parts: a chain (300 g), a tyre (400 g), pedals (350 g), a tube (no weight).

    chain  TAIWAN pack 10, MOQ 20: 6.00 from 20, 5.50 from 50 · FORGE 9.00, 8.40 from 30 ·
           OUEST 8.50
    tyre   TAIWAN 10.00 (the only offer)
    pedals TAIWAN pack 20, MOQ 20: 12.00 · OUEST 15.00
    tube   TAIWAN pack 50, MOQ 50: 3.00 · MORAVIA pack 10, MOQ 10: 4.00
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from coop.accounts.models import Member
from coop.extensions import db
from coop.orders.campaigns.models import Campaign
from coop.orders.pooling.pool_run import Options, pool_now
from coop.orders.purchasing import ordering
from coop.suppliers.models import Offer, Part, Supplier
from tests.orders.purchasing.test_purchase_orders import close

D = Decimal


@dataclass
class World:
    taiwan: Supplier
    forge: Supplier
    ouest: Supplier
    moravia: Supplier
    chain: Part
    tyre: Part
    pedals: Part
    tube: Part
    offers: dict[str, Offer]
    shops: dict[str, Member]


def catalogue(make) -> World:
    taiwan = make.supplier(
        code="TAIWAN", name="Taiwan Cycle", country="TW", city="Taichung", shipping_fee=D("120.00")
    )
    forge = make.supplier(
        code="FORGE",
        name="Forge stéphanoise",
        city="Saint-Étienne",
        is_local=True,
        shipping_fee=D("15.00"),
        free_shipping_over=D("200.00"),
    )
    ouest = make.supplier(code="OUEST", name="Ouest Cycles", city="Nantes", shipping_fee=D("25.00"))
    moravia = make.supplier(
        code="MORAVIA",
        name="Moravia",
        country="CZ",
        city="Brno",
        shipping_fee=D("30.00"),
        free_shipping_over=D("100.00"),
    )
    chain = make.part(sku="CHN-8", name="Chaîne 8 vitesses", category="chaines", weight_g=300)
    tyre = make.part(sku="TYR-28", name="Pneu 700x28", category="pneus", weight_g=400)
    pedals = make.part(sku="PED-PLT", name="Pédales plates", category="pedales", weight_g=350)
    tube = make.part(sku="TUB-700", name="Chambre à air", category="chambres", weight_g=None)
    offers = {
        "taiwan_chain": make.offer(
            taiwan, chain, tiers=((20, "6.00"), (50, "5.50")), pack_size=10, moq=20
        ),
        "taiwan_tyre": make.offer(taiwan, tyre, tiers=((1, "10.00"),)),
        "taiwan_pedals": make.offer(taiwan, pedals, tiers=((20, "12.00"),), pack_size=20, moq=20),
        "taiwan_tube": make.offer(taiwan, tube, tiers=((50, "3.00"),), pack_size=50, moq=50),
        "forge_chain": make.offer(forge, chain, tiers=((1, "9.00"), (30, "8.40"))),
        "ouest_chain": make.offer(ouest, chain, tiers=((1, "8.50"),)),
        "ouest_pedals": make.offer(ouest, pedals, tiers=((1, "15.00"),)),
        "moravia_tube": make.offer(moravia, tube, tiers=((10, "4.00"),), pack_size=10, moq=10),
    }
    shops = {k: make.member(code=f"SHOP{k}", name=f"Atelier {k}") for k in "ABC"}
    return World(taiwan, forge, ouest, moravia, chain, tyre, pedals, tube, offers, shops)


def pooled(make, world: World, needs, order_date: date) -> Campaign:
    """A campaign of `needs` (shop key, part, quantity, tolerance), pooled by the engine and
    committed into purchase orders."""
    campaign = make.campaign(order_date=order_date, closes_at=None)
    for n, (shop, part, quantity, tolerance) in enumerate(needs):
        make.need(
            campaign, world.shops[shop], part, quantity=quantity, tolerance=tolerance, ref=f"R{n}"
        )
    close(campaign)
    _, run = pool_now(campaign, Options(time_limit=10))
    ordering.commit_run(run)
    db.session.commit()
    return campaign


def first_campaign(make, world: World, order_date: date) -> Campaign:
    """A: 12 chains and 12 tyres, B: 18 chains. The engine buys all from TAIWAN: chains 30 at
    6.00 (its tier of 20) = 180.00, tyres 12 at 10.00 = 120.00, and its fee 120.00, split by
    value: A's chains 72.00 + 28.80, B's 108.00 + 43.20, A's tyres 120.00 + 48.00.

    (FORGE would cost 252.00 for the chains, against TAIWAN's 180.00 + 10 % penalty = 198.00,
    its fee being paid for the tyres anyway.)
    """
    return pooled(
        make,
        world,
        [("A", world.chain, 12, 0), ("B", world.chain, 18, 0), ("A", world.tyre, 12, 0)],
        order_date,
    )
