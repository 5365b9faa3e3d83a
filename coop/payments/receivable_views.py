"""The invoices as shops and the treasurer read them: the list, one invoice, what is paid.

Registered as its own blueprint: invoicing (below payments) issues and credits,
these pages add the ledger's balances, payments and pending payments.
"""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from coop.accounts.access import ensure_can_access
from coop.accounts.models import TREASURY_ROLES
from coop.activity import reading as activity
from coop.clock import today
from coop.errors import NotFound
from coop.invoicing import crediting, issuing
from coop.invoicing.models import InvoiceKind
from coop.pages import id_arg, paginate
from coop.payments import ledger, receivables
from coop.payments.models import METHOD_LABELS

bp = Blueprint("receivables", __name__)


@bp.route("/invoices")
@login_required
def list_invoices():
    filters = receivables.InvoiceFilters(
        campaign_id=id_arg("campaign"),
        member_id=id_arg("shop") if current_user.is_staff else None,
        status=(
            status if (status := request.args.get("status")) in receivables.STATUSES else "issued"
        ),
        number=(request.args.get("q") or "").strip()[:35],
    )
    member = None if current_user.is_staff else current_user.member
    query = receivables.invoices_query(filters, on=today(), member=member)
    page = paginate(query)
    return render_template(
        "invoicing/invoice_list.html",
        page=page,
        filters=filters,
        statuses=receivables.STATUSES,
        balances=ledger.balances([i for i in page.items if i.kind is InvoiceKind.INVOICE]),
        totals=receivables.invoices_totals(query, on=today()),
        today=today(),
        campaigns=issuing.invoiced_campaigns(),
        members=issuing.invoiced_members() if current_user.is_staff else [],
    )


@bp.route("/invoices/<number>")
@login_required
def show_invoice(number: str):
    try:
        invoice = issuing.find_invoice(number)
    except NotFound:
        abort(404)
    ensure_can_access(invoice.member)
    is_invoice = invoice.kind is InvoiceKind.INVOICE
    credit_notes = crediting.credit_notes_of(invoice)
    payments = ledger.payments_of(invoice) if is_invoice else []
    pending = ledger.pending_payments(invoice) if is_invoice else []
    # Its history: the invoice's entries, its credit notes' and its payments'.
    related = [("invoice", note.id) for note in credit_notes] + [
        ("payment", payment.id) for payment in [p for p, _ in payments] + pending
    ]
    return render_template(
        "invoicing/invoice_detail.html",
        invoice=invoice,
        s=invoice.snapshot,
        credit_notes=credit_notes,
        remaining=crediting.remaining_creditable(invoice),
        can_credit=current_user.has_role(*TREASURY_ROLES) and crediting.can_credit(invoice),
        balance=ledger.balance(invoice) if is_invoice else None,
        payments=payments,
        pending=pending,
        activity=activity.timeline(
            "invoice", invoice.id, activity.shop_scope(current_user), also=related
        ),
        method_labels=METHOD_LABELS,
        today=today(),
    )
