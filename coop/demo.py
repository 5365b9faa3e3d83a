"""`coop seed-demo`: a realistic cooperative to click through."""

import random
import unicodedata
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from stdnum import luhn
from stdnum.fr import siren as stdnum_siren

from coop.accounts.auth import create_user
from coop.accounts.identity import save_identity
from coop.accounts.models import Member, Role, User
from coop.clock import from_local, now, today
from coop.extensions import db
from coop.i18n import de
from coop.imports import run_import
from coop.invoicing.documents import render_pending_documents
from coop.invoicing.issuing import issue_invoices
from coop.invoicing.models import Invoice
from coop.money import quantize
from coop.negotiation.rfqs import campaign_demand, create_rfq, send_rfq
from coop.orders.campaigns.lifecycle import change_status, create_campaign
from coop.orders.campaigns.models import CampaignStatus, Need
from coop.orders.campaigns.needs import NeedTerms, post_need
from coop.orders.costs.charging import book_shortfall_fees
from coop.orders.costs.splitting import store_received_split
from coop.orders.pooling.pool_run import Options, pool_now
from coop.orders.purchasing.models import OrderStatus, PurchaseOrder
from coop.orders.purchasing.ordering import change_order_status, commit_run, send_order
from coop.orders.purchasing.receiving import record_receipt
from coop.payments.bank import import_statement
from coop.payments.ledger import record_payment
from coop.payments.models import Method, Payment
from coop.suppliers.models import Offer, Part, Supplier

# The demo catalogue is kept as the CSV files a manager would import: they double
# as examples of the formats in spec/formats.md.
DEMO_DATA = Path(__file__).parent / "demo_data"

# (name, street, postcode, city): Lyon-area bike businesses, plausible but invented.
SHOPS = [
    ("Atelier Vélo Croix-Rousse", "12 rue d'Austerlitz", "69004", "Lyon"),
    ("Cycles de la Guillotière", "48 cours Gambetta", "69007", "Lyon"),
    ("Le Biclou Part-Dieu", "5 rue Paul Bert", "69003", "Lyon"),
    ("Vélo Station Perrache", "31 cours de Verdun", "69002", "Lyon"),
    ("Roue Libre Villeurbanne", "102 cours Émile Zola", "69100", "Villeurbanne"),
    ("Cyclable Monplaisir", "77 avenue des Frères Lumière", "69008", "Lyon"),
    ("La Petite Reine de Vaise", "9 place Valmy", "69009", "Lyon"),
    ("Rayons & Pignons", "23 rue de Marseille", "69007", "Lyon"),
    ("Atelier du Pédalier", "14 rue Duguesclin", "69006", "Lyon"),
    ("Cycles Gerland", "210 avenue Jean Jaurès", "69007", "Lyon"),
    ("Vélo Cité Vénissieux", "3 avenue Jean Cagne", "69200", "Vénissieux"),
    ("Bicyclette Caluirarde", "56 avenue Barthélémy Thimonnier", "69300", "Caluire-et-Cuire"),
    ("Oullins Cycles", "8 Grande Rue", "69600", "Oullins-Pierre-Bénite"),
    ("Le Vélo Vert de Bron", "41 avenue Franklin Roosevelt", "69500", "Bron"),
    ("Ateliers Mécaniques Saint-Fons", "17 rue Carnot", "69190", "Saint-Fons"),
    ("Cycles Tassin", "6 place Péragut", "69160", "Tassin-la-Demi-Lune"),
    ("Écully Bike Service", "25 chemin de Charrière Blanche", "69130", "Écully"),
    ("La Roue de Décines", "90 avenue Jean Jaurès", "69150", "Décines-Charpieu"),
    ("Vélo Rapide Meyzieu", "12 rue de la République", "69330", "Meyzieu"),
    ("Cycles Rillieux", "4 avenue de l'Europe", "69140", "Rillieux-la-Pape"),
    ("Le Cadre Lyonnais", "33 rue Mercière", "69002", "Lyon"),
    ("Fixie Factory Confluence", "112 cours Charlemagne", "69002", "Lyon"),
    ("Atelier Cargo Brotteaux", "18 boulevard des Brotteaux", "69006", "Lyon"),
    ("Vélos d'Ainay", "7 rue Sala", "69002", "Lyon"),
    ("Les Jantes de Saint-Jean", "22 rue Saint-Jean", "69005", "Lyon"),
    ("Cyclo Point Sans-Souci", "141 avenue Lacassagne", "69003", "Lyon"),
    ("Pédale Douce Villeurbanne", "64 rue Francis de Pressensé", "69100", "Villeurbanne"),
    ("Atelier Solidaire Mermoz", "2 rue Genton", "69008", "Lyon"),
    ("Vélo Campus La Doua", "20 avenue Albert Einstein", "69100", "Villeurbanne"),
    ("Cycles Sainte-Foy", "38 boulevard Baron du Marais", "69110", "Sainte-Foy-lès-Lyon"),
    ("Monts d'Or Cycles", "5 place de la Mairie", "69450", "Saint-Cyr-au-Mont-d'Or"),
    ("Givors Vélo Service", "27 rue Roger Salengro", "69700", "Givors"),
    ("Cycles du Beaujolais", "15 rue Nationale", "69400", "Villefranche-sur-Saône"),
    ("Vienne Bike Repair", "9 cours Brillier", "38200", "Vienne"),
    ("Atelier Mobilité Neuville", "3 quai Pierre Dupont", "69250", "Neuville-sur-Saône"),
    ("Le Guidon Chaponnais", "11 avenue Paul Doumer", "69630", "Chaponost"),
    ("Vélo Électrique Limonest", "60 avenue Général de Gaulle", "69760", "Limonest"),
    ("Cadres & Cintres Saint-Priest", "19 rue Henri Maréchal", "69800", "Saint-Priest"),
    ("Cycles Francheville", "8 route de Chaponost", "69340", "Francheville"),
    ("Atelier Roule Ma Poule", "44 rue Burdeau", "69001", "Lyon"),
]

