"""The treasurer's payments pages: the ledger, the bank statement queue, a shop's account."""

import re
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coop import submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import TREASURY_ROLES, Member, Role
from coop.activity.actions import label_values
from coop.csv_export import day, figure
from coop.errors import DomainError, InvalidRows, NotFound
from coop.extensions import db
from coop.i18n import N_, de, money, sorted_by_name
from coop.invoicing.issuing import find_invoice
from coop.pages import csv_download, form_error, id_arg, id_list, paginate
from coop.payments import anomalies, bank, ledger, listing
from coop.payments.forms import AssignForm, BankImportForm, PaymentForm, invoice_numbers
from coop.payments.models import (
    BANK_LINE_STATUS_LABELS,
    METHOD_LABELS,
    PAYMENT_STATUS_LABELS,
    BankLine,
    BankLineStatus,
    Method,
    PaymentStatus,
    RefundStatus,
)
from coop.payments.refund_forms import RefundForm

bp = Blueprint("payments", __name__, url_prefix="/payments")

# The manager reads payments and shops' accounts as it reads invoices; the treasury writes.
READERS = (Role.MANAGER,)
REFUND_STATUS_LABELS = {
    RefundStatus.PENDING: N_("En cours"),
    RefundStatus.SUCCEEDED: N_("Remboursé"),
    RefundStatus.FAILED: N_("Échoué"),
}
label_values("refund", "status", REFUND_STATUS_LABELS)


def _members() -> list[Member]:
    return sorted_by_name(db.session.scalars(select(Member).order_by(Member.code)))


def _member_choices() -> list[tuple[int, str]]:
    return [(m.id, f"{m.name} ({m.code})") for m in _members()]


def _day_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _enum_arg(name: str, enum):
    value = request.args.get(name)
    return enum(value) if value in {e.value for e in enum} else None


# --- the ledger -------------------------------------------------------------------------------


@bp.route("", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES, readers=READERS)
def list_payments():
    filters = _payment_filters()
    form = PaymentForm(member=filters.member_id)
    form.member.choices = [("", _("— choisir —")), *_member_choices()]
    if form.validate_on_submit():
        submissions.claim(form)
        if _record_payment(form):
            return redirect(url("payments.list_payments"))
    query = listing.payments_query(filters)
    return render_template(
        "payments/payment_list.html",
        page=paginate(query),
        filters=filters,
        form=form,
        anomalies=anomalies.anomalies(filters.member_id),
        describe=anomalies.describe,
        totals=listing.payments_totals(query),
        members=listing.members_with_invoices_or_payments(),
        methods=METHOD_LABELS,
        statuses=PAYMENT_STATUS_LABELS,
        unallocated=ledger.unallocated,
    ), 422 if form.errors else 200


def _payment_filters() -> listing.PaymentFilters:
    return listing.PaymentFilters(
        member_id=id_arg("shop"),
        method=_enum_arg("method", Method),
        status=_enum_arg("status", PaymentStatus),
        date_from=_day_arg("date_from"),
        date_to=_day_arg("date_to"),
    )


PAYMENT_CSV_COLUMNS = (
    "received_on shop_code shop_name method reference amount_eur fees_eur status invoices "
    "unallocated_eur"
).split()


@bp.route("/export.csv")
@roles_required(*TREASURY_ROLES, readers=READERS)
def payments_csv():
    """The ledger's payments, with its filters, for a spreadsheet."""
    rows = [PAYMENT_CSV_COLUMNS]
    for p in db.session.scalars(listing.payments_query(_payment_filters())):
        rows.append(
            [
                day(p.received_on),
                p.member.code,
                p.member.name,
                _(METHOD_LABELS[p.method]),
                p.reference,
                figure(p.amount),
                figure(p.fees),
                _(PAYMENT_STATUS_LABELS[p.status]),
                " ".join(a.invoice.number for a in p.allocations),
                figure(ledger.unallocated(p)),
            ]
        )
    return csv_download("paiements.csv", rows)


