"""Payment reminders: steps reached once, paused shops, paid and credited invoices, the e-mail."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop import mail
from coop.accounts.identity import save_identity
from coop.accounts.models import Role
from coop.extensions import db
from coop.invoicing import crediting
from coop.payments import ledger, reminders
from coop.payments.models import CheckoutSession, Method, PaymentStatus, Reminder, ReminderPause
from tests.accounts.test_identity import valid
from tests.invoicing import factories as invoices

D = Decimal
ON = date(2027, 3, 1)
AT = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def late_by(shop, campaign, days: int):
    """An invoice of 148.65 due `days` days before ON (the factory's terms are 30 days)."""
    return invoices.invoice(shop, campaign, issued_on=ON - timedelta(days=days + 30))


def recorded(invoice=None) -> list[tuple[str, int]]:
    query = select(Reminder).order_by(Reminder.id)
    if invoice is not None:
        query = query.where(Reminder.invoice_id == invoice.id)
    return [(r.invoice.number, r.step_days) for r in db.session.scalars(query)]


def send(on=ON) -> list:
    sent = reminders.send_due_reminders(on)
    db.session.commit()
    return sent


@pytest.fixture
def outbox(app):
    sent = mail.sent_messages()
    sent.clear()
    return sent


@pytest.fixture
def shop(make):
    return make.member(code="VELO01", name="Atelier Vélo Croix-Rousse", email="compta@velo01.fr")


@pytest.fixture
def campaign(make):
    return make.campaign()


# --- which step, when --------------------------------------------------------------------------


def test_no_reminder_before_the_first_step(shop, campaign, outbox):
    late_by(shop, campaign, 6)
    invoices.invoice(shop, campaign, issued_on=ON)  # not due at all
    assert send() == []
    assert outbox == [] and recorded() == []


def test_each_step_goes_once_when_reached(shop, campaign, outbox):
    invoice = late_by(shop, campaign, 7)
    assert [r.row.due_step for r in send()] == [7]
    assert send() == []  # the same day again: nothing
    assert send(ON + timedelta(days=13)) == []  # 20 days late
    assert [r.row.due_step for r in send(ON + timedelta(days=14))] == [21]
    assert send(ON + timedelta(days=30)) == []
    assert [r.row.due_step for r in send(ON + timedelta(days=38))] == [45]
    assert send(ON + timedelta(days=200)) == []  # no step after the last
    assert recorded(invoice) == [(invoice.number, 7), (invoice.number, 21), (invoice.number, 45)]
    assert len(outbox) == 3


def test_missed_steps_send_only_the_latest_reached_once(shop, campaign, outbox):
    invoice = late_by(shop, campaign, 50)
    assert [r.row.due_step for r in send()] == [45]
    # 7 and 21 were skipped: never recorded, never sent later.
    assert recorded(invoice) == [(invoice.number, 45)]
    assert send(ON + timedelta(days=1)) == []
    assert len(outbox) == 1 and "Relance n° 3" in outbox[0]["Subject"]


def test_the_steps_come_from_the_coop_settings(shop, campaign, outbox):
    save_identity(valid(reminder_days="10, 30"))
    db.session.commit()
    late_by(shop, campaign, 9)
    assert send() == []
    assert [r.row.due_step for r in send(ON + timedelta(days=1))] == [10]
    assert "Relance n° 1" in outbox[0]["Subject"]


def test_a_paused_shop_gets_nothing_until_resumed(shop, campaign, outbox, make):
    invoice = late_by(shop, campaign, 8)
    reminders.pause(shop, note="Échéancier jusqu'au 15/03", by=make.user(Role.TREASURER))
    db.session.commit()
    assert send() == [] and outbox == [] and recorded() == []
    assert reminders.resume(shop) is True
    db.session.commit()
    assert [r.invoice for r in send()] == [invoice]


def test_paid_and_credited_invoices_get_no_reminder(shop, campaign, outbox):
    paid = late_by(shop, campaign, 10)
    ledger.record_payment(
        shop, D("148.65"), method=Method.TRANSFER, received_on=ON, invoices=[paid]
    )
    credited = late_by(shop, campaign, 10)
    crediting.credit_invoice(credited, reason="Annulée", by=None, at=AT)
    db.session.commit()
    assert send() == [] and outbox == []


def test_no_reminder_while_a_sepa_debit_of_the_invoice_is_in_progress(shop, campaign, outbox):
    invoice = late_by(shop, campaign, 8)
    session = CheckoutSession(
        stripe_id="cs_test_r",
        member=shop,
        amount=D("148.65"),
        url="https://checkout.test/r",
        invoices=[invoice],
    )
    db.session.add(session)
    debit = ledger.record_payment(
        shop,
        D("148.65"),
        method=Method.SEPA_DEBIT,
        received_on=ON,
        status=PaymentStatus.PENDING,
        checkout_session=session,
    )
    db.session.commit()
    (row,) = reminders.overdue_invoices(ON)
    assert row.pending and row.due_step == 7 and not row.to_send
    assert send() == [] and outbox == []
    ledger.mark_failed(debit)  # the bank refused it: the invoice owes again, and is reminded
    db.session.commit()
    assert [r.invoice for r in send()] == [invoice]


def test_a_partly_paid_invoice_is_reminded_of_what_is_still_due(shop, campaign, outbox):
    invoice = late_by(shop, campaign, 7)
    ledger.record_payment(
        shop, D("100.00"), method=Method.TRANSFER, received_on=ON, invoices=[invoice]
    )
    db.session.commit()
    (reminder,) = send()
    assert reminder.row.due == D("48.65")
    body = outbox[0].get_body(("plain",)).get_content()
    assert "il reste 48,65\u00a0€ à payer sur 148,65\u00a0€ TTC" in body
    assert "Nous avons bien reçu 100,00\u00a0€ : merci." in body
    assert "48,65\u00a0€" in outbox[0]["Subject"]


def test_the_e_mail_says_what_how_late_how_to_pay_and_the_legal_mentions(shop, campaign, outbox):
    save_identity(valid())  # IBAN FR76 3000 6000 0112 3456 7890 189
    db.session.commit()
    invoice = late_by(shop, campaign, 7)
    send()
    (message,) = outbox
    assert message["To"] == "compta@velo01.fr"
    assert message["Subject"] == f"Relance n° 1 : facture {invoice.number}, reste dû 148,65\u00a0€"
    body = message.get_body(("plain",)).get_content()
    for expected in (
        f"la facture {invoice.number} du 23/01/2027 adressée à Atelier Vélo Croix-Rousse, "
        "échue le 22/02/2027",
        "avec 7 jours de retard",
        "par virement sur le compte FR7630006000011234567890189 (BIC AGRIFRPP), avec la "
        f"référence {invoice.payment_reference}",
        f"la facture est sur votre espace : http://coop.test/invoices/{invoice.number}",
        "pénalités exigibles au taux directeur de la BCE majoré de 10 points",
        "Indemnité forfaitaire pour frais de recouvrement : 40 € (non soumise à la TVA)",
    ):
        assert expected in body, expected
    html = message.get_body(("html",)).get_content()
    assert "Indemnité forfaitaire pour frais de recouvrement : 40 €" in html
    assert "Voir la facture" in html


def test_with_online_payment_the_e_mail_offers_to_pay_online(
    app, shop, campaign, outbox, monkeypatch
):
    monkeypatch.setitem(app.config, "COOP_STRIPE_SECRET_KEY", "sk_test_x")
    invoice = late_by(shop, campaign, 7)
    send()
    body = outbox[0].get_body(("plain",)).get_content()
    link = f"http://coop.test/invoices/{invoice.number}"
    assert f"en ligne, par carte ou prélèvement SEPA : {link}" in body
    assert "Payer en ligne" in outbox[0].get_body(("html",)).get_content()


def test_a_shop_without_e_mail_is_written_to_its_accounts_or_skipped(campaign, outbox, make):
    with_users = make.member(email=None)
    make.user(Role.MEMBER, member=with_users, email="b@shop.fr")
    make.user(Role.MEMBER, member=with_users, email="a@shop.fr")
    make.user(Role.MEMBER, member=with_users, email="gone@shop.fr", is_active=False)
    nobody = make.member(email=None)
    late_by(with_users, campaign, 7)
    unreachable = late_by(nobody, campaign, 7)
    assert [r.to for r in reminders.due_reminders(ON)] in (
        [["a@shop.fr", "b@shop.fr"], []],
        [[], ["a@shop.fr", "b@shop.fr"]],
    )
    send()
    assert [m["To"] for m in outbox] == ["a@shop.fr, b@shop.fr"]
    # Nothing recorded for the shop without address: it is tried again once it has one.
    assert recorded(unreachable) == []


def test_a_reminder_recorded_by_another_run_meanwhile_is_not_sent_twice(
    shop, campaign, outbox, monkeypatch
):
    late_by(shop, campaign, 7)
    stale = reminders.due_reminders(ON)
    assert len(send()) == 1
    # A second run that computed its list before the first one committed.
    monkeypatch.setattr(reminders, "due_reminders", lambda on: stale)
    assert send() == []
    assert len(outbox) == 1
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 1


def test_the_overview_ages_what_is_due_by_shop(shop, campaign, make):
    other = make.member(name="Zéro Cycles")
    late_by(shop, campaign, 5)
    late_by(shop, campaign, 40)
    late_by(other, campaign, 90)
    invoices.invoice(shop, campaign, issued_on=ON)  # not due: not listed
    view = reminders.overview(ON)
    assert [s.member for s in view.shops] == [shop, other]
    assert [r.days_late for r in view.shops[0].invoices] == [40, 5]
    assert view.due == 3 * D("148.65")
    assert [(amount, count) for _, amount, count in view.aging] == [
        (D("148.65"), 1),
        (D("148.65"), 1),
        (D("148.65"), 1),
    ]
    first, second = view.shops[0].invoices
    assert (first.due_step, first.next_step, first.next_on) == (
        21,
        45,
        first.invoice.due_on + timedelta(days=45),
    )
    assert (second.due_step, second.next_step) == (None, 7)
    assert view.to_send == 2


# --- the command -------------------------------------------------------------------------------


def test_the_dry_run_lists_and_writes_nothing(runner, shop, campaign, outbox):
    invoice = late_by(shop, campaign, 8)
    result = runner.invoke(args=["reminders", "send", "--date", "2027-03-01", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{invoice.number}  VELO01       J+7" in result.output
    assert "148.65 EUR due, 8 days late -> compta@velo01.fr" in result.output
    assert "1 reminder would be sent (dry run) for 2027-03-01." in result.output
    assert recorded() == [] and outbox == []


def test_the_command_sends_and_records(runner, shop, campaign, outbox):
    invoice = late_by(shop, campaign, 8)
    result = runner.invoke(args=["reminders", "send", "--date", "2027-03-01"])
    assert result.exit_code == 0, result.output
    assert "1 reminder sent for 2027-03-01." in result.output
    assert recorded() == [(invoice.number, 7)] and len(outbox) == 1
    again = runner.invoke(args=["reminders", "send", "--date", "2027-03-01"])
    assert "0 reminders sent" in again.output


def test_the_command_refuses_a_bad_date(runner, db_session):
    result = runner.invoke(args=["reminders", "send", "--date", "01/03/2027"])
    assert result.exit_code == 2
    assert recorded() == []


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def on_day(monkeypatch):
    monkeypatch.setattr("coop.payments.reminder_views.today", lambda: ON)


@pytest.fixture
def treasurer(client, make):
    user = make.user(Role.TREASURER)
    client.login_as(user)
    return user


def flat(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ").replace("&#39;", "'")


def test_the_page_lists_overdue_invoices_by_shop_with_their_next_step(
    client, treasurer, shop, campaign, on_day
):
    invoice = late_by(shop, campaign, 25)
    reminders.send_due_reminders(ON - timedelta(days=15))  # the J+7 reminder, 10 days ago
    db.session.commit()
    page = flat(client.get("/reminders").text)
    section = page.split('id="shop-VELO01"', 1)[1].split("</section>", 1)[0]
    assert "Atelier Vélo Croix-Rousse" in section and invoice.number in section
    assert "25 jours" in section and "148,65 €" in section
    assert "J+7 · " in section  # the last reminder and its day
    assert "J+21 à envoyer" in section
    assert "Les relances partent à J+7, J+21, J+45 après l'échéance" in page
    assert "Envoyer les relances dues (1)" in page
    assert "le bouton « Envoyer les relances dues » fait de même sans attendre." in page


def test_the_button_confirms_how_many_then_sends(client, treasurer, shop, campaign, outbox, on_day):
    late_by(shop, campaign, 8)
    late_by(shop, campaign, 22)
    page = flat(client.get("/reminders/send").text)
    assert "2 e-mails de relance partiront vers 1 atelier," in page
    assert "Envoyer 2 relances" in page
    assert recorded() == [] and outbox == []
    response = client.post("/reminders/send")
    assert response.status_code == 302 and response.location == "/reminders"
    assert len(outbox) == 2 and len(recorded()) == 2
    assert "2 relances envoyées." in client.get("/reminders").text
    nothing = client.get("/reminders/send", follow_redirects=True)
    assert "Aucune relance à envoyer aujourd" in nothing.text


def test_the_treasurer_pauses_with_a_note_and_resumes(client, treasurer, shop, campaign, on_day):
    late_by(shop, campaign, 8)
    form = client.get("/reminders/shops/VELO01/pause").text
    assert "Note (facultative)" in form
    response = client.post("/reminders/shops/VELO01/pause", data={"note": "Échéancier en 3 fois"})
    assert response.status_code == 302
    assert "Relances d&#39;Atelier Vélo Croix-Rousse en pause." in client.get("/reminders").text
    pause = db.session.get(ReminderPause, shop.id)
    assert pause.note == "Échéancier en 3 fois" and pause.paused_by_id == treasurer.id
    page = flat(client.get("/reminders").text)
    assert "Relances en pause" in page and "Échéancier en 3 fois" in page
    assert "en pause" in page and "Envoyer les relances dues" not in page
    assert "bouton" not in page and "envoie les relances dues." in page
    client.post("/reminders/shops/VELO01/resume")
    assert db.session.get(ReminderPause, shop.id) is None
    assert "Envoyer les relances dues (1)" in client.get("/reminders").text


def test_a_too_long_note_is_refused_and_nothing_is_paused(client, treasurer, shop, on_day):
    response = client.post("/reminders/shops/VELO01/pause", data={"note": "x" * 501})
    assert response.status_code == 200
    assert "La note tient en 500 caractères au plus." in response.text
    assert db.session.get(ReminderPause, shop.id) is None


def test_a_paused_shop_without_overdue_invoices_can_still_be_resumed(
    client, treasurer, shop, on_day
):
    client.post("/reminders/shops/VELO01/pause", data={"note": ""})
    page = client.get("/reminders").text
    assert 'id="pauses"' in page and "/reminders/shops/VELO01/resume" in page


def test_an_unknown_shop_is_a_404(client, treasurer, on_day):
    assert client.get("/reminders/shops/NOPE/pause").status_code == 404
    assert client.post("/reminders/shops/NOPE/resume").status_code == 404


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER, Role.ADMIN])
def test_only_the_treasurer_reaches_reminders(client, make, shop, campaign, outbox, role):
    late_by(shop, campaign, 8)
    client.login_as(make.user(role, member=shop if role is Role.MEMBER else None))
    for method, path in (
        ("GET", "/reminders"),
        ("GET", "/reminders/send"),
        ("POST", "/reminders/send"),
        ("GET", "/reminders/shops/VELO01/pause"),
        ("POST", "/reminders/shops/VELO01/pause"),
        ("POST", "/reminders/shops/VELO01/resume"),
    ):
        assert client.open(path, method=method).status_code == 403, path
    assert recorded() == [] and outbox == []
    assert db.session.get(ReminderPause, shop.id) is None


def test_anonymous_is_sent_to_login_for_reminders(client, on_day):
    assert client.get("/reminders").location.startswith("/login")


def test_the_treasurer_finds_reminders_in_the_menu(client, treasurer):
    assert 'href="/reminders"' in client.get("/").text