DEMO_PASSWORD = "demo-coop-2026"  # noqa: S105 (printed for the local demo)


def has_data() -> bool:
    return bool(
        db.session.scalar(select(func.count()).select_from(Member))
        or db.session.scalar(select(func.count()).select_from(User))
    )


def fake_siret(rng: random.Random) -> str:
    """A SIRET that passes both Luhn checks (SIREN and SIRET), for demos and tests."""
    siren = "".join(str(rng.randint(0, 9)) for _ in range(8))
    siren += luhn.calc_check_digit(siren)
    body = siren + f"{rng.randint(1, 9):04d}"
    return body + luhn.calc_check_digit(body)


def _vat(siret: str) -> str:
    siren = int(siret[:9])
    return f"FR{(12 + 3 * (siren % 97)) % 97:02d}{siret[:9]}"


def _code(name: str, taken: set[str]) -> str:
    words = [w for w in name.upper().replace("-", " ").replace("'", " ").split() if len(w) > 2]
    letters = "".join(ch for ch in (words[-1] if words else name.upper()) if ch.isalpha())
    base = (letters.encode("ascii", "ignore").decode() or "SHOP")[:6]
    n = 1
    while f"{base}{n:02d}" in taken:
        n += 1
    code = f"{base}{n:02d}"
    taken.add(code)
    return code


def seed(rng_seed: int = 2026) -> list[tuple[str, str, str]]:
    """Create the demo shops, catalogue and accounts; return (role, e-mail, password)."""
    _seed_identity()
    for kind in ("suppliers", "parts", "offers"):
        run_import(kind, (DEMO_DATA / f"{kind}.csv").read_bytes())
    rng = random.Random(rng_seed)
    taken: set[str] = set()
    shops = []
    for name, street, postcode, city in SHOPS:
        siret = fake_siret(rng)
        member = Member(
            code=_code(name, taken),
            name=name,
            siret=siret,
            vat_number=_vat(siret),
            email=f"contact@{_slug(name)}.example",
            phone=f"04 7{rng.randint(0, 9)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}",
            address=street,
            postcode=postcode,
            city=city,
        )
        shops.append(member)
    # A few files as they really are: one shop without a SIRET yet, one without e-mail.
    shops[-1].siret = shops[-1].vat_number = None
    shops[-2].email = None
    db.session.add_all(shops)
    db.session.flush()

    logins = []
    for roles, email, name in (
        ((Role.ADMIN,), "admin@coop-velo-lyon.example", "Administration"),
        ((Role.MANAGER,), "gerance@coop-velo-lyon.example", "Camille Gérante"),
        ((Role.TREASURER,), "tresorerie@coop-velo-lyon.example", "Dominique Trésorier"),
        # A small coop's president often holds both jobs: two roles, both menus.
        ((Role.MANAGER, Role.TREASURER), "bureau@coop-velo-lyon.example", "Alex Président"),
    ):
        create_user(email, name, roles, DEMO_PASSWORD)
        logins.append(("+".join(roles), email, DEMO_PASSWORD))
    for shop, person in zip(shops[:3], ("Sam Perrin", "Léa Mercier", "Karim Benali"), strict=True):
        email = f"atelier@{_slug(shop.name)}.example"
        create_user(email, person, Role.MEMBER, DEMO_PASSWORD, shop.code)
        logins.append((f"member {shop.code}", email, DEMO_PASSWORD))
    _seed_invoiced_campaign(rng, shops)
    _seed_pooled_campaign(rng, shops)
    _seed_campaign(rng, shops)
    return logins


