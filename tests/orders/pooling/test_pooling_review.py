"""The manager reviews, adjusts and commits a pooling; shops see what they get."""

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import now
from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.pooling import pool_run
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.pooling.review import describe_reason
from coop.orders.pooling.solver import Reason
from coop.orders.purchasing.models import Allocation, OrderStatus, PurchaseOrder
from coop.orders.purchasing.ordering import change_order_status, commit_run, undo_pooling
from coop.suppliers.origin import Origin
from tests.html import form_values

D = Decimal


@pytest.fixture
def pooled_case(make):
    """Two shops whose 6 + 6 tyres reach a tier together; a chain nobody can fill alone.

    LYON (local, fee 6.00 waived from 100.00): tyres 10.00, 8.00 from 10 units.
    ASIA (no fee): tyres 9.00, with a 10 % origin penalty to choose.
    VILLE (no fee): chains in packs of 10.
    """
    campaign = make.campaign(code="2026-12")
    lyon = make.supplier(
        code="LYON",
        name="Lyon Pneus",
        is_local=True,
        shipping_fee=D("6.00"),
        free_shipping_over=D("100.00"),
    )
    asia = make.supplier(code="ASIA", name="Far Tyres", country="CN", shipping_fee=D("0.00"))
    tyre, chain = make.part(sku="TYR-1", name="Pneu 700x28"), make.part(sku="CHN-1")
    make.offer(lyon, tyre, tiers=((1, "10.00"), (10, "8.00")))
    make.offer(asia, tyre, tiers=((1, "9.00"),))
    make.offer(
        make.supplier(code="VILLE", shipping_fee=D("0.00")),
        chain,
        tiers=((1, "18.20"),),
        pack_size=10,
    )
    velo1, velo2 = make.member(code="VELO01"), make.member(code="VELO02")
    make.need(campaign, velo1, tyre, quantity=6, ref="A1")
    make.need(campaign, velo2, tyre, quantity=6, ref="B1")
    make.need(campaign, velo2, chain, quantity=3, ref="B2")
    change_status(campaign, CampaignStatus.CLOSED, at=campaign.opened_at)
    db.session.commit()
    return campaign, velo1, velo2


def manager_runs(client, campaign, **form):
    data = {
        "time_limit": "10",
        "penalty_local": "0",
        "penalty_france": "0",
        "penalty_europe": "3",
        "penalty_asia": "10",
        "penalty_other": "10",
    } | form
    return client.post(f"/campaigns/{campaign.id}/pooling/runs", data=data)


def latest_run(campaign):
    return db.session.scalar(
        select(PoolingRun)
        .where(PoolingRun.campaign_id == campaign.id)
        .order_by(PoolingRun.id.desc())
        .limit(1)
    )


def test_the_stored_plan_carries_exact_shares_and_savings(pooled_case):
    campaign, _, _ = pooled_case
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    run = db.session.get(PoolingRun, run.id)
    record = run.record
    plan = record.headline
    assert run.status is RunStatus.DONE and plan.status == "optimal"
    # 12 tyres at 8.00 from LYON = 96.00, under the 100.00 threshold: fee 6.00 charged.
    # (ASIA: 12 x 9.00 = 108.00 + 10 % penalty = 118.80 > 96.00 + 6.00 = 102.00.)
    assert (plan.goods, plan.shipping, plan.total) == (D("96.00"), D("6.00"), D("102.00"))
    assert plan.unserved_units == 3  # the chain: a pack of 10 for 3 units
    tyres = record.served
    assert sorted((str(a.goods), str(a.shipping_share)) for a in tyres) == [
        ("48.00", "3.00"),
        ("48.00", "3.00"),
    ]
    # Alone, each shop's cheapest is 6 at 9.00 from ASIA, no fee: 54.00 (LYON: 60.00 + 6.00).
    # Pooled it pays 48.00 + 3.00 = 51.00: 3.00 saved each.
    assert [str(a.solo) for a in tyres] == ["54.00", "54.00"]
    alone = plan.alone
    assert (alone.needs, str(alone.solo), str(alone.pooled), str(alone.savings)) == (
        2,
        "108.00",
        "102.00",
        "6.00",
    )
    chain = next(a for a in record.decisions if not a.is_served)
    assert chain.why == Reason("pack_short", {"pack": 10, "short": 7})
    assert plan.greedy.unserved_units == 3