def _record_payment(form: PaymentForm) -> bool:
    member = db.session.get(Member, form.member.data)
    try:
        invoices = [find_invoice(n) for n in invoice_numbers(form.invoices.data or "")]
        payment = ledger.record_payment(
            member,
            form.amount.data,
            method=Method(form.method.data),
            received_on=form.received_on.data,
            reference=form.reference.data or None,
            invoices=invoices,
            by=current_user,
        )
        submissions.commit(form, url("payments.list_payments"))
    except DomainError as error:
        db.session.rollback()
        form.invoices.errors = [*form.invoices.errors, error.message]
        return False
    flash(
        _(
            "Paiement de %(amount)s %(of_shop)s enregistré.",
            amount=money(payment.amount),
            of_shop=de(member.name),
        ),
        "success",
    )
    return True


# --- the bank statement and its queue ---------------------------------------------------------


@bp.route("/bank", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES, readers=READERS)
def bank_queue():
    form = BankImportForm()
    errors = []
    if form.validate_on_submit():
        submissions.claim(form)
        upload = form.file.data
        try:
            outcome = bank.import_statement(
                upload.read(), _filename(upload.filename), by=current_user
            )
            submissions.commit(form, url("payments.bank_queue"))
        except InvalidRows as invalid:
            db.session.rollback()
            errors = invalid.errors
        except DomainError as error:
            db.session.rollback()
            form.file.errors = [*form.file.errors, error.message]
        else:
            flash(_import_message(outcome), "success")
            return redirect(url("payments.bank_queue"))
    status = _status_arg()
    page = paginate(listing.queue_query(status))
    members = [m for m in _members() if m.is_active]
    return render_template(
        "payments/bank.html",
        form=form,
        errors=errors,
        page=page,
        status=status,
        counts=listing.queue_counts(),
        labels=BANK_LINE_STATUS_LABELS,
        proposals=bank.proposals(page.items),
        detected={
            line.id: bank.detect_members(line.label, members)
            for line in page.items
            if line.status is BankLineStatus.UNMATCHED
        },
        exact=len(bank.exact_lines()),
        action_form=ConfirmForm(),
        unallocated=ledger.unallocated,
    ), 422 if errors or form.errors else 200


def _status_arg() -> BankLineStatus | None:
    """The queue's filter: the lines to match unless another status (or all) is asked for."""
    if request.args.get("status") == "all":
        return None
    return _enum_arg("status", BankLineStatus) or BankLineStatus.UNMATCHED


def _filename(name: str | None) -> str:
    # Browsers may send a full Windows path.
    return re.split(r"[\\/]", name or "")[-1].strip()


def _import_message(outcome: bank.ImportOutcome) -> str:
    new = ngettext(
        "Relevé importé : %(num)d ligne nouvelle",
        "Relevé importé : %(num)d lignes nouvelles",
        outcome.new,
    )
    if outcome.known:
        new += ", " + ngettext("%(num)d déjà importée", "%(num)d déjà importées", outcome.known)
    queued = ngettext(
        "%(num)d virement reçu à rapprocher",
        "%(num)d virements reçus à rapprocher",
        outcome.received,
    )
    proposed = ngettext(
        "%(num)d avec une facture proposée", "%(num)d avec une facture proposée", outcome.proposed
    )
    return f"{new} ; {queued}, {proposed}."


def _line(line_id: int) -> BankLine:
    return db.get_or_404(BankLine, line_id)


