"""The last hour before a cutoff under load: `coop serve` on PostgreSQL and Redis, driven by Locust.

Prepares a database of its own (COOP_BENCH_DATABASE_URL or --database; created afresh, never
the tests' one): the demo catalogue, 1,000 shops whose received campaign waits for its
invoices (bench_invoicing.py's), 95 of them with two logins each, 20 needs each already
posted in an open campaign, a manager and a treasurer. Then starts, on loopback,
`coop serve`, two `coop worker` and `coop scheduler`, and runs two phases:

1. invoicing: the 1,000 invoices issued by the workers while the shops browse
   (COOP_BENCH_MODE=browse): time until every PDF is stored, and the browsing latencies;
2. the cutoff: the shops post and edit needs for --minutes, the campaign's cutoff passing
   at 80 % of the run; afterwards the needs in the database are compared with what the
   clients saw confirmed (none lost, none doubled, each at its last confirmed quantity,
   none written after the cutoff) and the posts after the cutoff must have been refused.

Each phase starts with the people signing in, two a second; its figures start once all have:
requests/s, p50/p95/p99 per page, errors, the gunicorn workers' CPU per request, the most
database connections in use, and the machine's load average (it is shared).

    .venv/bin/python bench/bench_load.py                 # 5 minutes, both phases
    .venv/bin/python bench/bench_load.py --minutes 1.5 --skip-invoicing
"""

import argparse
import csv
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import flask_migrate
import psutil
import requests
import sqlalchemy as sa
from sqlalchemy import func, insert, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_invoicing

from coop import create_app, jobs
from coop.accounts.auth import create_user
from coop.accounts.models import Member, Role
from coop.clock import now, today
from coop.extensions import db
from coop.invoicing.models import Invoice, InvoiceDocument
from coop.orders.campaigns.lifecycle import create_campaign
from coop.orders.campaigns.models import Campaign, Need
from coop.suppliers.models import Part
from tests.conftest import app_config

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/coop_bench"
PASSWORD = "bench password 123"
SHOPS, PEOPLE_PER_SHOP, NEEDS_BEFORE = 95, 2, 20
LOCUSTFILE = ROOT / "bench/locust/locustfile.py"
BIN = Path(sys.executable).parent


# --- the data ----------------------------------------------------------------------------------


