"""Bad input is refused in French and writes nothing: never a 500 (issue 13).

Each case here once gave a server error: numbers past their column, dates past the
calendar, pages past any offset, cells past the CSV reader's limit, NUL bytes and
endless search strings.
"""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.exc import DataError, IntegrityError

from coop.accounts.models import Member, Role
from coop.clock import today
from coop.extensions import db
from coop.invoicing.models import Invoice
from coop.negotiation.links import token_for
from coop.negotiation.models import Rfq
from coop.orders.campaigns.models import Campaign, Need, PartRequest
from coop.orders.costs.models import Charge
from coop.orders.purchasing.models import Receipt
from coop.payments.models import BankImport, Payment
from coop.suppliers.models import Offer, Part, Supplier
from tests.invoicing import factories as invoice_factories
from tests.negotiation import factories as negotiation_factories
from tests.orders.costs.test_statements import build_world
from tests.orders.purchasing.test_receiving import one_line_order

HUGE = "1e308"
DIGITS_20 = "99999999999999999999"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rows_in_every_table() -> dict[str, int]:
    """Row counts of every table, in one query: the cheap proof that nothing was written."""
    counts = [
        select(literal(t.name).label("name"), func.count().label("n")).select_from(t)
        for t in db.metadata.sorted_tables
    ]
    return dict(db.session.execute(union_all(*counts)).all())


@pytest.fixture
def as_role(client, make):
    def login(role: Role, member=None):
        user = make.user(role, member=member)
        client.login_as(user)
        return user

    return login


# --- the campaign's fee -------------------------------------------------------------------------


@pytest.mark.parametrize("fee", ["0", ""])
def test_a_campaign_with_the_default_fee_or_none_is_created(client, as_role, fee):
    as_role(Role.MANAGER)
    response = client.post(
        "/campaigns/new",
        data={
            "code": "2026-12",
            "title": "Décembre",
            "order_date": str(today() + timedelta(days=20)),
            "delivery_mode": "hub",
            "shortage_rule": "pro_rata",
            "shipping_key": "value",
            "fee_percent": fee,
        },
    )
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert campaign.fee_rate == Decimal("0.0000")


# --- numbers past their bounds, form by form ----------------------------------------------------


def supplier_form(make):
    return "/suppliers/new", {"code": "LYON", "name": "Lyon Pneus", "country": "FR"}, Supplier


def part_form(make):
    return (
        "/parts/new",
        {"sku": "TYR-1", "name": "Pneu", "unit": "piece", "vat_rate": "0.2000"},
        Part,
    )


def offer_form(make):
    supplier, part = make.supplier(), make.part()
    return (
        f"/parts/{part.id}/offers/new",
        {
            "supplier_id": supplier.id,
            "pack_size": "1",
            "moq": "0",
            "tiers-0-min_qty": "1",
            "tiers-0-unit_price": "10",
        },
        Offer,
    )


@pytest.mark.parametrize(
    ("form", "field", "value", "message"),
    [
        (supplier_form, "shipping_fee", HUGE, "Au plus 1 000 000 €."),
        (supplier_form, "free_shipping_over", HUGE, "Au plus 1 000 000 €."),
        (supplier_form, "default_lead_time_days", DIGITS_20, "Au plus 365 jours."),
        (part_form, "weight_g", DIGITS_20, "Au plus 1 000 000 g."),
        (offer_form, "tiers-0-unit_price", HUGE, "Au plus 10 000 €."),
        (offer_form, "tiers-0-unit_price", "1e-30", "Au moins 0,0001 €."),
        (offer_form, "tiers-0-unit_price", "NaN", "Nombre attendu"),
        (offer_form, "tiers-0-min_qty", DIGITS_20, "Au plus 100 000 unités."),
        (offer_form, "pack_size", DIGITS_20, "Au plus 100 000 unités."),
        (offer_form, "moq", DIGITS_20, "Au plus 100 000 unités."),
        (offer_form, "lead_time_days", DIGITS_20, "Au plus 365 jours."),
        (offer_form, "valid_until", "9999-12-31", "Date trop lointaine"),
    ],
)
def test_a_catalogue_number_past_its_bound_is_refused(
    client, as_role, make, form, field, value, message
):
    as_role(Role.MANAGER)
    url, data, model = form(make)
    before = count(model)
    response = client.post(url, data=data | {field: value})
    assert response.status_code == 200
    assert message in response.text
    assert count(model) == before


