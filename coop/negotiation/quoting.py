"""A supplier answers its lines through its link: a draft, then a submission; or a CSV file.

Every rule on an answer lives here, once, for the form and the CSV upload alike:
tiers strictly increasing with positive prices (the catalogue's own check),
whole packs, a known country, a validity not already past.
"""

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from coop import bounds
from coop import csv_import as c
from coop.clock import to_local
from coop.csv_export import Figure, as_typed, french_csv
from coop.errors import DomainError, FieldError, InvalidRows
from coop.extensions import db
from coop.negotiation import notifications
from coop.negotiation.models import (
    Invitation,
    MessageKind,
    NegotiationMessage,
    Quote,
    QuoteAnswer,
    QuoteTier,
)
from coop.negotiation.rfqs import MAX_MESSAGE_LENGTH, lock_rfq, log_entry, record_answer
from coop.suppliers.importing import OFFER_COLUMNS
from coop.suppliers.origin import country_code
from coop.suppliers.pricing import Tier, typed_price, validate_tiers


@dataclass
class AnswerInput:
    """What the supplier typed for one line (the form or one CSV group), already parsed."""

    quote_id: int
    declined: bool = False
    supplier_ref: str | None = None
    made_in: str | None = None
    pack_size: int | None = 1
    moq: int | None = 0
    lead_time_days: int | None = None
    valid_until: date | None = None
    alternative: str | None = None
    comment: str | None = None
    tiers: list[Tier] = field(default_factory=list)

    @property
    def is_blank(self) -> bool:
        """Nothing said about the line yet: neither prices nor a refusal."""
        return not self.declined and not self.tiers


@dataclass(frozen=True)
class AnswerProblem:
    quote_id: int
    field: str  # the AnswerInput attribute at fault
    message: str


class InvalidAnswers(DomainError):
    """Answers refused; every problem names its line and field."""

    def __init__(self, problems: list[AnswerProblem]):
        super().__init__(problems[0].message, field=problems[0].field)
        self.problems = problems


# --- saving and submitting -------------------------------------------------------------------


def save_answers(
    invitation: Invitation,
    answers: list[AnswerInput],
    *,
    at: datetime,
    submit: bool = False,
    note: str | None = None,
    remote_addr: str | None = None,
) -> NegotiationMessage | None:
    """Keep the supplier's answers as its draft; with `submit`, send them to the coop.

    Only the invitation's own open lines can be answered: any other line, be it
    another supplier's, is refused. Submitting needs every open line priced or
    declined; it closes those lines and adds the answer to the thread, with the
    time and the address (`remote_addr`) it came from.
    """
    lock_rfq(invitation.rfq)
    if not invitation.rfq.is_negotiable:
        raise DomainError(f"La demande {invitation.rfq.number} est close.")
    quotes = {q.id: q for q in invitation.quotes}
    for answer in answers:
        quote = quotes.get(answer.quote_id)
        if quote is None:
            raise DomainError("Cette ligne ne fait pas partie de votre demande de devis.")
        if quote.line.award is not None:
            raise DomainError(
                f"La ligne {quote.line.part.sku} a été attribuée"
                + (" à un autre fournisseur" if quote.is_awarded_elsewhere else "")
                + " : elle n'attend plus de réponse."
            )
        if not quote.is_open:
            raise DomainError(
                f"La ligne {quote.line.part.sku} a déjà reçu votre réponse : elle n'est plus "
                "modifiable, sauf si la coopérative vous fait une contre-proposition."
            )
    today = to_local(at).date()
    problems = [p for answer in answers for p in check_answer(answer, today)]
    given = {a.quote_id: a for a in answers}
    if submit:
        for quote in (q for q in invitation.quotes if q.is_answerable):
            answer = given.get(quote.id) or _as_input(quote.draft)
            if answer is None or answer.is_blank:
                problems.append(
                    AnswerProblem(
                        quote.id,
                        "tiers",
                        f"{quote.line.part.sku} : indiquez au moins un palier de prix, "
                        "ou déclinez la ligne.",
                    )
                )
    note = (note or "").strip() or None
    if note and len(note) > MAX_MESSAGE_LENGTH:
        problems.append(AnswerProblem(0, "note", f"{MAX_MESSAGE_LENGTH} caractères au plus."))
    if problems:
        raise InvalidAnswers(problems)

    for answer in answers:
        _keep_draft(quotes[answer.quote_id], answer, invitation)
    db.session.flush()
    if not submit:
        return None
    message = _supplier_entry(invitation, MessageKind.ANSWER, at, note, remote_addr)
    for quote in (q for q in invitation.quotes if q.is_answerable):
        draft = quote.draft
        draft.submitted_at, draft.message = at, message
        quote.is_open = False
    invitation.submitted_at = invitation.submitted_at or at
    record_answer(invitation.rfq)
    db.session.flush()
    notifications.supplier_wrote(message)
    return message


