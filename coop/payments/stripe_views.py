"""Paying invoices online (Stripe Checkout), Stripe's webhook, paying a shop's credit back."""

import logging

import stripe
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
)
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from coop import submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import TREASURY_ROLES, Member, Role
from coop.clock import today
from coop.errors import DomainError, NotFound
from coop.extensions import csrf, db
from coop.i18n import money
from coop.invoicing.models import Invoice
from coop.pages import id_list, refusal_shown, safe_next
from coop.payments import checkout, ledger, stripe_client, webhooks
from coop.payments.refund_forms import RefundForm
from coop.payments.refunds import refund_credit

log = logging.getLogger(__name__)

bp = Blueprint("stripe", __name__)

# Seconds a signed event stays acceptable (spec/invoicing.md): replays of old ones are refused.
SIGNATURE_TOLERANCE = 300


# --- the shop pays -----------------------------------------------------------------------------


@bp.app_context_processor
def online_payment() -> dict:
    """Whether pages offer "Payer en ligne" (a Stripe secret key is configured)."""
    return {"online_payment_enabled": stripe_client.is_enabled()}


@bp.route("/payments/pay", methods=["GET", "POST"])
@roles_required(Role.MEMBER)
def pay():
    member = current_user.member
    form = ConfirmForm()
    if form.validate_on_submit():
        base = current_app.config["COOP_BASE_URL"].rstrip("/")
        with refusal_shown() as outcome:
            session = checkout.start_checkout(
                member,
                id_list("invoice", request.form),
                by=current_user,
                success_url=f"{base}{url('stripe.checkout_return')}"
                "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=f"{base}{url('stripe.pay', cancelled=1)}",
            )
        if not outcome.ok:
            return redirect(url("stripe.pay"))
        db.session.commit()
        return redirect(session.url, 303)
    payables = checkout.payable_invoices(member)
    if "invoice" in request.args or "chosen" in request.args:
        chosen = set(id_list("invoice"))
    else:
        chosen = {p.invoice.id for p in payables}
    chosen = {p.invoice.id for p in payables if p.can_pay and p.invoice.id in chosen}
    return render_template(
        "payments/pay.html",
        form=form,
        payables=payables,
        chosen=chosen,
        chosen_total=sum((p.balance.due for p in payables if p.invoice.id in chosen), ledger.ZERO),
        due_total=sum((p.balance.due for p in payables), ledger.ZERO),
        credit=ledger.member_credit(member),
        enabled=stripe_client.is_enabled(),
        cancelled="cancelled" in request.args,
        today=today(),
    )


@bp.route("/payments/return")
@roles_required(Role.MEMBER)
def checkout_return():
    stripe_id = (request.args.get("session_id") or "").strip()
    if not stripe_id:
        return redirect(url("stripe.pay"))
    try:
        session = checkout.find_session(stripe_id[:255], current_user.member)
    except NotFound:
        abort(404)
    template = (
        "payments/return_status.html"
        if request.headers.get("HX-Request")
        else ("payments/return.html")
    )
    return render_template(template, result=checkout.outcome(session))


# --- Stripe tells us -------------------------------------------------------------------------


@bp.route("/stripe/webhook", methods=["POST"])
@csrf.exempt  # Stripe signs its events instead (checked below)
def webhook():
    secret = current_app.config.get("COOP_STRIPE_WEBHOOK_SECRET")
    if not secret:
        log.error(
            "Stripe webhook refused: COOP_STRIPE_WEBHOOK_SECRET is not set, so no event "
            "can be verified; nothing applied"
        )
        return _plain("webhook secret not configured", 503)
    body = request.get_data()
    try:
        stripe.WebhookSignature.verify_header(
            body, request.headers.get("Stripe-Signature"), secret, SIGNATURE_TOLERANCE
        )
    except (ValueError, stripe.SignatureVerificationError) as error:  # ValueError: not UTF-8
        log.warning("Stripe webhook refused: %s", error)
        return _plain("invalid payload or signature", 400)
    try:
        event = webhooks.read_event(body)
        outcome = webhooks.apply_event(event)
        db.session.commit()
    except webhooks.MalformedEvent as error:
        db.session.rollback()
        # Signed but unreadable: not a temporary failure, so not a 5xx (nothing was written).
        log.warning(
            "Stripe event %s refused: %s; nothing applied",
            error.event_id or "(no id)",
            error.problem,
        )
        return _plain("malformed event", 400)
    except webhooks.AlreadyApplied:
        db.session.rollback()
        outcome = "already applied"
    except (SQLAlchemyError, stripe.StripeError, DomainError):
        db.session.rollback()
        log.exception(
            "Stripe event %s (%s) not applied; Stripe will send it again", event.id, event.type
        )
        return _plain("temporary failure: send it again later", 503)
    log.info("Stripe event %s (%s): %s", event.id, event.type, outcome)
    return _plain(outcome, 200)


def _plain(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain")


# --- the treasurer pays a credit back ------------------------------------------------------------


@bp.route("/members/<int:member_id>/refund", methods=["POST"])
@roles_required(*TREASURY_ROLES)
def refund(member_id: int):
    member = db.get_or_404(Member, member_id)
    form = RefundForm(member=member)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return redirect(_back(member))
    submissions.claim(form)
    note = db.session.get(Invoice, form.credit_note.data) if form.credit_note.data else None
    with refusal_shown() as outcome:
        refunds = refund_credit(member, form.amount.data, by=current_user, credit_note=note)
    if not outcome.ok:
        return redirect(_back(member))
    submissions.commit(form, _back(member))
    left = form.amount.data - sum((r.amount for r in refunds), ledger.ZERO)
    if left:
        flash(
            _(
                "Stripe n'a pas remboursé %(left)s : ils restent au crédit de l'atelier ; "
                "réessayez plus tard.",
                left=money(left),
            ),
            "error",
        )
    by_stripe = sum((r.amount for r in refunds if r.stripe_refund_id), ledger.ZERO)
    by_transfer = sum((r.amount for r in refunds if not r.stripe_refund_id), ledger.ZERO)
    if by_stripe:
        flash(
            _(
                "%(amount)s remboursés par Stripe sur le moyen de paiement de l'atelier : "
                "Stripe confirme le remboursement dans quelques instants.",
                amount=money(by_stripe),
            ),
            "success",
        )
    if by_transfer:
        flash(
            _(
                "%(amount)s enregistrés comme remboursés par virement : faites le virement à "
                "%(shop)s depuis le compte de la coopérative.",
                amount=money(by_transfer),
                shop=member.name,
            ),
            "success",
        )
    return redirect(_back(member))


def _back(member: Member) -> str:
    """The page the form was on (this site's only), else the shop's account."""
    return safe_next(request.referrer, url("payments.account", member_id=member.id))