def test_a_huge_charge_is_refused(client, as_role, make):
    world = build_world(make)
    as_role(Role.MANAGER)
    response = client.post(
        f"/campaigns/{world.campaign.id}/charges",
        data={"label": "Douane", "amount": HUGE, "key": "value"},
    )
    assert response.status_code == 200
    assert "Au plus 1 000 000 €." in response.text
    assert count(Charge) == 0


def test_a_huge_payment_is_refused(client, as_role, make):
    shop = make.member()
    as_role(Role.TREASURER)
    response = client.post(
        "/payments",
        data={
            "member": shop.id,
            "method": "transfer",
            "amount": HUGE,
            "received_on": str(today()),
        },
    )
    assert response.status_code == 422
    assert "Au plus 1 000 000 €." in response.text
    assert count(Payment) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", DIGITS_20, "Au plus 100 000 unités."),
        ("tolerance", DIGITS_20, "Au plus 100 000 unités."),
        ("min_quantity", DIGITS_20, "Au plus 100 000 unités."),
        ("max_unit_price", HUGE, "Au plus 10 000 €."),
        ("max_unit_price", "1e-30", "Au moins 0,0001 €."),
        ("needed_by", "9999-12-31", "Date trop lointaine"),
    ],
)
def test_a_need_past_its_bounds_is_refused(client, as_role, make, field, value, message):
    campaign = make.campaign()
    make.part(sku="TYR-1")
    as_role(Role.MEMBER)
    response = client.post(
        f"/campaigns/{campaign.id}/needs", data={"part": "TYR-1", "quantity": "2", field: value}
    )
    assert response.status_code == 200
    assert message in response.text
    assert count(Need) == 0


def test_a_part_request_past_its_bound_is_refused(client, as_role, make):
    campaign = make.campaign()
    as_role(Role.MEMBER)
    response = client.post(
        f"/campaigns/{campaign.id}/requests",
        data={"req-description": "Pneu 650B", "req-request_quantity": DIGITS_20},
    )
    assert response.status_code == 200
    assert "Au plus 100 000 unités." in response.text
    assert count(PartRequest) == 0


@pytest.mark.parametrize("kind", ["good", "damaged"])
def test_a_receipt_past_its_bound_is_refused(client, as_role, make, kind):
    order, _ = one_line_order(make, [(7, 3, 10), (5, 0, 5), (4, 1, 5)])
    as_role(Role.MANAGER)
    line = order.lines[0].id
    response = client.post(
        f"/purchase-orders/{order.number}/receive",
        data={
            "received_on": str(today()),
            f"good_{line}": "1",
            f"{kind}_{line}": DIGITS_20,
        },
    )
    assert response.status_code == 200
    assert "Au plus 100 000 unités." in response.text
    assert count(Receipt) == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [("NaN", "Nombre attendu"), ("Infinity", "Nombre attendu"), (HUGE, "Au plus 1 000 000 €.")],
)
def test_a_credit_note_of_a_non_finite_or_huge_amount_is_refused(
    client, as_role, make, value, message
):
    invoice = invoice_factories.invoice(make.member(), make.campaign())
    as_role(Role.TREASURER)
    response = client.post(
        f"/invoices/{invoice.number}/credit",
        data={
            "mode": "amount",
            "amount": value,
            "reason": "Geste commercial",
            "confirm": "y",
        },
    )
    assert response.status_code == 200
    assert message in response.text
    assert count(Invoice) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "Quantité invalide : NaN."),
        ("Infinity", "Quantité invalide : Infinity."),
        (HUGE, "Quantité invalide : 1e308."),
    ],
)
def test_a_credit_note_line_of_a_non_finite_or_huge_quantity_is_refused(
    client, as_role, make, value, message
):
    invoice = invoice_factories.invoice(make.member(), make.campaign())
    as_role(Role.TREASURER)
    response = client.post(
        f"/invoices/{invoice.number}/credit",
        data={
            "mode": "lines",
            f"qty-{invoice.lines[0].id}": value,
            "reason": "Casse",
            "confirm": "y",
        },
    )
    assert response.status_code == 200
    assert message in response.text
    assert count(Invoice) == 1


