"""What the campaigns' tests share."""

from datetime import datetime

import pytest

from coop import clock
from coop.orders.campaigns import needs as need_service


@pytest.fixture
def lock_granted_at(monkeypatch):
    """`lock_granted_at(moment)`: the campaign lock is held by another transaction until
    `moment` (a shop's change waits on it); the clock reads `moment` once it is granted."""
    take = need_service.lock_campaign

    def granted_at(moment: datetime) -> None:
        def waited(campaign) -> None:
            take(campaign)
            monkeypatch.setattr(clock, "now", lambda: moment)

        monkeypatch.setattr(need_service, "lock_campaign", waited)

    return granted_at