def recreate(url: str) -> None:
    server = sa.make_url(url)
    if server.database in (None, "", "test", "postgres"):
        raise SystemExit(f"refusing to recreate database {server.database!r}: name one of its own")
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{server.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{server.database}"')
    admin.dispose()


def prepare(url: str, invoices: int, needs_per_shop: int = NEEDS_BEFORE) -> dict:
    """The data of both phases; the plan the Locust users read."""
    app = create_app(app_config(url))
    rng = random.Random(20)
    with app.app_context():
        flask_migrate.upgrade()
        invoiced_id = bench_invoicing.seed(invoices, 15, rng)
        members = db.session.scalars(select(Member).order_by(Member.code).limit(SHOPS)).all()
        parts = db.session.scalars(select(Part).where(Part.is_active).order_by(Part.id)).all()
        moment = now()
        live = create_campaign(
            "BENCH-LIVE",
            "Commande groupée du mois",
            today() + timedelta(days=14),
            at=moment - timedelta(days=10),
            closes_at=moment + timedelta(days=1),  # set to the run's cutoff when it starts
        )
        shops = []
        for member in members:
            for person in range(PEOPLE_PER_SHOP):
                email = f"{member.code.lower()}-{person}@bench.example"
                create_user(
                    email,
                    f"Atelier {member.code} {person}",
                    Role.MEMBER,
                    PASSWORD,
                    member_code=member.code,
                )
                shops.append({"email": email, "member": member.code, "half": person})
        create_user("tresorerie@bench.example", "Trésorerie", Role.TREASURER, PASSWORD)
        rows = []
        for member in members:
            for n, part in enumerate(rng.sample(parts, needs_per_shop), start=1):
                quantity = rng.randint(1, 20)
                rows.append(
                    {
                        "campaign_id": live.id,
                        "member_id": member.id,
                        "part_id": part.id,
                        "quantity": quantity,
                        "tolerance": 0,
                        "min_quantity": quantity,  # all or nothing
                        "ref": f"A{n}",
                        "created_at": moment - timedelta(days=2),
                        "updated_at": moment - timedelta(days=2),
                    }
                )
        db.session.execute(insert(Need), rows)
        db.session.commit()
        words = sorted({p.name.split()[0].lower() for p in parts})
        plan = {
            "password": PASSWORD,
            "campaign_id": live.id,
            "invoiced_campaign_id": invoiced_id,
            "shops": shops,
            "manager": {"email": bench_invoicing.MANAGER},
            "treasurer": {"email": "tresorerie@bench.example"},
            "parts": [{"id": p.id, "label": f"{p.name} ({p.sku})"} for p in parts],
            "search_words": words[:30],
            "invoices": [],
        }
        db.session.remove()
        db.engine.dispose()
    # A shop posts only the parts it has no need for yet.
    plan["taken"] = {}
    with sa.create_engine(url).connect() as conn:
        for code, part_id in conn.execute(
            select(Member.code, Need.part_id).join(Need.member).where(Need.campaign_id == live.id)
        ):
            plan["taken"].setdefault(code, []).append(part_id)
    # Statistics, as autovacuum keeps them on a database in service: without them the planner
    # takes the 15,000 freshly loaded needs for a few dozen (a shop's home joined them by
    # nested loops: 28 ms a request instead of 18).
    with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    return plan


# --- the services ------------------------------------------------------------------------------


class Services:
    """`coop serve`, two `coop worker` and `coop scheduler` on loopback, as in production."""

    def __init__(self, url: str, redis_url: str, port: int, workers: int | None, folder: Path):
        self.port = port
        self.env = {
            **os.environ,
            "COOP_DATABASE_URL": url,
            "COOP_REDIS_URL": redis_url,
            "COOP_JOBS_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
            "COOP_SECRET_KEY": secrets.token_hex(32),
            "COOP_SECURE_COOKIES": "0",  # plain http on loopback
            "COOP_BASE_URL": f"http://127.0.0.1:{port}",
            "COOP_MAIL_OUTBOX": str(folder / "outbox"),
            "COOP_CRON_CLOSE_DUE": "* * * * *",  # the cutoff is closed within the minute
            "PYTHONPATH": str(ROOT),
        }
        serve = [str(BIN / "coop"), "serve", "--port", str(port)]
        if workers:
            serve += ["--workers", str(workers)]
        log = (folder / "services.log").open("w")
        # Our own commands, with fixed arguments.
        self.web = subprocess.Popen(serve, env=self.env, cwd=ROOT, stderr=log, stdout=log)
        self.others = [
            subprocess.Popen(
                [str(BIN / "coop"), *command], env=self.env, cwd=ROOT, stderr=log, stdout=log
            )
            for command in (["worker"], ["worker"], ["scheduler"])
        ]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok:
                    return
            except requests.RequestException:  # not listening yet, or still booting
                pass
            time.sleep(0.5)
        self.stop()
        raise SystemExit(f"coop serve did not get ready: see {folder / 'services.log'}")

    def cpu_seconds(self) -> float:
        """CPU of gunicorn: the master, its live workers, and the workers it has reaped."""
        master = psutil.Process(self.web.pid)
        own = master.cpu_times()
        total = own.user + own.system + own.children_user + own.children_system
        for child in master.children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        for process in [self.web, *self.others]:
            process.send_signal(signal.SIGTERM)
        for process in [self.web, *self.others]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


class ConnectionSampler(threading.Thread):
    """The most connections to the bench database at once (pg_stat_activity), every second."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = sa.create_engine(sa.make_url(url).set(database="postgres"))
        self.database = sa.make_url(url).database
        self.most = 0
        self.done = threading.Event()

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.done.wait(1):
                count = conn.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db"),
                    {"db": self.database},
                ).scalar()
                self.most = max(self.most, count)
                conn.rollback()

    def stop(self) -> int:
        self.done.set()
        self.join()
        self.engine.dispose()
        return self.most


# --- a phase -----------------------------------------------------------------------------------


# People sign in as they arrive, two a second (190 in about 95 s), not all at once: each
# login hashes a password (scrypt, about 0.1 s of CPU), and 190 within 10 s took both cores.
SIGN_IN_RATE = 2


def ramp_up(plan: dict) -> int:
    """Seconds until every person has signed in; Locust's figures start then (--reset-stats):
    what the phases measure is the hour's steady browsing and posting, not the sign-ins."""
    return math.ceil((len(plan["shops"]) + 2) / SIGN_IN_RATE) + 5


def locust(plan: dict, folder: Path, name: str, seconds: int, port: int, *, browse: bool):
    """Start a headless Locust run of the scenario for `seconds` after its ramp-up; its
    process."""
    plan_file = folder / f"{name}-plan.json"
    plan_file.write_text(json.dumps(plan))
    users = len(plan["shops"]) + 2
    env = {
        **os.environ,
        "COOP_BENCH_PLAN": str(plan_file),
        "COOP_BENCH_RESULT": str(folder / f"{name}-result.json"),
        "COOP_BENCH_MODE": "browse" if browse else "cutoff",
    }
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless",
        "--host", f"http://127.0.0.1:{port}",
        "-u", str(users), "-r", str(SIGN_IN_RATE), "-t", f"{ramp_up(plan) + seconds}s",
        "--reset-stats", "--stop-timeout", "10",
        "--csv", str(folder / name), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"{name}-locust.log").open("w"),
    )


