"""The catalogue's version: renewed by every transaction that changes an offer, a price tier
or a supplier.

The offers of the parts a shop's campaign page shows (their supplier, pack, MOQ, current
tiers) are read on the pages opened most in the hour before a cutoff, while they change a
few times a month. They are kept per process by this version (`CatalogueVersion`):

- after each flush, a session notes that its transaction changed the catalogue when an
  offer, a price tier or a supplier was added, changed or deleted (`_note`);
- at the outermost commit, after a last flush, the version is written anew, as the
  transaction's last statement (`_renew`): it waits for no other lock while holding this one;
- until its transaction ends, a session that changed the catalogue reads offers from their
  rows, never from what is kept (`touched`): its own changes are not in the version yet.

Every write of these tables goes through the ORM's flush; a bulk statement on them would have
to renew the version itself.
"""

import secrets

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from coop.db import dialect_insert
from coop.suppliers.models import CatalogueVersion, Offer, PriceTier, Supplier

TOUCHED = "coop.catalogue_touched"  # the session's key: its transaction changed the catalogue
WATCHED = (Offer, PriceTier, Supplier)
ROW = 1  # the version's one row
_CURRENT = select(CatalogueVersion.version).where(CatalogueVersion.id == ROW)


def touched(session: Session) -> bool:
    """Whether the session's transaction changed the catalogue so far."""
    return session.info.get(TOUCHED, False)


def current(session: Session) -> str | None:
    """The catalogue's version as this transaction sees it (None before the first one)."""
    if session.autoflush:  # as a query through the session would: its own changes noted
        session.flush()
    return session.connection().execute(_CURRENT).scalar_one_or_none()


@event.listens_for(Session, "after_flush")
def _note(session: Session, context) -> None:
    if touched(session):
        return
    for group in (session.new, session.dirty, session.deleted):
        if any(isinstance(obj, WATCHED) for obj in group):
            session.info[TOUCHED] = True
            return


@event.listens_for(Session, "before_commit")
def _renew(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT: the outermost commit renews
        return
    session.flush()
    if not touched(session):
        return
    table, version = CatalogueVersion.__table__, secrets.token_hex(16)
    connection = session.connection()
    connection.execute(
        dialect_insert(connection)(table)
        .values(id=ROW, version=version)
        .on_conflict_do_update(index_elements=[table.c.id], set_={"version": version})
    )


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost: committed or rolled back
        session.info.pop(TOUCHED, None)
