"""Campaign versions across transactions (coop.orders.costs.versions), on PostgreSQL's locks."""

import threading

from coop.clock import now, today
from coop.extensions import db
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.costs import splitting, versions
from coop.orders.purchasing import ordering, receiving
from coop.orders.purchasing.models import OrderStatus, PurchaseOrder
from tests import factories
from tests.orders.purchasing.test_receiving import THREE_SHOPS, one_line_order


def test_an_order_renews_its_campaigns_version_without_waiting_on_the_campaign_lock(
    committing_app,
):
    # Confirming an order locks the order, not its campaign; sending and receiving lock the
    # campaign, then the order. A confirmation that renewed the version on the campaign's
    # own row would wait for a receipt holding the campaign while the receipt waits for the
    # order: a deadlock. The version's own row, written last, is held by no one who waits.
    with committing_app.app_context():
        order, _ = one_line_order(factories, THREE_SHOPS)
        db.session.commit()
        order_id, line_id, campaign_id = order.id, order.lines[0].id, order.campaign_id
        before = versions.versions(db.session(), [campaign_id])[campaign_id]
        kept = splitting.build_split(order.campaign).split
        db.session.remove()
    confirmed, locked = threading.Event(), threading.Event()
    failures = []

    def confirm():
        with committing_app.app_context():
            try:
                order = db.session.get(PurchaseOrder, order_id)
                ordering.change_order_status(order, OrderStatus.CONFIRMED, at=now())
                confirmed.set()  # the order locked and written
                assert locked.wait(timeout=10)
                db.session.commit()  # renews the version while the campaign is locked
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    def receive():
        with committing_app.app_context():
            try:
                assert confirmed.wait(timeout=10)
                order = db.session.get(PurchaseOrder, order_id)
                lock_campaign(order.campaign)  # as record_receipt does first
                locked.set()
                receiving.record_receipt(
                    order,
                    received_on=today(),
                    delivery_note_ref="BL-1",
                    quantities={line_id: (20, 0)},
                    at=now(),
                )
                db.session.commit()
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm), threading.Thread(target=receive)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    with committing_app.app_context():
        order = db.session.get(PurchaseOrder, order_id)
        assert versions.versions(db.session(), [campaign_id])[campaign_id] != before
        # Another process's reading: the split kept at the old version is not the one read.
        split = splitting.build_split(order.campaign)
        assert split.split is not kept
        assert sum(item.units for item in split.items) == 20
        assert not split.is_estimate  # the receipt is read, not the allocations
