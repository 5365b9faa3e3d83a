"""Issuing a received campaign's invoices and rendering their PDFs, against WeasyPrint alone.

Builds a received campaign of N shops along the domain's own path: the demo's
catalogue imported from its CSV files, needs inserted in bulk (as
bench_pooling_review.py does), the campaign closed, a reviewed pooling plan
committed into purchase orders, the orders sent and received in full, a pallet
charge added, the split stored. Each shop's invoice has L lines: goods at 20 %,
10 % or 5.5 %, one shipping share per supplier it bought from (three), one
charge share and the coop's fee.

Then times what the "Émettre" button runs (coop.invoicing.issuing.issue_job):
  1. issue_invoices: numbers, snapshots, lines, one commit per invoice;
  2. render_pending_documents: the PDF/A-3b, its Factur-X XML, stored;
and the floor: WeasyPrint alone rendering the very same HTML of each invoice
(same base URL, fetcher, stylesheets and fonts; no PDF/A, no XML), as
`HTML(string=...).write_pdf()`. Prints seconds per invoice and ours / floor.

Usage: .venv/bin/python bench/bench_invoicing.py [--shops N] [--lines L] [--database URL]
  --database: a PostgreSQL server URL (a throw-away database is created on it and
  dropped), e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, or
  sqlite:///a-new-file; by default a temporary SQLite file (COOP_BENCH_DATABASE_URL
  is read too, as the other benches do).
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from flask import current_app
from pypdf import PdfReader
from sqlalchemy import func, insert, select
from sqlalchemy.orm import selectinload
from weasyprint import HTML

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coop import create_app, demo
from coop.accounts.auth import create_user
from coop.accounts.models import Member, Role, User
from coop.clock import now, today
from coop.extensions import db
from coop.imports import run_import
from coop.invoicing import documents
from coop.invoicing.issuing import issue_invoices
from coop.invoicing.models import Invoice, InvoiceDocument, InvoiceLine
from coop.orders.campaigns.lifecycle import change_status, create_campaign
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need
from coop.orders.campaigns.rules import SplitKey
from coop.orders.costs import charging
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.purchasing.models import OrderStatus
from coop.orders.purchasing.ordering import change_order_status, commit_run
from coop.orders.purchasing.receiving import record_receipt
from coop.pdf import StaticOnlyFetcher
from coop.suppliers.models import Offer, Part
from tests.conftest import app_config, fresh_database
from tests.orders.purchasing.test_purchase_orders import hand_record

SUPPLIERS_PER_SHOP = 3  # one shipping line each
CHARGES = 1  # a pallet charge shared by quantity: one line on every invoice
# Reduced rates on some parts so that invoices carry several VAT rows (the demo
# catalogue is all at 20 %): every 7th part at 5.5 %, every 11th at 10 %.
REDUCED = ((7, Decimal("0.0550")), (11, Decimal("0.1000")))
# What the reviewed plan charges per supplier for the whole campaign's delivery (a
# pooled order of a thousand shops ships by pallet, not at the catalogue's parcel rate).
FREIGHT = Decimal("240.00")
MANAGER = "gerance@bench.example"


# --- the received campaign -------------------------------------------------------------------


def seed(shops: int, lines: int, rng: random.Random) -> int:
    """A received campaign whose every shop has `lines` invoice lines; its id."""
    goods = lines - SUPPLIERS_PER_SHOP - CHARGES - 1  # the fee
    demo._seed_identity()  # the demo coop, with its SVG logo
    for kind in ("suppliers", "parts", "offers"):
        run_import(kind, (demo.DEMO_DATA / f"{kind}.csv").read_bytes())
    parts = db.session.scalars(select(Part).order_by(Part.sku)).all()
    for n, part in enumerate(parts):
        for every, rate in REDUCED:
            if n % every == 0:
                part.vat_rate = rate
    offers = db.session.scalars(
        select(Offer).options(selectinload(Offer.supplier), selectinload(Offer.tiers))
    ).all()
    by_supplier = defaultdict(list)
    for offer in offers:
        by_supplier[offer.supplier.code].append(offer)
    # Suppliers a shop can fill its goods lines from (distinct parts across its three).
    codes = sorted(c for c, o in by_supplier.items() if len(o) >= goods)
    moment = now()
    members = _members(shops, rng, moment)
    campaign = create_campaign(
        "BENCH-FA",
        "Commande groupée du banc d'essai",
        today() + timedelta(days=1),
        at=moment,
        fee_rate=Decimal("0.02"),
    )
    rows, served = [], []
    for member in members:
        chosen = rng.sample(codes, SUPPLIERS_PER_SHOP)
        # One part from each chosen supplier first, then any of theirs; one need per part.
        firsts = [rng.choice(by_supplier[code]) for code in chosen]
        rest = [o for code in chosen for o in by_supplier[code]]
        picked = {}
        for offer in firsts + rng.sample(rest, len(rest)):
            picked.setdefault(offer.part_id, offer)
            if len(picked) == goods:
                break
        for n, offer in enumerate(picked.values(), start=1):
            quantity = rng.choice((1, 2, 2, 3, 4, 5, 6, 10, 12))
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "member_id": member,
                    "part_id": offer.part_id,
                    "quantity": quantity,
                    "tolerance": 0,
                    "min_quantity": quantity,
                    "ref": f"L{n}",
                    "created_at": moment,
                    "updated_at": moment,
                }
            )
            served.append(offer)
    db.session.execute(insert(Need), rows)
    change_status(campaign, CampaignStatus.CLOSED, at=now() - timedelta(minutes=10))
    needs = db.session.scalars(
        select(Need).where(Need.campaign_id == campaign.id).order_by(Need.id)
    ).all()
    run = _reviewed_run(campaign, needs, served, at=now() - timedelta(minutes=5))
    orders = commit_run(run, at=now() - timedelta(minutes=4))
    for order in orders:
        change_order_status(order, OrderStatus.SENT, at=now() - timedelta(minutes=3))
    for order in orders:
        record_receipt(
            order,
            received_on=today(),
            delivery_note_ref=f"BL-{order.number}",
            quantities={line.id: (line.quantity, 0) for line in order.lines},
            at=now() - timedelta(minutes=2),
        )
    charging.add_charge(
        campaign,
        charging.ChargeTerms(
            "Transport palette jusqu'au lieu totem", Decimal("180.00"), SplitKey.QUANTITY
        ),
    )
    create_user(MANAGER, "Gérance", Role.MANAGER, "bench password 123")
    db.session.commit()
    assert campaign.status is CampaignStatus.RECEIVED, campaign.status
    return campaign.id


def _members(count: int, rng: random.Random, moment) -> list[int]:
    sirets: set[str] = set()
    rows = []
    for n in range(1, count + 1):
        name, street, postcode, city = demo.SHOPS[(n - 1) % len(demo.SHOPS)]
        siret = demo.fake_siret(rng)
        while siret in sirets:
            siret = demo.fake_siret(rng)
        sirets.add(siret)
        delivery = n % 4 == 0  # a quarter deliver elsewhere than they are billed
        rows.append(
            {
                "code": f"AT{n:05d}",
                "name": f"{name} {n}",
                "siret": siret,
                "vat_number": demo._vat(siret),
                "email": f"atelier{n}@bench.example",
                "address": street,
                "postcode": postcode,
                "city": city,
                "delivery_address": "Entrepôt, 4 rue des Docks" if delivery else None,
                "delivery_postcode": "69009" if delivery else None,
                "delivery_city": "Lyon" if delivery else None,
                "is_active": True,
                "created_at": moment,
                "updated_at": moment,
            }
        )
    db.session.execute(insert(Member), rows)
    return list(db.session.scalars(select(Member.id).order_by(Member.id)))


def _reviewed_run(campaign: Campaign, needs: list[Need], offers: list[Offer], *, at) -> PoolingRun:
    """A finished run whose plan serves every need from the offer it was posted for.

    The solver is not under test here (bench_pooling.py times it): a 1,000-shop
    plan is written as the manager would have reviewed it, each offer at the tier
    its pooled quantity reaches.
    """
    total = defaultdict(int)
    for need, offer in zip(needs, offers, strict=True):
        total[offer.id] += need.quantity
    decisions = []
    for need, offer in zip(needs, offers, strict=True):
        tier = max(
            (t for t in offer.tiers if t.min_qty <= total[offer.id]),
            key=lambda t: t.min_qty,
            default=offer.tiers[0],
        )
        decisions.append(
            {
                "need": need.id,
                "offer": offer.id,
                "supplier": offer.supplier.code,
                "units": need.quantity,
                "unit_price": str(tier.unit_price),
                "tier_min_qty": tier.min_qty,
                "why": None,
            }
        )
    suppliers = {o.supplier.code for o in offers}
    run = PoolingRun(
        campaign=campaign,
        status=RunStatus.DONE,
        created_at=at,
        finished_at=at,
        record=hand_record(decisions, {c: str(FREIGHT) for c in suppliers}),
    )
    db.session.add(run)
    db.session.flush()
    return run


# --- what is measured --------------------------------------------------------------------------


@dataclass
class Timing:
    wall: float  # seconds on the clock: what the treasurer waits
    cpu: float  # this process's CPU seconds: steadier on a busy machine
    queries: int = 0


class Meter:
    """Times an action, counting the statements it sends to the database."""

    def __init__(self, engine):
        self.queries = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args) -> None:
        self.queries += 1

    def run(self, action, profile_into: str | None = None):
        queries, wall, cpu = self.queries, time.perf_counter(), time.process_time()
        if profile_into:
            profile = cProfile.Profile()
            result = profile.runcall(action)
            profile.dump_stats(profile_into)
        else:
            result = action()
        timing = Timing(
            time.perf_counter() - wall, time.process_time() - cpu, self.queries - queries
        )
        if profile_into:
            pstats.Stats(profile_into).sort_stats("cumulative").print_stats(25)
        return result, timing


def floor(invoice_ids: list[int]) -> Timing:
    """WeasyPrint alone rendering each invoice's HTML, built beforehand (not timed)."""
    root = Path(current_app.static_folder).resolve()
    fetcher = StaticOnlyFetcher(root)
    pages = [documents.invoice_html(db.session.get(Invoice, i)) for i in invoice_ids]
    db.session.rollback()
    wall, cpu = time.perf_counter(), time.process_time()
    for html in pages:
        HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=fetcher).write_pdf()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def measure(campaign_id: int, args) -> None:
    meter = Meter(db.engine)
    campaign = db.session.get(Campaign, campaign_id)
    manager = db.session.scalar(select(User).where(User.email == MANAGER))
    issued, issuing = meter.run(
        lambda: issue_invoices(campaign, by=manager, at=now()), args.profile_issue
    )
    ids = [invoice.id for invoice in issued]
    db.session.commit()
    floor(ids[:1])  # one rendering first, not timed: fonts and caches warm for both
    base = floor(ids)
    rendered, rendering = meter.run(documents.render_pending_documents, args.profile_render)
    assert rendered == len(ids), (rendered, len(ids))

    count = len(ids)
    lines = db.session.scalar(select(func.count()).where(InvoiceLine.invoice_id == ids[0]))
    size = db.session.scalar(select(func.avg(func.length(InvoiceDocument.pdf))))
    pages = len(PdfReader(io.BytesIO(db.session.get(InvoiceDocument, ids[0]).pdf)).pages)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{count} invoices of {lines} lines: {pages} page(s), {size / 1024:.0f} KiB each; "
        f"peak memory {peak:.0f} MiB"
    )
    print(f"{'':<36} {'total':>8} {'per invoice':>12} {'CPU/invoice':>12} {'queries':>8}")
    ours = Timing(issuing.wall + rendering.wall, issuing.cpu + rendering.cpu)
    for label, timing in (
        ("1. issue_invoices", issuing),
        ("2. render_pending_documents", rendering),
        ("ours: 1 + 2", ours),
        ("floor: WeasyPrint alone, same HTML", base),
    ):
        queries = f"{timing.queries / count:8.1f}" if timing.queries else ""
        print(
            f"{label:<36} {timing.wall:7.1f}s {timing.wall / count * 1000:9.0f} ms "
            f"{timing.cpu / count * 1000:9.0f} ms {queries}"
        )
    print(
        f"{'ours / floor (goal <= 1.30)':<36} {ours.wall / base.wall:8.2f} "
        f"{'':>12} {ours.cpu / base.cpu:12.2f}"
    )
    print(
        f"{'rendering alone / floor':<36} {rendering.wall / base.wall:8.2f} "
        f"{'':>12} {rendering.cpu / base.cpu:12.2f}"
    )