def test_a_quote_request_due_at_the_end_of_time_is_refused(client, as_role, make):
    make.part(sku="TYR-1")
    as_role(Role.MANAGER)
    response = client.post(
        "/rfqs/new",
        data={
            "title": "Pneus",
            "deadline_on": "9999-12-31",
            "extra_lines": "TYR-1 ; 10",
        },
    )
    assert response.status_code == 200
    assert "Date trop lointaine" in response.text
    assert count(Rfq) == 0


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("lines-0-moq", "Au plus 100 000 unités."),
        ("lines-0-pack_size", "Au plus 100 000 unités."),
        ("lines-0-lead_time_days", "Au plus 365 jours."),
        ("lines-0-tiers-0-min_qty", "Au plus 100 000 unités."),
    ],
)
def test_a_supplier_answer_past_its_bounds_is_refused(client, make, field, message):
    rfq = negotiation_factories.sent_rfq()
    invitation = rfq.invitations[0]
    quote = invitation.quotes[0]
    response = client.post(
        f"/q/{token_for(invitation)}",
        data={
            "lines-0-quote_id": str(quote.id),
            "lines-0-pack_size": "1",
            "lines-0-tiers-0-min_qty": "1",
            "lines-0-tiers-0-unit_price": "2,50",
            "action": "submit",
            field: DIGITS_20,
        },
    )
    assert response.status_code == 422
    assert message in response.text
    assert quote.answers == []


def test_a_supplier_answer_for_an_impossible_quote_id_is_refused(client, make):
    rfq = negotiation_factories.sent_rfq()
    invitation = rfq.invitations[0]
    response = client.post(
        f"/q/{token_for(invitation)}",
        data={
            "lines-0-quote_id": DIGITS_20,
            "lines-0-pack_size": "1",
            "lines-0-tiers-0-min_qty": "1",
            "lines-0-tiers-0-unit_price": "2,50",
            "action": "submit",
        },
    )
    assert response.status_code in (200, 422)
    assert invitation.quotes[0].answers == []


# --- CSV files ----------------------------------------------------------------------------------

LONG_CELL = "x" * 200_000


def in_table(line: int, column: str, message: str) -> str:
    """An import error as the page lists it."""
    return f'<td class="num">{line}</td><td class="mono">{column}</td><td>{message}</td>'


TOO_LONG = "cellule trop longue (131 072 caractères au plus)"


def upload(client, url, content: str, name="fichier.csv"):
    return client.post(
        url, data={"file": (io.BytesIO(content.encode()), name)}, content_type="multipart/form-data"
    )


@pytest.mark.parametrize(
    ("kind", "header", "row"),
    [
        ("members", "code;name", "SHOP1;{}"),
        ("suppliers", "code;name;country", "LYON;{};FR"),
        ("parts", "sku;name", "TYR-1;{}"),
        ("offers", "supplier_code;sku;min_qty;unit_price_eur", "LYON;TYR-1;1;{}"),
    ],
)
def test_an_import_with_a_cell_past_the_csv_limit_names_the_line(
    client, as_role, kind, header, row
):
    as_role(Role.MANAGER)
    before = rows_in_every_table()
    content = f"{header}\n{row.format('ok')}\n{row.format(LONG_CELL)}\n"
    response = upload(client, f"/import/{kind}", content)
    assert response.status_code == 422
    assert in_table(3, "-", TOO_LONG) in response.text
    assert rows_in_every_table() == before


def test_a_needs_import_with_a_cell_past_the_csv_limit_names_the_line(client, as_role, make):
    campaign = make.campaign()
    as_role(Role.MANAGER)
    content = f"member_code;sku;quantity;ref\nVELO01;TYR-1;4;{LONG_CELL}\n"
    response = upload(client, f"/campaigns/{campaign.id}/import", content)
    assert response.status_code == 422
    assert in_table(2, "-", TOO_LONG) in response.text
    assert count(Need) == 0


def test_a_bank_statement_with_a_cell_past_the_csv_limit_names_the_line(client, as_role):
    as_role(Role.TREASURER)
    content = f"Date;Libellé;Montant\n05/12/2026;VIR {LONG_CELL};10,00\n"
    response = upload(client, "/payments/bank", content, "releve.csv")
    assert response.status_code == 422
    assert in_table(2, "-", TOO_LONG) in response.text
    assert count(BankImport) == 0