def check_answer(answer: AnswerInput, today: date) -> list[AnswerProblem]:
    """Problems with one line's answer, in French; empty when it can be kept."""
    problems = []

    def problem(name: str, text: str) -> None:
        problems.append(AnswerProblem(answer.quote_id, name, text))

    if answer.pack_size is not None and answer.pack_size < 1:
        problem("pack_size", "Le conditionnement est d'au moins 1 unité.")
    if answer.moq is not None and answer.moq < 0:
        problem("moq", "Le minimum de commande ne peut pas être négatif.")
    if answer.lead_time_days is not None and answer.lead_time_days < 0:
        problem("lead_time_days", "Le délai ne peut pas être négatif.")
    if answer.made_in:
        try:
            answer.made_in = country_code(answer.made_in)
        except ValueError as exc:
            problem("made_in", _sentence(str(exc)))
    if answer.valid_until is not None and answer.valid_until < today:
        problem("valid_until", "La date de validité est déjà passée.")
    for name, limit in (("supplier_ref", 60), ("alternative", 200), ("comment", 4000)):
        value = getattr(answer, name)
        if value and len(value) > limit:
            problem(name, f"{limit} caractères au plus.")
    if answer.tiers and not answer.declined:
        for text in validate_tiers(answer.tiers):
            problem("tiers", _sentence(text))
    return problems


def _keep_draft(quote: Quote, answer: AnswerInput, invitation: Invitation) -> QuoteAnswer:
    draft = quote.draft
    if draft is None:
        draft = QuoteAnswer()
        quote.answers.append(draft)
    draft.is_declined = answer.declined
    draft.supplier_ref = _clean(answer.supplier_ref)
    draft.made_in = answer.made_in or invitation.supplier.country
    draft.pack_size = answer.pack_size or 1
    draft.moq = answer.moq or 0
    draft.lead_time_days = answer.lead_time_days
    draft.valid_until = answer.valid_until
    draft.alternative = _clean(answer.alternative)
    draft.comment = _clean(answer.comment)
    wanted = [] if answer.declined else sorted(answer.tiers)
    if [(t.min_qty, t.unit_price) for t in draft.tiers] != wanted:
        draft.tiers.clear()
        db.session.flush()  # the old tiers go before the new: one price per threshold
        draft.tiers.extend(QuoteTier(min_qty=q, unit_price=p) for q, p in wanted)
    return draft


def _as_input(answer: QuoteAnswer | None) -> AnswerInput | None:
    if answer is None:
        return None
    return AnswerInput(
        quote_id=answer.quote_id,
        declined=answer.is_declined,
        supplier_ref=answer.supplier_ref,
        made_in=answer.made_in,
        pack_size=answer.pack_size,
        moq=answer.moq,
        lead_time_days=answer.lead_time_days,
        valid_until=answer.valid_until,
        alternative=answer.alternative,
        comment=answer.comment,
        tiers=answer.tier_values,
    )


def shown_answer(quote: Quote) -> QuoteAnswer | None:
    """What the supplier's form starts from: its draft, else its last submitted answer."""
    return quote.draft or quote.current


