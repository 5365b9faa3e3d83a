"""A local stand-in for the part of Stripe the coop uses, for development and tests.

It answers, in Stripe's JSON shapes and to Stripe's form-encoded requests, just the
calls the app makes: Checkout Sessions create, retrieve and list (by payment
intent), PaymentIntents retrieve (with `expand`), Refunds create and list, Disputes
retrieve. POSTs honour `Idempotency-Key`
(the same key gives back the same object; with other parameters, Stripe's
`idempotency_error`). Each session's `url` is a page of this server, "Paiement de
test", whose buttons complete the session the way Stripe would and then send the
matching events, signed with the webhook secret, to the app's webhook URL:

- card: the session is complete and paid (`checkout.session.completed`);
- SEPA Direct Debit: complete but unpaid while the debit is processing
  (`checkout.session.completed`), then settled `sepa_delay` seconds later
  (`checkout.session.async_payment_succeeded`), or refused with the failure
  button (`checkout.session.async_payment_failed`).

`pay_out` makes Stripe's automatic payout of what the charges left (net of fees)
and sends `payout.paid`; payouts are retrieved at `/v1/payouts/<id>`.

Events are always sent from another thread after the request that caused them
has been answered, as Stripe does: the app may be waiting for that answer with
a row locked. `coop-devtools stripe-fake send` asks the running fake, through
`/_fake/sessions/<id>/events`, to apply and send one more event.

State lives in memory and is lost when the process stops. Development only:
it checks nothing a real payment needs.
"""

import copy
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import stripe
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
API_VERSION = stripe.api_version
# Stripe's standard European prices, for fees that look real: cards 1.5 % + 0.25 EUR,
# SEPA Direct Debit 0.35 EUR.
CARD_RATE, CARD_FIXED, SEPA_FIXED = Decimal("0.015"), 25, 35
# What `coop-devtools stripe-fake send` may ask for.
SENDABLE = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.refunded",
    "charge.dispute.created",
)
DELIVERY_ATTEMPTS = 3


class StripeFakeError(Exception):
    """A request Stripe would refuse: answered with Stripe's error shape."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def decode_form(pairs) -> dict:
    """Stripe's form encoding (`line_items[0][price_data][currency]=eur`) as nested values."""
    root: dict = {}
    for key, value in pairs:
        path = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part or str(len(node)), {})
        # `expand[]=a&expand[]=b`: an empty index appends.
        node[path[-1] or str(len(node))] = value
    return _lists(root)


