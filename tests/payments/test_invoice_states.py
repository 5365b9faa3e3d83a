"""Invoice states, what is still due and its aging, from the payments ledger: list and detail."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from coop.accounts.models import Role
from coop.extensions import db
from coop.invoicing import crediting
from coop.payments import ledger, receivables
from coop.payments.models import CheckoutSession, Method, PaymentStatus
from tests.invoicing import factories as invoices

D = Decimal
ON = date(2027, 1, 31)
AT = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
TOTAL = D("148.65")  # the factory's invoice, incl. VAT


def flat(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def pay(shop, amount, invoice, **kwargs):
    kwargs.setdefault("method", Method.TRANSFER)
    payment = ledger.record_payment(
        shop, D(amount), received_on=date(2027, 1, 10), invoices=[invoice], **kwargs
    )
    db.session.commit()
    return payment


@pytest.fixture
def book(make):
    """One shop's invoices in every state on ON (each due 30 days after its issue)."""
    shop = make.member(code="VELO01", name="Atelier Vélo Croix-Rousse")
    campaign = make.campaign()
    made = {}

    def invoice(name, issued_on):
        made[name] = invoices.invoice(shop, campaign, issued_on=issued_on)
        return made[name]

    invoice("not_due", date(2027, 1, 20))  # due 19/02: not due yet
    invoice("late", date(2026, 12, 7))  # due 06/01: 25 days late
    pay(shop, "100.00", invoice("partly", date(2026, 11, 20)))  # due 20/12: 42 days late
    pay(shop, "148.65", invoice("paid", date(2026, 10, 1)))  # due 31/10, paid: not late
    crediting.credit_invoice(
        invoice("credited", date(2026, 10, 5)), reason="Annulée", by=None, at=AT
    )
    db.session.commit()
    # 40.00 excl. VAT at 20 % = 48.00 credited, then the 100.65 left paid: nothing due.
    crediting.credit_invoice(
        invoice("credited_then_paid", date(2026, 11, 1)),
        reason="Remise",
        amount=D("40.00"),
        by=None,
        at=AT,
    )
    db.session.commit()
    pay(shop, "100.65", made["credited_then_paid"])
    # A SEPA debit initiated, not settled: due 01/10, 122 days late.
    pending = invoice("pending", date(2026, 9, 1))
    session = CheckoutSession(
        stripe_id="cs_test_1",
        member=shop,
        amount=TOTAL,
        url="https://checkout.test/1",
        invoices=[pending],
    )
    db.session.add(session)
    ledger.record_payment(
        shop,
        TOTAL,
        method=Method.SEPA_DEBIT,
        status=PaymentStatus.PENDING,
        received_on=date(2027, 1, 28),
        checkout_session=session,
    )
    db.session.commit()
    return shop, made


def listed(filters: receivables.InvoiceFilters, member=None) -> set:
    query = receivables.invoices_query(filters, on=ON, member=member)
    return set(db.session.scalars(query))


@pytest.mark.parametrize(
    ("status", "names"),
    [
        (
            "issued",
            {"not_due", "late", "partly", "paid", "credited", "credited_then_paid", "pending"},
        ),
        ("to_pay", {"not_due", "late", "partly", "pending"}),
        ("pending", {"pending"}),
        ("partly_paid", {"partly"}),
        ("paid", {"paid", "credited_then_paid"}),
        # A paid or fully credited invoice is never overdue, however old.
        ("overdue", {"late", "partly", "pending"}),
        ("credited", {"credited"}),
    ],
)
def test_each_filter_lists_the_invoices_in_its_state(book, status, names):
    _, made = book
    assert listed(receivables.InvoiceFilters(status=status)) == {made[n] for n in names}


def test_the_states_filtered_in_sql_are_the_states_the_badges_show(book):
    _, made = book
    balances = ledger.balances(list(made.values()))
    for state in ("pending", "partly_paid", "paid", "credited"):
        in_sql = listed(receivables.InvoiceFilters(status=state))
        assert in_sql == {i for i in made.values() if balances[i.id].state == state}
    assert balances[made["not_due"].id].state == "open"


def test_the_totals_sum_what_is_still_due_and_age_it(book):
    query = receivables.invoices_query(receivables.InvoiceFilters(), on=ON)
    totals = receivables.invoices_totals(query, on=ON)
    assert totals["count"] == 7
    assert totals["incl"] == 7 * TOTAL == D("1040.55")
    # 148.65 (not due) + 148.65 (late) + 48.65 (partly paid) + 148.65 (pending)
    assert totals["due"] == D("494.60")
    assert [(key, amount, count) for key, _, amount, count in totals["aging"]] == [
        ("not_due", D("148.65"), 1),
        ("0-30", D("148.65"), 1),
        ("31-60", D("48.65"), 1),
        ("60+", D("148.65"), 1),
    ]
    overdue = receivables.invoices_totals(
        receivables.invoices_query(receivables.InvoiceFilters(status="overdue"), on=ON), on=ON
    )
    assert (overdue["count"], overdue["incl"], overdue["due"]) == (3, 3 * TOTAL, D("345.95"))


def test_an_over_credited_paid_invoice_owes_nothing_not_a_negative_amount(book, make):
    _, made = book
    # Paid in full, then credited 40.00 + VAT: the excess becomes the shop's credit,
    # which the ledger moves to the oldest open invoice; nothing is negative.
    crediting.credit_invoice(made["paid"], reason="Geste", amount=D("40.00"), by=None, at=AT)
    db.session.commit()
    query = receivables.invoices_query(receivables.InvoiceFilters(), on=ON)
    assert receivables.invoices_totals(query, on=ON)["due"] == D("494.60") - D("48.00")
    assert ledger.balance(made["paid"]).due == D("0.00")


