"""Server time of the shop's needs page and the manager's demand view at 100 shops x 300 needs."""

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import flask_migrate
from sqlalchemy import event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coop import create_app
from coop.accounts.auth import create_user
from coop.accounts.models import Member, Role
from coop.clock import now, today
from coop.extensions import db
from coop.orders.campaigns.lifecycle import create_campaign
from coop.orders.campaigns.models import Need
from coop.suppliers.catalogue import save_offer
from coop.suppliers.models import Part, Supplier
from tests.conftest import app_config, fresh_database

SHOPS, NEEDS_PER_SHOP, RUNS = 100, 300, 15
PASSWORD = "bench password 123"


def seed() -> int:
    moment = now()
    db.session.execute(
        insert(Member),
        [
            {
                "code": f"S{i:03d}",
                "name": f"Shop {i}",
                "is_active": True,
                "created_at": moment,
                "updated_at": moment,
            }
            for i in range(SHOPS)
        ],
    )
    db.session.execute(
        insert(Part),
        [
            {
                "sku": f"P-{i:04d}",
                "name": f"Part {i}",
                "unit": "piece",
                "vat_rate": Decimal("0.2"),
                "is_active": True,
                "created_at": moment,
                "updated_at": moment,
            }
            for i in range(NEEDS_PER_SHOP)
        ],
    )
    suppliers = [
        Supplier(code=f"SUP{i}", name=f"Supplier {i}", country=c, shipping_fee=Decimal(0))
        for i, c in enumerate(("FR", "IT", "TW"))
    ]
    db.session.add_all(suppliers)
    db.session.flush()
    parts = db.session.query(Part).order_by(Part.id).all()
    for part in parts:
        for k, supplier in enumerate(suppliers):
            save_offer(
                None,
                supplier=supplier,
                part=part,
                pack_size=(1, 10, 50)[k],
                tiers=[(1, Decimal("5.00") - k), (100, Decimal("4.00") - k)],
            )
    campaign = create_campaign(
        "BENCH",
        "Bench",
        today() + timedelta(days=30),
        at=moment,
        closes_at=moment + timedelta(days=20),
    )
    members = db.session.query(Member).order_by(Member.id).all()
    db.session.execute(
        insert(Need),
        [
            {
                "campaign_id": campaign.id,
                "member_id": m.id,
                "part_id": p.id,
                "quantity": 1 + (i % 7),
                "tolerance": i % 3,
                "min_quantity": 1,
                "ref": str(i + 1),
                "created_at": moment,
                "updated_at": moment,
            }
            for m in members
            for i, p in enumerate(parts)
        ],
    )
    create_user("shop@bench.example", "Shop", Role.MEMBER, PASSWORD, member_code="S000")
    create_user("manager@bench.example", "Manager", Role.MANAGER, PASSWORD)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: without statistics the planner guesses.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return campaign.id


def measure(app, email: str, url: str) -> tuple[float, float, float, int]:
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    queries = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *a, **k: queries.append(1))
    times, cpu = [], []
    for _ in range(RUNS):
        queries.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), min(times), statistics.median(cpu), len(queries)


def main() -> None:
    backend = "postgresql" if os.environ.get("COOP_BENCH_DATABASE_URL") else "sqlite"
    if backend == "postgresql":
        os.environ["COOP_TEST_DATABASE_URL"] = os.environ["COOP_BENCH_DATABASE_URL"]
    with tempfile.TemporaryDirectory() as tmp, fresh_database(backend, Path(tmp)) as url:
        app = create_app(app_config(url, COOP_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000"))
        with app.app_context():
            flask_migrate.upgrade()
            start = time.perf_counter()
            campaign_id = seed()
            print(
                f"{backend}: seeded {SHOPS} shops x {NEEDS_PER_SHOP} needs in "
                f"{time.perf_counter() - start:.1f} s"
            )
        pages = (
            ("shop's needs page (300 needs)", "shop@bench.example", "needs"),
            ("manager's demand, per part", "manager@bench.example", "demand"),
            ("manager's demand, per supplier", "manager@bench.example", "demand/suppliers"),
        )
        for label, email, page in pages:
            url = f"/campaigns/{campaign_id}/{page}"
            median, best, cpu, queries = measure(app, email, url)
            print(
                f"{label:<30} wall median {median:6.1f} ms, best {best:6.1f} ms; "
                f"app CPU median {cpu:6.1f} ms; {queries} queries"
            )
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
