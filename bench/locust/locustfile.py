"""The last hour before a cutoff, as Locust users: bench/bench_load.py prepares and runs it.

95 shops x 2 people post and edit their needs, open their campaign page (whose counters
htmx refreshes every 20 s), the catalogue and a part's page; the manager watches the demand
view; the treasurer reads the invoices. Each person comes from an address of their own
(X-Forwarded-For, as nginx passes it: `coop serve` trusts one proxy), so the rate limits
count people, not the load generator.

The scenario reads what bench_load.py prepared from the JSON file COOP_BENCH_PLAN names,
and writes what the clients saw confirmed (each need's last quantity, the posts refused
after the cutoff) to COOP_BENCH_RESULT when the run stops. COOP_BENCH_MODE=browse leaves
needs alone (the invoicing phase).
"""

import itertools
import json
import os
import random
import re
import threading
from collections import Counter

from locust import between, constant_pacing, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

PLAN = json.loads(open(os.environ["COOP_BENCH_PLAN"], encoding="utf-8").read())  # noqa: SIM115
BROWSE_ONLY = os.environ.get("COOP_BENCH_MODE") == "browse"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_token" type="hidden" value="([^"]+)"')
EDIT_LINK = re.compile(r"/needs/(\d+)/edit")
CLOSED = "les besoins ne peuvent plus être modifiés"
SAVED = "enregistré"
NEEDS_PAGE = f"/campaigns/{PLAN['campaign_id']}/needs"  # where a saved need leads

_people = itertools.count()
_lock = threading.Lock()
# What the server confirmed: (member code, part id) -> quantity; and what happened to writes.
confirmed: dict[tuple[str, int], int] = {}
outcomes: Counter = Counter()


def _field(pattern: re.Pattern, html: str) -> str:
    found = pattern.search(html)
    return found.group(1) if found else ""


class Person(FastHttpUser):
    """A person with a browser of their own: cookies, keep-alive, one address.

    FastHttpUser (geventhttpclient) rather than HttpUser (requests): it costs the load
    generator several times less CPU a request, and here it shares the server's two cores.
    """

    abstract = True
    account: dict

    def __init__(self, environment) -> None:
        n = next(_people)
        # An address per person, as nginx's X-Forwarded-For would carry it.
        self.default_headers = {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.{1 + n % 200}"}
        super().__init__(environment)

    def on_start(self) -> None:
        self.account = self.pick()
        page = self.client.get("/login", name="/login")
        with self.client.post(
            "/login",
            data={
                "email": self.account["email"],
                "password": PLAN["password"],
                "csrf_token": _field(CSRF, page.text),
            },
            allow_redirects=False,
            name="/login [POST]",
            catch_response=True,
        ) as response:
            # Signed in: sent on to the home page. Anything else would make every later
            # request a redirect to the login page, counted as a success.
            if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
                response.failure(f"login: {response.status_code}")
                with _lock:
                    outcomes["login failed"] += 1
                raise StopUser()

    def pick(self) -> dict:
        raise NotImplementedError


class Shop(Person):
    """One of a shop's two people: posts the parts of its half of the catalogue, edits them."""

    weight = len(PLAN["shops"])
    # An action every 2.25 s on average (1.4 requests: a post or an edit brings page loads):
    # 190 people ask for about 115 requests a second while posts are open, 85 after the
    # cutoff (a refused post brings no page): over the run, above the 100 the goal sets.
    wait_time = between(1, 3.5)
    _accounts = itertools.count()

    def pick(self) -> dict:
        return PLAN["shops"][next(Shop._accounts) % len(PLAN["shops"])]

    def on_start(self) -> None:
        super().on_start()
        self.campaign = PLAN["campaign_id"]
        taken = set(PLAN["taken"].get(self.account["member"], ()))
        self.parts = [
            p for p in PLAN["parts"] if p["id"] % 2 == self.account["half"] and p["id"] not in taken
        ]
        random.shuffle(self.parts)
        self.posted: list[dict] = []
        self.csrf = ""
        self.campaign_page()

    def campaign_page(self):
        page = self.client.get(f"/campaigns/{self.campaign}/needs", name="campaign page")
        self.csrf = _field(CSRF, page.text) or self.csrf
        return page

    @task(6)
    def open_campaign_page(self) -> None:
        self.campaign_page()

    @task(8)
    def counters_refresh(self) -> None:
        # htmx's `every 20s` on the needs table.
        self.client.get(
            f"/campaigns/{self.campaign}/needs/signals",
            headers={"HX-Request": "true"},
            name="campaign counters (htmx)",
        )

    @task(4)
    def catalogue(self) -> None:
        word = random.choice(PLAN["search_words"])
        self.client.get(f"/parts/?q={word}", name="catalogue search")

    @task(4)
    def part_page(self) -> None:
        part = random.choice(PLAN["parts"])
        self.client.get(f"/parts/{part['id']}", name="part page")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="home")

    @task(3)
    def post_need(self) -> None:
        if BROWSE_ONLY or len(self.posted) == len(self.parts):
            return
        part = self.parts[len(self.posted)]
        quantity = random.randint(1, 20)
        with self.client.post(
            f"/campaigns/{self.campaign}/needs",
            data={
                "part": part["label"],
                "quantity": quantity,
                "tolerance": 0,
                "min_quantity": "",  # as the form leaves it: all or nothing
                "csrf_token": self.csrf,
            },
            allow_redirects=False,
            name="post need",
            catch_response=True,
        ) as response:
            if response.status_code == 302 and NEEDS_PAGE in response.headers.get("Location", ""):
                response.success()
                self.posted.append(part)
                self._confirm(part, quantity, "posted")
            elif response.status_code == 200 and CLOSED in response.text:
                response.success()
                self.posted.append(part)  # not again
                self._count("post refused after the cutoff")
            else:
                response.failure(f"post need: {response.status_code}")
                self._count("post failed")
                return
        if response.status_code == 302:
            self.campaign_page()

    @task(3)
    def edit_need(self) -> None:
        if BROWSE_ONLY or not self.posted:
            return
        part = random.choice(self.posted)
        found = self.client.get(
            f"/parts/{part['id']}/add-to-needs", allow_redirects=False, name="add to needs"
        )
        need = EDIT_LINK.search(found.headers.get("Location", ""))
        if need is None:
            return  # refused after the cutoff: its POST was counted then
        form = self.client.get(
            f"/needs/{need.group(1)}/edit", allow_redirects=False, name="need form"
        )
        if form.status_code != 200:
            self._count("edit refused after the cutoff")  # sent back to the campaign page
            return
        quantity = random.randint(1, 20)
        edited = self.client.post(
            f"/needs/{need.group(1)}/edit",
            data={
                "part": part["label"],
                "quantity": quantity,
                "tolerance": 0,
                "min_quantity": "",  # as the form shows it when it equals the quantity
                "csrf_token": _field(CSRF, form.text),
            },
            allow_redirects=False,
            name="edit need",
        )
        if edited.status_code != 302:
            # The cutoff may pass between the form and its post: the form comes back saying so.
            if CLOSED in edited.text:
                self._count("edit refused after the cutoff")
            else:
                self._count(f"edit failed ({edited.status_code})")
            return
        # The browser follows to the campaign page, whose message says how it went.
        page = self.campaign_page()
        if CLOSED in page.text:
            self._count("edit refused after the cutoff")
        elif SAVED in page.text:
            self._confirm(part, quantity, "edited")
        else:
            self._count("edit outcome unknown")

    def _confirm(self, part: dict, quantity: int, what: str) -> None:
        with _lock:
            confirmed[(self.account["member"], part["id"])] = quantity
            outcomes[what] += 1

    def _count(self, what: str) -> None:
        with _lock:
            outcomes[what] += 1


class Manager(Person):
    """The manager, on the demand view of the open campaign."""

    weight = 1
    fixed_count = 1
    wait_time = constant_pacing(5)

    def pick(self) -> dict:
        return PLAN["manager"]

    @task
    def demand(self) -> None:
        self.client.get(f"/campaigns/{PLAN['campaign_id']}/demand", name="demand (manager)")


class Treasurer(Person):
    """The treasurer, on the invoices: the list, one invoice, its PDF."""

    weight = 1
    fixed_count = 1
    wait_time = constant_pacing(5)

    def pick(self) -> dict:
        return PLAN["treasurer"]

    @task(3)
    def invoices(self) -> None:
        self.client.get("/invoices", name="invoices (treasurer)")

    @task(1)
    def invoice(self) -> None:
        if PLAN["invoices"]:
            number = random.choice(PLAN["invoices"])
            self.client.get(f"/invoices/{number}", name="invoice (treasurer)")


@events.test_stop.add_listener
def write_result(environment, **kwargs) -> None:
    path = os.environ.get("COOP_BENCH_RESULT")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as file:
        json.dump(
            {
                "confirmed": [[m, p, q] for (m, p), q in sorted(confirmed.items())],
                "outcomes": dict(outcomes),
            },
            file,
        )
