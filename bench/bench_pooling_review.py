"""The pooling as the manager lives it, on a size-M campaign stored in the database.

Times a run (load, solve, greedy, the stored record), the run as the page starts it
(the request waits one second for it, then the page polls the run's progress: what it
shows, as it changes), the review page's three views, the commit into purchase orders,
and a shop's page after pooling. `H40` is a 40-shop campaign of the hard family
(bench_pooling_hard.py, seed 0).
Usage: .venv/bin/python bench/bench_pooling_review.py [S|M|H40]
(COOP_BENCH_DATABASE_URL=postgresql+psycopg://... for PostgreSQL)
"""

import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import flask_migrate
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_pooling, bench_pooling_hard
from coop import create_app
from coop.accounts.auth import create_user
from coop.accounts.models import Member, Role
from coop.clock import now
from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status, create_campaign
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need
from coop.orders.pooling import pool_run
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.purchasing.ordering import commit_run
from coop.suppliers.catalogue import save_offer
from coop.suppliers.models import Part, Supplier
from coop.suppliers.origin import Origin
from tests.conftest import app_config, fresh_database

PASSWORD = "bench password 123"
COUNTRY = {
    Origin.LOCAL: "FR",
    Origin.FRANCE: "FR",
    Origin.EUROPE: "DE",
    Origin.ASIA: "TW",
    Origin.OTHER: "US",
}
RUNS = 5


def campaign_of(size: str):
    """(needs, offers, suppliers, order date, supplier code -> (country, local))."""
    if size == "H40":
        needs, offers, suppliers, kinds = bench_pooling_hard.generate_hard("40", 0)
        where = {c: (k.country, k.kind in ("local", "reseller")) for c, k in kinds.items()}
        return needs, offers, suppliers, bench_pooling_hard.ORDER_DATE, where
    needs, offers, suppliers = bench_pooling.generate(size)
    origin_of = {o.supplier: o.origin for o in offers}
    where = {}
    for s in suppliers:
        origin = origin_of.get(s.code, Origin.FRANCE)
        where[s.code] = (COUNTRY[origin], origin is Origin.LOCAL)
    return needs, offers, suppliers, bench_pooling.ORDER_DATE, where


def made_in(offer, where) -> str:
    """Where an offer's part is made: its origin class on its supplier's country."""
    country, _ = where[offer.supplier]
    if offer.origin in (Origin.LOCAL, Origin.FRANCE):
        return "FR"
    return country if offer.origin is Origin.EUROPE and country != "FR" else COUNTRY[offer.origin]


def seed(size: str) -> int:
    needs, offers, suppliers, order_date, where = campaign_of(size)
    moment = now()
    rows = {}
    for s in suppliers:
        country, local = where[s.code]
        rows[s.code] = Supplier(
            code=s.code,
            name=f"Supplier {s.code}",
            country=country,
            is_local=local,
            shipping_fee=s.shipping_fee,
            free_shipping_over=s.free_shipping_over,
            email=f"{s.code.lower()}@bench.example",
        )
    db.session.add_all(rows.values())
    skus = sorted({o.part for o in offers} | {n.part for n in needs})
    db.session.execute(
        insert(Part),
        [
            {
                "sku": sku,
                "name": f"Part {sku}",
                "unit": "piece",
                "is_active": True,
                "created_at": moment,
                "updated_at": moment,
            }
            for sku in skus
        ],
    )
    parts = {p.sku: p for p in db.session.scalars(select(Part))}
    for o in offers:
        save_offer(
            None,
            supplier=rows[o.supplier],
            part=parts[o.part],
            tiers=list(o.tiers),
            made_in=made_in(o, where),
            pack_size=o.pack_size,
            moq=o.moq,
            lead_time_days=o.lead_time_days,
        )
    codes = sorted({n.member for n in needs})
    db.session.execute(
        insert(Member),
        [
            {
                "code": code,
                "name": f"Shop {code}",
                "is_active": True,
                "created_at": moment,
                "updated_at": moment,
            }
            for code in codes
        ],
    )
    members = {m.code: m.id for m in db.session.scalars(select(Member))}
    campaign = create_campaign("BENCH", "Bench", order_date, at=moment)
    db.session.execute(
        insert(Need),
        [
            {
                "campaign_id": campaign.id,
                "member_id": members[n.member],
                "part_id": parts[n.part].id,
                "quantity": n.quantity,
                "tolerance": n.tolerance,
                "min_quantity": n.minimum,
                "needed_by": n.needed_by,
                "max_unit_price": n.max_unit_price,
                "ref": n.ref,
                "created_at": moment,
                "updated_at": moment,
            }
            for n in needs
        ],
    )
    change_status(campaign, CampaignStatus.CLOSED, at=now())
    create_user("shop@bench.example", "Shop", Role.MEMBER, PASSWORD, member_code=codes[0])
    create_user("manager@bench.example", "Manager", Role.MANAGER, PASSWORD)
    db.session.commit()
    return campaign.id