def test_manager_runs_reviews_and_commits_the_plan(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    assert "Lancer le calcul" in client.get(f"/campaigns/{campaign.id}/pooling").text

    response = manager_runs(client, campaign)
    run = latest_run(campaign)
    assert response.status_code == 302 and f"run={run.id}" in response.location
    page = client.get(response.location).text
    assert "Optimal" in page and "Lyon Pneus" in page and "102,00" in page
    shops = client.get(f"/campaigns/{campaign.id}/pooling?run={run.id}&view=shops").text
    assert "VELO01" in shops and "VELO02" in shops
    unserved = client.get(f"/campaigns/{campaign.id}/pooling?run={run.id}&view=unserved").text
    assert "il manque 7 unités pour remplir un carton de 10" in unserved

    assert (
        "Valider le plan"
        in client.get(f"/campaigns/{campaign.id}/pooling/runs/{run.id}/commit").text
    )
    response = client.post(f"/campaigns/{campaign.id}/pooling/runs/{run.id}/commit")
    assert response.status_code == 302
    assert campaign.status is CampaignStatus.POOLED
    (order,) = db.session.scalars(select(PurchaseOrder)).all()
    assert (order.supplier.code, order.status, order.shipping_fee) == (
        "LYON",
        OrderStatus.DRAFT,
        D("6.00"),
    )
    (line,) = order.lines
    assert (line.quantity, line.unit_price, line.tier_min_qty, line.amount) == (
        12,
        D("8.0000"),
        10,
        D("96.00"),
    )
    assert sorted(a.quantity for a in line.allocations) == [6, 6]
    assert run.committed_at is not None


def test_choices_serving_fewer_units_do_not_read_as_a_saving(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    manager_runs(client, campaign)
    reference = latest_run(campaign)
    response = manager_runs(client, campaign, exclude=["LYON", "ASIA"])
    page = " ".join(client.get(response.location).text.split())
    assert f"calcul n° {reference.id} sans contrainte" in page
    assert "unités servies de moins</strong> ; coût réel : " in page
    assert "€ de moins ;" in page and "−" not in page
    assert "moins d’unités sont achetées : ce n’est pas une économie." in page


def test_the_cost_of_the_managers_choices_is_shown(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    manager_runs(client, campaign)
    reference = latest_run(campaign)
    # Excluding the local maker sends the tyres to ASIA: 108.00 of goods, 118.80 with penalty,
    # against 102.00 for the reference plan.
    response = manager_runs(client, campaign, exclude="LYON")
    run = latest_run(campaign)
    assert run.id != reference.id and run.options["excluded_suppliers"] == ["LYON"]
    assert {a.supplier for a in run.record.served} == {"ASIA"}
    page = client.get(response.location).text
    assert f"calcul n° {reference.id} sans contrainte" in page
    assert "coût réel : 6,00\xa0€ de plus" in page
    assert "objectif (coût + pénalités) : 16,80\xa0€ de plus" in page
    assert "exclus : LYON" in page

    # Pinning the tyres of one need to ASIA.
    need_id = reference.record.served[0].need
    manager_runs(client, campaign, **{f"pin_need_{need_id}": "ASIA"})
    pinned = latest_run(campaign)
    decisions = {a.need: a for a in pinned.record.decisions}
    assert decisions[need_id].supplier == "ASIA"
    # The next run's form carries the pin, whether or not the manager opens the table.
    page = client.get(f"/campaigns/{campaign.id}/pooling?run={pinned.id}").text
    assert f'<input type="hidden" name="pin_need_{need_id}" value="ASIA">' in page
    table = client.get(f"/campaigns/{campaign.id}/pooling/need-pins?run={pinned.id}").text
    assert f'name="pin_need_{need_id}"><option value="">' in table
    assert "<option selected>ASIA</option>" in table


@pytest.mark.parametrize(
    "form, message",
    [
        ({"exclude": "NOPE"}, "Fournisseur inconnu : NOPE."),
        ({"pin_part_TYR-1": "VILLE"}, "VILLE ne propose pas la pièce TYR-1."),
    ],
)
def test_bad_choices_are_refused_and_start_nothing(client, make, pooled_case, form, message):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    response = manager_runs(client, campaign, **form)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(PoolingRun.id))) == 0
    page = client.get(response.location).text
    assert 'class="flash flash-error"' in page
    assert message in page


@pytest.mark.parametrize(
    "form, message",
    [
        ({"time_limit": "0"}, "Le nombre doit être compris entre 1 et 600."),
        ({"penalty_asia": "abc"}, "Nombre attendu, pas &#39;abc&#39;."),
    ],
)
def test_bad_pooling_fields_are_shown_on_the_page_and_start_nothing(
    client, make, pooled_case, form, message
):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    response = manager_runs(client, campaign, **form)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(PoolingRun.id))) == 0
    assert message in response.text


