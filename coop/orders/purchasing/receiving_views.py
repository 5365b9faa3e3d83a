"""Receiving pages: the manager records what a supplier delivered, or closes an order short."""

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from coop import bounds, clock, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.forms import sentence
from coop.orders.campaigns.models import DeliveryMode
from coop.orders.campaigns.rules import SHORTAGE_RULE_LABELS
from coop.orders.costs import splitting
from coop.orders.purchasing import ordering, receiving
from coop.orders.purchasing.forms import ReceiptForm
from coop.orders.purchasing.models import PurchaseOrder
from coop.pages import refusal_shown

bp = Blueprint("receiving", __name__)


@bp.app_template_global()
def shortage_rule_label(rule) -> str:
    return _(SHORTAGE_RULE_LABELS[rule])


@bp.route("/purchase-orders/<number>/receive", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def receive(number: str):
    order = _order(number)
    back = url("purchase_orders.show_order", number=order.number)
    if not receiving.can_receive(order):
        flash(
            _(
                "Le bon de commande %(number)s est %(status)s : il ne peut pas être réceptionné.",
                number=order.number,
                status=order.status.label,
            ),
            "error",
        )
        return redirect(back)
    members = receiving.served_members(order) if order.delivery_mode is DeliveryMode.SHOPS else []
    form = ReceiptForm(received_on=clock.today())
    form.member.choices = [("", _("Aucun : livraison groupée, partagée entre les ateliers"))] + [
        (str(m.id), f"{m.name} ({m.code})") for m in members
    ]
    line_errors: dict[str, str] = {}
    if form.validate_on_submit():
        quantities, line_errors = _typed_quantities(order)
        if not line_errors:
            submissions.claim(form)
            with refusal_shown(show=partial(_show, form=form, line_errors=line_errors)) as outcome:
                receipt = receiving.record_receipt(
                    order,
                    received_on=form.received_on.data,
                    delivery_note_ref=form.delivery_note_ref.data,
                    quantities=quantities,
                    member=_member(form, members),
                    note=form.note.data,
                    by=current_user,
                    at=clock.now(),
                )
                splitting.store_received_split(order.campaign)
            if outcome.ok:
                good = sum(line.received for line in receipt.lines)
                submissions.commit(form, back)
                flash(
                    _(
                        "Réception enregistrée sur %(number)s : %(good)d unités en bon état.",
                        number=order.number,
                        good=good,
                    ),
                    "success",
                )
                return redirect(back)
    # "Tout reçu comme commandé": every line filled with what remains to receive; the
    # manager then corrects only the lines that came short.
    as_ordered = request.method == "GET" and request.args.get("as_ordered") == "1"
    typed = request.form
    if as_ordered:
        typed = {f"good_{line.id}": str(line.missing_units) for line in order.lines}
    return render_template(
        "orders/purchasing/receipt_form.html",
        form=form,
        order=order,
        line_errors=line_errors,
        typed=typed,
        cancel_url=back,
        as_ordered=as_ordered,
    )


@bp.route("/purchase-orders/<number>/close-short", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def close_short(number: str):
    order = _order(number)
    back = url("purchase_orders.show_order", number=order.number)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            receiving.close_short(order, at=clock.now())
            splitting.store_received_split(order.campaign)
        if outcome.ok:
            db.session.commit()
            flash(
                _(
                    "Bon de commande %(number)s soldé : le reste ne sera pas livré.",
                    number=order.number,
                ),
                "success",
            )
        return redirect(back)
    with refusal_shown() as outcome:
        receiving.check_closable_short(order)
    if not outcome.ok:
        return redirect(back)
    missing = sum(line.missing_units for line in order.lines)
    message = ngettext(
        "%(supplier)s ne livrera pas l'unité manquante. Les ateliers "
        "gardent ce qui est arrivé, partagé selon la règle de la campagne, et ne "
        "paient que cela. C'est définitif.",
        "%(supplier)s ne livrera pas les %(num)d unités manquantes. Les ateliers "
        "gardent ce qui est arrivé, partagé selon la règle de la campagne, et ne "
        "paient que cela. C'est définitif.",
        missing,
        supplier=order.supplier.name,
    )
    return render_template(
        "confirm.html",
        form=form,
        title=_("Solder le bon de commande %(number)s ?", number=order.number),
        message=message,
        confirm_label=_("Oui, solder la commande"),
        cancel_url=back,
        cancel_label=_("Non, attendre la suite"),
    )


def _typed_quantities(order: PurchaseOrder) -> tuple[dict[int, tuple[int, int]], dict[str, str]]:
    """The units typed per line (blank is 0), and what is not a whole number."""
    quantities, errors = {}, {}
    for line in order.lines:
        units = []
        for kind in ("good", "damaged"):
            name = f"{kind}_{line.id}"
            text = request.form.get(name, "").strip()
            try:
                number = int(text) if text else 0
            except ValueError:
                errors[name] = _("Nombre entier attendu.")
                number = 0
            try:
                units.append(bounds.quantity(number))
            except ValueError as error:
                errors[name] = sentence(error)
                units.append(0)
        quantities[line.id] = tuple(units)
    return quantities, errors


def _member(form: ReceiptForm, members):
    chosen = {str(m.id): m for m in members}.get(form.member.data or "")
    if form.member.data and chosen is None:
        raise DomainError(_("Choisissez un atelier de la liste."), field="member")
    return chosen


def _show(error: DomainError, form: ReceiptForm, line_errors: dict[str, str]) -> None:
    """A refusal next to its field when it has one, else at the top of the page."""
    if error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    elif error.field:
        line_errors[error.field] = error.message
    else:
        flash(error.message, "error")


def _order(number: str) -> PurchaseOrder:
    try:
        return ordering.get_order(number)
    except NotFound:
        abort(404)
