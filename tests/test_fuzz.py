"""The app's own fuzz test: every form and every list, one bad value at a time (issue 13).

The forms are found the way a person finds them: each role opens every page it may
open, and every form on those pages is sent back as rendered, with one field changed
to a value no one should type (endless, non-finite, overflowing, a NUL byte, a
spreadsheet formula). No answer may be a server error, and a value the app must
refuse may write nothing. Deterministic and bounded: one bad value per field,
chosen by the field's kind.
"""

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import lxml.html
import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from coop.accounts import tokens
from coop.accounts.models import AccountToken, Role, TokenPurpose
from coop.clock import now, today
from coop.extensions import db
from coop.negotiation.links import token_for
from coop.orders.campaigns import needs as need_service
from coop.orders.costs import charging
from coop.orders.costs.models import Charge
from coop.orders.pooling.models import PoolingRun
from coop.orders.purchasing import ordering
from coop.orders.purchasing.models import OrderStatus
from coop.payments import bank, ledger
from coop.payments.models import BankLine, Method
from coop.purchases.models import SupplierInvoiceStatus
from coop.relocation import agreements, files
from coop.relocation.links import token_for as maker_token_for
from tests.invoicing import factories as invoice_factories
from tests.negotiation import factories as negotiation_factories
from tests.orders.costs.test_statements import build_world
from tests.orders.purchasing.test_purchase_orders import close
from tests.relocation import factories as relocation_factories
from tests.test_bad_input import rows_in_every_table

OVERLONG = "a" * 100_000
NON_FINITE = ("NaN", "Infinity", "1e308")
OVERFLOWING = "99999999999999999999"
NUL = "a\x00b"
FORMULA = "=cmd|' /C calc'!A0"
FAR_DAY = "9999-12-31"

# Fields whose value only picks between two ways of doing the same thing: any other
# value than the expected one means "the usual way", which may rightly write.
SWITCHES = {"action", "correct", "next", "lang", "submission_token"}
# Pages that are files or that compute for long: nothing to find on them.
NOT_PAGES = (
    ".pdf",
    ".csv",
    ".zip",
    "/fec",
    "/progress",
    "/signals",
    "/static/",
    "/purchase-orders/sendings/",
)
# POSTs no form sends to fuzz: a button of a ConfirmForm (no field), logging out, Stripe's.
BUTTONS_ONLY = set(
    "auth.logout stripe.webhook members.reactivate_member members.deactivate_member "
    "catalogue.deactivate_supplier catalogue.reactivate_supplier campaigns.change_status "
    "campaigns.withdraw_need purchase_orders.send_order purchase_orders.confirm_order "
    "purchase_orders.cancel_order receiving.close_short pooling.commit pooling.undo "
    "charging.delete_charge invoicing.issue payments.confirm_line payments.ignore_line "
    "payments.unignore_line payments.confirm_all payments.rematch rfqs.send_rfq rfqs.close_rfq "
    "rfqs.revoke_link rfqs.renew_link reminders.send reminders.resume invitations.resend "
    "invitations.revoke calls.publish_call calls.close_call calls.revoke_link calls.renew_link "
    "calls.remove_file calls.remove_maker agreements.activate_agreement "
    "agreements.end_agreement".split()
)
# POSTs whose only field is a file: tests/test_bad_input.py sends them files past the limits.
UPLOADS_ONLY = {
    "imports.upload",
    "campaigns.import_campaign_needs",
    "payments.bank_queue",
    "supplier_quotes.upload_csv",
    "calls.add_file",
}


@dataclass(frozen=True)
class Form:
    role: str
    method: str
    action: str
    multipart: bool
    fields: tuple[tuple[str, str], ...]  # as the page renders them: the baseline
    kinds: dict  # field name -> "text", "number", "date", "choice", "switch"


@pytest.fixture
def world(make):
    return every_state(make)


