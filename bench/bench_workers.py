"""gunicorn's processes and threads against the load bench's mix, the machine saturated.

`coop serve` on the data `bench_page_cpu.py` prepared (run it first), with the given
processes and threads, answers `--clients` people who each, with no pause, go through a
shop's round of the last hour (the needs page, its counters, the catalogue, a part's page,
the home, edits): the CPU gunicorn spends a request and the requests a second, when the
machine has no time to spare. What decided `coop/gunicorn_conf.py`'s one process per CPU.

    .venv/bin/python bench/bench_page_cpu.py --runs 5          # the data, once
    .venv/bin/python bench/bench_workers.py --workers 3 --threads 4
    .venv/bin/python bench/bench_workers.py --workers 2 --threads 4
"""

import argparse
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_page_cpu import DEFAULT_DATABASE, PLAN

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
EDIT_LINK = re.compile(r"/needs/(\d+)/edit")


class Person:
    """One of a shop's people, going through the rounds as fast as the server answers."""

    def __init__(self, base: str, plan: dict, n: int):
        self.base, self.plan = base, plan
        self.shop = plan["shops"][n % len(plan["shops"])]
        self.random = random.Random(n)
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = f"10.0.{n // 250}.{1 + n % 250}"
        self.requests = 0

    def get(self, path: str, **kwargs) -> requests.Response:
        self.requests += 1
        return self.http.get(self.base + path, allow_redirects=False, **kwargs)

    def post(self, path: str, data: dict) -> requests.Response:
        self.requests += 1
        return self.http.post(self.base + path, data=data, allow_redirects=False)

    def login(self) -> None:
        page = self.get("/login")
        signed_in = self.post(
            "/login",
            {
                "email": self.shop["email"],
                "password": self.plan["password"],
                "csrf_token": CSRF.search(page.text).group(1),
            },
        )
        assert signed_in.status_code == 302, signed_in.status_code

    def round(self) -> None:
        """The load bench's weights: 6 needs pages, 8 refreshes of their counters, 4 searches,
        4 part pages, the home, 3 edits (each: add to needs, the form, the post, the page)."""
        campaign, plan, pick = self.plan["campaign_id"], self.plan, self.random.choice
        parts = [p for p in plan["parts"] if p["id"] % 2 == self.shop["half"]]
        for _ in range(6):
            self.get(f"/campaigns/{campaign}/needs")
        for _ in range(8):
            self.get(f"/campaigns/{campaign}/needs/signals", headers={"HX-Request": "true"})
        for _ in range(4):
            self.get(f"/parts/?q={pick(plan['search_words'])}")
        for _ in range(4):
            self.get(f"/parts/{pick(plan['parts'])['id']}")
        self.get("/")
        for _ in range(3):
            part = pick(parts)
            found = EDIT_LINK.search(
                self.get(f"/parts/{part['id']}/add-to-needs").headers.get("Location", "")
            )
            if found is None:  # not among the shop's needs: its page instead
                self.get(f"/campaigns/{campaign}/needs")
                continue
            form = self.get(f"/needs/{found.group(1)}/edit")
            edited = self.post(
                f"/needs/{found.group(1)}/edit",
                {
                    "part": part["label"],
                    "quantity": self.random.randint(1, 20),
                    "tolerance": 0,
                    "min_quantity": "",
                    "csrf_token": CSRF.search(form.text).group(1),
                },
            )
            assert edited.status_code == 302, edited.status_code
            self.get(f"/campaigns/{campaign}/needs")


def gunicorn_cpu(web: subprocess.Popen) -> float:
    master = psutil.Process(web.pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per client")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args()
    if not PLAN.exists():
        raise SystemExit(f"no data: run bench/bench_page_cpu.py first ({PLAN} is missing)")
    plan = json.loads(PLAN.read_text())
    base = f"http://127.0.0.1:{args.port}"
    env = {
        **os.environ,
        "COOP_DATABASE_URL": args.database,
        "COOP_SECRET_KEY": secrets.token_hex(32),
        "COOP_SECURE_COOKIES": "0",  # plain http on loopback
        "COOP_BASE_URL": base,
        "COOP_RATELIMIT_ENABLED": "0",  # one address would be many people
        "GUNICORN_CMD_ARGS": f"--threads {args.threads}",
        "PYTHONPATH": str(ROOT),
    }
    command = [str(ROOT / ".venv/bin/coop"), "serve", "--port", str(args.port)]
    web = subprocess.Popen(
        [*command, "--workers", str(args.workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(base + "/readyz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("coop serve did not get ready")
            time.sleep(0.5)
        people = [Person(base, plan, n) for n in range(args.clients)]
        for person in people:  # signed in and warmed up before the count starts
            person.login()
            person.round()
            person.requests = 0
        cpu, wall = gunicorn_cpu(web), time.perf_counter()
        threads = [
            threading.Thread(target=lambda p=p: [p.round() for _ in range(args.rounds)])
            for p in people
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = gunicorn_cpu(web) - cpu, time.perf_counter() - wall
        served = sum(person.requests for person in people)
        print(
            f"{args.workers} processes x {args.threads} threads, {args.clients} clients: "
            f"{served} requests, {1000 * cpu / served:.1f} ms of gunicorn CPU a request, "
            f"{served / wall:.0f} requests a second"
        )
    finally:
        web.terminate()
        web.wait(timeout=60)


if __name__ == "__main__":
    main()
