"""Catalogue search at 10,000 parts with 2.5 offers each: the search, the page, the picker.

Usage: .venv/bin/python bench/bench_search.py [--parts N] [--runs R] [--database URL]
  --database: a PostgreSQL server URL (a throw-away database is created on it and
  dropped), e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; by default a
  temporary SQLite file (COOP_BENCH_DATABASE_URL, then COOP_TEST_DATABASE_URL, also work).

The catalogue is the demo's (12 suppliers, 150 parts) grown to N parts: each demo
part comes in series (its name with a brand and a finish, its SKU numbered), so that
"chaine" matches about 900 parts, as in a real catalogue of that size. The parts
and offers go through the ORM, so the seeding time includes writing their search texts.

For each query: the search as the catalogue page runs it (the count and the first
page of `search_parts`), the whole page GET /parts/?q=... through the test client
(server time: routing, queries, template), and the need form's picker (`find_part`).
"""

import argparse
import csv
import io
import os
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import flask_migrate
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coop import create_app
from coop.accounts.auth import create_user
from coop.accounts.models import Role
from coop.demo import DEMO_DATA
from coop.errors import DomainError
from coop.extensions import db
from coop.suppliers.catalogue import find_part, search_parts
from coop.suppliers.importing import import_suppliers
from coop.suppliers.models import Offer, Part, Supplier
from tests.conftest import app_config, fresh_database

PASSWORD = "bench password 123"
BRANDS = ["Veloxa", "Ridgeline", "Cyclotech", "Périgord", "Nordvik", "Atelier", "Sprint"]
FINISHES = ["noir", "argent", "titane", "rouge", "bleu", "doré", "mat", "brillant", "kaki", "or"]
QUERIES = [
    "chaine",  # broad: about 900 parts
    "CHAINE 11V",
    "chaine 11 vitesses anticorrosion",
    "pneu 700x25",
    "roulement 6902",
    "69022rs",
    "CHN-11S-118",  # an exact SKU
    "8054202210370",  # an exact EAN
    "SCR-700X25TR20-0",  # a supplier's reference
    "stephanois",  # a supplier's name: its parts
    "licorne",  # nothing
]


def seed(count: int) -> None:
    import_suppliers((DEMO_DATA / "suppliers.csv").read_bytes())
    suppliers = db.session.scalars(select(Supplier).order_by(Supplier.code)).all()
    reader = csv.DictReader(io.StringIO((DEMO_DATA / "parts.csv").read_text()), delimiter=";")
    demo = list(reader)
    refs = _demo_refs()
    for i in range(count):
        base, series = demo[i % len(demo)], i // len(demo)
        brand, finish = BRANDS[series % len(BRANDS)], FINISHES[series // len(BRANDS)]
        sku = base["sku"] if series == 0 else f"{base['sku']}-{series:02d}"
        name = base["name"] if series == 0 else f"{base['name']} {brand} {finish}"
        ean = base["ean"] if series == 0 and base["ean"] else f"{2000000000000 + i}"
        part = Part(sku=sku, name=name, category=base["category"], ean=ean, is_active=True)
        db.session.add(part)
        for k in range(2 + i % 2):  # 2, 3, 2, 3...: 2.5 offers a part
            supplier = suppliers[(i + 5 * k) % len(suppliers)]
            ref = refs.get((base["sku"], k), f"{supplier.code[:3]}-{sku.replace('-', '')}")
            db.session.add(
                Offer(
                    supplier=supplier,
                    part=part,
                    supplier_ref=f"{ref}-{series}",
                    made_in=supplier.country,
                )
            )
        if i % 2000 == 1999:
            db.session.flush()
    create_user("manager@bench.example", "Manager", Role.MANAGER, PASSWORD)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: without statistics the planner guesses.
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def _demo_refs() -> dict[tuple[str, int], str]:
    """The demo's own supplier references, so that "SCR-700X25TR20-0" exists."""
    refs: dict[str, list[str]] = {}
    reader = csv.DictReader(io.StringIO((DEMO_DATA / "offers.csv").read_text()), delimiter=";")
    for row in reader:
        known = refs.setdefault(row["sku"], [])
        if row["supplier_ref"] not in known:
            known.append(row["supplier_ref"])
    return {(sku, k): ref for sku, known in refs.items() for k, ref in enumerate(known)}


def timed(action, runs: int) -> tuple[float, float, float, object]:
    """Median and 95th percentile of the wall time, median of this process's CPU time,
    in ms, of `runs` calls; and the last result. On a busy machine the CPU time stays
    closer to the truth (on SQLite it includes the database's work; not on PostgreSQL)."""
    times, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    p95 = statistics.quantiles(times, n=20)[18]
    return statistics.median(times), p95, statistics.median(cpu), result


def search_page(query: str) -> tuple[int, list[str]]:
    """What the catalogue page asks of the database: the count, then the first page."""
    stmt = search_parts(query)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    first = db.session.scalars(stmt.with_only_columns(Part.sku).limit(25)).all()
    db.session.rollback()
    return total, first


def picker(query: str) -> str:
    with suppress(DomainError):
        return find_part(query).sku
    return "(several or none)"


def database(url: str | None, folder: Path):
    if url and url.startswith("postgresql"):
        os.environ["COOP_TEST_DATABASE_URL"] = url
        return fresh_database("postgresql", folder)
    return fresh_database("sqlite", folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40, help="per query and measure")
    parser.add_argument(
        "--database",
        default=os.environ.get("COOP_BENCH_DATABASE_URL")
        or os.environ.get("COOP_TEST_DATABASE_URL"),
        help="a PostgreSQL server URL (a throw-away database is made on it)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.database, Path(tmp)) as url:
        app = create_app(app_config(url))
        backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        with app.app_context():
            flask_migrate.upgrade()
            start = time.perf_counter()
            seed(args.parts)
            offers = db.session.scalar(select(func.count(Offer.id)))
            print(
                f"{backend}: {args.parts} parts, {offers} offers seeded through the ORM in "
                f"{time.perf_counter() - start:.1f} s; {args.runs} runs per measure, ms"
            )
        client = app.test_client()
        client.post("/login", data={"email": "manager@bench.example", "password": PASSWORD})
        print(
            f"{'query':<34} {'found':>5}  {'search: median p95 CPU':>22}  "
            f"{'page: median p95 CPU':>22}  {'picker: median p95':>18}  first, picked"
        )
        for query in QUERIES:
            with app.app_context():
                search = timed(lambda q=query: search_page(q), args.runs)
                pick = timed(lambda q=query: picker(q), args.runs)
            page = timed(lambda q=query: client.get("/parts/", query_string={"q": q}), args.runs)
            assert page[3].status_code == 200, page[3].status_code
            total, first = search[3]
            print(
                f"{query:<34} {total:>5}  {search[0]:6.1f} {search[1]:6.1f} {search[2]:6.1f}    "
                f"{page[0]:6.1f} {page[1]:6.1f} {page[2]:6.1f}    {pick[0]:6.1f} {pick[1]:6.1f}"
                f"    {first[:1]} {pick[3]}"
            )
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
