"""Search that finds parts and suppliers whatever the accents, case, word order and punctuation.

Each part and each supplier carries a `search_text` column, written on every
flush (below) from what a person may type to find it:

    " <name> | <identifiers> | <context> "

- name: the part's or supplier's name;
- identifiers: a part's SKU, EAN and suppliers' references, a supplier's code;
  each also whole and compacted, tagged "=" (" =tyr700x25tr "), for exact matches;
- context: a part's suppliers (codes and names), a supplier's city.

Every section is a list of words made by `search_key`. A query is cut into words
the same way, and each word must begin a word of the text (`LIKE '% word%'`), in any
order. The "|" count after a word tells its section (`'% word%|%|%'`: in the name),
which ranks the matches without a second column. Plain LIKE on a plain column
behaves the same on SQLite and PostgreSQL: the words are lower-case letters and
digits only, so they need no escaping and no collation decides anything.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, case, event, inspect, or_, select
from sqlalchemy.orm import Session, selectinload

from coop.suppliers.models import Offer, Part, Supplier

# Letters and digits NFKD does not take apart.
_FOLDED = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)
# A run of letters or a run of digits: "700x25C" is 700, x, 25, c.
_PIECE = re.compile(r"[^\W\d_]+|\d+")


def _pieces(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_FOLDED)
    return _PIECE.findall(plain)


def _words(text: str) -> list[str]:
    """Each piece, and each space-separated chunk cut in several pieces joined back."""
    words = []
    for chunk in (text or "").split():
        pieces = _pieces(chunk)
        words.extend(pieces)
        if len(pieces) > 1:
            words.append("".join(pieces))
    return list(dict.fromkeys(words))


def search_key(text: str) -> str:
    """`text` as searched: no accents, lower case, punctuation dropped, letters cut from
    digits, each cut chunk also joined back ("Roulement 6902-2RS": "roulement 6902 2 rs
    69022rs"), so that "6902-2rs", "6902 2rs" and "69022rs" all find it."""
    return " ".join(_words(text))


def search_text(name: str, identifiers: Iterable[str | None], context: Iterable[str | None]) -> str:
    """The stored search text of a record (see the module's docstring)."""
    ids = []
    for identifier in filter(None, identifiers):
        ids.extend(_words(identifier))
        compact = "".join(_pieces(identifier))
        if compact:
            ids.append(f"={compact}")
    sections = (
        _words(name),
        dict.fromkeys(ids),
        dict.fromkeys(w for text in filter(None, context) for w in _words(text)),
    )
    return " " + " | ".join(" ".join(section) for section in sections).strip() + " "


def part_search_text(
    name: str, sku: str, ean: str | None, offers: Iterable[tuple[str, str, str | None]]
) -> str:
    """A part's search text; `offers` are (supplier's code, supplier's name, reference)."""
    offers = sorted(offers, key=lambda offer: (offer[0], offer[2] or ""))
    return search_text(
        name,
        [sku, ean, *(ref for _code, _name, ref in offers)],
        [text for code, supplier, _ref in offers for text in (code, supplier)],
    )


def supplier_search_text(code: str, name: str, city: str | None) -> str:
    return search_text(name, [code], [city])


# --- queries ----------------------------------------------------------------------------------


def begins_a_word(word: str) -> str:
    """LIKE pattern: `word` begins a word anywhere in the text."""
    return f"% {word}%"


def begins_a_word_of_name_or_identifiers(word: str) -> str:
    """LIKE pattern: `word` begins a word of the name or of an identifier (not the context)."""
    return f"% {word}%|%"


# What a search reads of what was typed: a part as the need form offers it, `name (SKU)`.
MAX_TYPED = 300


@dataclass(frozen=True)
class SearchQuery:
    """What a person typed, cut into words, and how well a record's text answers it."""

    words: tuple[str, ...]
    compact: str  # all the words glued: an identifier typed with or without its dashes
    name: str  # the words as `search_text` writes a name: equal when typed exactly

    @classmethod
    def parse(cls, typed: str) -> "SearchQuery":
        # Longer is no search anyone types, and SQLite refuses a LIKE pattern past 50,000 bytes.
        typed = typed[:MAX_TYPED]
        pieces = _pieces(typed)
        return cls(tuple(dict.fromkeys(pieces)), "".join(pieces), " ".join(_words(typed)))

    def __bool__(self) -> bool:
        return bool(self.words)

    def matches(self, text: ColumnElement[str]) -> ColumnElement[bool]:
        """Every word begins a word of the text, in any order."""
        return and_(*(text.like(begins_a_word(w)) for w in self.words))

    def rank(self, text: ColumnElement[str]) -> ColumnElement[int]:
        """Lower is better: 0 an exact identifier or name, 1 the start of an identifier;
        then 2 plus, for each word, 0 when it is a whole word of the name, 1 when it
        begins one, 2 when it is found elsewhere ("11" finds "114", but ranks "11" first)."""
        misses = sum(
            case(
                (text.like(f"% {w} %|%|%"), 0),
                (text.like(f"% {w}%|%|%"), 1),
                else_=2,
            )
            for w in self.words
        )
        return case(
            (or_(text.like(f"% ={self.compact} %"), text.like(f" {self.name} |%")), 0),
            (text.like(f"% ={self.compact}%"), 1),
            else_=2 + misses,
        )


def parts_matching(typed: str) -> Select:
    """Parts matching what was typed, best first, then by SKU; every part if nothing was."""
    query = SearchQuery.parse(typed)
    if not query:
        return select(Part).order_by(Part.sku)
    return (
        select(Part)
        .where(query.matches(Part.search_text))
        .order_by(query.rank(Part.search_text), Part.sku)
    )


def suppliers_matching(typed: str) -> Select:
    """Suppliers matching what was typed, best first, then by name; all if nothing was."""
    query = SearchQuery.parse(typed)
    if not query:
        return select(Supplier).order_by(Supplier.name)
    return (
        select(Supplier)
        .where(query.matches(Supplier.search_text))
        .order_by(query.rank(Supplier.search_text), Supplier.name)
    )


# --- keeping the texts current ----------------------------------------------------------------

_PART_KEYS = ("name", "sku", "ean")
_OFFER_KEYS = ("supplier_ref", "supplier", "supplier_id", "part", "part_id")
_SUPPLIER_KEYS = ("code", "name", "city")
_SUPPLIER_KEYS_IN_PARTS = ("code", "name")


@event.listens_for(Session, "before_flush")
def _refresh_search_texts(session: Session, _context, _instances) -> None:
    """Rewrite the search text of the parts and suppliers this flush changes.

    One hook rather than a call in each service: parts, offers and suppliers are
    written by the catalogue forms, three CSV imports, quote awards and the demo,
    and a writer that forgot the call would make parts silently unfindable.
    """
    parts: set[Part] = set()
    renamed: list[Supplier] = []
    changed = [(obj, True) for obj in session.new] + [(obj, False) for obj in session.dirty]
    for obj, is_new in changed:
        if isinstance(obj, Part) and (is_new or _changed(obj, _PART_KEYS)):
            parts.add(obj)
        elif isinstance(obj, Offer) and (is_new or _changed(obj, _OFFER_KEYS)):
            parts.update(_offer_parts(session, obj))
        elif isinstance(obj, Supplier) and (is_new or _changed(obj, _SUPPLIER_KEYS)):
            _set(obj, supplier_search_text(obj.code, obj.name, obj.city))
            if not is_new and _changed(obj, _SUPPLIER_KEYS_IN_PARTS):
                renamed.append(obj)
    for obj in session.deleted:
        if isinstance(obj, Offer):
            parts.update(_offer_parts(session, obj))
    if renamed:
        parts.update(
            session.scalars(
                select(Part).join(Offer).where(Offer.supplier_id.in_([s.id for s in renamed]))
            )
        )
    _load_offers(session, parts)
    deleted = set(session.deleted)
    for part in parts - deleted:
        offers = [o for o in part.offers if o not in deleted and o.supplier is not None]
        terms = [(o.supplier.code, o.supplier.name, o.supplier_ref) for o in offers]
        _set(part, part_search_text(part.name, part.sku, part.ean, terms))


def _changed(obj, keys: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[key].history.has_changes() for key in keys)


def _set(obj, text: str) -> None:
    if obj.search_text != text:  # an unchanged text writes nothing (nor updated_at)
        obj.search_text = text


def _offer_parts(session: Session, offer: Offer) -> list[Part]:
    """The part an offer is for, and the one it left if it moved."""
    state = inspect(offer)
    parts = [*state.attrs.part.history.deleted, offer.part]
    if offer.part is None and offer.part_id is not None:
        parts.append(session.get(Part, offer.part_id))
    return [p for p in parts if p is not None]


def _load_offers(session: Session, parts: set[Part]) -> None:
    """Load the offers (and their suppliers) of stored parts in one query rather than one
    per part: a renamed supplier may offer thousands of parts."""
    unloaded = [p.id for p in parts if p.id is not None and "offers" in inspect(p).unloaded]
    for start in range(0, len(unloaded), 500):
        session.scalars(
            select(Part)
            .where(Part.id.in_(unloaded[start : start + 500]))
            .options(selectinload(Part.offers).joinedload(Offer.supplier))
        ).all()