def test_an_open_campaign_cannot_be_pooled(client, make):
    campaign = make.campaign()
    client.login_as(make.user(Role.MANAGER))
    response = manager_runs(client, campaign)
    assert db.session.scalar(select(func.count(PoolingRun.id))) == 0
    assert "doit être close" in client.get(response.location).text


def test_a_failed_run_says_so(client, make, pooled_case, monkeypatch):
    campaign, _, _ = pooled_case

    def broken(*args, **kwargs):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(pool_run, "solve", broken)
    client.login_as(make.user(Role.MANAGER))
    response = manager_runs(client, campaign)
    run = latest_run(campaign)
    assert run.status is RunStatus.FAILED and run.result is None
    assert "Le calcul a échoué" in client.get(response.location).text


def test_progress_of_a_running_run_then_a_refresh_when_done(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    db.session.commit()
    fragment = client.get(f"/campaigns/{campaign.id}/pooling/runs/{run.id}/progress")
    assert fragment.status_code == 200 and "<progress" in fragment.text
    pool_run.execute_run(run.id)
    done = client.get(f"/campaigns/{campaign.id}/pooling/runs/{run.id}/progress")
    assert done.status_code == 204 and done.headers["HX-Refresh"] == "true"


def test_a_run_made_before_a_reopening_cannot_be_committed(make, pooled_case):
    campaign, _, _ = pooled_case
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    moment = now()
    change_status(campaign, CampaignStatus.OPEN, at=moment)
    campaign.closes_at = None
    change_status(campaign, CampaignStatus.CLOSED, at=moment)
    db.session.commit()
    with pytest.raises(Exception, match="rouverte depuis ce calcul"):
        commit_run(db.session.get(PoolingRun, run.id))
    db.session.rollback()
    assert db.session.scalar(select(func.count(PurchaseOrder.id))) == 0


def test_undoing_a_pooling_cancels_the_drafts_and_reopens_the_choice(make, pooled_case):
    campaign, _, _ = pooled_case
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    (order,) = commit_run(db.session.get(PoolingRun, run.id))
    db.session.commit()
    undo_pooling(campaign)
    db.session.commit()
    assert campaign.status is CampaignStatus.CLOSED
    assert order.status is OrderStatus.CANCELLED
    assert db.session.scalar(select(func.count(Allocation.id))) == 0
    # A new run can be committed; numbers keep counting.
    again = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(again.id)
    (second,) = commit_run(db.session.get(PoolingRun, again.id))
    assert second.number != order.number


def test_the_shop_sees_only_what_its_own_needs_get(client, make, pooled_case):
    campaign, velo1, velo2 = pooled_case
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    commit_run(db.session.get(PoolingRun, run.id))
    db.session.commit()

    client.login_as(make.user(Role.MEMBER, member=velo2))
    page = client.get(f"/campaigns/{campaign.id}/needs").text
    assert "Lyon Pneus" in page and "8,00" in page and "48,00" in page and "3,00" in page
    assert "il manque 7 unités pour remplir un carton de 10" in page  # its chain, B2
    assert "6 / 9" in page  # served of requested units
    assert '<td class="mono">A1</td>' not in page  # VELO01's need
    assert '<td class="mono">B1</td>' in page

    client.login_as(make.user(Role.MEMBER, member=velo1))
    page = client.get(f"/campaigns/{campaign.id}/needs").text
    assert '<td class="mono">B2</td>' not in page and "carton" not in page


@pytest.mark.parametrize("role, status", [(Role.MEMBER, 403), (Role.TREASURER, 403)])
def test_only_the_manager_runs_and_commits(client, make, pooled_case, role, status):
    campaign, _, _ = pooled_case
    client.login_as(make.user(role))
    assert manager_runs(client, campaign).status_code == status
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    response = client.post(f"/campaigns/{campaign.id}/pooling/runs/{run.id}/commit")
    assert response.status_code == status
    assert campaign.status is CampaignStatus.CLOSED


def test_pool_commit_from_the_command_line(runner, pooled_case):
    campaign, _, _ = pooled_case
    result = runner.invoke(args=["pool", "2026-12", "--json", "--commit"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # still nothing but the plan on stdout
    assert report["total_cost_eur"] == "102.00"
    assert "Committed: 1 draft purchase orders" in result.stderr
    assert campaign.status is CampaignStatus.POOLED
    again = runner.invoke(args=["pool", "2026-12", "--commit"])
    assert again.exit_code == 1 and "seule une campagne close" in again.output


def test_a_pooled_campaign_is_not_closed_again_by_the_status_buttons(client, make, pooled_case):
    campaign, _, _ = pooled_case
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    commit_run(db.session.get(PoolingRun, run.id))
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    assert "Clore maintenant" not in client.get(f"/campaigns/{campaign.id}").text
    client.post(f"/campaigns/{campaign.id}/status/closed")
    assert campaign.status is CampaignStatus.POOLED
    assert db.session.scalar(select(func.count(Allocation.id))) == 2


def test_the_managers_home_lists_what_to_pool_then_what_to_send(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    home = client.get("/").text
    assert "à mutualiser" in home and f"/campaigns/{campaign.id}/pooling" in home
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    commit_run(db.session.get(PoolingRun, run.id))
    db.session.commit()
    home = client.get("/").text
    assert "à mutualiser" not in home
    assert "1 bon de commande à envoyer" in home


@pytest.mark.parametrize(
    "why, text",
    [
        (
            {"code": "too_late", "params": {"date": "2026-12-01"}},
            "aucune offre livrée avant le 01/12/2026",
        ),
        (
            {"code": "over_max_price", "params": {"cheapest": "12.40", "max": "11.00"}},
            "le palier le moins cher (12,40\\xa0€) dépasse votre prix maximum (11,00\\xa0€)",
        ),
        (
            {"code": "minimum_short", "params": {"minimum": 20, "short": 4}},
            "il manque 4 unités pour atteindre le minimum de commande de 20",
        ),
    ],
)
def test_reasons_read_in_french(app, why, text):
    with app.test_request_context():
        assert describe_reason(why) == text.replace("\\xa0", "\xa0")


def test_a_run_is_reached_only_through_its_own_campaign(client, make, pooled_case):
    campaign, _, _ = pooled_case
    other = make.campaign()
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    client.login_as(make.user(Role.MANAGER))
    for path in (
        f"/campaigns/{other.id}/pooling?run={run.id}",
        f"/campaigns/{other.id}/pooling/runs/{run.id}/progress",
        f"/campaigns/{other.id}/pooling/runs/{run.id}/commit",
    ):
        assert client.get(path).status_code == 404
    assert client.post(f"/campaigns/{other.id}/pooling/runs/{run.id}/commit").status_code == 404
    assert campaign.status is CampaignStatus.CLOSED


def test_pooling_penalties_come_back_as_typed_beside_other_errors(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    response = manager_runs(
        client, campaign, penalty_europe="3,5", penalty_asia="12,25", time_limit="0"
    )
    assert response.status_code == 422
    assert "Le nombre doit être compris entre 1 et 600." in response.text
    data = form_values(response.text, f"/campaigns/{campaign.id}/pooling/runs")
    typed = (data["penalty_europe"], data["penalty_asia"], data["time_limit"])
    assert typed == ("3,5", "12,25", "0")
    assert latest_run(campaign) is None


def test_pooling_penalties_typed_in_percent_run_as_fractions(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    assert manager_runs(client, campaign, penalty_asia="12,5").status_code == 302
    options = pool_run.Options.from_json(latest_run(campaign).options)
    assert options.penalties[Origin.ASIA] == D("0.125")
    page = client.get(f"/campaigns/{campaign.id}/pooling").text
    assert form_values(page, f"/campaigns/{campaign.id}/pooling/runs")["penalty_asia"] == "12,5"


def test_the_suppliers_to_exclude_are_named(client, make, pooled_case):
    campaign, _, _ = pooled_case
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/campaigns/{campaign.id}/pooling").text
    assert 'value="ASIA"> Far Tyres <span class="muted mono small">ASIA</span>' in page
    assert 'value="LYON"> Lyon Pneus <span class="muted mono small">LYON</span>' in page


def test_once_an_order_is_sent_the_pooling_can_no_longer_be_undone_from_the_page(
    client, make, pooled_case
):
    campaign, _, _ = pooled_case
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    (order,) = commit_run(db.session.get(PoolingRun, run.id))
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    assert "Défaire la mutualisation" in client.get(f"/campaigns/{campaign.id}/pooling").text
    change_order_status(order, OrderStatus.SENT, at=now())
    db.session.commit()
    assert "Défaire la mutualisation" not in client.get(f"/campaigns/{campaign.id}/pooling").text
    refused = client.get(f"/campaigns/{campaign.id}/pooling/undo", follow_redirects=True)
    # Sending the first order moved the campaign on: the service's refusal says so.
    assert campaign.status is CampaignStatus.ORDERED
    assert f"La campagne {campaign.code} n&#39;est pas mutualisée." in refused.text
