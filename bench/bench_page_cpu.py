"""CPU per page of the load bench's pages, in process, one request at a time.

What each request costs the web process (Python: routing, queries, rendering), without the
network, Locust or a queue: the figure that caps the requests a second two cores can serve.
On `bench_load.py`'s data (the demo catalogue, a received campaign of --invoices shops
waiting for its invoices, 95 shops with 20 needs each in an open campaign), in a database
of its own (created afresh, never the tests' one).

    .venv/bin/python bench/bench_page_cpu.py                 # prepares the data, then measures
    .venv/bin/python bench/bench_page_cpu.py --reuse home    # the data kept from the last run
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_load

from coop import create_app, gunicorn_conf
from tests.conftest import app_config

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/coop_bench_pages"
PLAN = Path(tempfile.gettempdir()) / "coop-bench-page-cpu.json"  # the data's logins, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="only these pages (default: all)")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument(
        "--needs", type=int, default=bench_load.NEEDS_BEFORE, help="needs per shop, before"
    )
    parser.add_argument("--runs", type=int, default=50, help="requests per page")
    parser.add_argument("--reuse", action="store_true", help="keep the last run's data")
    args = parser.parse_args()
    if not (args.reuse and PLAN.exists()):
        bench_load.recreate(args.database)
        PLAN.write_text(json.dumps(bench_load.prepare(args.database, args.invoices, args.needs)))
    plan = json.loads(PLAN.read_text())
    app = create_app(app_config(args.database, COOP_RATELIMIT_ENABLED=False))
    gunicorn_conf.post_worker_init(None)  # the garbage collector as a web worker has it

    def signed_in(email: str):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": plan["password"]})
        assert response.status_code == 302, response.status_code
        return client

    shop, manager = signed_in(plan["shops"][0]["email"]), signed_in(plan["manager"]["email"])
    treasurer = signed_in(plan["treasurer"]["email"])
    campaign, part = plan["campaign_id"], plan["parts"][3]["id"]
    pages = {
        "campaign page": (shop, f"/campaigns/{campaign}/needs", {}),
        "campaign counters (htmx)": (
            shop,
            f"/campaigns/{campaign}/needs/signals",
            {"HX-Request": "true"},
        ),
        "catalogue search": (shop, f"/parts/?q={plan['search_words'][2]}", {}),
        "part page": (shop, f"/parts/{part}", {}),
        "home (shop)": (shop, "/", {}),
        "demand (manager)": (manager, f"/campaigns/{campaign}/demand", {}),
        "invoices (treasurer)": (treasurer, "/invoices", {}),
        "login page": (app.test_client(), "/login", {}),
    }
    print(f"load average {os.getloadavg()[0]:.1f}; {args.runs} requests a page")
    for name, (client, path, headers) in pages.items():
        if args.pages and name not in args.pages:
            continue
        for _ in range(3):  # templates compiled, statements cached
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (name, response.status_code)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.runs):
            client.get(path, headers=headers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        cpu_ms, wall_ms = 1000 * cpu / args.runs, 1000 * wall / args.runs
        size = len(response.data) // 1024
        print(f"{name:26s} CPU {cpu_ms:6.1f} ms   wall {wall_ms:6.1f} ms   {size} KiB")


if __name__ == "__main__":
    main()