def stats(folder: Path, name: str) -> dict[str, dict]:
    with (folder / f"{name}_stats.csv").open() as file:
        return {row["Name"]: row for row in csv.DictReader(file)}


def report(title: str, table: dict[str, dict], seconds: float, cpu: float, connections: int):
    total = table["Aggregated"]
    requests_done = int(total["Request Count"])
    print(f"\n## {title}")
    print(
        f"{requests_done} requests in {seconds:.0f} s: {requests_done / seconds:.1f} req/s, "
        f"{total['Failure Count']} errors; gunicorn CPU {cpu:.1f} s = "
        f"{1000 * cpu / max(requests_done, 1):.1f} ms per request; "
        f"at most {connections} database connections; load average {os.getloadavg()}"
    )
    print("\n| page | requests | errors | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for page, row in sorted(table.items(), key=lambda item: item[0] == "Aggregated"):
        print(
            f"| {page} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | "
            f"{row['95%']} | {row['99%']} |"
        )


def measured(services: Services, sampler_url: str, run) -> tuple[float, float, int]:
    """Wall time, gunicorn's CPU and the most database connections while `run` runs."""
    sampler = ConnectionSampler(sampler_url)
    sampler.start()
    cpu, clock = services.cpu_seconds(), time.monotonic()
    run()
    return time.monotonic() - clock, services.cpu_seconds() - cpu, sampler.stop()


def invoicing_phase(app, plan, services, folder, args) -> None:
    process = locust(plan, folder, "invoicing", args.invoicing_limit, args.port, browse=True)
    time.sleep(ramp_up(plan))  # everyone signed in, browsing

    def run():
        started = time.monotonic()
        # What the treasurer's "Émettre" button queues for a large batch.
        jobs.enqueue(
            app, "coop.invoicing.issuing.issue_job", (plan["invoiced_campaign_id"], None, now())
        )
        stored = 0
        while time.monotonic() - started < args.invoicing_limit - 30:
            with app.app_context():
                stored = db.session.scalar(select(func.count()).select_from(InvoiceDocument))
                db.session.remove()
            if stored >= args.invoices:
                break
            time.sleep(2)
        print(
            f"\n{stored} of {args.invoices} invoice PDFs stored "
            f"{time.monotonic() - started:.0f} s after the batch was queued"
        )
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)

    seconds, cpu, connections = measured(services, args.database, run)
    report(
        "Invoicing while the shops browse", stats(folder, "invoicing"), seconds, cpu, connections
    )


