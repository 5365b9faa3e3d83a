"""Suppliers' invoices: upload, list, check and book or dispute (the manager and the treasurer),
pay from the bank statement's debits (the treasurer), and a campaign's margin."""

import re
from decimal import Decimal

from flask import Blueprint, Response, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from coop import submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, TREASURY_ROLES, Role
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import day, money
from coop.orders.campaigns.models import Campaign
from coop.orders.purchasing.models import PurchaseOrder
from coop.pages import paginate, refusal_shown, search_arg
from coop.payments.models import BankLine
from coop.purchases import booking, importing, listing, paying
from coop.purchases.forms import BookForm, DisputeForm, EntryForm, LinkForm, PayForm, UploadForm
from coop.purchases.margin import campaign_margin
from coop.purchases.matching import LABELS
from coop.purchases.models import (
    SOURCE_FORMAT_LABELS,
    SUPPLIER_INVOICE_STATUS_LABELS,
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceStatus,
    SupplierLineKind,
    SupplierPayment,
    amount_owed,
    supplier_regime,
)
from coop.suppliers.models import Supplier

bp = Blueprint("supplier_invoices", __name__, url_prefix="/supplier-invoices")

# Who receives and checks suppliers' invoices: the manager (who ordered) and the treasurer.
FINANCE_ROLES = (*PURCHASING_ROLES, *TREASURY_ROLES)
# The manager follows the supplier payments the treasurer records.
READERS = (Role.MANAGER,)


def _filename(name: str | None) -> str:
    # Browsers may send a full Windows path.
    return re.split(r"[\\/]", name or "")[-1].strip()


def _status_arg() -> SupplierInvoiceStatus | None:
    value = request.args.get("status")
    return SupplierInvoiceStatus(value) if value in set(SupplierInvoiceStatus) else None


# --- the list and the upload ------------------------------------------------------------------


@bp.route("", methods=["GET", "POST"])
@roles_required(*FINANCE_ROLES)
def list_invoices():
    form = UploadForm()
    refusals: list[str] = []
    if form.validate_on_submit():
        # Each file is imported and committed on its own: the token goes first.
        submissions.claim(form, url("supplier_invoices.list_invoices"))
        db.session.commit()
        imported = []
        for upload in form.files.data:
            with refusal_shown(show=lambda error: refusals.append(error.message)) as outcome:
                invoice = importing.import_invoice(
                    upload.read(), _filename(upload.filename), by=current_user
                )
            if outcome.ok:
                db.session.commit()
                imported.append(invoice)
        if imported:
            flash(
                ngettext(
                    "%(num)d facture importée : à vérifier.",
                    "%(num)d factures importées : à vérifier.",
                    len(imported),
                ),
                "success",
            )
        if not refusals:
            return redirect(url("supplier_invoices.list_invoices"))
    search, status = search_arg(), _status_arg()
    return render_template(
        "purchases/invoice_list.html",
        form=form,
        refusals=refusals,
        page=paginate(listing.invoices_query(search, status)),
        search=search,
        status=status,
        statuses=SUPPLIER_INVOICE_STATUS_LABELS,
    ), 422 if refusals or form.errors else 200


# --- one invoice ------------------------------------------------------------------------------


def _invoice(invoice_id: int) -> SupplierInvoice:
    return db.get_or_404(SupplierInvoice, invoice_id)


def _link_form(invoice: SupplierInvoice) -> LinkForm:
    form = LinkForm(
        purchase_order=invoice.purchase_order_id, credited_invoice=invoice.credited_invoice_id
    )
    form.purchase_order.choices = [
        ("", _("— aucun —")),
        *[(o.id, f"{o.number} · {money(o.total)}") for o in listing.orders(invoice.supplier_id)],
    ]
    form.credited_invoice.choices = [
        ("", _("— aucune —")),
        *[
            (i.id, f"{i.number} · {i.issued_on:%d/%m/%Y}")
            for i in listing.invoices_of(invoice.supplier_id)
            if i.id != invoice.id
        ],
    ]
    return form