def test_a_quote_upload_with_a_cell_past_the_csv_limit_names_the_line(client, make):
    rfq = negotiation_factories.sent_rfq()
    invitation = rfq.invitations[0]
    content = f"sku;min_qty;unit_price_eur;comment\n{rfq.lines[0].part.sku};1;2,50;{LONG_CELL}\n"
    response = upload(client, f"/q/{token_for(invitation)}/upload", content)
    assert response.status_code == 422
    assert in_table(2, "-", TOO_LONG) in response.text
    assert invitation.quotes[0].answers == []


def test_the_import_command_reports_a_cell_past_the_csv_limit(runner, tmp_path):
    path = tmp_path / "parts.csv"
    path.write_text(f"sku;name\nTYR-1;{LONG_CELL}\n", encoding="utf-8")
    result = runner.invoke(args=["import", "parts", str(path)])
    assert result.exit_code == 1
    assert f"line 2, column -: {TOO_LONG}" in result.stderr
    assert count(Part) == 0


@pytest.mark.parametrize(
    ("kind", "content", "error"),
    [
        (
            "suppliers",
            "code;name;country;shipping_fee_eur\nLYON;Lyon;FR;1e308\n",
            "line 2, column shipping_fee_eur: au plus 1 000 000 €",
        ),
        (
            "suppliers",
            "code;name;country;free_shipping_over_eur\nLYON;Lyon;FR;1e308\n",
            "line 2, column free_shipping_over_eur: au plus 1 000 000 €",
        ),
        (
            "suppliers",
            f"code;name;country;default_lead_time_days\nLYON;Lyon;FR;{DIGITS_20}\n",
            "line 2, column default_lead_time_days: au plus 365 jours",
        ),
        (
            "parts",
            f"sku;name;weight_g\nTYR-1;Pneu;{DIGITS_20}\n",
            "line 2, column weight_g: au plus 1 000 000 g",
        ),
        (
            "offers",
            "supplier_code;sku;min_qty;unit_price_eur\nLYON;TYR-1;1;1e308\n",
            "line 2, column unit_price_eur: au plus 10 000 €",
        ),
        (
            "offers",
            "supplier_code;sku;min_qty;unit_price_eur\nLYON;TYR-1;1;1e-30\n",
            "line 2, column unit_price_eur: au moins 0,0001 €",
        ),
        (
            "offers",
            f"supplier_code;sku;min_qty;unit_price_eur\nLYON;TYR-1;{DIGITS_20};1\n",
            "line 2, column min_qty: au plus 100 000 unités",
        ),
        (
            "offers",
            f"supplier_code;sku;min_qty;unit_price_eur;moq\nLYON;TYR-1;1;1;{DIGITS_20}\n",
            "line 2, column moq: au plus 100 000 unités",
        ),
    ],
)
def test_an_import_column_past_its_bound_is_refused(runner, tmp_path, kind, content, error):
    path = tmp_path / f"{kind}.csv"
    path.write_text(content, encoding="utf-8")
    before = rows_in_every_table()
    result = runner.invoke(args=["import", kind, str(path)])
    assert result.exit_code == 1
    assert error in result.stderr
    assert rows_in_every_table() == before


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("VELO01;TYR-1;4;1e308", in_table(2, "max_unit_price_eur", "au plus 10 000 €")),
        ("VELO01;TYR-1;4;1e-30", in_table(2, "max_unit_price_eur", "au moins 0,0001 €")),
        (f"VELO01;TYR-1;{DIGITS_20};", in_table(2, "quantity", "au plus 100 000 unités")),
    ],
)
def test_a_needs_import_column_past_its_bound_is_refused(client, as_role, make, row, error):
    campaign = make.campaign()
    make.member(code="VELO01")
    make.part(sku="TYR-1")
    as_role(Role.MANAGER)
    response = upload(
        client,
        f"/campaigns/{campaign.id}/import",
        f"member_code;sku;quantity;max_unit_price_eur\n{row}\n",
    )
    assert response.status_code == 422
    assert error in response.text
    assert count(Need) == 0


def test_a_quote_upload_past_its_bounds_is_refused(client, make):
    rfq = negotiation_factories.sent_rfq()
    invitation = rfq.invitations[0]
    sku = rfq.lines[0].part.sku
    content = f"sku;min_qty;unit_price_eur;moq\n{sku};1;1e308;{DIGITS_20}\n"
    response = upload(client, f"/q/{token_for(invitation)}/upload", content)
    assert response.status_code == 422
    assert in_table(2, "unit_price_eur", "au plus 10 000 €") in response.text
    assert in_table(2, "moq", "au plus 100 000 unités") in response.text
    assert invitation.quotes[0].answers == []


