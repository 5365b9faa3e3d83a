"""Three suppliers of a campaign, as the demo has them: a French one, an Italian one and a
Taiwanese one, each with a purchase order received in full, and the e-invoice each sends."""

from dataclasses import dataclass

import pytest

from coop.orders.purchasing.models import PurchaseOrder
from coop.suppliers.models import Supplier
from tests.purchases.einvoices import Charge, EInvoice, Line, Party

FRANCE = Party("Cycles Dupont", "FR", "FR83404833048", "404833048")
ITALY = Party("Ricambi Bici Srl", "IT", "IT07654320014", city="Milano")
TAIWAN = Party("Formosa Cycle Parts", "TW", "TW24536806", city="Taichung")
INTRA_EU = "Livraison intracommunautaire exonérée, article 138 de la directive 2006/112/CE"


@dataclass
class Purchase:
    supplier: Supplier
    order: PurchaseOrder
    einvoice: EInvoice


@dataclass
class Purchases:
    french: Purchase
    italian: Purchase
    taiwanese: Purchase


@pytest.fixture
def purchases(make) -> Purchases:
    campaign = make.campaign(code="PRINTEMPS")
    dupont = make.supplier(
        name=FRANCE.name,
        country="FR",
        vat_number=FRANCE.vat_number,
        siret="40483304800006",
        email="compta@cycles-dupont.example",
    )
    ricambi = make.supplier(
        name=ITALY.name, country="IT", vat_number=ITALY.vat_number, email="amm@ricambi.example"
    )
    formosa = make.supplier(name=TAIWAN.name, country="TW", vat_number=TAIWAN.vat_number)
    tyre = make.offer(
        dupont, make.part(sku="PNEU-700", name="Pneu 700x35"), supplier_ref="DUP-PN700"
    )
    tube = make.offer(
        dupont, make.part(sku="CHAMBRE-700", name="Chambre à air"), supplier_ref="DUP-CH700"
    )
    derailleur = make.offer(
        ricambi, make.part(sku="DERAIL-9", name="Dérailleur 9v"), supplier_ref="RB-D9"
    )
    rim = make.offer(formosa, make.part(sku="JANTE-622", name="Jante 622"), supplier_ref="FCP-R622")
    # 20 x 12.50 + 30 x 4.20 + 15.00 = 391.00
    french_order = make.purchase_order(
        dupont, campaign, [(tyre, 20, "12.5000"), (tube, 30, "4.2000")], shipping_fee="15.00"
    )
    # 10 x 38.00 + 25.00 = 405.00
    italian_order = make.purchase_order(
        ricambi, campaign, [(derailleur, 10, "38.0000")], shipping_fee="25.00"
    )
    # 40 x 22.50 + 60.00 = 960.00
    taiwanese_order = make.purchase_order(
        formosa, campaign, [(rim, 40, "22.5000")], shipping_fee="60.00"
    )
    for order in (french_order, italian_order, taiwanese_order):
        make.receipt(order)
    return Purchases(
        french=Purchase(
            dupont,
            french_order,
            EInvoice(
                "F-2026-0042",
                FRANCE,
                [
                    # The buyer's item id is the coop's SKU; the second line has only the
                    # seller's reference, found on the offer.
                    Line("DUP-PN700", "PNEU-700", "Pneu 700x35", "20", "12.50"),
                    Line("DUP-CH700", None, "Chambre à air 700", "30", "4.20"),
                ],
                [Charge("15.00")],
                order_reference=french_order.number,
            ),
        ),
        italian=Purchase(
            ricambi,
            italian_order,
            EInvoice(
                "RB/2026/118",
                ITALY,
                # 41.00 billed, 38.00 ordered.
                [Line("RB-D9", None, "Deragliatore 9v", "10", "41.00", "K", "0")],
                [Charge("25.00", reason="Spese di trasporto", category="K", rate="0")],
                exemption=INTRA_EU,
                order_reference=italian_order.number,
            ),
        ),
        taiwanese=Purchase(
            formosa,
            taiwanese_order,
            EInvoice(
                "FCP-2026-0977",
                TAIWAN,
                [Line("FCP-R622", None, "Rim 622x19", "40", "22.50", "G", "0")],
                [Charge("60.00", reason="Sea freight", category="G", rate="0")],
                exemption="Export outside the EU",
                order_reference=taiwanese_order.number,
            ),
        ),
    )
