"""A maker answers a call through its link: its terms (each submission a new answer, the latest
counting), and messages to the coop. Every rule on an answer lives here, once."""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _

from coop import bounds
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.forms import sentence
from coop.negotiation.links import LinkRefused, LinkState
from coop.relocation import notifications
from coop.relocation.calls import MAX_MESSAGE, lock_call, log_entry, message_body
from coop.relocation.links import state_of
from coop.relocation.models import (
    CallAnswer,
    CallAnswerTier,
    CallInvitation,
    CallMessage,
    CallMessageKind,
)
from coop.suppliers.pricing import Tier, validate_tiers


@dataclass
class AnswerTerms:
    """What the maker typed, already parsed."""

    tiers: list[Tier] = field(default_factory=list)
    pack_size: int | None = 1
    moq: int | None = 0
    lead_time_days: int | None = None
    yearly_capacity: int | None = None
    samples_on: date | None = None
    comment: str | None = None


def check_answer(terms: AnswerTerms, today: date) -> None:
    """Refuse an answer that breaks a rule, naming the field."""
    problems = validate_tiers(terms.tiers)
    if problems:
        raise DomainError(sentence(ValueError(problems[0])), field="tiers")
    for min_qty, price in terms.tiers:
        try:
            bounds.quantity(min_qty)
            bounds.unit_price(price)
        except ValueError as exc:
            raise DomainError(sentence(exc), field="tiers") from None
    if terms.pack_size is not None and not 1 <= terms.pack_size <= bounds.MAX_QUANTITY:
        raise DomainError(_("Le conditionnement est d'au moins 1 unité."), field="pack_size")
    if terms.moq is not None and not 0 <= terms.moq <= bounds.MAX_QUANTITY:
        raise DomainError(
            _(
                "Le minimum de commande est entre 0 et %(max)s.",
                max=bounds.shown(bounds.MAX_QUANTITY),
            ),
            field="moq",
        )
    if terms.lead_time_days is None:
        raise DomainError(_("Indiquez votre délai de livraison."), field="lead_time_days")
    if not 0 <= terms.lead_time_days <= bounds.MAX_LEAD_TIME_DAYS:
        raise DomainError(
            _("Le délai est de 0 à %(max)d jours.", max=bounds.MAX_LEAD_TIME_DAYS),
            field="lead_time_days",
        )
    if terms.yearly_capacity is None or not 1 <= terms.yearly_capacity <= bounds.MAX_VOLUME:
        raise DomainError(
            _(
                "Indiquez votre capacité annuelle : de 1 à %(max)s unités.",
                max=bounds.shown(bounds.MAX_VOLUME),
            ),
            field="yearly_capacity",
        )
    if terms.samples_on is not None and terms.samples_on < today:
        raise DomainError(_("La date des échantillons est passée."), field="samples_on")
    if terms.comment and len(terms.comment) > MAX_MESSAGE:
        raise DomainError(_("%(max)d caractères au plus.", max=MAX_MESSAGE), field="comment")


def submit_answer(
    invitation: CallInvitation,
    terms: AnswerTerms,
    *,
    at: datetime,
    remote_addr: str | None = None,
) -> CallAnswer:
    """Record the maker's terms as its latest answer, tell the manager; earlier ones stay."""
    lock_call(invitation.call)
    check_open(invitation, at)
    check_answer(terms, to_local(at).date())
    answer = CallAnswer(
        pack_size=terms.pack_size or 1,
        moq=terms.moq or 0,
        lead_time_days=terms.lead_time_days,
        yearly_capacity=terms.yearly_capacity,
        samples_on=terms.samples_on,
        comment=(terms.comment or "").strip() or None,
        remote_addr=_address(remote_addr),
        submitted_at=at,
    )
    answer.tiers = [CallAnswerTier(min_qty=q, unit_price=p) for q, p in sorted(terms.tiers)]
    invitation.answers.append(answer)
    message = _maker_entry(invitation, CallMessageKind.ANSWER, at, None, remote_addr)
    db.session.flush()
    notifications.maker_wrote(message)
    return answer


def post_maker_message(
    invitation: CallInvitation, body: str, *, at: datetime, remote_addr: str | None = None
) -> CallMessage:
    """A message from the maker to the coop, added to the thread with where it came from."""
    check_open(invitation, at)
    body = message_body(body)
    message = _maker_entry(invitation, CallMessageKind.MESSAGE, at, body, remote_addr)
    db.session.flush()
    notifications.maker_wrote(message)
    return message


def check_open(invitation: CallInvitation, at: datetime) -> None:
    """The maker writes only through a link that works: the call open, the link neither
    expired nor revoked (the link's refusal page says which)."""
    state = state_of(invitation, at)
    if state is not LinkState.OPEN:
        raise LinkRefused(state, invitation)


def _maker_entry(invitation, kind, at, body, remote_addr) -> CallMessage:
    """A thread entry the maker wrote through its link: a bearer link, so the coop keeps when
    and from which address each one came."""
    message = log_entry(invitation, kind, at, body=body)
    message.by_maker = True
    message.remote_addr = _address(remote_addr)
    return message


def _address(remote_addr: str | None) -> str | None:
    return remote_addr[:64] if remote_addr else None


def record_visit(invitation: CallInvitation, at: datetime) -> None:
    """The first time the maker opens its link, for the manager's "who has not answered"."""
    if invitation.opened_at is None:
        invitation.opened_at = at
        db.session.flush()