# --- the query string and the path -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.MANAGER, f"/invoices?page={DIGITS_20}"),
        (Role.MANAGER, f"/members/?page={DIGITS_20}"),
        (Role.MANAGER, f"/parts/?page={DIGITS_20}"),
        (Role.MANAGER, f"/campaigns/?page={DIGITS_20}"),
        (Role.MANAGER, f"/suppliers/?page={DIGITS_20}"),
        (Role.MANAGER, f"/rfqs/?page={DIGITS_20}"),
        (Role.MANAGER, f"/purchase-orders?page={DIGITS_20}"),
        (Role.TREASURER, f"/payments?page={DIGITS_20}"),
        (Role.TREASURER, f"/payments/bank?page={DIGITS_20}"),
        (Role.TREASURER, f"/reminders?page={DIGITS_20}"),
        (Role.MANAGER, f"/invoices?campaign={DIGITS_20}"),
        (Role.MANAGER, f"/invoices?shop={DIGITS_20}"),
        (Role.TREASURER, f"/payments?shop={DIGITS_20}"),
        (Role.MANAGER, f"/parts/?supplier={DIGITS_20}"),
        (Role.TREASURER, f"/exports/invoices.csv?campaign={DIGITS_20}"),
        (Role.TREASURER, f"/exports/invoices.zip?campaign={DIGITS_20}"),
        (Role.TREASURER, "/exports/invoices.csv?date_from=0001-01-01&date_to=9999-12-31"),
        (Role.TREASURER, "/exports/fec?date_from=0001-01-01&date_to=9999-12-31"),
        (Role.MANAGER, f"/rfqs/new?campaign={DIGITS_20}"),
        (Role.MEMBER, f"/payments/pay?invoice={DIGITS_20}"),
        (Role.MANAGER, f"/members/{DIGITS_20}"),
        (Role.MANAGER, f"/campaigns/{DIGITS_20}"),
        (Role.MANAGER, f"/parts/{DIGITS_20}"),
    ],
)
def test_an_impossible_number_in_the_address_is_no_server_error(client, as_role, make, role, url):
    campaign = make.campaign()
    invoice_factories.invoice(make.member(), campaign)
    as_role(role)
    response = client.get(url)
    assert response.status_code in (200, 404, 422)


def test_a_page_past_the_last_shows_an_empty_page(client, as_role, make):
    as_role(Role.MANAGER)
    make.member(name="Atelier Rayon")
    assert "Atelier Rayon" in client.get("/members/").text
    response = client.get(f"/members/?page={DIGITS_20}")
    assert response.status_code == 200
    assert "Atelier Rayon" not in response.text


# --- text: NUL bytes and endless strings -------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.MANAGER, "/members/?q=%00"),
        (Role.MEMBER, "/invoices?q=%00"),
        (Role.MANAGER, "/parts/?q=a%00b"),
        (Role.MANAGER, "/suppliers/?q=a%00b"),
        (Role.MANAGER, "/rfqs/?q=a%00b"),
        (Role.MANAGER, "/purchase-orders?q=a%00b"),
        (Role.MANAGER, "/members/?q=" + "a" * 100_000),
        (Role.MANAGER, "/parts/?q=" + "a" * 100_000),
        (Role.MANAGER, "/suppliers/?q=" + "a" * 100_000),
        (Role.MANAGER, "/invoices?q=" + "a" * 100_000),
        (Role.MANAGER, "/rfqs/?q=" + "a" * 100_000),
        (Role.MANAGER, "/purchase-orders?q=" + "a" * 100_000),
        (Role.ADMIN, "/users/?q=" + "a" * 100_000),
    ],
)
def test_a_search_with_a_nul_byte_or_endless_text_is_no_server_error(
    client, as_role, make, role, url
):
    make.supplier()
    make.offer()
    as_role(role)
    assert client.get(url).status_code == 200