def timed(label: str, action) -> object:
    start = time.perf_counter()
    result = action()
    print(f"{label:<34} {time.perf_counter() - start:7.2f} s")
    return result


def page(app, email: str, url: str, label: str) -> None:
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    times, size = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.data)
    print(f"{label:<34} {statistics.median(times):7.0f} ms median, {size / 1024:5.0f} KiB")


def run_through_the_page(app, campaign_id: int) -> None:
    """The manager's click on "Lancer": the request waits up to a second for the run (in a
    thread of the web process), then the page polls the run's progress card; every change
    of what the card shows is printed, with the time since the click."""
    client = app.test_client()
    client.post("/login", data={"email": "manager@bench.example", "password": PASSWORD})
    start = time.perf_counter()
    response = client.post(f"/campaigns/{campaign_id}/pooling/runs", data={"time_limit": "60"})
    answered = time.perf_counter() - start
    run_id = int(re.search(r"run=(\d+)", response.headers["Location"])[1])
    with app.app_context():
        status = db.session.get(PoolingRun, run_id).status
    print(f"{'run through the page':<34} answered in {answered:.2f} s, run {status}")
    shown = None
    while status is RunStatus.RUNNING:
        card = client.get(f"/campaigns/{campaign_id}/pooling/runs/{run_id}/progress")
        if card.status_code == 204:  # finished: the page reloads
            break
        value = re.search(r'<progress max="1" value="([^"]*)"', card.text)[1]
        message = re.search(r"<strong>[^<]*</strong>([^<]*)</p>", card.text)[1].strip()
        if (value, message) != shown:
            shown = (value, message)
            print(f"{'':<34} {time.perf_counter() - start:6.2f} s  {float(value):4.0%}  {message}")
        time.sleep(0.5)
    print(f"{'':<34} finished after {time.perf_counter() - start:.2f} s")


def main() -> None:
    size = sys.argv[1] if len(sys.argv) > 1 else "M"
    backend = "postgresql" if os.environ.get("COOP_BENCH_DATABASE_URL") else "sqlite"
    if backend == "postgresql":
        os.environ["COOP_TEST_DATABASE_URL"] = os.environ["COOP_BENCH_DATABASE_URL"]
    with tempfile.TemporaryDirectory() as tmp, fresh_database(backend, Path(tmp)) as url:
        # Jobs in a thread of the web process, as without Redis: the page's own wait.
        app = create_app(
            app_config(url, COOP_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000", COOP_JOBS_INLINE=False)
        )
        with app.app_context():
            flask_migrate.upgrade()
            campaign_id = timed(f"{backend}: seed size {size}", lambda: seed(size))
            campaign = db.session.get(Campaign, campaign_id)
            run = pool_run.start_run(campaign, pool_run.Options(time_limit=60))
            db.session.commit()
            timed("run (solve, greedy, record)", lambda: pool_run.execute_run(run.id))
            run = db.session.get(PoolingRun, run.id)
            record = run.record
            print(
                f"{'':<34} {record.headline.status}, {len(record.decisions)} needs, "
                f"solver {record.headline.seconds} s"
            )
        run_through_the_page(app, campaign_id)
        base = f"/campaigns/{campaign_id}/pooling?run={run.id}"
        for view in ("suppliers", "shops", "unserved"):
            page(app, "manager@bench.example", f"{base}&view={view}", f"review page, {view}")
        with app.app_context():
            run = db.session.get(PoolingRun, run.id)
            orders = timed("commit into purchase orders", lambda: commit_run(run))
            db.session.commit()
            print(f"{'':<34} {len(orders)} purchase orders")
        page(app, "shop@bench.example", f"/campaigns/{campaign_id}/needs", "a shop's page, pooled")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
