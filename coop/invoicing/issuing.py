"""Issuing a received campaign's invoices, one per shop (spec/invoicing.md, spec/pooling.md).

Each invoice re-bills a shop its share of the campaign as the cost split has it:
goods per need on the units received, its share of each supplier's shipping fee
and of each extra charge, and the coop's service fee. VAT is computed once per
rate on the sum of that rate's lines, half up (EN 16931 BR-CO-17). The number
comes from a counter row locked in the issuing transaction (coop.numbering),
so a rolled-back invoice consumes no number and two issuers never collide.
"""

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from coop.accounts.identity import coop_identity
from coop.accounts.models import CoopIdentity, Member, User
from coop.activity.recording import record
from coop.clock import to_local, today
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.invoicing.documents import pending_documents, render_pending_documents
from coop.invoicing.events import document_issued
from coop.invoicing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceVat, LineKind
from coop.jobs import in_chunks
from coop.money import quantize
from coop.numbering import next_value
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.orders.costs.splitting import CampaignSplit, build_split
from coop.orders.purchasing.models import PurchaseOrder, Receipt

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
# spec/pooling.md: shipping, charges and the coop's fee at the standard rate.
STANDARD_RATE = Decimal("0.2000")
# Code de commerce L441-10 and CGI annexe II art. 242 nonies A: printed on every invoice.
NO_DISCOUNT = "Pas d'escompte pour paiement anticipé."
RECOVERY_INDEMNITY = (
    "Indemnité forfaitaire pour frais de recouvrement : 40 € (non soumise à la TVA), "
    "art. L441-10 et D441-5 du Code de commerce."
)


def late_payment_sentence(rate: str) -> str:
    return (
        f"En cas de retard de paiement, pénalités exigibles au {rate}, sans pouvoir être "
        "inférieures à trois fois le taux d'intérêt légal (art. L441-10 du Code de commerce)."
    )


# --- the drafts: plain values ----------------------------------------------------------------


@dataclass(frozen=True)
class DraftLine:
    kind: LineKind
    description: str
    reference: str | None
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    amount_excl_vat: Decimal
    need_id: int | None = None


@dataclass(frozen=True)
class VatLine:
    rate: Decimal
    base: Decimal
    amount: Decimal


def vat_breakdown(lines: Iterable[tuple[Decimal, Decimal]]) -> list[VatLine]:
    """VAT per rate on the sum of that rate's (rate, amount excl. VAT) lines, half up: pure."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for rate, amount in lines:
        bases[rate] += amount
    return [VatLine(rate, bases[rate], quantize(bases[rate] * rate)) for rate in sorted(bases)]


@dataclass
class DraftInvoice:
    """What a shop's invoice will say, before it has a number."""

    member: Member
    lines: list[DraftLine]
    issued_on: date
    due_on: date
    vat: list[VatLine] = field(default_factory=list)
    problem: str | None = None  # why it cannot be issued yet (the shop's legal data)

    def __post_init__(self) -> None:
        self.vat = vat_breakdown((line.vat_rate, line.amount_excl_vat) for line in self.lines)

    @property
    def total_excl_vat(self) -> Decimal:
        return sum((line.amount_excl_vat for line in self.lines), ZERO)

    @property
    def total_vat(self) -> Decimal:
        return sum((v.amount for v in self.vat), ZERO)

    @property
    def total_incl_vat(self) -> Decimal:
        return self.total_excl_vat + self.total_vat

    @property
    def shop_refs(self) -> list[str]:
        return sorted({line.reference for line in self.lines if line.reference})


def _lines_of(cs: CampaignSplit, member: Member, items: list) -> list[DraftLine]:
    goods, shipping = [], defaultdict(lambda: ZERO)
    charges: dict[int, Decimal] = defaultdict(lambda: ZERO)
    suppliers = {}
    for item in items:
        cost = cs.cost(item.need.id)
        if item.need.member_id != member.id or cost is None:
            continue
        part = item.need.part
        goods.append(
            DraftLine(
                LineKind.GOODS,
                f"{part.sku} — {part.name}",
                item.need.ref,
                Decimal(item.units),
                item.line.unit_price,
                part.vat_rate,
                cost.goods,
                item.need.id,
            )
        )
        suppliers[item.supplier.code] = item.supplier
        shipping[item.supplier.code] += cost.shipping
        for charge_id, share in cost.charges.items():
            charges[charge_id] += share
    lines = list(goods)
    for code in sorted(shipping, key=lambda c: (suppliers[c].name, c)):
        if shipping[code]:
            lines.append(
                DraftLine(
                    LineKind.SHIPPING,
                    f"Frais de port — {suppliers[code].name} (quote-part)",
                    None,
                    Decimal(1),
                    shipping[code],
                    STANDARD_RATE,
                    shipping[code],
                )
            )
    for charge in cs.charges:
        if charges.get(charge.id):
            label = f"{charge.label} — {charge.supplier.name}" if charge.supplier else charge.label
            lines.append(
                DraftLine(
                    LineKind.CHARGE,
                    f"{label} (quote-part)",
                    None,
                    Decimal(1),
                    charges[charge.id],
                    STANDARD_RATE,
                    charges[charge.id],
                )
            )
    fee = cs.split.fees.get(member.code, ZERO)
    if fee:
        rate = f"{cs.campaign.fee_rate * 100:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        lines.append(
            DraftLine(
                LineKind.FEE,
                f"Frais de service de la coopérative ({rate} % des marchandises)",
                None,
                Decimal(1),
                fee,
                STANDARD_RATE,
                fee,
            )
        )
    return lines


