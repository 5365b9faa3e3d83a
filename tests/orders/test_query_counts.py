"""The shop's needs page and the manager's demand view run a fixed number of queries."""

import pytest

from coop.accounts.models import Role
from tests.conftest import queries_for


def grow(make, campaign, shop, parts, shops):
    for part in parts:
        make.offer(part=part, tiers=((1, "5.00"), (20, "4.00")), pack_size=2)
        make.need(campaign, shop, part, quantity=3)
        for other in shops:
            make.need(campaign, other, part, quantity=2)


@pytest.mark.parametrize(
    "url", ["/campaigns/{id}/needs", "/campaigns/{id}/demand", "/campaigns/{id}/demand/suppliers"]
)
def test_query_count_does_not_grow_with_the_rows(client, make, url):
    campaign = make.campaign()
    user = make.user(Role.MEMBER)
    others = [make.member() for _ in range(3)]
    grow(make, campaign, user.member, [make.part() for _ in range(2)], others)
    viewer = user if "needs" in url else make.user(Role.MANAGER)
    client.login_as(viewer)
    small = queries_for(client, url.format(id=campaign.id))
    grow(make, campaign, user.member, [make.part() for _ in range(6)], [*others, make.member()])
    large = queries_for(client, url.format(id=campaign.id))
    assert small == large


def test_a_shops_needs_page_and_its_counters_read_what_they_show_once(client, make):
    campaign, user = make.campaign(), make.user(Role.MEMBER)
    grow(make, campaign, user.member, [make.part() for _ in range(3)], [make.member()])
    client.login_as(user)
    # The signed-in user with its roles and shop, the campaign, the shop's needs with their
    # parts, each part's demand, the catalogue's version, the parts' usable offers.
    assert queries_for(client, f"/campaigns/{campaign.id}/needs/signals") == 6
    # Then the offers are kept, at the catalogue's version (coop.suppliers.versions).
    counters = queries_for(client, f"/campaigns/{campaign.id}/needs/signals")
    assert counters == 5
    # The page adds the shop's requests for parts not in the catalogue, and no part list:
    # its part picker asks for suggestions as the shop types.
    assert queries_for(client, f"/campaigns/{campaign.id}/needs") == counters + 1
