"""Purchase order pages: staff follow the orders, the manager sends, confirms or cancels them."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user

from coop import clock, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.activity import reading as activity
from coop.clock import to_local
from coop.csv_export import day, figure
from coop.errors import NotFound
from coop.extensions import db
from coop.jobs import run_in_background
from coop.orders.campaigns.lifecycle import get_campaign
from coop.orders.campaigns.models import Campaign
from coop.orders.costs import splitting
from coop.orders.purchasing import ordering, receiving, sending
from coop.orders.purchasing.models import ORDER_STATUS_LABELS, OrderStatus, PurchaseOrder
from coop.pages import csv_download, paginate, refusal_shown, search_arg
from coop.suppliers.models import Supplier

bp = Blueprint("purchase_orders", __name__)


@bp.app_template_global()
def order_status_label(status: OrderStatus) -> str:
    return ORDER_STATUS_LABELS[status]


@bp.route("/purchase-orders")
@roles_required(*STAFF_ROLES)
def list_orders():
    status = request.args.get("status", "")
    campaign_code = request.args.get("campaign", "").strip()
    query = search_arg()
    try:
        campaign = get_campaign(campaign_code) if campaign_code else None
    except NotFound:
        campaign = None
        flash(_("Campagne %(code)s introuvable.", code=campaign_code), "error")
    chosen = OrderStatus(status) if status in set(OrderStatus) else None
    page = paginate(ordering.orders_query(campaign, chosen, query))
    sendable = 0
    if campaign is not None and current_user.has_role(*PURCHASING_ROLES):
        sendable = len(sending.draft_orders(campaign))
    return render_template(
        "orders/purchasing/order_list.html",
        page=page,
        status=chosen,
        campaign=campaign,
        q=query,
        labels=ORDER_STATUS_LABELS,
        campaigns=ordering.ordered_campaigns(),
        sendable=sendable,
    )


ORDER_CSV_COLUMNS = (
    "number supplier_code supplier_name campaign status lines goods_eur shipping_eur total_eur "
    "requested_delivery_on sent_on"
).split()


@bp.route("/purchase-orders.csv")
@roles_required(*STAFF_ROLES)
def orders_csv():
    """The list's orders, with its filters, for a spreadsheet."""
    status = request.args.get("status", "")
    chosen = OrderStatus(status) if status in set(OrderStatus) else None
    code = request.args.get("campaign", "").strip()
    try:
        campaign = get_campaign(code) if code else None
    except NotFound:
        abort(404)
    query = ordering.orders_query(campaign, chosen, request.args.get("q", "").strip())
    rows = [ORDER_CSV_COLUMNS]
    for o in db.session.scalars(query):
        rows.append(
            [
                o.number,
                o.supplier.code,
                o.supplier.name,
                o.campaign.code,
                o.status.label,
                len(o.lines),
                figure(o.goods),
                figure(o.shipping_fee),
                figure(o.total),
                day(o.requested_delivery_on),
                day(to_local(o.sent_at).date() if o.sent_at else None),
            ]
        )
    return csv_download(f"bons-de-commande{'-' + campaign.code if campaign else ''}.csv", rows)


@bp.route("/purchase-orders/<number>")
@roles_required(*STAFF_ROLES)
def show_order(number: str):
    order = _order(number)
    receipts = receiving.order_receipts(order)
    return render_template(
        "orders/purchasing/order_detail.html",
        order=order,
        form=ConfirmForm(),
        labels=ORDER_STATUS_LABELS,
        deliveries=ordering.order_deliveries(order),
        receipts=receipts,
        # Its history: the order's entries and its receipts'.
        activity=activity.timeline(
            "purchase_order",
            order.id,
            activity.shop_scope(current_user),
            also=[("receipt", receipt.id) for receipt in receipts],
        ),
        can_receive=receiving.can_receive(order),
        can_close_short=receiving.can_close_short(order),
    )


@bp.route("/purchase-orders/<number>.pdf")
@roles_required(*STAFF_ROLES)
def download_order_pdf(number: str):
    order = _order(number)
    return Response(
        ordering.render_order_pdf(order),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{order.number}.pdf"'},
    )