def post_supplier_message(
    invitation: Invitation, body: str, *, at: datetime, remote_addr: str | None = None
):
    """A message from the supplier to the coop, added to the thread with where it came from."""
    body = (body or "").strip()
    if not body:
        raise DomainError("Écrivez votre message.", field="body")
    if len(body) > MAX_MESSAGE_LENGTH:
        raise DomainError(f"{MAX_MESSAGE_LENGTH} caractères au plus.", field="body")
    message = _supplier_entry(invitation, MessageKind.MESSAGE, at, body, remote_addr)
    db.session.flush()
    notifications.supplier_wrote(message)
    return message


def _supplier_entry(invitation, kind, at, body, remote_addr) -> NegotiationMessage:
    """A thread entry the supplier wrote through its link: a bearer link, so the coop
    keeps when and from which address each one came."""
    message = log_entry(invitation, kind, at, body=body)
    message.by_supplier = True
    message.remote_addr = remote_addr[:64] if remote_addr else None
    return message


def record_visit(invitation: Invitation, at: datetime) -> None:
    """The first time the supplier opens its link, for the manager's "who has not answered"."""
    if invitation.opened_at is None:
        invitation.opened_at = at
        db.session.flush()


# --- the RFQ as CSV, and the answer back -------------------------------------------------------

# The offers file of spec/formats.md, plus what a supplier needs to read and answer an RFQ.
# Uploading accepts a plain offers file too; prices may be left empty on lines not answered yet.
_OFFERS = {column.name: column for column in OFFER_COLUMNS}
_QUOTE_COLUMNS = (
    dataclasses.replace(_OFFERS["supplier_code"], required=False),
    _OFFERS["sku"],
    c.Column("part_name", c.text(200)),
    c.Column("requested_qty", c.integer(0, bound=bounds.quantity)),
    dataclasses.replace(_OFFERS["min_qty"], required=False),
    dataclasses.replace(_OFFERS["unit_price_eur"], required=False),
    _OFFERS["supplier_ref"],
    _OFFERS["made_in"],
    _OFFERS["pack_size"],
    _OFFERS["moq"],
    _OFFERS["lead_time_days"],
    _OFFERS["valid_until"],
    c.Column("declined", c.yes_no, default=False),
    c.Column("alternative", c.text(200)),
    c.Column("comment", c.text(4000)),
)
# The file goes out with a quote before any text a spreadsheet would run (csv_export):
# it comes back without it.
QUOTE_COLUMNS = tuple(
    dataclasses.replace(column, parse=lambda cell, parse=column.parse: parse(as_typed(cell)))
    for column in _QUOTE_COLUMNS
)
# Every row of one line must agree on these; only min_qty and unit_price_eur differ.
LINE_TERMS = (
    "supplier_ref",
    "made_in",
    "pack_size",
    "moq",
    "lead_time_days",
    "valid_until",
    "declined",
    "alternative",
    "comment",
)


def answerable_quotes(invitation: Invitation) -> list[Quote]:
    """The lines the CSV carries: those open for an answer, else all of them (to read)."""
    open_quotes = [q for q in invitation.quotes if q.is_answerable]
    return open_quotes or list(invitation.quotes)


def rfq_csv(invitation: Invitation) -> bytes:
    """The supplier's RFQ lines as a CSV file to fill in and upload back (Excel, French)."""
    rows = [[column.name for column in QUOTE_COLUMNS]]
    code = invitation.supplier.code
    for quote in sorted(answerable_quotes(invitation), key=lambda q: q.line.part.sku):
        part, answer = quote.line.part, shown_answer(quote)
        terms = [
            answer.supplier_ref if answer else "",
            (answer.made_in if answer else None) or invitation.supplier.country,
            answer.pack_size if answer else 1,
            answer.moq if answer else 0,
            answer.lead_time_days if answer else "",
            answer.valid_until.isoformat() if answer and answer.valid_until else "",
            ("oui" if answer.is_declined else "non") if answer else "non",
            (answer.alternative or "") if answer else "",
            (answer.comment or "") if answer else "",
        ]
        tiers = answer.tier_values if answer and not answer.is_declined else []
        for min_qty, price in tiers or [("", None)]:
            price_cell = Figure(typed_price(price)) if price is not None else ""
            rows.append(
                [code, part.sku, part.name, quote.line.quantity, min_qty, price_cell, *terms]
            )
    return french_csv(rows).encode("utf-8")


