"""`coop seed-demo`: a realistic cooperative to click through."""

import random
import unicodedata
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select, update
from stdnum import luhn
from stdnum.fr import siren as stdnum_siren

from coop.accounts.auth import create_user
from coop.accounts.identity import save_identity
from coop.accounts.models import Member, Role, User
from coop.clock import from_local, now, today
from coop.extensions import db
from coop.i18n import de
from coop.imports import run_import
from coop.invoicing.issuing import issue_invoices
from coop.invoicing.models import Invoice
from coop.money import UNIT_PRICE, quantize
from coop.negotiation.rfqs import campaign_demand, create_rfq, send_rfq
from coop.numbering import next_value
from coop.orders.campaigns.lifecycle import change_status, create_campaign
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need
from coop.orders.campaigns.needs import NeedTerms, post_need
from coop.orders.costs import versions
from coop.orders.costs.charging import book_shortfall_fees
from coop.orders.costs.splitting import store_received_split
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.pooling.plan import reason_json
from coop.orders.pooling.pool_run import Options, load_inputs, plan_record, pool_now
from coop.orders.pooling.solver import greedy
from coop.orders.purchasing.models import (
    Allocation,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
)
from coop.orders.purchasing.ordering import change_order_status, commit_run, send_order
from coop.orders.purchasing.receiving import record_receipt
from coop.payments.bank import import_statement
from coop.payments.ledger import record_payment
from coop.payments.models import BankLine, Method, Payment
from coop.purchases.booking import book
from coop.purchases.importing import TypedInvoice, TypedLine, enter_invoice
from coop.purchases.models import SupplierInvoiceKind, SupplierLineKind
from coop.purchases.paying import pay, propose, waiting_debits_query
from coop.relocation import accepting, agreements, answering, calls, files, forecast
from coop.suppliers.models import Offer, Part, Supplier

# The demo catalogue is kept as the CSV files a manager would import: they double
# as examples of the formats in spec/formats.md.
DEMO_DATA = Path(__file__).parent / "demo_data"
# The PDF attached to the demo's supplier invoices entered by hand.
DEMO_SUPPLIER_PDF_PATH = DEMO_DATA / "facture-fournisseur-exemple.pdf"

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
    _seed_past_year(random.Random(rng_seed + 1), shops)
    _seed_invoiced_campaign(rng, shops)
    _seed_pooled_campaign(rng, shops)
    _seed_campaign(rng, shops)
    _seed_manufacturer_call(rng)
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