def _detail(invoice: SupplierInvoice, **forms):
    forms.setdefault("book_form", BookForm())
    forms.setdefault("dispute_form", DisputeForm())
    forms.setdefault("link_form", _link_form(invoice))
    shown = any(form.errors for form in forms.values())
    return render_template(
        "purchases/invoice_detail.html",
        invoice=invoice,
        regime=supplier_regime(invoice.supplier),
        owed=amount_owed(invoice),
        has_differences=booking.has_differences(invoice),
        formats=SOURCE_FORMAT_LABELS,
        labels=LABELS,
        action_form=ConfirmForm(),
        shipping=SupplierLineKind.SHIPPING,
        decimal=Decimal,  # the match and the VAT breakdown keep amounts as JSON strings
        **forms,
    ), 422 if shown else 200


@bp.route("/<int:invoice_id>")
@roles_required(*FINANCE_ROLES)
def show_invoice(invoice_id: int):
    return _detail(_invoice(invoice_id))


@bp.route("/<int:invoice_id>/file")
@roles_required(*FINANCE_ROLES)
def download(invoice_id: int):
    """The original file, byte for byte, as the supplier sent it."""
    invoice = _invoice(invoice_id)
    name = re.sub(r"[^\w.\- ]", "_", invoice.filename)
    return Response(
        invoice.file,
        mimetype=invoice.file_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/<int:invoice_id>/book", methods=["POST"])
@roles_required(*FINANCE_ROLES)
def book(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = BookForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            booking.book(invoice, on=form.booked_on.data, note=form.note.data, by=current_user)
        if outcome.ok:
            back = url("supplier_invoices.show_invoice", invoice_id=invoice.id)
            submissions.commit(form, back)
            flash(
                _(
                    "%(number)s comptabilisée au %(day)s.",
                    number=invoice.number,
                    day=day(invoice.booked_on),
                ),
                "success",
            )
            return redirect(back)
        invoice = _invoice(invoice_id)
    return _detail(invoice, book_form=form)


@bp.route("/<int:invoice_id>/dispute", methods=["POST"])
@roles_required(*FINANCE_ROLES)
def dispute(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = DisputeForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            booking.dispute(invoice, form.message.data, by=current_user)
        if outcome.ok:
            back = url("supplier_invoices.show_invoice", invoice_id=invoice.id)
            submissions.commit(form, back)
            flash(_("Contestation envoyée à %(email)s.", email=invoice.supplier.email), "success")
            return redirect(back)
        invoice = _invoice(invoice_id)
    return _detail(invoice, dispute_form=form)


@bp.route("/<int:invoice_id>/link", methods=["POST"])
@roles_required(*FINANCE_ROLES)
def link(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = _link_form(invoice)
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            booking.link(
                invoice,
                order=db.session.get(PurchaseOrder, form.purchase_order.data)
                if form.purchase_order.data
                else None,
                credited=db.session.get(SupplierInvoice, form.credited_invoice.data)
                if form.credited_invoice.data
                else None,
                by=current_user,
            )
        if outcome.ok:
            db.session.commit()
            flash(_("Rapprochement refait."), "success")
            return redirect(url("supplier_invoices.show_invoice", invoice_id=invoice.id))
        invoice = _invoice(invoice_id)
    return _detail(invoice, link_form=form)


@bp.route("/<int:invoice_id>/rematch", methods=["POST"])
@roles_required(*FINANCE_ROLES)
def rematch(invoice_id: int):
    invoice = _invoice(invoice_id)
    if ConfirmForm().validate_on_submit():
        with refusal_shown() as outcome:
            booking.rematch(invoice)
        if outcome.ok:
            db.session.commit()
            flash(_("Rapprochement refait."), "success")
    return redirect(url("supplier_invoices.show_invoice", invoice_id=invoice.id))


# --- typed by hand ----------------------------------------------------------------------------


def _entry(form: EntryForm) -> importing.TypedInvoice:
    supplier = db.session.get(Supplier, form.supplier.data)
    order = (
        db.session.get(PurchaseOrder, form.purchase_order.data)
        if form.purchase_order.data
        else None
    )
    credited = None
    if form.credited_number.data:
        credited = listing.find_invoice(supplier.id, form.credited_number.data)
        if credited is None:
            raise DomainError(
                _(
                    "Aucune facture n° %(number)s de %(supplier)s.",
                    number=form.credited_number.data,
                    supplier=supplier.name,
                ),
                field="credited_number",
            )
    return importing.TypedInvoice(
        supplier=supplier,
        kind=SupplierInvoiceKind(form.kind.data),
        number=form.number.data,
        issued_on=form.issued_on.data,
        due_on=form.due_on.data,
        order=order,
        credited=credited,
        lines=tuple(
            importing.TypedLine(
                kind=SupplierLineKind(row.form.kind.data),
                name=row.form.name.data,
                quantity=row.form.quantity.data,
                unit_price=row.form.unit_price.data,
                vat_rate=row.form.vat_rate.data,
                supplier_ref=row.form.supplier_ref.data or None,
                buyer_ref=row.form.buyer_ref.data or None,
            )
            for row in form.lines
            if not row.form.is_blank
        ),
        vat={
            row.form.rate.data: row.form.amount.data
            for row in form.vat
            if row.form.rate.data is not None
        },
        total_excl_vat=form.total_excl_vat.data,
        total_vat=form.total_vat.data,
        total_incl_vat=form.total_incl_vat.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*FINANCE_ROLES)
def enter_invoice():
    form = EntryForm()
    form.supplier.choices = [
        ("", _("— choisir —")),
        *[(s.id, f"{s.name} ({s.code})") for s in listing.suppliers()],
    ]
    form.purchase_order.choices = [
        ("", _("— aucun —")),
        *[(o.id, f"{o.number} · {o.supplier.name}") for o in listing.orders()],
    ]
    if form.validate_on_submit():
        submissions.claim(form)
        upload = form.file.data
        with refusal_shown(form, default_field="total_excl_vat") as outcome:
            invoice = importing.enter_invoice(
                _entry(form), upload.read(), _filename(upload.filename), by=current_user
            )
        if outcome.ok:
            back = url("supplier_invoices.show_invoice", invoice_id=invoice.id)
            submissions.commit(form, back)
            flash(
                _("Facture %(number)s enregistrée : à vérifier.", number=invoice.number), "success"
            )
            return redirect(back)
    return render_template("purchases/invoice_form.html", form=form), 422 if form.errors else 200


# --- paying suppliers -------------------------------------------------------------------------


@bp.route("/payments")
@roles_required(*TREASURY_ROLES, readers=READERS)
def payments():
    page = paginate(paying.waiting_debits_query())
    recent = db.session.scalars(
        select(SupplierPayment).order_by(SupplierPayment.id.desc()).limit(20)
    ).all()
    return render_template(
        "purchases/payments.html",
        page=page,
        proposals=paying.propose(page.items),
        recent=recent,
        action_form=ConfirmForm(),
    )


def _debit(line_id: int) -> BankLine:
    return db.get_or_404(BankLine, line_id)


def _pay_form(line: BankLine) -> tuple[PayForm, list]:
    form = PayForm()
    open_invoices = paying.open_invoices()
    form.invoices.choices = [(invoice.id, invoice.number) for invoice, _due in open_invoices]
    return form, open_invoices


@bp.route("/payments/<int:line_id>", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES, readers=READERS)
def pay(line_id: int):
    """A debit of the statement, paid to the invoices the treasurer ticks."""
    line = _debit(line_id)
    form, open_invoices = _pay_form(line)
    if request.method == "GET":
        proposal = paying.propose([line]).get(line.id)
        form.invoices.data = [i.id for i in proposal.invoices] if proposal else []
    elif form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form, default_field="invoices") as outcome:
            payment = paying.pay(
                line,
                [db.session.get(SupplierInvoice, i) for i in form.invoices.data],
                by=current_user,
            )
        if outcome.ok:
            back = url("supplier_invoices.payments")
            submissions.commit(form, back)
            flash(
                _(
                    "Paiement de %(amount)s à %(supplier)s enregistré.",
                    amount=money(payment.amount),
                    supplier=payment.supplier.name,
                ),
                "success",
            )
            return redirect(back)
    return render_template(
        "purchases/payment_line.html", line=line, form=form, open_invoices=open_invoices
    ), 422 if form.errors else 200


# --- a campaign's margin ----------------------------------------------------------------------


@bp.route("/campaigns/<int:campaign_id>/margin")
@roles_required(*FINANCE_ROLES)
def margin(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    return render_template(
        "purchases/campaign_margin.html", campaign=campaign, margin=campaign_margin(campaign)
    )