def _seed_identity() -> None:
    """The coop's identity as the admin would enter it: numbers that pass their checks."""
    siren = "812345676"
    save_identity(
        {
            "name": "Coopérative vélo Lyon",
            "legal_form": "SCIC SAS",
            "variable_capital": True,
            "siren": siren,
            "registry": "RCS",
            "registry_city": "Lyon",
            "vat_on_debits": True,
            "vat_number": "FR" + stdnum_siren.to_tva(siren),
            "address": "12 rue Paul Bert",
            "postcode": "69003",
            "city": "Lyon",
            "country": "FR",
            "email": "contact@coop-velo-lyon.example",
            "phone": "04 78 00 00 00",
            "iban": "FR76 3000 6000 0112 3456 7890 189",
            "bic": "AGRIFRPP",
            "payment_terms_days": "30",
            "late_payment_rate": "taux directeur de la BCE majoré de 10 points",
            "account_customers": "411",
            "account_goods": "707",
            "account_shipping": "7085",
            "account_fee": "706",
            "account_vat": "44571",
            "account_bank": "512",
            "account_bank_fees": "627",
            "logo": (DEMO_DATA / "logo.svg").read_bytes(),
        }
    )


def _seed_invoiced_campaign(rng: random.Random, shops: list[Member]) -> None:
    """The campaign of two months ago: received, invoiced, partly paid.

    The demo shops have invoices to pay online; the treasurer has payments, a
    bank statement to reconcile and overdue invoices to remind.
    """
    start = today() - timedelta(days=62)
    campaign = create_campaign(
        f"{start:%Y}-{start:%m}",
        f"Commande groupée {de(_month_name(start.month))}",
        start + timedelta(days=12),
        at=from_local(start),
        delivery_on=start + timedelta(days=30),
        fee_rate=Decimal("0.02"),
    )
    _post_needs(rng, campaign, shops[:12])
    change_status(campaign, CampaignStatus.CLOSED, at=from_local(start + timedelta(days=12)))
    _, run = pool_now(campaign, Options(time_limit=20))
    orders = commit_run(run)
    book_shortfall_fees(campaign, run.record)
    sent, arrived = from_local(start + timedelta(days=14)), start + timedelta(days=26)
    for order in orders:
        change_order_status(order, OrderStatus.SENT, at=sent)
        quantities = {line.id: (line.quantity, 0) for line in order.lines}
        record_receipt(
            order,
            received_on=arrived,
            delivery_note_ref=f"BL-{order.number}",
            quantities=quantities,
            at=from_local(arrived),
        )
    store_received_split(campaign)
    db.session.commit()
    treasurer = db.session.scalar(
        select(User).where(User.email == "tresorerie@coop-velo-lyon.example")
    )
    invoices = issue_invoices(campaign, by=treasurer, at=from_local(arrived + timedelta(days=2)))
    render_pending_documents()
    # Three shops paid by transfer, one only in part; a bank statement brings two more
    # transfers (one short) and a line the treasurer will ignore.
    for invoice, share in zip(invoices[2:5], ("1", "1", "0.5"), strict=True):
        amount = quantize(invoice.total_incl_vat * Decimal(share))
        record_payment(
            invoice.member,
            amount,
            method=Method.TRANSFER,
            invoices=[invoice],
            received_on=arrived + timedelta(days=20),
            reference="VIR SEPA RECU",
            by=treasurer,
        )
    db.session.commit()
    on = f"{today() - timedelta(days=3):%d/%m/%Y}"
    exact, short = invoices[5], invoices[6]
    statement = "\r\n".join(
        [
            "Date;Libellé;Débit Euros;Crédit Euros;",
            f"{on};VIR SEPA RECU /DE {exact.member.name.upper()} /REF {exact.payment_reference};;"
            f"{exact.total_incl_vat:.2f};".replace(".", ","),
            f"{on};VIR SEPA RECU /DE {short.member.name.upper()} /MOTIF {short.number};;"
            f"{short.total_incl_vat - 20:.2f};".replace(".", ","),
            f"{on};VIR SEPA RECU /DE DECATHLON PRO /MOTIF AVOIR 2291;;64,90;",
            f"{on};PRLV SEPA ORANGE SA FACTURE BOX;39,99;;",
        ]
    )
    import_statement(statement.encode("cp1252"), "releve-demo.csv", by=treasurer)
    db.session.commit()


