"""CSV exports from the list pages: French spreadsheets (BOM, `;`, decimal comma), the list's
filters, formula-safe text, and only for the roles that read the list."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from coop.accounts.models import Role
from coop.extensions import db
from coop.payments import ledger
from coop.payments.models import Method
from tests.invoicing import factories as invoices
from tests.orders.purchasing.test_purchase_orders import build_plan, committed


def read(response) -> list[list[str]]:
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_purchase_orders_export_with_the_lists_filters(client, make):
    plan = build_plan(make)
    lyonpneu_order, eurochain_order = committed(plan)
    client.login_as(make.user(Role.TREASURER))
    page = client.get(f"/purchase-orders?campaign={plan.campaign.code}&status=draft").text
    href = f"/purchase-orders.csv?status=draft&amp;campaign={plan.campaign.code}"
    assert href in page
    response = client.get(f"/purchase-orders.csv?status=draft&campaign={plan.campaign.code}")
    assert f"bons-de-commande-{plan.campaign.code}.csv" in response.headers["Content-Disposition"]
    header, *rows = read(response)
    assert header[:3] == ["number", "supplier_code", "supplier_name"]
    assert sorted(rows) == sorted(
        [
            [
                lyonpneu_order.number,
                "LYONPNEU",
                "Lyon Pneus & Co",
                plan.campaign.code,
                "brouillon",
                "2",
                "261,00",
                "0,00",
                "261,00",
                lyonpneu_order.requested_delivery_on.strftime("%d/%m/%Y"),
                "",
            ],
            [
                eurochain_order.number,
                "EUROCHAIN",
                "Euro Chain GmbH",
                plan.campaign.code,
                "brouillon",
                "1",
                "49,37",
                "25,00",
                "74,37",
                eurochain_order.requested_delivery_on.strftime("%d/%m/%Y"),
                "",
            ],
        ]
    )
    _, *found = read(client.get("/purchase-orders.csv?q=euro"))
    assert [row[0] for row in found] == [eurochain_order.number]
    assert read(client.get("/purchase-orders.csv?status=sent"))[1:] == []


def test_members_export_keeps_a_formula_as_text(client, make):
    make.member(code="CROIX", name='=HYPERLINK("http://x")', city="Lyon", email="a@b.example")
    make.member(code="OLD", name="Ancien atelier", is_active=False)
    client.login_as(make.user(Role.MANAGER))
    assert 'href="/members/export.csv?status=active"' in client.get("/members/").text
    header, *rows = read(client.get("/members/export.csv?status=active"))
    assert header[:3] == ["code", "name", "siret"]
    assert [(r[0], r[1], r[8], r[-1]) for r in rows] == [
        ("CROIX", '\'=HYPERLINK("http://x")', "Lyon", "oui"),
    ]
    _, *everyone = read(client.get("/members/export.csv?status=all"))
    assert sorted(r[0] for r in everyone) == ["CROIX", "OLD"]


def test_suppliers_export_has_the_import_columns_and_decimal_commas(client, make):
    make.supplier(
        code="CICLI",
        name="Cicli Milano",
        country="IT",
        address="Via Torino 12",
        postcode="20123",
        city="Milano",
        vat_number="IT00743110157",
        shipping_fee=Decimal("12.50"),
    )
    client.login_as(make.user(Role.MANAGER))
    assert 'href="/suppliers.csv?status=active"' in client.get("/suppliers/").text
    header, row = read(client.get("/suppliers.csv?q=cicli"))
    assert dict(zip(header, row, strict=True)) == {
        "code": "CICLI",
        "name": "Cicli Milano",
        "country": "IT",
        "address": "Via Torino 12",
        "postcode": "20123",
        "city": "Milano",
        "local": "non",
        "siret": "",
        "vat_number": "IT00743110157",
        "email": row[header.index("email")],
        "phone": "",
        "shipping_fee_eur": "12,50",
        "free_shipping_over_eur": "",
        "default_lead_time_days": "5",
        "active": "oui",
    }


def test_payments_export_for_the_treasurer_and_the_manager_reading(client, make):
    shop = make.member(code="CROIX", name="Atelier Croix")
    invoice = invoices.invoice(shop, make.campaign())
    ledger.record_payment(
        shop,
        Decimal("200.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 5),
        reference="-VIR 42",
        invoices=[invoice],
        by=None,
    )
    db.session.commit()
    for role in (Role.TREASURER, Role.MANAGER):
        client.login_as(make.user(role))
        assert "/payments/export.csv" in client.get("/payments").text
        header, row = read(client.get(f"/payments/export.csv?shop={shop.id}"))
        assert dict(zip(header, row, strict=True)) == {
            "received_on": "05/12/2026",
            "shop_code": "CROIX",
            "shop_name": "Atelier Croix",
            "method": "Virement",
            "reference": "'-VIR 42",
            "amount_eur": "200,00",
            "fees_eur": "0,00",
            "status": "Reçu",
            "invoices": invoice.number,
            "unallocated_eur": "51,35",
        }
    assert read(client.get("/payments/export.csv?date_from=2026-12-06"))[1:] == []


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/purchase-orders.csv", {Role.MANAGER, Role.TREASURER, Role.ADMIN}),
        ("/members/export.csv", {Role.MANAGER, Role.TREASURER, Role.ADMIN}),
        ("/suppliers.csv", {Role.MANAGER, Role.TREASURER, Role.ADMIN}),
        ("/payments/export.csv", {Role.MANAGER, Role.TREASURER}),
        ("/activity/export.csv", {Role.MANAGER, Role.TREASURER, Role.ADMIN}),
    ],
)
def test_each_export_is_for_the_roles_that_read_its_list(client, make, path, allowed):
    shop = make.member()
    for role in Role:
        user = make.user(role, member=shop if role is Role.MEMBER else None)
        client.login_as(user)
        assert client.get(path).status_code == (200 if role in allowed else 403), role