def legal_data_problem(member: Member) -> str | None:
    """Why a shop cannot be invoiced yet: a legal invoice names its SIRET and billing address."""
    missing = []
    if not member.siret:
        missing.append("son SIRET")
    if not (member.address and member.postcode and member.city):
        missing.append("son adresse de facturation")
    if not missing:
        return None
    return (
        f"L'atelier {member.name} ({member.code}) ne peut pas être facturé : renseignez "
        f"{' et '.join(missing)} dans sa fiche adhérent."
    )


def _ensure_received(campaign: Campaign) -> None:
    if campaign.status is CampaignStatus.INVOICED or campaign.status is CampaignStatus.ARCHIVED:
        raise DomainError(_("La campagne %(code)s est déjà facturée.", code=campaign.code))
    if campaign.status is not CampaignStatus.RECEIVED:
        raise DomainError(
            _(
                "La campagne %(code)s n'est pas encore reçue : les factures s'émettent "
                "une fois toutes ses commandes reçues, soldées ou annulées.",
                code=campaign.code,
            )
        )


def _ensure_not_estimated(cs: CampaignSplit) -> None:
    unknown = sorted({i.need.part.sku for i in cs.items if i.units and i.is_estimate})
    if unknown:
        raise DomainError(
            "Les quantités reçues de ces pièces ne sont pas connues : enregistrez leur "
            f"réception avant de facturer : {', '.join(unknown)}."
        )


def preview_invoices(campaign: Campaign, *, on: date) -> list[DraftInvoice]:
    """One draft per shop with anything to pay, by shop name, as issued on `on`."""
    _ensure_received(campaign)
    cs = build_split(campaign)
    _ensure_not_estimated(cs)
    due_on = on + timedelta(days=identity().payment_terms_days)
    members = {i.need.member_id: i.need.member for i in cs.items if cs.cost(i.need.id)}
    items = defaultdict(list)  # each shop's, in one pass over the campaign
    for item in cs.items:
        items[item.need.member_id].append(item)
    drafts = []
    for member in sorted(members.values(), key=lambda m: (m.name.casefold(), m.code)):
        lines = _lines_of(cs, member, items[member.id])
        if any(line.amount_excl_vat for line in lines):
            drafts.append(
                DraftInvoice(member, lines, on, due_on, problem=legal_data_problem(member))
            )
    return drafts


# --- the coop's identity ---------------------------------------------------------------------


def identity() -> CoopIdentity:
    """The coop as seller: its settings, or the transient default from the configuration."""
    return coop_identity()


# --- issuing ---------------------------------------------------------------------------------


def number_for(year: int, value: int) -> str:
    """FA-2026-000123: one continuous series per year (at most 35 characters)."""
    return f"FA-{year}-{value:06d}"


def payment_reference(number: str) -> str:
    """The ISO 11649 (RF) creditor reference built from the invoice number's digits."""
    digits = re.sub(r"\D", "", number)
    reference = f"RF{mod_97_10.calc_check_digits(digits + 'RF')}{digits}"
    return iso11649.validate(reference)


def _delivered_on(campaign: Campaign) -> date | None:
    """The date of the sale: the campaign's last delivery received."""
    return db.session.scalar(
        select(func.max(Receipt.received_on))
        .join(PurchaseOrder, Receipt.order_id == PurchaseOrder.id)
        .where(PurchaseOrder.campaign_id == campaign.id)
    )


def seller_snapshot(seller: CoopIdentity) -> dict:
    """The coop as a document names it, copied at issue time."""
    return {
        "name": seller.name,
        "legal_form": seller.legal_form,
        "siren": seller.siren,
        "vat_number": seller.vat_number,
        # Code de commerce R123-237; absent from snapshots issued before they existed.
        "registry": seller.registry,
        "registry_city": seller.registry_city,
        "share_capital": None if seller.share_capital is None else str(seller.share_capital),
        "variable_capital": seller.variable_capital,
        "vat_on_debits": seller.vat_on_debits,
        "address": seller.address,
        "postcode": seller.postcode,
        "city": seller.city,
        "country": seller.country or "FR",
        "email": seller.email,
        "phone": seller.phone,
        "iban": seller.iban,
        "bic": seller.bic,
        "late_payment_rate": seller.late_payment_rate,
    }