def _seed_past_year(rng: random.Random, shops: list[Member]) -> None:
    """Eight campaigns received over the past year, for the relocation board, its trends and
    the impact report (issue 19).

    Five parts were bought in Asia until, six months ago, a Saint-Étienne forge joined the
    coop and took four of them, and Lyon's tyre shop the road tyres; five parts only Asia
    makes; and the shops' usual small needs. Needs are written in bulk and each campaign is
    pooled by the greedy rule (the solver is not what this history shows), without e-mails
    or documents, so that the demo still loads in seconds.
    """
    moved = {  # part -> its supplier before the switch, after it
        "CHN-8S-116": ("TCPRECISION", "FORGESTET"),
        "BRK-DSC-160-6B": ("TCPRECISION", "FORGESTET"),
        "PED-PLT-ALU": ("TCPRECISION", "FORGESTET"),
        "DRV-PLT-34-104": ("TCPRECISION", "FORGESTET"),
        "TYR-700X28-TR": ("SAIGONRUB", "LYONPNEU"),
    }
    asia_only = ("CHN-12S-126", "CHN-11S-118-AC", "CAS-11S-1132", "CAS-10S-1136", "LGT-AV-USB-1000")
    parts = {p.sku: p for p in db.session.scalars(select(Part).order_by(Part.sku))}
    everyday = rng.sample(sorted(set(parts) - set(moved) - set(asia_only)), 30)
    first_of_month = today().replace(day=1)
    # The directory predates the year; the forge joins it at the switch, below.
    suppliers = {s.code: s for s in db.session.scalars(select(Supplier))}
    for supplier in suppliers.values():
        supplier.created_at = from_local(today() - timedelta(days=730))
    forge = suppliers["FORGESTET"]
    for back in range(11, 3, -1):
        month = first_of_month
        for _ in range(back):
            month = (month - timedelta(days=1)).replace(day=1)
        opens, closes = month + timedelta(days=2), month + timedelta(days=12)
        after = back <= 6
        if back == 6:
            forge.created_at = from_local(month)
        order_date = closes + timedelta(days=2)
        campaign = Campaign(
            code=f"{month:%Y}-{month:%m}",
            title=f"Commande groupée {de(_month_name(month.month))} {month.year}",
            status=CampaignStatus.CLOSED,
            opens_at=from_local(opens),
            closes_at=from_local(closes, 18),
            opened_at=from_local(opens),
            closed_at=from_local(closes, 18),
            order_date=order_date,
            delivery_on=order_date + timedelta(days=30),
            fee_rate=Decimal("0.02"),
            created_at=from_local(opens),
        )
        db.session.add(campaign)
        db.session.flush()
        needs, refs = [], {}
        wanted = [(sku, rng.sample(shops, rng.randint(8, 14))) for sku in (*moved, *asia_only)]
        wanted += [(sku, [shop]) for shop in shops[3:33] for sku in rng.sample(everyday, 3)]
        for sku, takers in wanted:
            for shop in takers:
                refs[shop.id] = refs.get(shop.id, 0) + 1
                quantity = rng.randint(3, 8) if len(takers) > 1 else rng.choice((1, 2, 4, 6))
                needs.append(
                    {
                        "campaign_id": campaign.id,
                        "member_id": shop.id,
                        "part_id": parts[sku].id,
                        "quantity": quantity,
                        "tolerance": 3 if len(takers) > 1 else rng.choice((0, 1, 2)),
                        "min_quantity": quantity,
                        "ref": f"L{refs[shop.id]}",
                        "created_at": from_local(opens, 9),
                        "updated_at": from_local(opens, 9),
                    }
                )
        db.session.execute(insert(Need), needs)
        options = Options(
            excluded_suppliers=frozenset() if after else frozenset({"FORGESTET"}),
            pinned_parts={sku: pair[after] for sku, pair in moved.items()},
        )
        inputs = load_inputs(campaign, options)
        plan = greedy(inputs.needs, inputs.offers, inputs.suppliers, inputs.settings)
        pooled_at = from_local(closes + timedelta(days=1), 10)
        # A shop buying alone was free to buy where it liked: its solo cost ignores the pins.
        alone = replace(inputs, settings=replace(inputs.settings, pinned_parts={}))
        record = plan_record(plan, plan, alone)
        db.session.add(
            PoolingRun(
                campaign=campaign,
                status=RunStatus.DONE,
                options=options.as_json(),
                result=record.to_json(),
                created_at=pooled_at,
                finished_at=pooled_at,
                committed_at=pooled_at,
            )
        )
        # The committed plan as coop.orders.purchasing.ordering.commit_run writes it, received
        # in full: one order per supplier, one line per offer, one allocation per need.
        offers = {o.id: o for o in inputs.offers}
        by_supplier = defaultdict(lambda: defaultdict(list))
        for decision in record.served:
            by_supplier[decision.supplier][decision.offer].append(decision)
        sent, arrived = from_local(order_date, 9), order_date + timedelta(days=20)
        allocations, receipt_lines = [], []
        for code, lines in sorted(by_supplier.items()):
            number = f"BC-{order_date:%Y}-{next_value(f'BC-{order_date:%Y}'):05d}"
            order_id = db.session.scalar(
                insert(PurchaseOrder).returning(PurchaseOrder.id),
                {
                    "number": number,
                    "campaign_id": campaign.id,
                    "supplier_id": suppliers[code].id,
                    "status": OrderStatus.RECEIVED,
                    "shipping_fee": record.shipping_of(code),
                    "delivery_mode": campaign.delivery_mode,
                    "created_at": pooled_at,
                    "sent_at": sent,
                },
            )
            receipt_id = db.session.scalar(
                insert(Receipt).returning(Receipt.id),
                {
                    "order_id": order_id,
                    "received_on": arrived,
                    "delivery_note_ref": f"BL-{number}",
                    "created_at": from_local(arrived, 10),
                },
            )
            for offer_id, group in sorted(lines.items()):
                offer, units = offers[offer_id], sum(d.units for d in group)
                line_id = db.session.scalar(
                    insert(OrderLine).returning(OrderLine.id),
                    {
                        "order_id": order_id,
                        "offer_id": offer_id,
                        "part_id": parts[offer.part].id,
                        "description": parts[offer.part].name,
                        "pack_size": offer.pack_size,
                        "quantity": units,
                        "unit_price": group[0].unit_price,
                        "tier_min_qty": group[0].tier_min_qty,
                    },
                )
                receipt_lines.append(
                    {"receipt_id": receipt_id, "line_id": line_id, "received": units}
                )
                allocations += [
                    {
                        "need_id": d.need,
                        "line_id": line_id,
                        "quantity": d.units,
                        "received": d.units,
                    }
                    for d in group
                ]
        db.session.execute(insert(Allocation), allocations)
        db.session.execute(insert(ReceiptLine), receipt_lines)
        versions.mark(db.session(), [campaign.id])  # written around the ORM's flush
        reasons = [
            {"id": d.need, "pooling_reason": reason_json(d.why)}
            for d in record.decisions
            if d.why is not None
        ]
        if reasons:
            db.session.execute(update(Need), reasons)
        campaign.status = CampaignStatus.RECEIVED
    db.session.commit()