@bp.route("/bank/lines/<int:line_id>", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES, readers=READERS)
def bank_line(line_id: int):
    """One line: its proposal, the shop's open invoices, and the form to match it by hand."""
    line = _line(line_id)
    form = AssignForm()
    form.member.choices = [("", _("— aucun —")), *_member_choices()]
    if form.validate_on_submit():
        try:
            invoice = find_invoice(form.invoice.data) if form.invoice.data else None
            member = db.session.get(Member, form.member.data) if form.member.data else None
            remains = bank.left_due(line, invoice)
            asking = remains and request.form.get("short") != "1"
            if not asking:
                submissions.claim(form)
            payment = bank.confirm(line, invoice, member=member, by=current_user)
            if asking:
                # Checked as it would be recorded, then undone: the treasurer confirms first.
                db.session.rollback()
                typed = {"invoice": form.invoice.data or "", "member": form.member.data or ""}
                return _confirm_short(line, invoice, remains, form, typed)
            submissions.commit(form, url("payments.bank_queue"))
        except NotFound:
            db.session.rollback()
            form.invoice.errors = [_("Aucune facture %(number)s.", number=form.invoice.data)]
        except DomainError as error:
            db.session.rollback()
            form_error(form, error)
        else:
            flash(_matched_message(payment), "success")
            return redirect(url("payments.bank_queue"))
    members = [m for m in _members() if m.is_active]
    detected = bank.detect_members(line.label, members)
    shops = {m.id for m in detected}
    if line.proposed_invoice is not None:
        shops.add(line.proposed_invoice.member_id)
    candidates = listing.candidate_invoices(shops, line.amount)
    return render_template(
        "payments/bank_line.html",
        line=line,
        form=form,
        detected=detected,
        proposal=bank.proposals([line]).get(line.id),
        candidates=candidates,
        labels=BANK_LINE_STATUS_LABELS,
        action_form=ConfirmForm(),
        unallocated=ledger.unallocated,
    ), 422 if form.errors else 200


def _confirm_short(line: BankLine, invoice, remains, form, hidden: dict | None = None):
    """A transfer short of its invoice leaves money due: the treasurer confirms it knowingly."""
    message = _(
        "Ce virement de %(received)s ne règle pas toute la facture %(number)s %(of_shop)s "
        "(%(due)s dus) : il restera %(remains)s à payer.",
        received=money(line.amount),
        number=invoice.number,
        of_shop=de(invoice.member.name),
        due=money(remains + line.amount),
        remains=money(remains),
    )
    return render_template(
        "confirm.html",
        form=form,
        title=_("Enregistrer un paiement partiel ?"),
        message=message,
        hidden={**(hidden or {}), "short": "1"},
        confirm_label=_("Oui, enregistrer le paiement partiel"),
        cancel_url=url("payments.bank_line", line_id=line.id),
        cancel_label=_("Non, rapprocher autrement"),
    )


def _matched_message(payment) -> str:
    amount, shop = money(payment.amount), payment.member.name
    invoices = [a.invoice for a in payment.allocations]
    if invoices:
        due = {i: b.due for i, b in ledger.balances(invoices).items()}
        # A short transfer must not read as settling: say what it leaves due.
        outcomes = [
            _(
                "il règle en partie %(number)s, qui reste due de %(due)s",
                number=invoice.number,
                due=money(due[invoice.id]),
            )
            if due[invoice.id]
            else _("il règle %(number)s", number=invoice.number)
            for invoice in invoices
        ]
        return _(
            "Virement de %(amount)s %(of_shop)s enregistré : %(outcome)s.",
            amount=amount,
            of_shop=de(shop),
            outcome=" ; ".join(outcomes),
        )
    return _(
        "Virement de %(amount)s %(of_shop)s enregistré en crédit sur son compte.",
        amount=amount,
        of_shop=de(shop),
    )


def _decide(line_id: int, decision, back_to: BankLineStatus = BankLineStatus.UNMATCHED):
    """Run one decision on a line; a refusal is flashed (never a 500), then back to the queue."""
    line = _line(line_id)
    back = url("payments.bank_queue", status=back_to.value)
    form = ConfirmForm()  # CSRFProtect checked the request; the form carries its token
    submissions.claim(form)
    try:
        message = decision(line)
        submissions.commit(form, back)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    except IntegrityError:
        # The same transfer recorded by someone else at the same moment (bank_line_id is unique).
        db.session.rollback()
        flash(_("Cette ligne vient d'être rapprochée par quelqu'un d'autre."), "error")
    else:
        flash(message, "success")
    return redirect(back)


