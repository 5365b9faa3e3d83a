"""Time a 2,000-row price list import: first, unchanged again, then with new prices."""

import os
import sys
import tempfile
import time
from pathlib import Path

import flask_migrate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coop import create_app
from coop.extensions import db
from coop.suppliers.importing import import_offers, import_parts, import_suppliers
from tests.conftest import app_config, fresh_database

SUPPLIERS, PARTS, TIERS = 20, 500, 4


def price_list(bump: str) -> bytes:
    lines = ["supplier_code;sku;min_qty;unit_price_eur;pack_size;moq;supplier_ref"]
    for p in range(PARTS):
        supplier = f"S{p % SUPPLIERS:02d}"
        for t in range(TIERS):
            price = f"{20 - t}{bump}"
            lines.append(f"{supplier};P-{p:04d};{10**t};{price};1;0;REF-{p}")
    return ("\n".join(lines) + "\n").encode()


def timed(label: str, action) -> None:
    start = time.perf_counter()
    result = action()
    db.session.commit()
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed * 1000:8.0f} ms   {result}")


def main() -> None:
    backend = "postgresql" if os.environ.get("COOP_BENCH_DATABASE_URL") else "sqlite"
    if backend == "postgresql":
        os.environ["COOP_TEST_DATABASE_URL"] = os.environ["COOP_BENCH_DATABASE_URL"]
    with tempfile.TemporaryDirectory() as tmp, fresh_database(backend, Path(tmp)) as url:
        app = create_app(app_config(url))
        with app.app_context():
            flask_migrate.upgrade()
            suppliers = "code;name;country\n" + "".join(
                f"S{s:02d};Supplier {s};FR\n" for s in range(SUPPLIERS)
            )
            parts = "sku;name\n" + "".join(f"P-{p:04d};Part {p}\n" for p in range(PARTS))
            import_suppliers(suppliers.encode())
            import_parts(parts.encode())
            db.session.commit()
            first = price_list(",50")
            rows = len(first.splitlines()) - 1
            print(f"{backend}: {rows} rows, {PARTS} offers x {TIERS} tiers")
            timed("first import", lambda: import_offers(first))
            timed("same file again (no change)", lambda: import_offers(first))
            timed("every price changed", lambda: import_offers(price_list(",75")))
            db.engine.dispose()


if __name__ == "__main__":
    main()