def _seed_invoiced_campaign(rng: random.Random, shops: list[Member]) -> None:
    """The campaign of two months ago: received, invoiced (PDFs pending), partly paid.

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
    # Their PDFs are left to `coop invoices render` (`make run` starts it beside the server):
    # rendering them was half the loading time, which the demo need not wait for.
    invoices = issue_invoices(campaign, by=treasurer, at=from_local(arrived + timedelta(days=2)))
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
    _seed_supplier_invoices(orders, arrived, treasurer)


def _seed_supplier_invoices(orders, arrived, treasurer: User) -> None:
    """The campaign's suppliers billed it: two invoices booked (one paid from the bank
    statement), one waiting for the manager with a price above its order."""
    manager = db.session.scalar(select(User).where(User.email == "gerance@coop-velo-lyon.example"))
    billed = []
    for n, order in enumerate(orders[:3]):
        french = order.supplier.country == "FR"
        rate = Decimal("0.2000") if french else Decimal("0")
        lines = tuple(
            TypedLine(
                SupplierLineKind.GOODS,
                line.description,
                Decimal(line.quantity),
                # The third supplier billed its first line 15 % above the order.
                quantize(line.unit_price * Decimal("1.15"), UNIT_PRICE)
                if n == 2 and k == 0
                else line.unit_price,
                rate,
                supplier_ref=line.supplier_ref,
            )
            for k, line in enumerate(order.lines)
        )
        if order.shipping_fee:
            lines += (
                TypedLine(SupplierLineKind.SHIPPING, "Port", Decimal(1), order.shipping_fee, rate),
            )
        excl = sum((quantize(t.quantity * t.unit_price) for t in lines), Decimal("0.00"))
        vat = quantize(excl * rate)
        invoice = enter_invoice(
            TypedInvoice(
                supplier=order.supplier,
                kind=SupplierInvoiceKind.INVOICE,
                number=f"{order.supplier.code}-{arrived:%Y}-{101 + n}",
                issued_on=arrived,
                due_on=arrived + timedelta(days=30),
                order=order,
                credited=None,
                lines=lines,
                vat={rate: vat} if vat else {},
                total_excl_vat=excl,
                total_vat=vat,
                total_incl_vat=excl + vat,
            ),
            DEMO_SUPPLIER_PDF_PATH.read_bytes(),
            f"facture-{order.supplier.code.lower()}.pdf",
            by=treasurer,
        )
        if n < 2:
            book(invoice, by=manager)
        billed.append(invoice)
    db.session.commit()
    first = billed[0]
    on = f"{today() - timedelta(days=2):%d/%m/%Y}"
    amount = f"{first.total_incl_vat:.2f}".replace(".", ",")
    payee = f"VIR SEPA EMIS /A {first.supplier.name.upper()} /REF {first.number}"
    import_statement(
        "\r\n".join(
            [
                "Date;Libellé;Débit Euros;Crédit Euros;",
                f"{on};{payee};{amount};;",
            ]
        ).encode("cp1252"),
        "releve-demo-fournisseurs.csv",
        by=treasurer,
    )
    db.session.commit()
    waiting = db.session.scalars(waiting_debits_query()).all()
    for line, proposal in propose(waiting).items():
        pay(db.session.get(BankLine, line), list(proposal.invoices), by=treasurer)
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


def _seed_manufacturer_call(rng: random.Random) -> None:
    """A call to local makers for the 12-speed chain the coop buys only in Taiwan: two makers
    of the Gier valley answered, one was accepted, and its framework agreement is in force."""
    manager = db.session.scalar(select(User).where(User.email == "gerance@coop-velo-lyon.example"))
    chain = db.session.scalar(select(Part).where(Part.sku == "CHN-12S-126"))
    day = today()
    call = calls.create_call(
        calls.CallTerms(
            title="Chaîne 12 vitesses fabriquée dans la vallée du Gier",
            part=chain,
            category=None,
            specification=(
                "Chaîne 12 vitesses, 126 maillons, axes creux, attache rapide fournie. Largeur "
                "extérieure 5,25 mm ± 0,05 ; rupture ≥ 9 000 N (ISO 9633) ; nickelée, 72 h de "
                "brouillard salin. Boîte individuelle en carton recyclé, colis de 10. Prix rendu "
                "au lieu totem de la coopérative, à Lyon."
            ),
            annual_volume=forecast.yearly_demand(day, part=chain) or 600,
            target_price=forecast.target_price_for(chain, day),
            delivery_rhythm=forecast.delivery_rhythm(forecast.campaigns_of_year(day)),
            duration_months=24,
            deadline_on=day + timedelta(days=21),
        ),
        at=now(),
        by=manager,
    )
    plan = DEMO_DATA / "chn-12s-126-cahier-des-charges.pdf"
    files.add_file(call, plan.name, plan.read_bytes())
    gier, rhone = (
        calls.invite_maker(call, calls.Maker(name, email, fake_siret(rng)), at=now(), by=manager)
        for name, email in (
            ("Chaînes du Gier", "contact@chaines-du-gier.example"),
            ("Mécanique de précision du Rhône", "devis@meca-rhone.example"),
        )
    )
    calls.publish_call(call, at=now(), by=manager)
    calls.post_message(
        gier,
        "Pouvez-vous nous envoyer dix échantillons avant de fixer vos prix ?",
        at=now(),
        by=manager,
    )
    answering.post_maker_message(
        gier, "Oui, nous les aurons dans trois semaines.", at=now(), remote_addr=None
    )
    for maker, tiers, capacity in (
        (gier, ((10, "23.90"), (200, "22.40"), (500, "21.20")), 5000),
        (rhone, ((50, "24.80"), (500, "22.90")), 1500),
    ):
        answering.submit_answer(
            maker,
            answering.AnswerTerms(
                tiers=[(q, Decimal(p)) for q, p in tiers],
                pack_size=10,
                moq=50,
                lead_time_days=21,
                yearly_capacity=capacity,
                samples_on=day + timedelta(days=21),
                comment="Acier traité en Loire, assemblage à Rive-de-Gier.",
            ),
            at=now(),
        )
    acceptance = accepting.accept_answer(
        call,
        gier.latest,
        accepting.AcceptTerms(
            part=chain,
            supplier_code="CHAINGIER",
            is_local=True,
            shortfall_fee=None,
            valid_from=day,
        ),
        at=now(),
        by=manager,
    )
    agreements.activate(acceptance.agreement, today=day, by=manager)


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