def _lists(node):
    """Dicts keyed 0, 1, 2... become lists, as Stripe reads arrays."""
    if not isinstance(node, dict):
        return node
    node = {key: _lists(value) for key, value in node.items()}
    if node and all(key.isdigit() for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


class StripeFake:
    """The fake's state and its WSGI application (werkzeug)."""

    def __init__(
        self,
        *,
        webhook_url: str | None,
        webhook_secret: str,
        public_url: str = "",
        webhook_delay: float = 1.0,
        sepa_delay: float | None = 10.0,
    ) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        # Where the browser reaches this server, for the sessions' `url` (set once serving).
        self.public_url = public_url
        self.webhook_delay = webhook_delay
        # None: a SEPA debit settles only when `coop-devtools stripe-fake send` says so.
        self.sepa_delay = sepa_delay
        self.objects: dict[str, dict] = {}
        self.line_items: dict[str, list[dict]] = {}
        self.idempotent: dict[str, tuple[str, int, dict]] = {}
        self.events: list[dict] = []
        self.deliveries: list[dict] = []
        self._lock = threading.RLock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._templates = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
        )
        self._routes = Map(
            [
                Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_session"),
                Rule("/v1/checkout/sessions", methods=["GET"], endpoint="list_sessions"),
                Rule("/v1/checkout/sessions/<id>", methods=["GET"], endpoint="retrieve"),
                Rule("/v1/payment_intents/<id>", methods=["GET"], endpoint="retrieve"),
                Rule("/v1/refunds", methods=["POST"], endpoint="create_refund"),
                Rule("/v1/refunds", methods=["GET"], endpoint="list_refunds"),
                Rule("/v1/disputes/<id>", methods=["GET"], endpoint="retrieve"),
                Rule("/v1/payouts/<id>", methods=["GET"], endpoint="retrieve"),
                Rule("/checkout/<id>", methods=["GET"], endpoint="checkout_page"),
                Rule("/checkout/<id>", methods=["POST"], endpoint="checkout_pay"),
                Rule("/_fake/sessions/<id>/events", methods=["POST"], endpoint="send_event"),
            ]
        )

    # --- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self._routes.bind_to_environ(environ).match()
            if request.path.startswith(("/v1/", "/_fake/")):
                self._authenticate(request)
            response = getattr(self, endpoint)(request, **args)
        except StripeFakeError as error:
            response = _json(
                {"error": {"type": error.kind, "message": error.message}}, error.status
            )
        except HTTPException as error:
            if not request.path.startswith("/v1/"):
                response = error.get_response(environ)
            else:
                message = f"Unrecognized request URL ({request.method}: {request.path})."
                response = _json(
                    {"error": {"type": "invalid_request_error", "message": message}},
                    error.code or 404,
                )
        return response(environ, start_response)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer sk_test_"):
            raise StripeFakeError(401, "Invalid API Key provided: the fake takes test keys only.")

    def _idempotent(self, request: Request, make) -> Response:
        """Run `make(params)` once per Idempotency-Key; replay its answer for the same key."""
        params = decode_form(request.form.items(multi=True))
        key = request.headers.get("Idempotency-Key")
        fingerprint = hashlib.sha256(
            f"{request.path}\n{json.dumps(params, sort_keys=True)}".encode()
        ).hexdigest()
        with self._lock:
            if key and key in self.idempotent:
                seen, status, body = self.idempotent[key]
                if seen != fingerprint:
                    raise StripeFakeError(
                        400,
                        "Keys for idempotent requests can only be used "
                        "with the same parameters they were first used with.",
                        "idempotency_error",
                    )
                return _json(body, status, replayed=True)
            body = make(params)
            if key:
                self.idempotent[key] = (fingerprint, 200, body)
        return _json(body)

    # --- the API -------------------------------------------------------------------------------

    def create_session(self, request: Request) -> Response:
        return self._idempotent(request, self._new_session)

    def _new_session(self, params: dict) -> dict:
        if params.get("mode") != "payment":
            raise StripeFakeError(400, "The fake knows mode=payment only.")
        items = []
        for item in params.get("line_items") or []:
            price = item.get("price_data") or {}
            if price.get("currency") != "eur":
                raise StripeFakeError(400, "The fake takes line items in EUR only.")
            quantity, unit = int(item.get("quantity", 1)), int(price.get("unit_amount", 0))
            name = (price.get("product_data") or {}).get("name", "")
            items.append(
                {
                    "object": "item",
                    "description": name,
                    "quantity": quantity,
                    "currency": "eur",
                    "amount_total": unit * quantity,
                }
            )
        total = sum(item["amount_total"] for item in items)
        if not items or total < 50:
            raise StripeFakeError(400, "Amount must be at least €0.50 eur.")
        session_id = _new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "currency": "eur",
            "amount_subtotal": total,
            "amount_total": total,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "payment_intent": None,
            "livemode": False,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.public_url}/checkout/{session_id}",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 24 * 3600,
            "_payment_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata")
            or {},
        }
        self.objects[session_id] = session
        self.line_items[session_id] = items
        return self._public(session)

    def retrieve(self, request: Request, id: str) -> Response:
        with self._lock:
            found = self.objects.get(id)
            path = _PATHS.get(found["object"]) if found else None
            if path is None or not request.path.startswith(path):
                raise StripeFakeError(404, f"No such object: '{id}'")
            expand = decode_form(request.args.items(multi=True)).get("expand") or []
            return _json(self._expanded(found, expand))

    def list_sessions(self, request: Request) -> Response:
        """The sessions, newest first; `payment_intent=pi_...` finds the one it belongs to."""
        wanted = decode_form(request.args.items(multi=True))
        with self._lock:
            sessions = [
                self._public(o)
                for o in self.objects.values()
                if o["object"] == "checkout.session"
                and o["payment_intent"] == wanted.get("payment_intent", o["payment_intent"])
            ]
        sessions.sort(key=lambda session: session["created"], reverse=True)
        return _json(
            {"object": "list", "url": "/v1/checkout/sessions", "has_more": False, "data": sessions}
        )

    def create_refund(self, request: Request) -> Response:
        return self._idempotent(request, self._new_refund)

    def _new_refund(self, params: dict) -> dict:
        charge = self._charge_of(params)
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount") or left)
        if amount <= 0 or amount > left:
            raise StripeFakeError(
                400,
                f"Refund amount ({amount}) is greater than the unrefunded "
                f"amount on charge ({left}).",
            )
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": "eur",
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "status": "pending",
            "reason": params.get("reason"),
            "metadata": params.get("metadata") or {},
            "created": int(time.time()),
        }
        self.objects[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]

        def settle() -> dict:
            refund["status"] = "succeeded"
            return charge

        self._later(self.webhook_delay, "charge.refunded", settle)
        return self._public(refund)

    def _charge_of(self, params: dict) -> dict:
        charge_id = params.get("charge")
        if not charge_id and params.get("payment_intent"):
            intent = self.objects.get(params["payment_intent"])
            charge_id = intent and intent.get("latest_charge")
        charge = self.objects.get(charge_id or "")
        if charge is None or charge["object"] != "charge":
            raise StripeFakeError(404, "No such charge or payment_intent.")
        if charge["status"] != "succeeded":
            raise StripeFakeError(
                400, f"Charge {charge['id']} has not succeeded: nothing to refund."
            )
        return charge

    def list_refunds(self, request: Request) -> Response:
        wanted = decode_form(request.args.items(multi=True))
        with self._lock:
            refunds = [
                self._public(o)
                for o in self.objects.values()
                if o["object"] == "refund"
                and o["charge"] == wanted.get("charge", o["charge"])
                and o["payment_intent"] == wanted.get("payment_intent", o["payment_intent"])
            ]
        refunds.sort(key=lambda refund: refund["created"], reverse=True)
        return _json({"object": "list", "url": "/v1/refunds", "has_more": False, "data": refunds})

    # --- the hosted page -----------------------------------------------------------------------

    def checkout_page(self, request: Request, id: str) -> Response:
        session = self._session(id)
        page = self._templates.get_template("payments/fake_checkout.html").render(
            session=session, items=self.line_items[id], euros=_euros
        )
        return Response(page, mimetype="text/html")

    def checkout_pay(self, request: Request, id: str) -> Response:
        outcome = request.form.get("outcome")
        if outcome not in ("card", "sepa_debit", "sepa_failed"):
            raise StripeFakeError(400, "outcome: card, sepa_debit or sepa_failed")
        with self._lock:
            session = self._session(id)
            if session["status"] != "open":
                return redirect(f"/checkout/{id}", 303)
            self._pay(session, "card" if outcome == "card" else "sepa_debit")
            self._later(self.webhook_delay, "checkout.session.completed", lambda: session)
            if outcome != "card" and self.sepa_delay is not None:
                settle = self._settle if outcome == "sepa_debit" else self._fail
                event = (
                    "checkout.session.async_payment_succeeded"
                    if outcome == "sepa_debit"
                    else "checkout.session.async_payment_failed"
                )
                self._later(self.webhook_delay + self.sepa_delay, event, lambda: settle(session))
        return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", id), 303)

    def _session(self, id: str) -> dict:
        session = self.objects.get(id)
        if session is None or session["object"] != "checkout.session":
            raise StripeFakeError(404, f"No such checkout.session: '{id}'")
        return session

    def _pay(self, session: dict, method: str) -> None:
        """The customer confirmed: a payment intent and its charge, settled at once for a card."""
        amount = session["amount_total"]
        intent = {
            "id": _new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": "eur",
            "status": "processing",
            "payment_method_types": [method],
            "latest_charge": None,
            "metadata": session["_payment_intent_metadata"],
            "created": int(time.time()),
            "livemode": False,
        }
        charge = {
            "id": _new_id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "refunded": False,
            "currency": "eur",
            "status": "pending",
            "paid": False,
            "balance_transaction": None,
            "payment_intent": intent["id"],
            "payment_method_details": {"type": method},
            "disputed": False,
            "metadata": intent["metadata"],
            "created": int(time.time()),
            "livemode": False,
        }
        intent["latest_charge"] = charge["id"]
        self.objects[intent["id"]] = intent
        self.objects[charge["id"]] = charge
        session.update(status="complete", payment_intent=intent["id"])
        if method == "card":
            self._settle(session)

    def _settle(self, session: dict) -> dict:
        """The money arrived: the charge succeeds with its fee (a SEPA debit days later)."""
        intent = self.objects[session["payment_intent"]]
        if intent["status"] != "processing":
            return session
        charge = self.objects[intent["latest_charge"]]
        amount = charge["amount"]
        if charge["payment_method_details"]["type"] == "card":
            fee = int((amount * CARD_RATE).quantize(Decimal(1), ROUND_HALF_UP)) + CARD_FIXED
        else:
            fee = SEPA_FIXED
        now = int(time.time())
        transaction = {
            "id": _new_id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": "eur",
            "created": now,
            "available_on": now + 2 * 24 * 3600,
            "status": "pending",
            "type": "charge",
            "source": charge["id"],
        }
        self.objects[transaction["id"]] = transaction
        charge.update(status="succeeded", paid=True, balance_transaction=transaction["id"])
        intent.update(status="succeeded", amount_received=amount)
        session["payment_status"] = "paid"
        return session

    def _fail(self, session: dict) -> dict:
        """The debit was refused (insufficient funds): the intent wants another method."""
        intent = self.objects[session["payment_intent"]]
        if intent["status"] != "processing":
            return session
        self.objects[intent["latest_charge"]].update(status="failed")
        intent["status"] = "requires_payment_method"
        return session

    # --- events --------------------------------------------------------------------------------

    def send_event(self, request: Request, id: str) -> Response:
        """Apply and send one event (`coop-devtools stripe-fake send`); say how the app took it."""
        kind = request.form.get("type")
        if kind not in SENDABLE:
            raise StripeFakeError(400, f"type must be one of {', '.join(SENDABLE)}")
        with self._lock:
            session = self._session(id)
            obj = self._apply(kind, session)
            event = self._event(kind, obj)
        delivery = self._deliver(event)
        return _json({"event": event["id"], "type": kind, "delivery": delivery})

    def _apply(self, kind: str, session: dict) -> dict:
        if kind == "checkout.session.completed":
            if session["status"] == "open":
                self._pay(session, "card")
            return session
        if session["payment_intent"] is None:
            raise StripeFakeError(400, f"{session['id']} was not paid yet: pay it first.")
        intent = self.objects[session["payment_intent"]]
        if kind == "checkout.session.async_payment_succeeded":
            return self._settle(session)
        if kind == "checkout.session.async_payment_failed":
            return self._fail(session)
        charge = self.objects[intent["latest_charge"]]
        if kind == "charge.refunded":
            return charge
        dispute = {
            "id": _new_id("dp"),
            "object": "dispute",
            "amount": charge["amount"],
            "currency": "eur",
            "charge": charge["id"],
            "payment_intent": intent["id"],
            "reason": "fraudulent",
            "status": "needs_response",
            "created": int(time.time()),
        }
        self.objects[dispute["id"]] = dispute
        charge["disputed"] = True
        return dispute

    def pay_out(self, arrival_date: int) -> dict:
        """Stripe's automatic payout: the balance not paid out yet reaches the bank.

        The payout is `paid` on `arrival_date` (a Unix time) and its `payout.paid` event
        is sent, as Stripe does when the bank confirms it; the event sent is returned.
        """
        with self._lock:
            # Charges add their net, succeeded refunds take their amount off the balance.
            paid_out = [
                (o, o["net"] if o["object"] == "balance_transaction" else -o["amount"])
                for o in self.objects.values()
                if not o.get("_payout")
                and (
                    (o["object"] == "balance_transaction" and o["type"] == "charge")
                    or (o["object"] == "refund" and o["status"] == "succeeded")
                )
            ]
            payout = {
                "id": _new_id("po"),
                "object": "payout",
                "amount": sum(amount for _, amount in paid_out),
                "currency": "eur",
                "arrival_date": arrival_date,
                "automatic": True,
                "method": "standard",
                "type": "bank_account",
                "status": "paid",
                "created": int(time.time()),
            }
            for obj, _ in paid_out:
                obj["_payout"] = payout["id"]
            self.objects[payout["id"]] = payout
            event = self._event("payout.paid", payout)
        self._deliver(event)
        return event

    def _event(self, kind: str, obj: dict) -> dict:
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": kind,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": self._public(obj)},
        }
        self.events.append(event)
        return event

    def _later(self, delay: float, kind: str, change) -> None:
        """After `delay` seconds, in another thread: apply `change()`, then send the event."""

        def run() -> None:
            try:
                with self._lock:
                    event = self._event(kind, change())
                self._deliver(event)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._idle.notify_all()

        with self._lock:
            self._busy += 1
        timer = threading.Timer(delay, run)
        timer.daemon = True
        timer.start()

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Wait for the events due to be sent; False if some are still pending at `timeout`."""
        with self._lock:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def _deliver(self, event: dict) -> int | str:
        """POST the event, signed, to the webhook URL; retried on 5xx or no answer."""
        if not self.webhook_url:
            log.info("stripe fake: %s %s not sent (no webhook URL)", event["type"], event["id"])
            return "not sent"
        payload = json.dumps(event)
        outcome: int | str = "not sent"
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            signature = stripe.WebhookSignature.generate_signature_header(
                payload, self.webhook_secret
            )
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature,
                "User-Agent": "coop-stripe-fake",
            }
            try:
                outcome = _post(self.webhook_url, payload.encode(), headers)[0]
            except urllib.error.HTTPError as error:
                outcome = error.code
            except OSError as error:
                outcome = f"unreachable ({error})"
            with self._lock:
                self.deliveries.append(
                    {
                        "event": event["id"],
                        "type": event["type"],
                        "attempt": attempt,
                        "outcome": outcome,
                    }
                )
            log.info("stripe fake: %s %s -> %s", event["type"], event["id"], outcome)
            if (isinstance(outcome, int) and outcome < 500) or attempt == DELIVERY_ATTEMPTS:
                break
            time.sleep(attempt)
        return outcome

    # --- shapes --------------------------------------------------------------------------------

    def _public(self, obj: dict) -> dict:
        """The object as the API shows it: a copy, without the fake's own bookkeeping."""
        return {key: copy.deepcopy(value) for key, value in obj.items() if not key.startswith("_")}

    def _expanded(self, obj: dict, paths: list[str]) -> dict:
        """`expand[]=latest_charge.balance_transaction`: ids replaced by their objects."""
        shown = self._public(obj)
        for path in paths:
            node = shown
            for name in path.split("."):
                value = node.get(name) if isinstance(node, dict) else None
                if isinstance(value, str) and value in self.objects:
                    node[name] = value = self._public(self.objects[value])
                node = value
        return shown