def buyer_snapshot(member: Member) -> dict:
    """The shop as an invoice names it, copied at issue time."""
    return {
        "code": member.code,
        "name": member.name,
        "siret": member.siret,
        "siren": (member.siret or "")[:9] or None,
        "vat_number": member.vat_number,
        "address": member.address,
        "postcode": member.postcode,
        "city": member.city,
        "country": "FR",
        "email": member.email,
        # Printed only when it differs from the billing address (CGI ann. II 242 nonies A).
        "delivery_address": member.delivery_address,
        "delivery_postcode": member.delivery_postcode,
        "delivery_city": member.delivery_city,
    }


def _snapshot(
    campaign: Campaign, draft: DraftInvoice, seller: CoopIdentity, reference: str
) -> dict:
    """Everything the invoice prints, as issued (the keys coop.invoicing.documents reads)."""
    member = draft.member
    # CGI art. 256 V: the fee is part of the goods' price unless the settings bill it apart.
    has_services = seller.fee_treatment == "service" and any(
        line.kind is LineKind.FEE for line in draft.lines
    )
    delivered_on = _delivered_on(campaign)
    return {
        "seller": seller_snapshot(seller),
        "buyer": buyer_snapshot(member),
        "fee_treatment": seller.fee_treatment,
        "references": {
            "campaign_code": campaign.code,
            "campaign_title": campaign.title,
            "shop_references": draft.shop_refs,
        },
        "delivered_on": delivered_on.isoformat() if delivered_on else None,
        "mentions": {
            "nature": "Facture de biens et de services" if has_services else "Facture de biens",
            "payment_terms": (
                f"Paiement à {(draft.due_on - draft.issued_on).days} jours, au plus tard le "
                f"{draft.due_on:%d/%m/%Y}, par virement avec la référence {reference}."
            ),
            "early_payment_discount": NO_DISCOUNT,
            "late_payment": late_payment_sentence(seller.late_payment_rate),
            "late_payment_rate": seller.late_payment_rate,
            "recovery_indemnity": RECOVERY_INDEMNITY,
        },
    }


def invoiced_member_ids(campaign: Campaign) -> set[int]:
    return set(
        db.session.scalars(
            select(Invoice.member_id).where(
                Invoice.campaign_id == campaign.id, Invoice.kind == InvoiceKind.INVOICE
            )
        )
    )


def pending_drafts(
    campaign: Campaign, *, on: date, everyone: Sequence[DraftInvoice] | None = None
) -> list[DraftInvoice]:
    """The drafts of the shops not invoiced yet; refused when one of them cannot be.

    `everyone`: every shop's draft when the caller already previewed them.
    """
    done = invoiced_member_ids(campaign)
    if everyone is None:
        everyone = preview_invoices(campaign, on=on)
    drafts = [d for d in everyone if d.member.id not in done]
    problems = [d.problem for d in drafts if d.problem]
    if problems:
        raise DomainError(" ".join(problems) + " Aucune facture n'a été émise.")
    return drafts