def import_answers_csv(invitation: Invitation, data: bytes, *, at: datetime) -> int:
    """Read an answer file into the supplier's draft (all or nothing); how many lines it answers.

    Errors are reported as `line N, column C: message`, as every import's.
    """
    rows = c.read_rows(data, QUOTE_COLUMNS)
    quotes_by_sku = {q.line.part.sku: q for q in invitation.quotes}
    errors: list[FieldError] = []
    groups: dict[str, list[c.Row]] = defaultdict(list)
    for row in (row for row in rows if row.ok):
        code, sku = row.get("supplier_code"), row.get("sku")
        if code and code != invitation.supplier.code:
            errors.append(
                FieldError(
                    row.line,
                    "supplier_code",
                    f"ce fichier est celui du fournisseur {code}, pas le vôtre "
                    f"({invitation.supplier.code})",
                )
            )
        elif sku not in quotes_by_sku:
            errors.append(
                FieldError(row.line, "sku", f"pièce {sku} absente de votre demande de devis")
            )
        elif quotes_by_sku[sku].line.award is not None:
            errors.append(
                FieldError(row.line, "sku", f"{sku} a été attribuée : la ligne est close")
            )
        elif not quotes_by_sku[sku].is_open:
            errors.append(
                FieldError(row.line, "sku", f"{sku} a déjà reçu votre réponse : la ligne est close")
            )
        else:
            groups[sku].append(row)
    answers, first_line = [], {}
    for sku, group in groups.items():
        answer, group_errors = _group_answer(quotes_by_sku[sku], group)
        errors.extend(group_errors)
        if answer is not None and not answer.is_blank:
            answers.append(answer)
            first_line[answer.quote_id] = group[0].line
    c.raise_if_errors(rows, errors)
    try:
        save_answers(invitation, answers, at=at)
    except InvalidAnswers as invalid:
        raise InvalidRows(
            [
                FieldError(first_line.get(p.quote_id, 1), _column(p.field), p.message)
                for p in invalid.problems
            ]
        ) from None
    return len(answers)


def _group_answer(quote: Quote, group: list[c.Row]) -> tuple[AnswerInput | None, list]:
    first = group[0]
    errors = [
        FieldError(row.line, name, f"doit être identique à la ligne {first.line} de la même pièce")
        for row in group[1:]
        for name in LINE_TERMS
        if row.get(name) != first.get(name)
    ]
    tiers, seen = [], {}
    for row in group:
        min_qty, price = row.get("min_qty"), row.get("unit_price_eur")
        if (min_qty is None) != (price is None):
            missing = "unit_price_eur" if price is None else "min_qty"
            errors.append(
                FieldError(
                    row.line,
                    missing,
                    "indiquez la quantité et le prix du palier, ou aucun des deux",
                )
            )
        elif min_qty is not None:
            if min_qty in seen:
                errors.append(
                    FieldError(
                        row.line, "min_qty", f"palier {min_qty} déjà donné ligne {seen[min_qty]}"
                    )
                )
            seen.setdefault(min_qty, row.line)
            tiers.append((min_qty, price))
    if first.get("declined") and tiers:
        errors.append(
            FieldError(
                first.line, "declined", "ligne déclinée : laissez les prix vides, ou mettez « non »"
            )
        )
    if len(group) > 1 and len(tiers) < len(group):
        errors.append(
            FieldError(
                first.line, "min_qty", "une ligne sans prix doit être la seule ligne de sa pièce"
            )
        )
    if errors:
        return None, errors
    answer = AnswerInput(
        quote_id=quote.id,
        declined=bool(first.get("declined")),
        tiers=tiers,
        **{name: first.get(name) for name in LINE_TERMS if name != "declined"},
    )
    return answer, []


def _column(attribute: str) -> str:
    return "unit_price_eur" if attribute == "tiers" else attribute


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


def _sentence(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].upper() + text[1:] + "."