def _seed_pooled_campaign(rng: random.Random, shops: list[Member]) -> None:
    """Last month's campaign, closed and pooled: purchase orders, one of them sent.

    The demo logins have needs in it, so a shop sees what pooling brought it.
    """
    start = today() - timedelta(days=31)  # always the month before this one
    campaign = create_campaign(
        f"{start:%Y}-{start:%m}",
        f"Commande groupée {de(_month_name(start.month))}",
        start + timedelta(days=12),
        at=now(),
        delivery_on=start + timedelta(days=30),
        fee_rate=Decimal("0.02"),
    )
    _post_needs(rng, campaign, shops[:30])
    change_status(campaign, CampaignStatus.CLOSED, at=now())
    _, run = pool_now(campaign, Options(time_limit=20))
    orders = commit_run(run)
    book_shortfall_fees(campaign, run.record)
    send_order(next(o for o in orders if o.supplier.email), at=now())


def _post_needs(rng: random.Random, campaign, shops: list[Member]) -> None:
    parts = db.session.scalars(select(Part).order_by(Part.sku)).all()
    popular = rng.sample(parts, 45)
    for shop in shops:
        for part in rng.sample(popular, rng.randint(2, 7)):
            quantity = rng.choice((1, 2, 2, 3, 4, 5, 6, 10, 12))
            post_need(
                campaign,
                shop,
                part,
                NeedTerms(quantity=quantity, tolerance=rng.choice((0, 0, 1, 2, 5))),
                at=now(),
            )


def _seed_campaign(rng: random.Random, shops: list[Member]) -> None:
    """An open campaign closing in ten days, with needs from most shops but not all."""
    start = today()
    cutoff = from_local(start + timedelta(days=10), 18, 0)
    campaign = create_campaign(
        f"{start:%Y}-{start:%m}",
        f"Commande groupée {de(_month_name(start.month))}",
        start + timedelta(days=12),
        at=now(),
        closes_at=cutoff,
        delivery_on=start + timedelta(days=30),
        fee_rate=Decimal("0.02"),
    )
    # The three demo logins start this one with an empty list to fill.
    _post_needs(rng, campaign, shops[3:34])
    # The manager asks for quotes on the three parts most asked for; no supplier answered yet.
    top = sorted(campaign_demand(campaign), key=lambda d: (-d.requested, d.part.sku))[:3]
    rfq = create_rfq(
        f"Devis : {campaign.title}",
        start + timedelta(days=7),
        [(d.part, d.requested) for d in top],
        at=now(),
        campaign=campaign,
    )
    send_rfq(rfq, at=now())


def _month_name(month: int) -> str:
    return (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    )[month - 1]


def summary() -> str:
    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    return (
        f"{count(Member)} member shops, {count(User)} user accounts, {count(Supplier)} "
        f"suppliers, {count(Part)} parts, {count(Offer)} offers, and {count(Need)} needs in "
        f"three campaigns: one delivered and invoiced ({count(Invoice)} invoices, "
        f"{count(Payment)} payments, a bank statement to reconcile), last month's pooled, and "
        f"an open one; {count(PurchaseOrder)} purchase orders in all"
    )


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in ascii_name.lower()).split())