def cutoff_phase(app, plan, services, folder, args) -> None:
    seconds = int(args.minutes * 60)
    with app.app_context():
        plan["invoices"] = db.session.scalars(select(Invoice.number).limit(200)).all()
        # The cutoff passes at 80 % of the run, counted once everyone has signed in.
        into = ramp_up(plan) + 0.8 * seconds
        cutoff = now() + timedelta(seconds=into)
        db.session.execute(
            update(Campaign).where(Campaign.id == plan["campaign_id"]).values(closes_at=cutoff)
        )
        db.session.commit()
        db.session.remove()
    print(f"\nCutoff at {cutoff:%H:%M:%S} UTC, {into:.0f} s into the run")
    process = locust(plan, folder, "cutoff", seconds, args.port, browse=False)
    time.sleep(ramp_up(plan))
    elapsed, cpu, connections = measured(services, args.database, process.wait)
    time.sleep(70)  # the scheduler closes the campaign within the minute
    report("The last hour before the cutoff", stats(folder, "cutoff"), elapsed, cpu, connections)
    check_needs(app, plan, folder, cutoff)


def check_needs(app, plan, folder: Path, cutoff) -> None:
    result = json.loads((folder / "cutoff-result.json").read_text())
    outcomes = Counter(result["outcomes"])
    confirmed = {(m, p): q for m, p, q in result["confirmed"]}
    with app.app_context():
        rows = db.session.execute(
            select(Member.code, Need.part_id, Need.quantity, Need.created_at, Need.updated_at)
            .join(Need.member)
            .where(Need.campaign_id == plan["campaign_id"])
        ).all()
        status = db.session.get(Campaign, plan["campaign_id"]).status
        db.session.remove()
    found = Counter((code, part) for code, part, *_ in rows)
    doubled = [key for key, count in found.items() if count > 1]
    taken = {(code, part) for code, parts in plan["taken"].items() for part in parts}
    new = {(code, part): quantity for code, part, quantity, *_ in rows if (code, part) not in taken}
    lost = [key for key in confirmed if key not in new]
    wrong = [key for key, quantity in confirmed.items() if key in new and new[key] != quantity]
    unconfirmed = [key for key in new if key not in confirmed]
    late = [row for row in rows if row.created_at > cutoff or row.updated_at > cutoff]
    print(f"\nClients: {dict(outcomes)}")
    print(
        f"Needs in the database: {len(rows)} ({len(new)} posted during the run); "
        f"lost {len(lost)}, doubled {len(doubled)}, at another quantity {len(wrong)}, "
        f"written without the client seeing it {len(unconfirmed)}, "
        f"written after the cutoff {len(late)}; campaign {status}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="the cutoff phase's length")
    parser.add_argument(
        "--database", default=os.environ.get("COOP_BENCH_DATABASE_URL", DEFAULT_DATABASE)
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, help="gunicorn's processes (default: its config's)")
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument(
        "--invoicing-limit", type=int, default=900, help="seconds the invoicing phase may last"
    )
    parser.add_argument("--skip-invoicing", action="store_true")
    parser.add_argument("--out", type=Path, help="keep Locust's files here")
    args = parser.parse_args()
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", args.port)) == 0:
            # Another server (an earlier run still stopping?) would answer our readiness check.
            raise SystemExit(f"port {args.port} is taken: stop what listens there, or --port")
    folder = args.out or Path(tempfile.mkdtemp(prefix="coop-bench-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}; files in {folder}")
    clock = time.monotonic()
    recreate(args.database)
    plan = prepare(args.database, args.invoices)
    print(f"prepared in {time.monotonic() - clock:.0f} s")
    services = Services(args.database, args.redis, args.port, args.workers, folder)
    app = create_app(
        app_config(
            args.database,
            COOP_REDIS_URL=services.env["COOP_REDIS_URL"],
            COOP_JOBS_QUEUE=services.env["COOP_JOBS_QUEUE"],
        )
    )
    try:
        if not args.skip_invoicing:
            invoicing_phase(app, plan, services, folder, args)
        cutoff_phase(app, plan, services, folder, args)
    finally:
        services.stop()
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