def test_credit_notes_owe_nothing_in_the_totals(book):
    query = receivables.invoices_query(receivables.InvoiceFilters(status="credit_notes"), on=ON)
    totals = receivables.invoices_totals(query, on=ON)
    assert (totals["count"], totals["incl"], totals["due"]) == (2, TOTAL + D("48.00"), D("0.00"))
    assert all(count == 0 for *_, count in totals["aging"])


def test_a_shop_sees_only_its_own_invoices_and_totals(book, make):
    shop, _ = book
    other = make.member()
    theirs = invoices.invoice(other, make.campaign(), issued_on=date(2026, 12, 7))
    mine = receivables.invoices_query(
        receivables.InvoiceFilters(status="overdue"), on=ON, member=shop
    )
    assert theirs not in set(db.session.scalars(mine))
    assert receivables.invoices_totals(mine, on=ON)["due"] == D("345.95")
    everyone = receivables.invoices_query(receivables.InvoiceFilters(status="overdue"), on=ON)
    assert theirs in set(db.session.scalars(everyone))


# --- the pages ----------------------------------------------------------------------------------


@pytest.fixture
def on_day(monkeypatch):
    monkeypatch.setattr("coop.payments.receivable_views.today", lambda: ON)


def test_each_row_shows_its_state_and_what_is_due(client, make, book, on_day):
    _, made = book
    client.login_as(make.user(Role.TREASURER))
    page = flat(client.get("/invoices?status=issued").text)
    rows = {
        name: page.split(invoice.number, 1)[1].split("</tr>", 1)[0]
        for name, invoice in made.items()
    }
    assert "Partiellement payée" in rows["partly"] and "48,65 €" in rows["partly"]
    assert "Payée" in rows["paid"] and "0,00 €" in rows["paid"]
    assert "Créditée" in rows["credited"]
    assert "Paiement en cours" in rows["pending"] and "échue" in rows["pending"]
    assert "À payer" in rows["late"] and "échue" in rows["late"]
    assert "échue" not in rows["paid"] and "échue" not in rows["not_due"]
    assert "1 040,55 €" in page  # invoiced
    assert "494,60 €" in page  # still due


def test_the_list_reads_the_balances_in_a_bounded_number_of_queries(client, make, book, on_day):
    from sqlalchemy import event

    client.login_as(make.user(Role.TREASURER))
    client.get("/invoices")  # warm up (the login's user, the template cache)
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        client.get("/invoices")
        few = len(statements)
        for _ in range(5):
            invoices.invoice(book[0], make.campaign())
        statements.clear()
        client.get("/invoices")
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    # Five more rows cost a campaign each (the row's campaign code), never a balance query.
    assert len(statements) <= few + 5


def test_the_filter_menu_offers_the_issue_s_statuses(client, make, book, on_day):
    client.login_as(make.user(Role.TREASURER))
    page = client.get("/invoices").text
    for label in (
        "Émises",
        "Reste à payer",
        "Paiement en cours",
        "Partiellement payées",
        "Payées",
        "Échues impayées",
        "Entièrement créditées",
        "Avoirs",
    ):
        assert f">{label}</option>" in page
    overdue = flat(client.get("/invoices?status=overdue").text)
    assert "345,95 €" in overdue


def test_the_detail_shows_the_balance_and_the_payments(client, make, book, on_day):
    _, made = book
    client.login_as(make.user(Role.TREASURER))
    page = flat(client.get(f"/invoices/{made['credited_then_paid'].number}").text)
    section = page.split('id="balance"', 1)[1].split("</section>", 1)[0]
    assert "Payée" in section
    assert "148,65 €" in section and "− 48,00 €" in section and "− 100,65 €" in section
    assert "10/01/2027" in section and "Virement" in section
    pending = flat(client.get(f"/invoices/{made['pending'].number}").text)
    assert "Prélèvement SEPA en cours : 148,65 € initié le 28/01/2027" in pending
    assert "Échue depuis 122 jours." in pending
    partly = flat(client.get(f"/invoices/{made['partly'].number}").text)
    assert "Partiellement payée" in partly and "48,65 €" in partly


def test_a_credit_note_page_has_no_balance(client, make, book, on_day):
    _, made = book
    note = crediting.credit_notes_of(made["credited"])[0]
    client.login_as(make.user(Role.TREASURER))
    page = client.get(f"/invoices/{note.number}").text
    assert 'id="balance"' not in page


def test_a_shop_sees_its_own_balances_not_another_shop_s(client, make, book, on_day):
    shop, made = book
    other = make.member()
    theirs = invoices.invoice(other, make.campaign(), issued_on=date(2026, 12, 7))
    client.login_as(make.user(Role.MEMBER, member=shop))
    page = flat(client.get("/invoices").text)
    assert made["partly"].number in page and theirs.number not in page
    assert "494,60 €" in page
    assert client.get(f"/invoices/{made['partly'].number}").status_code == 200
    assert client.get(f"/invoices/{theirs.number}").status_code == 403


def test_the_treasurers_home_says_what_is_still_due(client, make, book, monkeypatch):
    monkeypatch.setattr("coop.home.clock.today", lambda: ON)
    client.login_as(make.user(Role.TREASURER))
    home = flat(client.get("/").text)
    owed = home.split('id="owed"', 1)[1]
    assert owed.index("494,60 €") < owed.index("1 040,55 € facturés TTC, 7 factures")