_PATHS = {
    "checkout.session": "/v1/checkout/sessions/",
    "payment_intent": "/v1/payment_intents/",
    "dispute": "/v1/disputes/",
    "payout": "/v1/payouts/",
}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _euros(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}".replace(".", ",") + "\u00a0€"


def _json(body: dict, status: int = 200, *, replayed: bool = False) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Request-Id"] = _new_id("req")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def ask_to_send(api_base: str, secret_key: str, session_id: str, event_type: str) -> dict:
    """Ask the fake running at `api_base` to apply `event_type` to a session and send it."""
    try:
        _, body = _post(
            f"{api_base.rstrip('/')}/_fake/sessions/{session_id}/events",
            urllib.parse.urlencode({"type": event_type}).encode(),
            {"Authorization": f"Bearer {secret_key}"},
            timeout=60,
        )
        return json.loads(body)
    except urllib.error.HTTPError as error:
        message = json.loads(error.read() or b"{}").get("error", {}).get("message", error.reason)
        raise StripeFakeError(error.code, message) from None
    except OSError as error:
        raise StripeFakeError(503, f"no Stripe fake answers at {api_base} ({error})") from None


def _post(url: str, data: bytes, headers: dict, timeout: float = 30) -> tuple[int, bytes]:
    """POST over HTTP(S) only; the status and body (HTTPError for 4xx and 5xx)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)  # noqa: S310 (scheme checked)
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (scheme checked)
        return answer.status, answer.read()
