"""Accepting a maker's answer: in one transaction the maker becomes a supplier (or the supplier
it already is gets updated), with an offer on the part at the answer's terms, and a draft
framework agreement for the call's volume over its duration.

Once per part of a call: CallAcceptance's unique key holds it, whatever arrives at once.
"""

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import func, select

from coop.accounts.models import User
from coop.activity.recording import record
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.money import UNIT_PRICE, quantize
from coop.relocation import notifications
from coop.relocation.agreements import AgreementTerms, check_terms, create_agreement
from coop.relocation.calls import family_parts, lock_call, log_entry
from coop.relocation.forecast import campaigns_of_year, yearly_demand
from coop.relocation.models import (
    CallAcceptance,
    CallAnswer,
    CallInvitation,
    CallMessageKind,
    CallStatus,
    ManufacturerCall,
)
from coop.suppliers.catalogue import save_offer, save_supplier
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.pricing import tier_for
from coop.uniqueness import refusing_duplicates

# The shortfall fee the acceptance form suggests: this share of the agreed unit price, per
# unit the coop does not buy (the manager types another if the maker asked for one).
SUGGESTED_SHORTFALL_RATE = Decimal("0.10")
CODE_LETTERS = 8


@dataclass(frozen=True)
class AcceptTerms:
    """What the manager decides when accepting: the part (of a family), the supplier's code
    (for a new supplier), whether it is local, the fee and the start of the agreement."""

    part: Part | None
    supplier_code: str | None
    is_local: bool
    shortfall_fee: Decimal | None
    valid_from: date | None


@dataclass(frozen=True)
class Draft:
    """The agreement an acceptance prepares, before the manager confirms."""

    committed_qty: int
    campaigns_planned: int
    valid_from: date
    valid_to: date
    unit_price: Decimal  # the answer's, at the tier the yearly volume reaches
    shortfall_fee: Decimal


def matching_supplier(invitation: CallInvitation) -> Supplier | None:
    """The supplier the maker already is: same SIRET, else same e-mail (whatever its case)."""
    by_siret = db.session.scalar(
        select(Supplier).where(Supplier.siret == invitation.siret).order_by(Supplier.id)
    )
    if by_siret is not None:
        return by_siret
    return db.session.scalar(
        select(Supplier)
        .where(func.lower(Supplier.email) == invitation.email.lower())
        .order_by(Supplier.id)
    )


def suggested_code(name: str) -> str:
    """A free supplier code from the maker's name: its first letters, numbered if taken."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Z0-9]", "", ascii_name.upper())[:CODE_LETTERS] or "FAB"
    taken = set(
        db.session.scalars(select(Supplier.code).where(Supplier.code.startswith(stem))).all()
    )
    if stem not in taken:
        return stem
    return next(f"{stem}{n}" for n in range(2, len(taken) + 3) if f"{stem}{n}" not in taken)


def draft_for(call: ManufacturerCall, answer: CallAnswer, part: Part, valid_from: date) -> Draft:
    """The agreement accepting `answer` for `part` prepares: the forecast over the duration.

    The committed volume is the part's yearly forecast (the call's, for a call on one part)
    times the duration in years, rounded up; the campaigns planned, the last year's count
    (at least one) over the same duration.
    """
    yearly = call.annual_volume
    if call.part is None:
        yearly = yearly_demand(valid_from, part=part) or call.annual_volume
    per_year = max(len(campaigns_of_year(valid_from)), 1)
    _, price = tier_for(max(yearly, 1), answer.tier_values) or answer.tier_values[0]
    return Draft(
        committed_qty=math.ceil(yearly * call.duration_months / 12),
        campaigns_planned=math.ceil(per_year * call.duration_months / 12),
        valid_from=valid_from,
        valid_to=valid_from + relativedelta(months=call.duration_months) - timedelta(days=1),
        unit_price=price,
        shortfall_fee=quantize(price * SUGGESTED_SHORTFALL_RATE, UNIT_PRICE),
    )


def check_acceptable(call: ManufacturerCall, answer: CallAnswer) -> None:
    """Refused unless the call was published and the answer is its maker's latest."""
    if call.status is CallStatus.DRAFT:
        raise DomainError(_("L'appel %(code)s n'est pas publié.", code=call.code))
    if answer.invitation.call_id != call.id or answer.invitation.latest is not answer:
        raise DomainError(
            _(
                "%(maker)s a envoyé une réponse plus récente : c'est elle qui compte.",
                maker=answer.invitation.name,
            )
        )


