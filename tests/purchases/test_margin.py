"""The coop's margin on a campaign, computed by hand: what the shops were billed against what
the suppliers billed, credit notes deducted on both sides."""

from decimal import Decimal

from coop.invoicing.models import InvoiceKind, LineKind
from coop.purchases import booking, importing
from coop.purchases.margin import campaign_margin
from tests.invoicing import factories as invoices
from tests.purchases.einvoices import EInvoice, Line, facturx_pdf, ubl_xml

SHOP_LINES = (
    (LineKind.GOODS, "Pneu 700x35", None, "20", "14.0000", "0.2000"),  # 280.00
    (LineKind.GOODS, "Dérailleur 9v", None, "10", "42.0000", "0.2000"),  # 420.00
    (LineKind.SHIPPING, "Frais de port (quote-part)", None, "1", "40.0000", "0.2000"),
    (LineKind.CHARGE, "Frais de douane (quote-part)", None, "1", "10.0000", "0.2000"),
    (LineKind.FEE, "Frais de service de la coopérative", None, "1", "21.0000", "0.2000"),
)


def test_the_margin_of_a_campaign_as_computed_by_hand(purchases, make):
    campaign = purchases.french.order.campaign
    shop = make.member()
    billed = invoices.invoice(shop, campaign, lines=SHOP_LINES)
    invoices.invoice(
        shop,
        campaign,
        kind=InvoiceKind.CREDIT_NOTE,
        credited=billed,
        lines=((LineKind.GOODS, "Pneu 700x35 (retour)", None, "1", "14.0000", "0.2000"),),
    )
    french = importing.import_invoice(facturx_pdf(purchases.french.einvoice), "f.pdf", by=None)
    italian = importing.import_invoice(facturx_pdf(purchases.italian.einvoice), "i.pdf", by=None)
    importing.import_invoice(facturx_pdf(purchases.taiwanese.einvoice), "t.pdf", by=None)
    note = importing.import_invoice(
        ubl_xml(
            EInvoice(
                "AV-2026-0007",
                purchases.french.einvoice.seller,
                [Line("DUP-PN700", "PNEU-700", "Pneu 700x35 (retour)", "2", "12.50")],
                type_code="381",
                preceding="F-2026-0042",
            )
        ),
        "avoir.xml",
        by=None,
    )
    for document in (french, italian, note):
        booking.book(document, note="vu", by=None)

    margin = campaign_margin(campaign)
    # Shops: goods 280.00 + 420.00 - 14.00 = 686.00; shipping 40.00 + charges 10.00; fee 21.00.
    assert (margin.goods_billed, margin.shipping_recovered, margin.fees) == (
        Decimal("686.00"),
        Decimal("50.00"),
        Decimal("21.00"),
    )
    # Suppliers, booked only: goods 250.00 + 126.00 + 410.00 - 25.00 (credit note) = 761.00;
    # shipping 15.00 + 25.00 = 40.00. The Taiwanese invoice waits: not counted, but told.
    assert (margin.goods_bought, margin.shipping_paid, margin.pending) == (
        Decimal("761.00"),
        Decimal("40.00"),
        1,
    )
    assert margin.goods_margin == Decimal("-75.00")
    assert margin.shipping_margin == Decimal("10.00")
    # 21.00 - 75.00 + 10.00
    assert margin.total == Decimal("-44.00")


def test_a_campaign_with_nothing_billed_has_a_zero_margin(make):
    margin = campaign_margin(make.campaign())
    assert margin.total == Decimal("0.00")
    assert margin.pending == 0