def issue_one(
    campaign: Campaign,
    member: Member,
    *,
    by: User | None,
    at: datetime,
    drafts: dict[int, DraftInvoice] | None = None,
) -> Invoice:
    """Issue `member`'s invoice for a received campaign (the caller commits).

    The campaign's row is locked first: two issuers of the same campaign wait for each
    other, and the second finds the invoice already there. Once every shop with anything
    to pay has its invoice, the campaign becomes invoiced in the same transaction.
    `drafts`: every shop's, by member id, as a batch previewed them (else previewed here).
    """
    lock_campaign(campaign)
    on = to_local(at).date()
    existing = db.session.scalar(
        select(Invoice).where(
            Invoice.campaign_id == campaign.id,
            Invoice.member_id == member.id,
            Invoice.kind == InvoiceKind.INVOICE,
        )
    )
    if existing is not None:
        return existing
    if drafts is None:
        drafts = {d.member.id: d for d in preview_invoices(campaign, on=on)}
    draft = drafts.get(member.id)
    if draft is None:
        raise DomainError(f"L'atelier {member.name} n'a rien à payer dans cette campagne.")
    if draft.problem:
        raise DomainError(draft.problem)
    number = number_for(on.year, next_value(f"FA-{on.year}"))
    reference = payment_reference(number)
    snapshot = _snapshot(campaign, draft, identity(), reference)
    invoice = Invoice(
        number=number,
        kind=InvoiceKind.INVOICE,
        campaign_id=campaign.id,
        member_id=member.id,
        issued_on=on,
        due_on=draft.due_on,
        snapshot=snapshot,
        total_excl_vat=draft.total_excl_vat,
        total_vat=draft.total_vat,
        total_incl_vat=draft.total_incl_vat,
        payment_reference=reference,
        issued_by_id=by.id if by else None,
        created_at=at,
    )
    invoice.lines = [
        InvoiceLine(
            position=n,
            kind=line.kind,
            description=line.description,
            reference=line.reference,
            quantity=line.quantity,
            unit_price=line.unit_price,
            vat_rate=line.vat_rate,
            amount_excl_vat=line.amount_excl_vat,
            need_id=line.need_id,
        )
        for n, line in enumerate(draft.lines, start=1)
    ]
    invoice.vat = [InvoiceVat(rate=v.rate, base=v.base, amount=v.amount) for v in draft.vat]
    db.session.add(invoice)
    if campaign.invoicing_started_at is None:
        campaign.invoicing_started_at = at
    db.session.flush()
    record(
        "invoice.issued",
        object_type="invoice",
        object_id=invoice.id,
        label=invoice.number,
        member=member,
        details={"campaign": campaign.code, "total_incl_vat": invoice.total_incl_vat},
        actor=by,
    )
    document_issued.send(invoice)  # payments settles: the shop's credit, if any, pays it
    if set(drafts) <= invoiced_member_ids(campaign):
        change_status(campaign, CampaignStatus.INVOICED, at=at)
    return invoice


def issue_invoices(campaign: Campaign, *, by: User | None, at: datetime) -> list[Invoice]:
    """Issue every missing invoice of a received campaign, each in its own transaction.

    The one service that commits, once per invoice: a batch of a hundred shops
    interrupted midway leaves the invoices already issued whole and the numbering
    gapless, and re-running issues only what is missing. Refused, with nothing
    written, when the campaign is not received or a shop's legal data is incomplete.
    """
    _ensure_received(campaign)
    # The split once for the batch, not once per invoice (it is the whole campaign's).
    everyone = preview_invoices(campaign, on=to_local(at).date())
    drafts = pending_drafts(campaign, on=to_local(at).date(), everyone=everyone)
    by_member = {d.member.id: d for d in everyone}
    issued = []
    for draft in drafts:
        try:
            issued.append(issue_one(campaign, draft.member, by=by, at=at, drafts=by_member))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return issued


# Invoices per job of a batch's PDFs: the longest a job of the main queue (a campaign to close
# at its cutoff) waits for a worker. About 10 s of a worker on an idle machine; 90 s while 190
# people browse on the load bench's two cores (4.7 s a PDF), where pieces of 50 made the
# campaign's closing wait four minutes.
PDF_CHUNK = 20


def issue_job(campaign_id: int, user_id: int | None, at: datetime) -> None:
    """The background job behind the "Émettre" button: its progress is the invoices issued."""
    campaign = db.session.get(Campaign, campaign_id)
    by = db.session.get(User, user_id) if user_id else None
    try:
        issue_invoices(campaign, by=by, at=at)
    except DomainError as error:
        log.warning("invoicing %s refused: %s", campaign.code, error.message)
    # The PDFs in pieces that every worker takes in turn (coop.jobs.in_chunks).
    pending = pending_documents()
    in_chunks(
        render_pending_documents,
        [
            (pending[start], pending[min(start + PDF_CHUNK, len(pending)) - 1])
            for start in range(0, len(pending), PDF_CHUNK)
        ],
    )


def issuing_progress(campaign: Campaign) -> tuple[int, int]:
    """(invoices issued, shops to invoice) for the progress of a batch."""
    done = invoiced_member_ids(campaign)
    if campaign.status is not CampaignStatus.RECEIVED:
        return len(done), len(done)
    try:
        drafts = preview_invoices(campaign, on=today())
    except DomainError:
        return len(done), len(done)
    return len(done), len({d.member.id for d in drafts} | done)


# --- finding invoices ------------------------------------------------------------------------


def find_invoice(number: str) -> Invoice:
    invoice = db.session.scalar(select(Invoice).where(Invoice.number == number))
    if invoice is None:
        raise NotFound(_("Aucune facture %(number)s.", number=number), field="invoice")
    return invoice


def invoiced_campaigns() -> list[Campaign]:
    return db.session.scalars(
        select(Campaign).where(Campaign.id.in_(select(Invoice.campaign_id))).order_by(Campaign.code)
    ).all()


def invoiced_members() -> list[Member]:
    return sorted_by_name(
        db.session.scalars(
            select(Member).where(Member.id.in_(select(Invoice.member_id))).order_by(Member.code)
        )
    )