@contextmanager
def database(url: str | None, folder: Path):
    """A new database: a SQLite file by default, or a throw-away one on a PostgreSQL server."""
    if url and url.startswith("postgresql"):
        os.environ["COOP_TEST_DATABASE_URL"] = url
        with fresh_database("postgresql", folder) as fresh:
            yield "postgresql", fresh
    elif url:
        path = Path(sa.make_url(url).database or "")
        if not url.startswith("sqlite:") or path.exists():
            raise SystemExit(f"--database: a PostgreSQL server or a new SQLite file, not {url}")
        yield "sqlite", url
    else:
        with fresh_database("sqlite", folder) as fresh:
            yield "sqlite", fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=15, help="per invoice")
    parser.add_argument(
        "--database",
        default=os.environ.get("COOP_BENCH_DATABASE_URL"),
        help="a PostgreSQL server URL (a throw-away database is made on it) "
        "or sqlite:///a-new-file; a temporary SQLite file by default",
    )
    parser.add_argument("--profile-issue", metavar="FILE", help="cProfile the issuing into FILE")
    parser.add_argument("--profile-render", metavar="FILE", help="cProfile the rendering into FILE")
    args = parser.parse_args()
    least = SUPPLIERS_PER_SHOP + CHARGES + 2
    if args.shops < 1 or args.lines < least:
        parser.error(
            f"--shops takes 1 or more, --lines {least} or more ({SUPPLIERS_PER_SHOP} "
            f"shipping lines, {CHARGES} charge and the fee come with the goods)"
        )
    with tempfile.TemporaryDirectory() as tmp, database(args.database, Path(tmp)) as (backend, url):
        app = create_app(app_config(url))
        with app.app_context():
            flask_migrate.upgrade()
            start = time.perf_counter()
            campaign_id = seed(args.shops, args.lines, random.Random(2026))
            print(
                f"{backend}: a received campaign of {args.shops} shops built in "
                f"{time.perf_counter() - start:.0f} s"
            )
            measure(campaign_id, args)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