def every_state(make):
    """Every state a form shows in: a campaign pooled and ordered, one open for needs, one
    closed for pooling, an invoice and a shop's credit, a bank line, RFQs drafted and answered.
    """
    pooled = build_world(make)
    orders = ordering.campaign_orders(pooled.campaign)
    ordering.change_order_status(orders[0], OrderStatus.SENT, at=now())
    charging.add_charge(pooled.campaign, charging.ChargeTerms("Douane", Decimal("10.00")))
    shop, part = pooled.shops["A"], pooled.needs["a_tyre"].part
    open_campaign, closed_campaign = make.campaign(), make.campaign()
    need = make.need(open_campaign, shop, part, quantity=2, ref="F1")
    request = need_service.request_part(open_campaign, shop, "Pneu 650B", 2, None, at=now())
    make.need(closed_campaign, shop, part, quantity=2)
    close(closed_campaign, at=now())
    db.session.add(PoolingRun(campaign=pooled.campaign, options={}))
    invoice = invoice_factories.invoice(shop, pooled.campaign)
    invoice_factories.document(invoice)
    # Shop B paid without an invoice: a credit to pay back (the refund form).
    ledger.record_payment(
        pooled.shops["B"], Decimal("50.00"), method=Method.TRANSFER, received_on=today()
    )
    bank.import_statement(b"Date;Libelle;Montant\n05/12/2026;VIR SHOPA;10,00\n", "r.csv", by=None)
    supplier_invoice = make.supplier_invoice(
        pooled.lyon, "F-1", status=SupplierInvoiceStatus.TO_CHECK, booked_on=None
    )
    db.session.commit()
    draft = negotiation_factories.rfq(parts=[part])
    asked = [make.supplier(email=f"devis{n}@fournisseur.example") for n in range(2)]
    sent = negotiation_factories.sent_rfq(parts=[part], suppliers=asked)
    answered, waiting = sorted(sent.invitations, key=lambda i: i.id)
    negotiation_factories.answer(answered)
    # A call to manufacturers published, one maker answered, a drawing; a draft agreement.
    call = relocation_factories.published(part, makers=("Forge du Gier",))
    maker = call.invitations[0]
    call_answer = relocation_factories.answer(maker)
    drawing = files.add_file(call, "plan.pdf", b"%PDF-1.4\n%%EOF\n")
    agreement = agreements.create_agreement(
        agreements.AgreementTerms(
            offer=part.offers[0],
            committed_qty=100,
            shortfall_fee=Decimal("1.00"),
            valid_from=today(),
            valid_to=today() + timedelta(days=365),
            campaigns_planned=6,
        ),
        at=now(),
    )
    db.session.commit()
    users = {
        "member": make.user(Role.MEMBER, member=shop),
        "staff": make.user(Role.ADMIN, Role.MANAGER, Role.TREASURER),
    }
    # A shop's colleague invited, and a shop's user who forgot its password: their links' pages.
    invitation = AccountToken(
        purpose=TokenPurpose.INVITE,
        email="collegue@velo.example",
        member=shop,
        role=Role.MEMBER,
        created_by=users["staff"],
    )
    invite_token = tokens.issue(invitation)
    reset_token = tokens.issue(
        AccountToken(purpose=TokenPurpose.RESET, email=users["member"].email, user=users["member"])
    )
    ids = {
        "account_invitation_id": (invitation.id,),
        "invite_token": (invite_token,),
        "reset_token": (reset_token,),
        "campaign_id": (pooled.campaign.id, open_campaign.id, closed_campaign.id),
        "member_id": (shop.id, pooled.shops["B"].id),
        "user_id": (users["member"].id,),
        "supplier_id": (pooled.lyon.id,),
        "part_id": (part.id,),
        "offer_id": (part.offers[0].id,),
        "need_id": (need.id,),
        "request_id": (request.id,),
        "run_id": (db.session.scalar(select(PoolingRun.id)),),
        "charge_id": (db.session.scalar(select(Charge.id)),),
        "line_id": (db.session.scalar(select(BankLine.id)),),
        "rfq_id": (draft.id, sent.id),
        "invitation_id": (answered.id,),
        "token": (token_for(waiting),),
        "member_code": (shop.code,),
        "status": ("closed",),
        "kind": ("members",),
        "order": tuple(o.number for o in orders),
        "invoice": (invoice.number,),
        "invoice_id": (supplier_invoice.id,),
        "call_id": (call.id,),
        "maker_id": (maker.id,),
        "maker_token": (maker_token_for(maker),),
        "file_id": (drawing.id,),
        "answer_id": (call_answer.id,),
        "agreement_id": (agreement.id,),
    }
    return ids, users


