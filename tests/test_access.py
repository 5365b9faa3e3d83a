"""Who may reach what: every route x every role, refusals included."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop.accounts import tokens
from coop.accounts.models import AccountToken, Role, TokenPurpose
from coop.extensions import db
from coop.invoicing.models import Invoice
from coop.negotiation.links import token_for
from coop.negotiation.models import Invitation
from coop.orders.campaigns import needs as need_service
from coop.orders.campaigns.models import DeliveryMode, Need, PartRequest
from coop.orders.costs.models import Charge
from coop.orders.pooling.models import PoolingRun
from coop.orders.purchasing import sending as order_sending
from coop.orders.purchasing.models import OrderSending, PurchaseOrder
from coop.payments import bank
from coop.payments.models import BankLine
from coop.purchases import importing
from coop.purchases.models import SupplierInvoice, SupplierInvoiceKind, SupplierLineKind
from coop.relocation import agreements, files
from coop.relocation.links import token_for as maker_token_for
from coop.relocation.models import CallAnswer, CallFile, CallInvitation
from coop.suppliers.models import FrameworkAgreement, Offer
from tests.invoicing import factories as invoice_factories
from tests.negotiation import factories as negotiation_factories
from tests.relocation import factories as relocation_factories

OK, FORBIDDEN, LOGIN, LOGGED_OUT = "ok", 403, "login", "logged out"
# No login and no role: the request's own signature decides (Stripe's webhook; no secret
# is configured in tests, so it refuses everyone alike).
SIGNED = "signed"
ROLES = ("anonymous", "member", "manager", "treasurer", "admin")
# Someone holding two jobs gets what either role gets (a shop's account holds one role only).
PAIRS = ("manager+treasurer", "treasurer+admin")


def everyone_logged_in(anonymous=LOGIN):
    return dict(anonymous=anonymous, member=OK, manager=OK, treasurer=OK, admin=OK)


def only(*roles):
    return {r: LOGIN if r == "anonymous" else (OK if r in roles else FORBIDDEN) for r in ROLES}


STAFF_READ = only("manager", "treasurer", "admin")
ORDER_NUMBER = "BC-2026-00001"
# The admin runs accounts, the coop's settings and, with the manager, the member directory;
# purchasing is the manager's, money the treasurer's (the manager reads payments).
MEMBER_EDIT = only("manager", "admin")
PURCHASING = only("manager")
TREASURY = only("treasurer")
PAYMENTS_READ = only("manager", "treasurer")
PERIOD = "date_from=2026-11-01&date_to=2026-11-30"

# endpoint -> (method, path with {own}/{other}/{user} placeholders, expected per role)
MATRIX = {
    # For the proxy and a monitor: no login, whoever asks.
    "health.healthz": ("GET", "/healthz", dict.fromkeys(ROLES, OK)),
    "health.readyz": ("GET", "/readyz", dict.fromkeys(ROLES, OK)),
    "auth.login": ("GET", "/login", dict(everyone_logged_in(anonymous=OK))),
    "auth.logout": ("POST", "/logout", dict.fromkeys(ROLES, LOGGED_OUT)),
    "auth.change_password": ("GET", "/account/password", everyone_logged_in()),
    "auth.logout_everywhere": (
        "POST",
        "/account/logout-everywhere",
        {**dict.fromkeys(ROLES, LOGGED_OUT), "anonymous": LOGIN},
    ),
    "home.index": ("GET", "/", everyone_logged_in()),
    "home.set_language": ("POST", "/language", everyone_logged_in(anonymous=OK)),
    "shop.my_shop": ("GET", "/shop", only("member")),
    "home.my_campaigns": ("GET", "/my/campaigns", only("member")),
    "shop_needs.add_part": ("GET", "/parts/{part}/add-to-needs", only("member")),
    "shop_needs.needs_template": (
        "GET",
        "/campaigns/{campaign}/needs/template.csv",
        only("member", "manager"),
    ),
    # Staff name the shop (?member=CODE): without it, only a shop's own needs are exported.
    "shop_needs.needs_csv": ("GET", "/campaigns/{campaign}/needs.csv", only("member")),
    "shop.edit_my_shop": ("GET", "/shop/edit", only("member")),
    "members.list_members": ("GET", "/members/", STAFF_READ),
    "members.members_csv": ("GET", "/members/export.csv", STAFF_READ),
    "members.create_member": ("GET", "/members/new", MEMBER_EDIT),
    "members.show_member": ("GET", "/members/{own}", everyone_logged_in()),
    "members.edit_member": ("GET", "/members/{own}/edit", MEMBER_EDIT),
    "members.deactivate_member": ("GET", "/members/{own}/deactivate", MEMBER_EDIT),
    "members.reactivate_member": ("POST", "/members/{own}/reactivate", MEMBER_EDIT),
    # The directory's keepers invite to any shop, a shop's account holder to its own.
    "invitations.invite": ("POST", "/members/{own}/invite", only("member", "manager", "admin")),
    "invitations.invite_all": ("GET", "/members/invite-all", MEMBER_EDIT),
    "invitations.resend": (
        "POST",
        "/invitations/{own_invitation}/resend",
        only("member", "manager", "admin"),
    ),
    "invitations.revoke": (
        "GET",
        "/invitations/{own_invitation}/revoke",
        only("member", "manager", "admin"),
    ),
    # The e-mailed links open with the link alone, whoever holds it.
    "invitations.accept": ("GET", "/invitation/{invite_link}", everyone_logged_in(anonymous=OK)),
    "invitations.forgot_password": ("GET", "/password/forgot", everyone_logged_in(anonymous=OK)),
    "invitations.reset_password": (
        "GET",
        "/password/reset/{reset_link}",
        everyone_logged_in(anonymous=OK),
    ),
    "invitations.invite_staff": ("GET", "/users/invite", only("admin")),
    "users.list_users": ("GET", "/users/", only("admin")),
    "users.create_user": ("GET", "/users/new", only("admin")),
    "users.edit_user": ("GET", "/users/{user}/edit", only("admin")),
    "users.set_user_password": ("POST", "/users/{user}/password", only("admin")),
    "users.logout_user_everywhere": ("POST", "/users/{user}/logout-everywhere", only("admin")),
    "identity.edit_identity": ("GET", "/settings/identity", only("admin")),
    "imports.upload": ("GET", "/import/offers", PURCHASING),
    "catalogue.list_suppliers": ("GET", "/suppliers/", everyone_logged_in()),
    "catalogue.suppliers_csv": ("GET", "/suppliers.csv", STAFF_READ),
    "catalogue.show_supplier": ("GET", "/suppliers/{supplier}", everyone_logged_in()),
    "catalogue.create_supplier": ("GET", "/suppliers/new", PURCHASING),
    "catalogue.edit_supplier": ("GET", "/suppliers/{supplier}/edit", PURCHASING),
    "catalogue.deactivate_supplier": ("GET", "/suppliers/{supplier}/deactivate", PURCHASING),
    "catalogue.reactivate_supplier": ("POST", "/suppliers/{supplier}/reactivate", PURCHASING),
    "catalogue.list_parts": ("GET", "/parts/", everyone_logged_in()),
    "catalogue.show_part": ("GET", "/parts/{part}", everyone_logged_in()),
    "catalogue.part_choices": ("GET", "/parts/choices?part=cha", everyone_logged_in()),
    "catalogue.create_part": ("GET", "/parts/new", PURCHASING),
    "catalogue.edit_part": ("GET", "/parts/{part}/edit", PURCHASING),
    "catalogue.create_offer": ("GET", "/parts/{part}/offers/new", PURCHASING),
    "catalogue.edit_offer": ("GET", "/offers/{offer}/edit", PURCHASING),
    "catalogue.create_supplier_offer": ("GET", "/suppliers/{supplier}/offers/new", PURCHASING),
    "catalogue.sourcing": ("GET", "/sourcing", STAFF_READ),
    "campaigns.list_campaigns": ("GET", "/campaigns/", STAFF_READ),
    "campaigns.create_campaign": ("GET", "/campaigns/new", PURCHASING),
    "campaigns.show_campaign": ("GET", "/campaigns/{campaign}", STAFF_READ),
    "campaigns.edit_campaign": ("GET", "/campaigns/{campaign}/edit", PURCHASING),
    "campaigns.change_status": ("GET", "/campaigns/{campaign}/status/closed", PURCHASING),
    "campaigns.demand": ("GET", "/campaigns/{campaign}/demand", STAFF_READ),
    "campaigns.demand_csv": ("GET", "/campaigns/{campaign}/demand.csv", STAFF_READ),
    "campaigns.remind_silent_shops": ("GET", "/campaigns/{campaign}/demand/remind", PURCHASING),
    "campaigns.demand_by_supplier": ("GET", "/campaigns/{campaign}/demand/suppliers", STAFF_READ),
    "purchase_orders.list_orders": ("GET", "/purchase-orders", STAFF_READ),
    "purchase_orders.orders_csv": ("GET", "/purchase-orders.csv", STAFF_READ),
    "purchase_orders.show_order": ("GET", "/purchase-orders/{order}", STAFF_READ),
    "purchase_orders.download_order_pdf": ("GET", "/purchase-orders/{order}.pdf", STAFF_READ),
    "purchase_orders.send_order": ("GET", "/purchase-orders/{order}/send", PURCHASING),
    "purchase_orders.confirm_order": ("POST", "/purchase-orders/{order}/confirm", PURCHASING),
    "purchase_orders.cancel_order": ("GET", "/purchase-orders/{order}/cancel", PURCHASING),
    "purchase_orders.send_all": ("GET", "/campaigns/{campaign}/purchase-orders/send", PURCHASING),
    "purchase_orders.sending_progress": ("GET", "/purchase-orders/sendings/{sending}", STAFF_READ),
    "purchase_orders.supplier_orders": (
        "GET",
        "/suppliers/{supplier}/purchase-orders",
        STAFF_READ,
    ),
    "receiving.receive": ("GET", "/purchase-orders/{order}/receive", PURCHASING),
    "receiving.close_short": ("GET", "/purchase-orders/{order}/close-short", PURCHASING),
    "campaigns.convert_request": ("GET", "/requests/{request}/convert", PURCHASING),
    "campaigns.needs": ("GET", "/campaigns/{campaign}/needs", only("member")),
    "campaigns.needs_signals": ("GET", "/campaigns/{campaign}/needs/signals", only("member")),
    "campaigns.request_part": ("POST", "/campaigns/{campaign}/requests", only("member")),
    "campaigns.edit_need": ("GET", "/needs/{need}/edit", only("member")),
    "campaigns.withdraw_need": ("GET", "/needs/{need}/withdraw", only("member")),
    "campaigns.import_campaign_needs": (
        "GET",
        "/campaigns/{campaign}/import",
        only("member", "manager"),
    ),
    "pooling.show": ("GET", "/campaigns/{campaign}/pooling", STAFF_READ),
    "pooling.start": ("POST", "/campaigns/{campaign}/pooling/runs", PURCHASING),
    "pooling.progress": ("GET", "/campaigns/{campaign}/pooling/runs/{run}/progress", STAFF_READ),
    "pooling.commit": ("GET", "/campaigns/{campaign}/pooling/runs/{run}/commit", PURCHASING),
    "pooling.undo": ("GET", "/campaigns/{campaign}/pooling/undo", PURCHASING),
    "pooling.need_pins": ("GET", "/campaigns/{campaign}/pooling/need-pins", PURCHASING),
    "dispatch.board": ("GET", "/campaigns/{campaign}/dispatch", STAFF_READ),
    "dispatch.picking": ("GET", "/campaigns/{campaign}/dispatch/{shop}", STAFF_READ),
    "dispatch.picking_pdf": ("GET", "/campaigns/{campaign}/dispatch/{shop}.pdf", STAFF_READ),
    "dispatch.confirm_handover": (
        "POST",
        "/campaigns/{campaign}/dispatch/{shop}/handover",
        PURCHASING,
    ),
    "statements.charges": ("GET", "/campaigns/{campaign}/charges", PURCHASING),
    "statements.edit_charge": ("GET", "/campaigns/{campaign}/charges/{charge}/edit", PURCHASING),
    "statements.delete_charge": (
        "GET",
        "/campaigns/{campaign}/charges/{charge}/delete",
        PURCHASING,
    ),
    "statements.shipping_key": ("POST", "/campaigns/{campaign}/shipping-key", PURCHASING),
    "statements.statement": ("GET", "/campaigns/{campaign}/statement", everyone_logged_in()),
    "statements.statement_csv": (
        "GET",
        "/campaigns/{campaign}/statement.csv",
        everyone_logged_in(),
    ),
    "statements.results": ("GET", "/campaigns/{campaign}/results", STAFF_READ),
    "invoicing.preview": ("GET", "/campaigns/{campaign}/invoices/preview", STAFF_READ),
    "invoicing.issue": ("GET", "/campaigns/{campaign}/invoices/issue", TREASURY),
    "invoicing.progress": ("GET", "/campaigns/{campaign}/invoices/progress", STAFF_READ),
    "receivables.list_invoices": ("GET", "/invoices", everyone_logged_in()),
    "receivables.show_invoice": ("GET", "/invoices/{invoice}", everyone_logged_in()),
    "invoicing.credit": ("GET", "/invoices/{invoice}/credit", TREASURY),
    "invoice_documents.download_invoice_pdf": (
        "GET",
        "/invoices/{invoice}.pdf",
        everyone_logged_in(),
    ),
    "invoice_exports.index": ("GET", "/exports", TREASURY),
    "activity.log": ("GET", "/activity/", STAFF_READ),
    "activity.log_csv": ("GET", "/activity/export.csv", STAFF_READ),
    "payments.list_payments": ("GET", "/payments", PAYMENTS_READ),
    "payments.payments_csv": ("GET", "/payments/export.csv", PAYMENTS_READ),
    "payments.bank_queue": ("GET", "/payments/bank", PAYMENTS_READ),
    "payments.bank_line": ("GET", "/payments/bank/lines/{line}", PAYMENTS_READ),
    "payments.confirm_line": (
        "POST",
        "/payments/bank/lines/{line}/confirm",
        TREASURY,
    ),
    "payments.ignore_line": (
        "POST",
        "/payments/bank/lines/{line}/ignore",
        TREASURY,
    ),
    "payments.unignore_line": (
        "POST",
        "/payments/bank/lines/{line}/unignore",
        TREASURY,
    ),
    "payments.confirm_all": ("GET", "/payments/bank/confirm-all", TREASURY),
    "payments.rematch": ("POST", "/payments/bank/rematch", TREASURY),
    # A shop reads its own account (another shop's is refused: tests/payments).
    "payments.account": (
        "GET",
        "/payments/accounts/{own}",
        only("member", "manager", "treasurer"),
    ),
    "supplier_invoices.list_invoices": ("GET", "/supplier-invoices", PAYMENTS_READ),
    "supplier_invoices.show_invoice": (
        "GET",
        "/supplier-invoices/{supplier_invoice}",
        PAYMENTS_READ,
    ),
    "supplier_invoices.download": (
        "GET",
        "/supplier-invoices/{supplier_invoice}/file",
        PAYMENTS_READ,
    ),
    "supplier_invoices.book": (
        "POST",
        "/supplier-invoices/{supplier_invoice}/book",
        PAYMENTS_READ,
    ),
    "supplier_invoices.dispute": (
        "POST",
        "/supplier-invoices/{supplier_invoice}/dispute",
        PAYMENTS_READ,
    ),
    "supplier_invoices.link": (
        "POST",
        "/supplier-invoices/{supplier_invoice}/link",
        PAYMENTS_READ,
    ),
    "supplier_invoices.rematch": (
        "POST",
        "/supplier-invoices/{supplier_invoice}/rematch",
        PAYMENTS_READ,
    ),
    "supplier_invoices.enter_invoice": ("GET", "/supplier-invoices/new", PAYMENTS_READ),
    "supplier_invoices.payments": ("GET", "/supplier-invoices/payments", PAYMENTS_READ),
    "supplier_invoices.pay": ("GET", "/supplier-invoices/payments/{line}", PAYMENTS_READ),
    "supplier_invoices.margin": (
        "GET",
        "/supplier-invoices/campaigns/{campaign}/margin",
        PAYMENTS_READ,
    ),
    "stripe.pay": ("GET", "/payments/pay", only("member")),
    "stripe.checkout_return": ("GET", "/payments/return", only("member")),
    "stripe.refund": ("POST", "/members/{own}/refund", TREASURY),
    "stripe.webhook": ("POST", "/stripe/webhook", dict.fromkeys(ROLES, SIGNED)),
    "reminders.index": ("GET", "/reminders", TREASURY),
    "reminders.send": ("GET", "/reminders/send", TREASURY),
    "reminders.pause": ("GET", "/reminders/shops/{shop}/pause", TREASURY),
    "reminders.resume": ("POST", "/reminders/shops/{shop}/resume", TREASURY),
    "invoice_exports.download_fec": ("GET", "/exports/fec?" + PERIOD, TREASURY),
    "invoice_exports.download_csv": (
        "GET",
        "/exports/invoices.csv?" + PERIOD,
        TREASURY,
    ),
    "invoice_exports.download_zip": (
        "GET",
        "/exports/invoices.zip?" + PERIOD,
        TREASURY,
    ),
    "rfqs.list_rfqs": ("GET", "/rfqs/", STAFF_READ),
    "rfqs.supplier_rfqs": ("GET", "/rfqs/suppliers/{supplier}", STAFF_READ),
    "rfqs.create_rfq": ("GET", "/rfqs/new", PURCHASING),
    "rfqs.show_rfq": ("GET", "/rfqs/{rfq}", STAFF_READ),
    "rfqs.choose_suppliers": ("POST", "/rfqs/{rfq}/suppliers", PURCHASING),
    "rfqs.edit_rfq": ("GET", "/rfqs/{rfq}/edit", PURCHASING),
    "rfqs.send_rfq": ("GET", "/rfqs/{rfq}/send", PURCHASING),
    "rfqs.close_rfq": ("GET", "/rfqs/{rfq}/close", PURCHASING),
    "rfqs.matrix": ("GET", "/rfqs/{rfq}/matrix", STAFF_READ),
    "rfqs.award": ("POST", "/rfqs/{rfq}/award", PURCHASING),
    "rfqs.thread": ("GET", "/rfqs/{rfq}/suppliers/{invitation}", STAFF_READ),
    "rfqs.post_message": ("POST", "/rfqs/{rfq}/suppliers/{invitation}/message", PURCHASING),
    "rfqs.counter_propose": ("POST", "/rfqs/{rfq}/suppliers/{invitation}/counter", PURCHASING),
    "rfqs.revoke_link": ("GET", "/rfqs/{rfq}/suppliers/{invitation}/revoke", PURCHASING),
    "rfqs.renew_link": ("POST", "/rfqs/{rfq}/suppliers/{invitation}/renew", PURCHASING),
    # A supplier's page opens with its private link alone, whoever holds it.
    "supplier_quotes.answer": ("GET", "/q/{token}", everyone_logged_in(anonymous=OK)),
    "supplier_quotes.download_csv": ("GET", "/q/{token}/rfq.csv", everyone_logged_in(anonymous=OK)),
    "supplier_quotes.upload_csv": ("POST", "/q/{token}/upload", everyone_logged_in(anonymous=OK)),
    "supplier_quotes.post_supplier_message": (
        "POST",
        "/q/{token}/message",
        everyone_logged_in(anonymous=OK),
    ),
    # Relocation (MAD Industrie): the manager's board and the Métropole's report; the
    # treasurer reads them.
    "relocation_board.show": ("GET", "/relocalisation/tableau", PAYMENTS_READ),
    "relocation_board.export_csv": ("GET", "/relocalisation/tableau/export.csv", PAYMENTS_READ),
    "relocation_impact.show": ("GET", "/relocalisation/impact", PAYMENTS_READ),
    "relocation_impact.download_pdf": ("GET", "/relocalisation/impact/rapport.pdf", PAYMENTS_READ),
    "relocation_impact.rows_csv": ("GET", "/relocalisation/impact/lignes.csv", PAYMENTS_READ),
    # Calls to manufacturers and framework agreements: the manager's; the treasurer and the
    # admin read them; a maker's link opens its page with the link alone.
    "calls.list_calls": ("GET", "/calls/", STAFF_READ),
    "calls.create_call": ("GET", "/calls/new", PURCHASING),
    "calls.show_call": ("GET", "/calls/{call}", STAFF_READ),
    "calls.answers_csv": ("GET", "/calls/{call}/answers.csv", STAFF_READ),
    "calls.edit_call": ("GET", "/calls/{call}/edit", PURCHASING),
    "calls.add_file": ("POST", "/calls/{call}/files", PURCHASING),
    "calls.download_file": ("GET", "/calls/{call}/files/{call_file}", STAFF_READ),
    "calls.remove_file": ("GET", "/calls/{call}/files/{call_file}/delete", PURCHASING),
    "calls.invite_maker": ("POST", "/calls/{call}/makers", PURCHASING),
    "calls.thread": ("GET", "/calls/{call}/makers/{maker}", STAFF_READ),
    "calls.post_message": ("POST", "/calls/{call}/makers/{maker}/message", PURCHASING),
    "calls.remove_maker": ("GET", "/calls/{call}/makers/{maker}/remove", PURCHASING),
    "calls.revoke_link": ("GET", "/calls/{call}/makers/{maker}/revoke", PURCHASING),
    "calls.renew_link": ("POST", "/calls/{call}/makers/{maker}/renew", PURCHASING),
    "calls.publish_call": ("GET", "/calls/{call}/publish", PURCHASING),
    "calls.close_call": ("GET", "/calls/{call}/close", PURCHASING),
    "calls.accept_answer": ("GET", "/calls/{call}/answers/{call_answer}/accept", PURCHASING),
    "maker_calls.answer": ("GET", "/m/{maker_token}", everyone_logged_in(anonymous=OK)),
    "maker_calls.download_file": (
        "GET",
        "/m/{maker_token}/files/{call_file}",
        everyone_logged_in(anonymous=OK),
    ),
    "maker_calls.post_message": (
        "POST",
        "/m/{maker_token}/message",
        everyone_logged_in(anonymous=OK),
    ),
    "agreements.list_agreements": ("GET", "/agreements/", STAFF_READ),
    "agreements.agreements_csv": ("GET", "/agreements/export.csv", STAFF_READ),
    "agreements.create_agreement": ("GET", "/agreements/new", PURCHASING),
    "agreements.show_agreement": ("GET", "/agreements/{agreement}", STAFF_READ),
    "agreements.edit_agreement": ("GET", "/agreements/{agreement}/edit", PURCHASING),
    "agreements.activate_agreement": ("GET", "/agreements/{agreement}/activate", PURCHASING),
    "agreements.end_agreement": ("GET", "/agreements/{agreement}/end", PURCHASING),
}


# More requests to routes already in MATRIX: the writes of pages the manager only reads, and
# the member directory's import (the admin's too) beside the catalogue's (the manager's only).
WRITES = [
    ("payments.list_payments", "POST", "/payments", TREASURY),
    ("payments.bank_queue", "POST", "/payments/bank", TREASURY),
    ("payments.bank_line", "POST", "/payments/bank/lines/{line}", TREASURY),
    ("supplier_invoices.list_invoices", "POST", "/supplier-invoices", PAYMENTS_READ),
    ("supplier_invoices.enter_invoice", "POST", "/supplier-invoices/new", PAYMENTS_READ),
    ("supplier_invoices.pay", "POST", "/supplier-invoices/payments/{line}", TREASURY),
    ("imports.upload", "GET", "/import/members", MEMBER_EDIT),
    ("imports.upload", "POST", "/import/parts", PURCHASING),
    (
        "shop_needs.needs_csv",
        "GET",
        "/campaigns/{campaign}/needs.csv?member={shop}",
        only("member", "manager"),
    ),
]
CASES = [(endpoint, *MATRIX[endpoint]) for endpoint in sorted(MATRIX)] + WRITES


def expected_for(expected: dict, role: str):
    """A pair of roles gets what either gets."""
    outcomes = {expected[r] for r in role.split("+")}
    return OK if OK in outcomes else outcomes.pop()


@pytest.fixture
def world(make):
    own = make.member()
    other = make.member()
    users = {role.value: make.user(role) for role in (Role.MANAGER, Role.TREASURER, Role.ADMIN)}
    users["member"] = make.user(Role.MEMBER, member=own)
    for pair in PAIRS:
        users[pair] = make.user(*(Role(r) for r in pair.split("+")))
    offer = make.offer()
    campaign = make.campaign()
    make.need(campaign, own, offer.part)
    need_service.request_part(campaign, own, "Pneu 650B", 2, None, at=campaign.opened_at)
    db.session.add(PoolingRun(campaign=campaign, options={}))
    db.session.add(
        PurchaseOrder(
            number=ORDER_NUMBER,
            campaign=campaign,
            supplier=offer.supplier,
            delivery_mode=DeliveryMode.HUB,
        )
    )
    db.session.add(Charge(campaign=campaign, label="Douane", amount=Decimal("10.00")))
    db.session.commit()
    order_sending.start_sending(campaign, by=None, at=campaign.opened_at)
    db.session.commit()
    invoice_factories.document(invoice_factories.invoice(own, campaign))
    bank.import_statement("Date;Libellé;Montant\n05/12/2026;VIR;10,00\n".encode(), "r.csv", by=None)
    db.session.commit()
    negotiation_factories.sent_rfq(parts=[offer.part])
    importing.enter_invoice(
        importing.TypedInvoice(
            supplier=offer.supplier,
            kind=SupplierInvoiceKind.INVOICE,
            number="F-2026-0001",
            issued_on=date(2026, 12, 1),
            due_on=None,
            order=None,
            credited=None,
            lines=(
                importing.TypedLine(
                    SupplierLineKind.GOODS, "Pneu", Decimal("2"), Decimal("10"), Decimal("0.2")
                ),
            ),
            vat={Decimal("0.2"): Decimal("4.00")},
            total_excl_vat=Decimal("20.00"),
            total_vat=Decimal("4.00"),
            total_incl_vat=Decimal("24.00"),
        ),
        b"%PDF-1.7 facture",
        "facture.pdf",
        by=None,
    )
    call = relocation_factories.published(offer.part, makers=("Forge du Gier",))
    relocation_factories.answer(call.invitations[0])
    files.add_file(call, "plan.pdf", b"%PDF-1.4\n%%EOF\n")
    agreements.create_agreement(
        agreements.AgreementTerms(
            offer=offer,
            committed_qty=100,
            shortfall_fee=Decimal("1.00"),
            valid_from=date(2027, 1, 1),
            valid_to=date(2027, 12, 31),
            campaigns_planned=6,
        ),
        at=campaign.opened_at,
    )
    db.session.commit()
    return own, other, users


def ids(own, users) -> dict:
    """The ids a route's placeholders take: the member user's own shop and need."""
    offer = db.session.scalars(select(Offer)).first()
    need = db.session.scalars(select(Need)).first()
    invitation = db.session.scalars(select(Invitation)).first()
    maker = db.session.scalars(select(CallInvitation)).first()
    return {
        "own": own.id,
        "user": users["manager"].id,
        "supplier": offer.supplier_id,
        "part": offer.part_id,
        "offer": offer.id,
        "campaign": need.campaign_id,
        "need": need.id,
        "request": db.session.scalars(select(PartRequest.id)).first(),
        "run": db.session.scalars(select(PoolingRun.id)).first(),
        "order": ORDER_NUMBER,
        "shop": own.code,
        "charge": db.session.scalars(select(Charge.id)).first(),
        "invoice": db.session.scalars(select(Invoice.number)).first(),
        "line": db.session.scalars(select(BankLine.id)).first(),
        "supplier_invoice": db.session.scalars(select(SupplierInvoice.id)).first(),
        "sending": db.session.scalars(select(OrderSending.id)).first(),
        "rfq": invitation.rfq_id,
        "invitation": invitation.id,
        "token": token_for(invitation),
        "call": maker.call_id,
        "maker": maker.id,
        "maker_token": maker_token_for(maker),
        "call_file": db.session.scalars(select(CallFile.id)).first(),
        "call_answer": db.session.scalars(select(CallAnswer.id)).first(),
        "agreement": db.session.scalars(select(FrameworkAgreement.id)).first(),
        **account_links(own, users),
    }


def account_links(own, users) -> dict:
    """An invitation to the member user's own shop, and the e-mailed links' raw tokens."""
    invitation = AccountToken(
        purpose=TokenPurpose.INVITE, email="new@example.org", member=own, role=Role.MEMBER
    )
    invite_link = tokens.issue(invitation)
    reset = AccountToken(purpose=TokenPurpose.RESET, email="x@example.org", user=users["admin"])
    return {
        "own_invitation": invitation.id,
        "invite_link": invite_link,
        "reset_link": tokens.issue(reset),
    }


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert endpoints == set(MATRIX)


@pytest.mark.parametrize("role", ROLES + PAIRS)
@pytest.mark.parametrize(
    ("endpoint", "method", "path", "expected"),
    CASES,
    ids=[f"{method} {path}" for _endpoint, method, path, _expected in CASES],
)
def test_route_access(client, world, endpoint, method, path, expected, role):
    own, _, users = world
    if role != "anonymous":
        client.login_as(users[role])
    url = path.format(**ids(own, users))
    response = client.open(url, method=method)
    outcome = expected_for(expected, role)
    if outcome == LOGGED_OUT:
        assert response.status_code == 302
        assert response.location == "/login"
        assert client.get("/").status_code == 302
    elif outcome == LOGIN:
        assert response.status_code == 302
        assert response.location.startswith("/login")
    elif outcome == SIGNED:
        assert response.status_code == 503
    elif outcome == FORBIDDEN:
        assert response.status_code == 403
        assert "Accès refusé" in response.text
    else:
        # 422: let in, the empty form is refused by the page itself.
        assert response.status_code in (200, 302, 422)
        assert not (response.location or "").startswith("/login")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/members/{other}"),
        ("GET", "/members/{other}/edit"),
        ("POST", "/members/{other}/edit"),
        ("POST", "/members/{other}/deactivate"),
        ("POST", "/members/{other}/reactivate"),
    ],
)
def test_a_member_cannot_reach_another_shop_by_changing_the_id(client, world, method, path):
    _, other, users = world
    client.login_as(users["member"])
    response = client.open(
        path.format(other=other.id), method=method, data={"name": "Hacked", "code": "HACK"}
    )
    assert response.status_code == 403
    assert other.name != "Hacked"
    assert other.is_active


def test_a_member_sees_its_own_shop_not_the_others(client, world):
    own, other, users = world
    client.login_as(users["member"])
    page = client.get("/shop").text
    assert own.name in page
    assert other.name not in page
    assert client.get(f"/members/{own.id}").location == "/shop"


def test_unknown_member_is_a_friendly_404(client, world):
    client.login_as(world[2]["manager"])
    response = client.get("/members/999999")
    assert response.status_code == 404
    assert "Page introuvable" in response.text


def test_pages_forbid_framing_and_sniffing(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_an_unexpected_error_shows_a_calm_page_not_a_traceback(app, client, make, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr("coop.accounts.members.search_members", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    client.login_as(make.user(Role.MANAGER))
    response = client.get("/members/")
    assert response.status_code == 500
    assert "Erreur inattendue" in response.text
    assert "database exploded" not in response.text
    assert "Traceback" not in response.text