def accept_answer(
    call: ManufacturerCall,
    answer: CallAnswer,
    terms: AcceptTerms,
    *,
    at: datetime,
    by: User | None = None,
) -> CallAcceptance:
    """Make the maker a supplier of the part on the answer's terms, with a draft agreement."""
    lock_call(call)
    check_acceptable(call, answer)
    part = terms.part or call.part
    if part is None or part not in family_parts(call):
        raise DomainError(_("Choisissez une pièce de la famille de l'appel."), field="part_id")
    already = db.session.scalar(
        select(CallAcceptance).where(
            CallAcceptance.call_id == call.id, CallAcceptance.part_id == part.id
        )
    )
    if already is not None:
        raise DomainError(
            _(
                "Une réponse est déjà retenue pour %(sku)s dans cet appel (%(maker)s).",
                sku=part.sku,
                maker=already.supplier.name,
            ),
            field="part_id",
        )
    invitation = answer.invitation
    today = to_local(at).date()
    draft = draft_for(call, answer, part, terms.valid_from or today)
    fee = draft.shortfall_fee if terms.shortfall_fee is None else terms.shortfall_fee
    supplier = _supplier(invitation, terms)
    offer = _offer(supplier, part, answer)
    agreement_terms = AgreementTerms(
        offer=offer,
        committed_qty=draft.committed_qty,
        shortfall_fee=fee,
        valid_from=draft.valid_from,
        valid_to=draft.valid_to,
        campaigns_planned=draft.campaigns_planned,
        notes=_("Issu de l'appel à fabricants %(code)s.", code=call.code),
    )
    check_terms(agreement_terms)
    agreement = create_agreement(agreement_terms, at=at, by=by)
    taken = DomainError(
        _("Une réponse vient d'être retenue pour %(sku)s dans cet appel.", sku=part.sku),
        field="part_id",
    )
    with refusing_duplicates(uq_call_acceptances_part=taken):
        acceptance = CallAcceptance(
            call=call,
            part=part,
            answer=answer,
            supplier=supplier,
            offer=offer,
            agreement=agreement,
            accepted_by=by,
            accepted_at=at,
        )
        db.session.add(acceptance)
        db.session.flush()
    log_entry(invitation, CallMessageKind.ACCEPTED, at, by=by)
    db.session.flush()
    record(
        "manufacturer_call.answer_accepted",
        object_type="manufacturer_call",
        object_id=call.id,
        label=f"{call.code} {call.title}",
        details={
            "maker": invitation.name,
            "supplier": supplier.code,
            "sku": part.sku,
            "agreement": agreement.code,
        },
        actor=by,
    )
    notifications.answer_accepted(acceptance, invitation)
    return acceptance


def _supplier(invitation: CallInvitation, terms: AcceptTerms) -> Supplier:
    """The maker as a supplier: the one it already is, updated, or a new French one."""
    supplier = matching_supplier(invitation)
    if supplier is not None:
        values = {"is_local": terms.is_local, "code": supplier.code}
        if not supplier.siret:
            values["siret"] = invitation.siret
        if not supplier.email:
            values["email"] = invitation.email
        return save_supplier(supplier, **values)
    if not (terms.supplier_code or "").strip():
        raise DomainError(_("Donnez un code au nouveau fournisseur."), field="supplier_code")
    return save_supplier(
        None,
        code=terms.supplier_code,
        name=invitation.name,
        country="FR",
        is_local=terms.is_local,
        siret=invitation.siret,
        email=invitation.email,
    )


def _offer(supplier: Supplier, part: Part, answer: CallAnswer) -> Offer:
    """The supplier's offer on the part at the answer's terms, made in France; an existing
    offer is updated (its former prices stay in its history)."""
    offer = db.session.scalar(
        select(Offer).where(Offer.supplier_id == supplier.id, Offer.part_id == part.id)
    )
    return save_offer(
        offer,
        supplier=supplier,
        part=part,
        tiers=answer.tier_values,
        made_in="FR",
        pack_size=answer.pack_size,
        moq=answer.moq,
        lead_time_days=answer.lead_time_days,
        valid_until=None,
    )