def test_nul_bytes_are_dropped_from_what_a_shop_types(client, as_role, make):
    campaign = make.campaign()
    make.part(sku="TYR-1")
    user = as_role(Role.MEMBER)
    response = client.post(
        f"/campaigns/{campaign.id}/needs",
        data={
            "part": "TYR-1",
            "quantity": "2",
            "ref": "A\x00B",
            "note": "pour\x00 le client",
        },
    )
    assert response.status_code == 302
    need = db.session.scalar(select(Need))
    assert (need.ref, need.note) == ("AB", "pour le client")
    response = client.post("/shop/edit", data={"delivery_address": "1 rue\x00 Pasteur"})
    assert response.status_code == 302
    assert user.member.delivery_address == "1 rue Pasteur"


@pytest.mark.parametrize(
    "data",
    [
        {"email": "a\x00b@example.org", "password": "secret"},
        {"email": "x@example.org", "password": "sec\x00ret"},
        {"email": "a" * 100_000 + "@example.org", "password": "secret"},
    ],
)
def test_a_login_with_a_nul_byte_or_an_endless_address_is_refused_calmly(client, data):
    response = client.post("/login", data=data)
    assert response.status_code == 200
    assert "/login" not in (response.location or "")


# --- what still reaches the database ------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (
            IntegrityError("INSERT", {}, Exception("duplicate key")),
            409,
            "Enregistrement impossible",
        ),
        (DataError("INSERT", {}, Exception("value too long")), 400, "Requête invalide"),
        (OverflowError("date value out of range"), 400, "Requête invalide"),
    ],
)
def test_a_refusal_of_the_database_is_a_calm_page_and_writes_nothing(
    client, as_role, monkeypatch, error, status, title
):
    def half_written(*args, **kwargs):
        db.session.add(Member(code="HALF", name="Écrit à moitié"))
        db.session.flush()
        raise error

    monkeypatch.setattr("coop.accounts.members.search_members", half_written)
    as_role(Role.MANAGER)
    before = rows_in_every_table()
    response = client.get("/members/")
    assert response.status_code == status
    assert title in response.text
    assert "Rien n'a été enregistré" in response.text
    assert rows_in_every_table() == before


@pytest.mark.parametrize("amount", ["9" * 30 + ",00", "99 999 999 999,00"])
def test_a_bank_statement_with_an_amount_past_its_bound_names_the_line(client, as_role, amount):
    as_role(Role.TREASURER)
    content = f"Date;Libellé;Montant\n05/12/2026;VIR ATELIER;{amount}\n"
    response = upload(client, "/payments/bank", content, "releve.csv")
    assert response.status_code == 422
    assert in_table(2, "Montant", "au plus 1 000 000 000 €") in response.text
    assert count(BankImport) == 0


# --- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["campaign", "create", "C" * 100_000, "--title", "Décembre"],
            "Le code de la campagne tient en 20 caractères au plus.",
        ),
        (
            ["campaign", "create", "2026-12", "--title", "T" * 100_000],
            "Le titre tient en 200 caractères au plus.",
        ),
        (
            ["user", "create", "x@example.org", "--role", "admin", "--name", "N" * 100_000],
            "Le nom tient en 200 caractères au plus.",
        ),
    ],
)
def test_a_command_with_endless_text_says_why_and_writes_nothing(runner, args, message):
    before = rows_in_every_table()
    order_date = ["--order-date", "2026-12-30"] if args[0] == "campaign" else ["--password-stdin"]
    result = runner.invoke(args=args + order_date, input="correct horse battery staple\n")
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert rows_in_every_table() == before


def test_a_bank_statement_named_with_a_nul_byte_is_imported_under_a_clean_name(client, as_role):
    as_role(Role.TREASURER)
    content = "Date;Libellé;Montant\n05/12/2026;VIR ATELIER;10,00\n"
    response = upload(client, "/payments/bank", content, "releve\x00nov.csv")
    assert response.status_code == 302
    assert db.session.scalar(select(BankImport.filename)) == "relevenov.csv"


def test_a_number_below_both_bounds_gets_one_message(client, as_role, make):
    campaign = make.campaign()
    make.part(sku="TYR-1")
    as_role(Role.MEMBER)
    data = {"part": "TYR-1", "quantity": "-" + DIGITS_20}
    response = client.post(f"/campaigns/{campaign.id}/needs", data=data)
    assert "Le nombre doit être au minimum 1." in response.text
    assert "Au moins -100 000 unités." not in response.text