@bp.route("/purchase-orders/<number>/send", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def send_order(number: str):
    order = _order(number)
    back = url("purchase_orders.show_order", number=order.number)
    if not order.can_become(OrderStatus.SENT):
        flash(
            _(
                "Le bon de commande %(number)s est %(status)s : il ne peut plus être envoyé.",
                number=order.number,
                status=order.status.label,
            ),
            "error",
        )
        return redirect(back)
    with refusal_shown() as outcome:
        recipient = ordering.order_recipient(order)
    if not outcome.ok:
        return redirect(back)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            ordering.send_order(order, at=clock.now())
        if outcome.ok:
            db.session.commit()
            flash(
                _(
                    "Bon de commande %(number)s envoyé à %(email)s.",
                    number=order.number,
                    email=recipient,
                ),
                "success",
            )
        return redirect(back)
    return render_template(
        "orders/purchasing/order_send.html",
        form=form,
        order=order,
        recipient=recipient,
        cancel_url=back,
    )


@bp.route("/purchase-orders/<number>/confirm", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def confirm_order(number: str):
    order = _order(number)
    if ConfirmForm().validate_on_submit():
        with refusal_shown() as outcome:
            ordering.change_order_status(order, OrderStatus.CONFIRMED, at=clock.now())
        if outcome.ok:
            db.session.commit()
            flash(
                _("Bon de commande %(number)s confirmé par le fournisseur.", number=order.number),
                "success",
            )
    return redirect(url("purchase_orders.show_order", number=order.number))


@bp.route("/purchase-orders/<number>/cancel", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def cancel_order(number: str):
    order = _order(number)
    back = url("purchase_orders.show_order", number=order.number)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            ordering.cancel_order(order, at=clock.now())
            splitting.store_received_split(order.campaign)
        if outcome.ok:
            db.session.commit()
            flash(_("Bon de commande %(number)s annulé.", number=order.number), "success")
        return redirect(back)
    if order.status is OrderStatus.DRAFT:
        message = _(
            "Le bon de commande %(number)s ne sera pas envoyé. Les besoins qu'il sert "
            "restent attribués : pour refaire le plan, défaites la mutualisation.",
            number=order.number,
        )
    else:
        message = _(
            "Attention : %(supplier)s a déjà reçu ce bon de commande. Il sera prévenu "
            "de l'annulation par e-mail ; vérifiez avec lui que rien n'est expédié.",
            supplier=order.supplier.name,
        )
    title = _("Annuler le bon de commande %(number)s ?", number=order.number)
    return render_template(
        "confirm.html",
        form=form,
        title=title,
        message=message,
        confirm_label=_("Oui, annuler la commande"),
        cancel_url=back,
        cancel_label=_("Non, garder la commande"),
    )


@bp.route("/campaigns/<int:campaign_id>/purchase-orders/send", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def send_all(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    back = url("purchase_orders.list_orders", campaign=campaign.code)
    form = ConfirmForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown() as outcome:
            batch = sending.start_sending(campaign, by=current_user, at=clock.now())
        if not outcome.ok:
            return redirect(back)
        progress = url("purchase_orders.sending_progress", sending_id=batch.id)
        submissions.commit(form, progress)
        run_in_background(sending.send_job, batch.id, clock.now())
        return redirect(progress)
    drafts = sending.draft_orders(campaign)
    if not drafts:
        message = _("La campagne %(code)s n'a aucun bon de commande à envoyer.", code=campaign.code)
        flash(message, "error")
        return redirect(back)
    return render_template(
        "orders/purchasing/order_send_all.html",
        form=form,
        campaign=campaign,
        drafts=drafts,
        cancel_url=back,
    )


@bp.route("/purchase-orders/sendings/<int:sending_id>")
@roles_required(*STAFF_ROLES)
def sending_progress(sending_id: int):
    batch = sending.get_sending(sending_id)
    if batch is None:
        abort(404)
    partial = request.headers.get("HX-Request")
    template = (
        "orders/purchasing/_sending_progress.html"
        if partial
        else "orders/purchasing/sending_progress.html"
    )
    return render_template(template, sending=batch)


# The supplier page shows this many of its latest orders, then links to the list.
SUPPLIER_PAGE_ROWS = 10


@bp.route("/suppliers/<int:supplier_id>/purchase-orders")
@roles_required(*STAFF_ROLES)
def supplier_orders(supplier_id: int):
    """A supplier's latest purchase orders: a part of its page (the catalogue reads no orders)."""
    supplier = db.get_or_404(Supplier, supplier_id)
    query = ordering.orders_query().where(PurchaseOrder.supplier_id == supplier.id)
    orders = db.session.scalars(query.limit(SUPPLIER_PAGE_ROWS + 1)).all()
    return render_template(
        "orders/purchasing/_supplier_orders.html",
        supplier=supplier,
        orders=orders[:SUPPLIER_PAGE_ROWS],
        more=len(orders) > SUPPLIER_PAGE_ROWS,
        labels=ORDER_STATUS_LABELS,
    )


def _order(number: str) -> PurchaseOrder:
    try:
        return ordering.get_order(number)
    except NotFound:
        abort(404)
