"""Each service that changes rights, shops, invoices or money writes exactly one entry, with
what matters of the change, in its own transaction."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop.accounts import auth, invitations, members
from coop.accounts.identity import save_identity
from coop.accounts.importing import import_members
from coop.accounts.models import Role
from coop.activity.models import Activity, ActorKind
from coop.activity.recording import acting_as, record
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing import crediting, issuing
from coop.negotiation import awarding
from coop.payments import bank, ledger
from coop.payments.models import BankLine, Method, PaymentStatus, RefundStatus
from tests.accounts.test_identity import valid
from tests.invoicing import factories as invoices
from tests.invoicing.test_issuing import received
from tests.negotiation.test_awarding import (
    answer_of,
    case,  # noqa: F401 (a fixture)
)
from tests.payments.stripe_helpers import deliver, shop_paying_two_invoices, stripe_online
from tests.payments.test_bank import import_, statement
from tests.payments.test_webhooks import paid

D = Decimal


def entries(action: str | None = None) -> list[Activity]:
    stmt = select(Activity).order_by(Activity.id)
    if action:
        stmt = stmt.where(Activity.action == action)
    return list(db.session.scalars(stmt))


def only(action: str) -> Activity:
    [entry] = entries(action)
    return entry


def said(entry: Activity) -> tuple:
    return (entry.object_type, entry.object_id, entry.object_label, entry.member_id)


# --- record() itself ---------------------------------------------------------------------------


def test_an_entry_names_the_user_given_else_the_kind_else_the_system(db_session, make):
    admin = make.user(Role.ADMIN)
    by_user = record("member.created", object_type="member", object_id=1, label="A", actor=admin)
    by_job = record("member.created", object_type="member", object_id=1, label="A", kind="job")
    with acting_as(ActorKind.WEBHOOK):
        by_hook = record("member.created", object_type="member", object_id=1, label="A")
    by_app = record("member.created", object_type="member", object_id=1, label="A")
    assert [(e.actor_id, e.actor_kind) for e in (by_user, by_job, by_hook, by_app)] == [
        (admin.id, ActorKind.USER),
        (None, ActorKind.JOB),
        (None, ActorKind.WEBHOOK),
        (None, ActorKind.SYSTEM),
    ]


def test_in_a_request_the_logged_in_user_is_the_actor(client, make):
    manager = make.user(Role.MANAGER)
    client.login_as(manager)
    response = client.post("/members/new", data={"code": "CR01", "name": "Atelier Croix-Rousse"})
    assert response.status_code == 302
    entry = only("member.created")
    assert (entry.actor_id, entry.actor_kind) == (manager.id, ActorKind.USER)


def test_an_unknown_action_or_object_type_is_a_programming_error(db_session):
    with pytest.raises(ValueError, match="unknown activity action"):
        record("member.painted", object_type="member", object_id=1, label="A")
    with pytest.raises(ValueError, match="unknown object type"):
        record("member.created", object_type="bicycle", object_id=1, label="A")


def test_details_keep_decimals_and_dates_as_strings_and_enums_as_values(db_session):
    entry = record(
        "payment.recorded",
        object_type="payment",
        object_id=1,
        label="Paiement n°1",
        details={"amount": D("12.50"), "on": date(2026, 12, 7), "method": Method.CHEQUE},
    )
    db.session.expire(entry)
    assert entry.details == {"amount": "12.50", "on": "2026-12-07", "method": "cheque"}


def test_an_entry_rolls_back_with_the_change_it_describes(db_session, make):
    with db.session.begin_nested() as savepoint:
        members.create_member(code="RB01", name="Roue Libre")
        savepoint.rollback()
    assert entries() == []


# --- accounts ----------------------------------------------------------------------------------


def test_saving_the_coop_identity_records_each_changed_field(db_session):
    save_identity(valid())
    first = only("settings.identity_changed")
    assert (first.object_type, first.object_id, first.object_label) == (
        "settings",
        1,
        "Les Rayons Lyonnais",
    )
    save_identity(valid(iban="FR14 2004 1010 0505 0001 3M02 606", payment_terms_days="30"))
    latest = entries("settings.identity_changed")[-1]
    assert latest.details == {
        "iban": {"from": "FR7630006000011234567890189", "to": "FR1420041010050500013M02606"},
        "payment_terms_days": {"from": 45, "to": 30},
    }


def test_saving_the_identity_unchanged_records_nothing_more(db_session):
    save_identity(valid())
    save_identity(valid())
    assert len(entries("settings.identity_changed")) == 1


def test_creating_an_account_records_its_roles_and_shop(db_session, make):
    shop = make.member(code="CR01")
    user = auth.create_user("velo@cr.example", "Lou", Role.MEMBER, "longpassword1", "CR01")
    entry = only("user.created")
    assert said(entry) == ("user", user.id, "velo@cr.example", shop.id)
    assert entry.details == {"roles": ["member"], "shop": "CR01"}


def test_changing_roles_records_them_from_and_to(db_session, make):
    admin = make.user(Role.ADMIN)
    user = make.user(Role.MANAGER, email="gerant@coop.example")
    auth.update_user(
        user,
        actor=admin,
        name=user.name,
        roles=[Role.MANAGER, Role.TREASURER],
        member_code=None,
        is_active=True,
    )
    entry = only("user.roles_changed")
    assert said(entry) == ("user", user.id, "gerant@coop.example", None)
    assert entry.actor_id == admin.id
    assert entry.details == {"roles": {"from": ["manager"], "to": ["manager", "treasurer"]}}
    assert entries("user.disabled") == entries("user.shop_changed") == []


def test_disabling_then_enabling_an_account_records_both(db_session, make):
    admin = make.user(Role.ADMIN)
    user = make.user(Role.MEMBER)
    terms = dict(actor=admin, name=user.name, roles=[Role.MEMBER], member_code=user.member.code)
    auth.update_user(user, is_active=False, **terms)
    auth.update_user(user, is_active=True, **terms)
    assert [(e.action, e.object_id, e.member_id) for e in entries()] == [
        ("user.disabled", user.id, user.member_id),
        ("user.enabled", user.id, user.member_id),
    ]


def test_moving_an_account_to_another_shop_records_both_codes(db_session, make):
    admin = make.user(Role.ADMIN)
    make.member(code="NEW01")
    user = make.user(Role.MEMBER, member=make.member(code="OLD01"))
    auth.update_user(
        user, actor=admin, name=user.name, roles=[Role.MEMBER], member_code="NEW01", is_active=True
    )
    assert only("user.shop_changed").details == {"shop": {"from": "OLD01", "to": "NEW01"}}


def test_a_new_password_is_recorded_without_the_password(db_session, make):
    user = make.user(Role.TREASURER)
    auth.set_password(user, "another-long-password")
    entry = only("user.password_changed")
    assert (said(entry), entry.details) == (("user", user.id, user.email, None), {})


def test_the_failure_that_locks_an_address_is_recorded_once(app, db_session, make):
    user = make.user(Role.MEMBER, email="lou@cr.example")
    for _ in range(app.config["COOP_LOGIN_MAX_FAILURES"] + 2):
        with pytest.raises(auth.LoginRefused):
            auth.authenticate("Lou@cr.example", "wrong password!")
    entry = only("user.login_locked")
    assert said(entry) == ("user", user.id, "lou@cr.example", user.member_id)
    assert entry.actor_kind is ActorKind.SYSTEM
    assert entry.details["failures"] == app.config["COOP_LOGIN_MAX_FAILURES"]


def test_an_invitation_sent_revoked_and_accepted_is_recorded(db_session, make):
    manager = make.user(Role.MANAGER)
    shop = make.member(code="CR01")
    first = invitations.invite("lou@cr.example", actor=manager, member=shop)
    invitations.revoke(first, actor=manager)
    second = invitations.invite("lou@cr.example", actor=manager, member=shop)
    raw = invitations.tokens.issue(second)  # a fresh link, as the e-mail would carry
    user = invitations.accept(raw, name="Lou", password="longpassword1")
    assert [
        (e.action, e.object_id, e.object_label, e.member_id, e.actor_id) for e in entries()
    ] == [
        ("invitation.sent", first.id, "lou@cr.example", shop.id, manager.id),
        ("invitation.revoked", first.id, "lou@cr.example", shop.id, manager.id),
        ("invitation.sent", second.id, "lou@cr.example", shop.id, manager.id),
        ("user.created", user.id, "lou@cr.example", shop.id, None),
        ("invitation.accepted", second.id, "lou@cr.example", shop.id, user.id),
    ]
    assert entries("invitation.sent")[0].details == {"role": "member"}


def test_a_shop_created_edited_deactivated_and_reactivated_is_recorded(db_session):
    shop = members.create_member(code="CR01", name="Atelier Croix-Rousse", city="Lyon")
    members.update_member(shop, code="CR01", name="Atelier Croix-Rousse", city="Villeurbanne")
    members.update_member(shop, code="CR01", name="Atelier Croix-Rousse", city="Villeurbanne")
    members.set_member_active(shop, False)
    members.set_member_active(shop, True)
    label = "Atelier Croix-Rousse (CR01)"
    assert [(e.action, *said(e), e.details) for e in entries()] == [
        (
            "member.created",
            "member",
            shop.id,
            label,
            shop.id,
            {"name": "Atelier Croix-Rousse", "code": "CR01"},
        ),
        (
            "member.updated",
            "member",
            shop.id,
            label,
            shop.id,
            {"city": {"from": "Lyon", "to": "Villeurbanne"}},
        ),
        ("member.deactivated", "member", shop.id, label, shop.id, {}),
        ("member.reactivated", "member", shop.id, label, shop.id, {}),
    ]


def test_an_import_records_each_shop_created_and_each_shop_changed(db_session):
    import_members("code;name;city\nVELO01;Atelier Vélo;Lyon\nPED01;Le Pédalier;Lyon\n".encode())
    import_members("code;name;city\nVELO01;Atelier Vélo;Caluire\nPED01;Le Pédalier;Lyon\n".encode())
    assert [(e.action, e.object_label, e.details) for e in entries()] == [
        ("member.created", "Atelier Vélo (VELO01)", {"name": "Atelier Vélo", "code": "VELO01"}),
        ("member.created", "Le Pédalier (PED01)", {"name": "Le Pédalier", "code": "PED01"}),
        ("member.updated", "Atelier Vélo (VELO01)", {"city": {"from": "Lyon", "to": "Caluire"}}),
    ]


# --- awards, invoices ----------------------------------------------------------------------------


def test_an_award_records_each_line_and_its_supplier(db_session, make, case):  # noqa: F811
    rfq, lyon, taipei, tyre, tube, _ = case
    manager = make.user(Role.MANAGER)
    choices = {
        rfq.lines[0].id: answer_of(rfq, lyon, tyre).id,
        rfq.lines[1].id: answer_of(rfq, taipei, tube).id,
    }
    awarding.award_lines(rfq, choices, at=now(), by=manager)
    entry = only("rfq.awarded")
    assert said(entry) == ("rfq", rfq.id, rfq.number, None)
    assert (entry.actor_id, entry.details) == (
        manager.id,
        {"lines": ["TYR-1 : Lyon Pneu", "TUB-1 : Taipei Tyres"]},
    )


def test_each_invoice_issued_is_recorded_for_its_shop(db_session, make):
    w = received(make)
    treasurer = make.user(Role.TREASURER)
    issued = issuing.issue_invoices(w.campaign, by=treasurer, at=now())
    got = entries("invoice.issued")
    assert [(said(e), e.actor_id, e.details) for e in got] == [
        (
            ("invoice", invoice.id, invoice.number, invoice.member_id),
            treasurer.id,
            {"campaign": w.campaign.code, "total_incl_vat": str(invoice.total_incl_vat)},
        )
        for invoice in issued
    ]


def test_a_credit_note_is_recorded_with_the_invoice_it_credits(db_session, make):
    shop = make.member()
    invoice = invoices.invoice(shop, make.campaign())
    treasurer = make.user(Role.TREASURER)
    note = crediting.credit_invoice(
        invoice, amount=D("10.00"), reason="Pneu abîmé", by=treasurer, at=now()
    )
    entry = only("credit_note.issued")
    assert said(entry) == ("invoice", note.id, note.number, shop.id)
    assert entry.details == {
        "credited_invoice": invoice.number,
        "total_incl_vat": str(note.total_incl_vat),
        "reason": "Pneu abîmé",
    }


# --- payments ----------------------------------------------------------------------------------


def test_a_payment_recorded_by_hand_names_its_invoices(db_session, make):
    shop = make.member()
    invoice = invoices.invoice(shop, make.campaign())
    treasurer = make.user(Role.TREASURER)
    payment = ledger.record_payment(
        shop,
        D("148.65"),
        method=Method.CHEQUE,
        received_on=today(),
        invoices=[invoice],
        by=treasurer,
    )
    entry = only("payment.recorded")
    assert said(entry) == ("payment", payment.id, f"n°{payment.id}", shop.id)
    assert (entry.actor_id, entry.details) == (
        treasurer.id,
        {
            "amount": "148.65",
            "method": "cheque",
            "status": "succeeded",
            "invoices": [invoice.number],
        },
    )


def test_a_stripe_payment_is_recorded_as_the_webhook_s(client, make, app, monkeypatch):
    with stripe_online(app, monkeypatch) as fake:
        world = shop_paying_two_invoices(client, make, fake)
        event = paid(world)
        with client.session_transaction() as session:
            session.clear()  # Stripe calls without anyone's session
        assert deliver(client, event).text == "payment recorded"
    entry = only("payment.recorded")
    assert (entry.actor_kind, entry.actor_id, entry.member_id) == (
        ActorKind.WEBHOOK,
        None,
        world.member.id,
    )
    assert entry.details == {
        "amount": "297.30",
        "method": "card",
        "status": "succeeded",
        "invoices": [invoice.number for invoice in world.invoices],
    }


def test_a_pending_payment_that_succeeds_or_fails_records_its_move(db_session, make):
    shop = make.member()
    pending = dict(method=Method.SEPA_DEBIT, received_on=today(), status=PaymentStatus.PENDING)
    good = ledger.record_payment(shop, D("50.00"), **pending)
    bad = ledger.record_payment(shop, D("20.00"), **pending)
    ledger.mark_succeeded(good, on=today())
    ledger.mark_succeeded(good, on=today())  # again: nothing happens, nothing recorded
    ledger.mark_failed(bad)
    assert [(e.action, e.object_id, e.details) for e in entries()[2:]] == [
        (
            "payment.succeeded",
            good.id,
            {"amount": "50.00", "status": {"from": "pending", "to": "succeeded"}},
        ),
        (
            "payment.failed",
            bad.id,
            {"amount": "20.00", "status": {"from": "pending", "to": "failed"}},
        ),
    ]


def test_a_refund_and_its_later_status_are_recorded(db_session, make):
    shop = make.member()
    payment = ledger.record_payment(shop, D("80.00"), method=Method.CARD, received_on=today())
    refund = ledger.record_refund(
        payment, D("30.00"), on=today(), status=RefundStatus.PENDING, stripe_refund_id="re_1"
    )
    ledger.record_refund(
        payment, D("30.00"), on=today(), status=RefundStatus.SUCCEEDED, stripe_refund_id="re_1"
    )
    label = f"n°{refund.id}"
    assert [(e.action, *said(e), e.details) for e in entries()[1:]] == [
        (
            "refund.recorded",
            "refund",
            refund.id,
            label,
            shop.id,
            {
                "payment": f"n°{payment.id}",
                "amount": "30.00",
                "status": "pending",
                "reason": None,
            },
        ),
        (
            "refund.status_changed",
            "refund",
            refund.id,
            label,
            shop.id,
            {
                "payment": f"n°{payment.id}",
                "status": {"from": "pending", "to": "succeeded"},
            },
        ),
    ]


def test_a_bank_line_matched_ignored_and_put_back_is_recorded(db_session, make):
    shop = make.member()
    invoice = invoices.invoice(shop, make.campaign())
    treasurer = make.user(Role.TREASURER)
    import_(
        statement(
            f"05/12/2026;VIR {invoice.payment_reference};148,65", "06/12/2026;FRAIS TENUE;5,00"
        )
    )
    first, fees = sorted(db.session.scalars(select(BankLine)), key=lambda line: line.booked_on)
    payment = bank.confirm(first, by=treasurer)
    bank.ignore(fees, by=treasurer)
    bank.unignore(fees)
    matched, ignored, back = (
        entries("bank_line.matched") + entries("bank_line.ignored") + entries("bank_line.unignored")
    )
    assert said(matched) == (
        "bank_line",
        first.id,
        f"05/12/2026 VIR {invoice.payment_reference}",
        shop.id,
    )
    assert matched.details == {
        "amount": "148.65",
        "invoice": invoice.number,
        "payment": f"n°{payment.id}",
    }
    assert [(e.object_id, e.member_id, e.details) for e in (ignored, back)] == [
        (fees.id, None, {"amount": "5.00"}),
        (fees.id, None, {"amount": "5.00"}),
    ]


def test_refused_services_record_nothing(db_session, make):
    shop = make.member()
    with pytest.raises(DomainError):
        ledger.record_payment(shop, D("-1.00"), method=Method.CHEQUE, received_on=today())
    with pytest.raises(DomainError):
        members.create_member(code="", name="Sans code")
    assert entries() == []