def page_urls(app, ids) -> list[tuple[str, str]]:
    """(endpoint, URL) of every page a GET may open, each argument from the world."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if (
            "GET" not in rule.methods
            or rule.rule.startswith(NOT_PAGES)
            or any(rule.rule.endswith(end) for end in NOT_PAGES)
        ):
            continue
        names = sorted(rule.arguments)
        options = []
        for name in names:
            key = name
            if name == "number":
                key = "invoice" if rule.endpoint.startswith("invoic") else "order"
            elif rule.endpoint.startswith("invitations."):
                key = {
                    "invitation_id": "account_invitation_id",
                    "token": "reset_token" if "reset" in rule.endpoint else "invite_token",
                }.get(name, name)
            options.append(ids[key])
        for values in itertools.product(*options):
            path = rule.rule
            for name, value in zip(names, values, strict=True):
                path = path.replace(f"<{name}>", str(value)).replace(f"<int:{name}>", str(value))
            found.append((rule.endpoint, path))
    return found


def login(client, role, users):
    """Be `role` for the next requests (anonymous: the supplier behind its link, a visitor)."""
    with client.session_transaction() as session:
        session.clear()
        if role != "anonymous":
            session["_user_id"] = users[role].get_id()
            session["_fresh"] = True


def field_kind(element) -> str:
    """Which bad values a field gets, from what its page says of it."""
    name = element.name
    if name in SWITCHES or name.startswith(("pick-", "add-", "line-", "award-")):
        return "switch"
    if element.get("type") == "checkbox":
        return "switch"  # any value ticks it
    if element.tag == "select" or element.get("type") == "radio":
        return "choice"
    kind = element.get("type", "text") if element.tag == "input" else "text"
    if kind in ("date", "datetime-local", "time"):
        return "date"
    if kind in ("number", "hidden") or element.get("inputmode") in ("decimal", "numeric"):
        return "number"
    return "text"


def forms_on(html: str, role: str, url: str) -> list[Form]:
    """The forms of a page that have a field to fill, with what they hold as rendered."""
    if not html.strip():  # a fragment with nothing to show: a part picker's, nothing typed
        return []
    page = lxml.html.fromstring(html)
    found = []
    for form in page.forms:
        method = (form.method or "GET").upper()
        action = urlsplit(form.action or url)
        if action.netloc:
            continue
        fields = tuple(form.form_values())
        kinds = {}
        for element in form.inputs:
            if element.name and element.get("type") not in ("submit", "button", "file"):
                kinds.setdefault(element.name, field_kind(element))
        if kinds:
            target = action.path + (f"?{action.query}" if action.query else "")
            multipart = form.get("enctype") == "multipart/form-data"
            found.append(Form(role, method, target, multipart, fields, kinds))
    return found


def discover(client, app, ids, users) -> tuple[list[Form], list[tuple[str, str]]]:
    """Every form each role finds on the pages it opens, once; and those pages (role, URL)."""
    forms, pages, seen = [], [], set()
    for role in ("anonymous", "member", "staff"):
        login(client, role, users)
        for _, url in page_urls(app, ids):
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            pages.append((role, url))
            for form in forms_on(response.text, role, url):
                key = (form.method, urlsplit(form.action).path, tuple(sorted(form.kinds)))
                if key not in seen:
                    seen.add(key)
                    forms.append(form)
    return forms, pages


def bad_values(form: Form, counter) -> list[tuple[str, str, bool]]:
    """(field, value, refused) to send, one field at a time; `refused`: the app may not write.

    A text field gets an endless value (refused) and a NUL byte or a formula (which may be
    stored, cleaned or as typed); a number one of the non-finite or overflowing values; a
    date the end of time or an overflowing number; a choice an overflowing number.
    """
    values = [("page", OVERFLOWING, False)] if form.method == "GET" else []
    for name, kind in form.kinds.items():
        n = next(counter)
        if kind == "text":
            values += [(name, OVERLONG, True), (name, (NUL, FORMULA)[n % 2], False)]
        elif kind == "number":
            values.append((name, (OVERFLOWING, *NON_FINITE)[n % 4], True))
        elif kind == "date":
            values.append((name, (FAR_DAY, OVERFLOWING)[n % 2], True))
        else:
            values.append((name, OVERFLOWING, kind == "choice"))
    return values


def send(client, form: Form, name: str, value: str):
    """The form as rendered, `name` set to `value` alone."""
    data = [(k, v) for k, v in form.fields if k != name] + [(name, value)]
    if form.method == "GET":
        separator = "&" if "?" in form.action else "?"
        return client.get(form.action + separator + urlencode(data))
    if form.multipart:
        return client.post(form.action, data=MultiDict(data), content_type="multipart/form-data")
    return client.post(
        form.action, data=urlencode(data), content_type="application/x-www-form-urlencoded"
    )


def test_no_form_nor_list_gives_a_server_error_or_writes_a_refused_value(client, app, world):
    ids, users = world
    forms, pages = discover(client, app, ids, users)
    fuzzed = {app.url_map.bind("").match(urlsplit(f.action).path, f.method)[0] for f in forms}
    posting = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert posting - fuzzed - BUTTONS_ONLY - UPLOADS_ONLY == set()
    failures, sent, counter = [], 0, itertools.count()
    connection = db.engines[None]  # the test's connection (conftest.db_session)
    for form in forms:
        login(client, form.role, users)
        for name, value, refused in bad_values(form, counter):
            # Each request in a savepoint of its own, rolled back after: what a value
            # rightly changes (a name with a formula) never moves the next request's world.
            db.session.remove()
            savepoint = connection.begin_nested()
            before = rows_in_every_table() if refused else None
            where = (form.method, form.action, name, value[:20])
            try:
                response = send(client, form, name, value)
            except Exception as error:  # in production, a 500: listed with the others
                failures.append((*where, type(error).__name__))
            else:
                if response.status_code >= 500:
                    failures.append((*where, response.status_code))
                elif refused and rows_in_every_table() != before:
                    failures.append((*where, "written"))
            sent += 1
            db.session.remove()
            savepoint.rollback()
    # Every page, the lists' included, with a page past any offset and a bad search.
    for n, (role, url) in enumerate(pages):
        login(client, role, users)
        query = urlencode({"page": OVERFLOWING, "q": (NUL, OVERLONG)[n % 2]})
        try:
            status = client.get(f"{url}?{query}").status_code
        except Exception as error:  # in production, a 500: listed with the others
            status = type(error).__name__
        if not isinstance(status, int) or status >= 500:
            failures.append(("GET", url, "page", OVERFLOWING, status))
        sent += 1
    assert failures == [], "\n".join(map(str, failures))
    assert 400 < sent < 1100  # bounded: about a minute per database
