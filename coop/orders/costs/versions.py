"""Campaign versions: what a campaign's cost split reads, renewed by every change to it.

A split reads, for every need of its campaign, the need's shop, part, allocation, order line
and order (`splitting._deliveries_query`): 15,000 rows for a campaign of 1,000 shops, which
PostgreSQL takes some 35 ms to join. They are kept per process by the campaign's version
(`CampaignVersion`), which any transaction changing them renews:

- after each flush, the campaigns its changes touch are noted in the session: a need's,
  an allocation's need's, a line's order's, an order's, when a row is added or deleted or
  a column that the split reads changes; every campaign when a part's weight or sku, a
  shop's or a supplier's code changes (`_note`);
- at the outermost commit, after a last flush, each touched campaign's version is
  written anew, as the transaction's last statement (`_renew`): it never waits for
  a lock while holding that one, so it cannot deadlock with the campaign-first lock order
  (confirming an order locks the order, not its campaign);
- until its transaction ends, the session reads the campaigns it touched from their rows,
  never from what is kept (`touched`): its own changes are not in their versions yet.

Writes that bypass the ORM's flush (bulk INSERTs) say what they touched (`mark`).
"""

import secrets
from collections.abc import Iterable, Sequence
from itertools import chain

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from coop.accounts.models import Member
from coop.db import dialect_insert
from coop.orders.campaigns.models import Campaign, Need
from coop.orders.costs.models import CampaignVersion
from coop.orders.purchasing.models import Allocation, OrderLine, PurchaseOrder
from coop.suppliers.models import Part, Supplier

EVERY = "every campaign"  # a change that every campaign's split may read
TOUCHED = "coop.touched_campaigns"  # the session's key: campaign ids, or EVERY
# What a split reads of a campaign's rows (columns and the relationships that set them).
READ = {
    Need: ("campaign_id", "campaign", "member_id", "member", "part_id", "part", "created_at"),
    Allocation: ("need_id", "need", "line_id", "line", "quantity", "received"),
    OrderLine: ("order_id", "order", "unit_price"),
    PurchaseOrder: ("campaign_id", "campaign", "supplier_id", "supplier", "status"),
}
# What it reads of rows that campaigns share: a change touches every campaign.
SHARED = {Part: ("weight_g", "sku"), Member: ("code",), Supplier: ("code",)}
WATCHED = READ | SHARED
CHUNK = 1000  # ids per query, when a flush writes a whole campaign's allocations


def touched(session: Session) -> set:
    """The campaigns that the session's transaction changed so far (EVERY for all)."""
    return session.info.get(TOUCHED, set())


def mark(session: Session, campaign_ids: Iterable[int]) -> None:
    """Note campaigns changed by statements the ORM does not flush (bulk INSERTs)."""
    session.info.setdefault(TOUCHED, set()).update(campaign_ids)


def versions(session: Session, campaign_ids: Sequence[int]) -> dict[int, str]:
    """The campaigns' versions as committed (a campaign without one has none)."""
    rows = session.execute(
        select(CampaignVersion.campaign_id, CampaignVersion.version).where(
            CampaignVersion.campaign_id.in_(campaign_ids)
        )
    )
    return dict(rows.tuples().all())


def _values(state, name: str, existed: bool) -> set:
    """An attribute's value and, for a row that existed, its value before the flush, without
    loading anything: EVERY for a value not loaded."""
    values = {state.dict.get(name, EVERY)}
    if existed and name in state.committed_state:
        before = state.committed_state[name]
        values.add(before if isinstance(before, int) else EVERY)
    return values


@event.listens_for(Session, "after_flush")
def _note(session: Session, context) -> None:
    campaigns, needs, orders = set(), set(), set()
    new, dirty = session.new, session.dirty
    for obj in chain(new, dirty, session.deleted):
        kind = type(obj)
        if kind not in WATCHED:
            continue
        state = inspect(obj)
        if obj in dirty:
            if not any(name in state.committed_state for name in WATCHED[kind]):
                continue
        elif kind in SHARED:  # a row added or deleted: no other row read it
            continue
        if kind in SHARED:
            campaigns.add(EVERY)
        elif kind is Need or kind is PurchaseOrder:
            campaigns |= _values(state, "campaign_id", obj not in new)
        elif kind is Allocation:
            needs |= _values(state, "need_id", obj not in new)
        else:
            orders |= _values(state, "order_id", obj not in new)
    # An attribute not loaded (EVERY) or not set yet (None): every campaign, to be safe.
    if {EVERY, None} & (campaigns | needs | orders):
        mark(session, [EVERY])
        return
    for table, ids in ((Need.__table__, needs), (PurchaseOrder.__table__, orders)):
        ids = sorted(ids)
        for start in range(0, len(ids), CHUNK):  # SQLite takes 32,766 parameters at most
            found = select(table.c.campaign_id).where(table.c.id.in_(ids[start : start + CHUNK]))
            campaigns.update(session.connection().execute(found).scalars())
    if campaigns:
        mark(session, campaigns)


@event.listens_for(Session, "before_commit")
def _renew(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT: the outermost commit renews
        return
    session.flush()
    campaigns = touched(session)
    if not campaigns:
        return
    table, version = CampaignVersion.__table__, secrets.token_hex(16)
    connection = session.connection()
    if EVERY in campaigns:
        campaigns = set(connection.execute(select(Campaign.__table__.c.id)).scalars())
    if not campaigns:
        return
    # In the campaigns' order, as every such transaction does: two never wait for each other
    # in a circle.
    rows = [{"campaign_id": i, "version": version} for i in sorted(campaigns)]
    connection.execute(
        dialect_insert(connection)(table)
        .values(rows)
        .on_conflict_do_update(index_elements=[table.c.campaign_id], set_={"version": version})
    )


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost: committed or rolled back
        session.info.pop(TOUCHED, None)