@bp.route("/bank/lines/<int:line_id>/confirm", methods=["POST"])
@roles_required(*TREASURY_ROLES)
def confirm_line(line_id: int):
    line = _line(line_id)
    remains = bank.left_due(line, line.proposed_invoice)
    if remains and request.form.get("short") != "1":
        return _confirm_short(line, line.proposed_invoice, remains, ConfirmForm())
    return _decide(line_id, lambda line: _matched_message(bank.confirm(line, by=current_user)))


@bp.route("/bank/lines/<int:line_id>/ignore", methods=["POST"])
@roles_required(*TREASURY_ROLES)
def ignore_line(line_id: int):
    def decision(line):
        bank.ignore(line, by=current_user)
        return _("Ligne ignorée : elle reste visible sous le filtre « Ignorées ».")

    return _decide(line_id, decision)


@bp.route("/bank/lines/<int:line_id>/unignore", methods=["POST"])
@roles_required(*TREASURY_ROLES)
def unignore_line(line_id: int):
    def decision(line):
        bank.unignore(line)
        return _("Ligne remise dans la file à rapprocher.")

    return _decide(line_id, decision, back_to=BankLineStatus.IGNORED)


@bp.route("/bank/confirm-all", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES)
def confirm_all():
    """Confirm every exact proposal (the shop's reference, the exact amount), after review."""
    form = ConfirmForm()
    if form.validate_on_submit():
        submissions.claim(form)
        ids = id_list("line", request.form)
        try:
            done = bank.confirm_exact(ids, by=current_user)
            submissions.commit(form, url("payments.bank_queue"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url("payments.confirm_all"))
        except IntegrityError:
            db.session.rollback()
            flash(
                _(
                    "Une ligne vient d'être rapprochée par quelqu'un d'autre : rien n'a été "
                    "enregistré, réessayez."
                ),
                "error",
            )
            return redirect(url("payments.confirm_all"))
        flash(
            ngettext("%(num)d virement confirmé.", "%(num)d virements confirmés.", done), "success"
        )
        return redirect(url("payments.bank_queue"))
    exact = bank.exact_lines()
    return render_template(
        "payments/bank_confirm_all.html",
        form=form,
        exact=exact,
        total=sum((line.amount for line, _p in exact), ledger.ZERO),
    )


@bp.route("/bank/rematch", methods=["POST"])
@roles_required(*TREASURY_ROLES)
def rematch():
    found = bank.rematch()
    db.session.commit()
    flash(
        ngettext("%(num)d nouvelle proposition.", "%(num)d nouvelles propositions.", found),
        "success",
    )
    return redirect(url("payments.bank_queue"))


# --- a shop's account -------------------------------------------------------------------------


@bp.route("/accounts/<int:member_id>")
@login_required
def account(member_id: int):
    """A shop's account: the treasurer's, with the refund form; read only for the others."""
    member = db.get_or_404(Member, member_id)
    is_treasury = current_user.has_role(*TREASURY_ROLES)
    if not (is_treasury or current_user.has_role(*READERS) or current_user.member_id == member.id):
        abort(403)
    summary = listing.account(member)
    return render_template(
        "payments/account.html",
        member=member,
        summary=summary,
        credit=summary.credit,
        is_treasury=is_treasury,
        form=RefundForm(member=member) if is_treasury else None,
        anomalies=anomalies.anomalies(member.id) if is_treasury else [],
        describe=anomalies.describe,
        methods=METHOD_LABELS,
        statuses=PAYMENT_STATUS_LABELS,
        refund_statuses=REFUND_STATUS_LABELS,
        unallocated=ledger.unallocated,
    )
