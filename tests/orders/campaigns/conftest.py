"""What the campaigns' tests share."""

from datetime import datetime

import pytest

from coop import clock
from coop.orders.campaigns import needs as need_service


@pytest.fixture
def lock_granted_at(monkeypatch):
    """`lock_granted_at(moment)`: the campaign lock is held by another transaction until
    `moment` (a shop's change waits on it); the clock reads `moment` once it is granted."""
    take, take_for_shop = need_service.lock_campaign, need_service.lock_campaign_for_shop

    def granted_at(moment: datetime) -> None:
        def waited(campaign) -> None:
            take(campaign)
            monkeypatch.setattr(clock, "now", lambda: moment)

        def waited_for_shop(campaign, member) -> None:
            take_for_shop(campaign, member)
            monkeypatch.setattr(clock, "now", lambda: moment)

        monkeypatch.setattr(need_service, "lock_campaign", waited)
        monkeypatch.setattr(need_service, "lock_campaign_for_shop", waited_for_shop)

    return granted_at
