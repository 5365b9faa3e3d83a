"""Every page a role reaches by following links, from its home: none answers a server error.

Each role clicks through the app as a person would (links only, no forms), on the world
the fuzz test builds: campaigns open, closed and pooled, orders, an invoice, a bank line,
requests for quotation. A list's other pages and filters count once per path.
"""

from collections import deque
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from coop.accounts.models import Role
from tests.test_fuzz import every_state

# Links that end the session or leave what a crawl should open.
SKIPPED = ("/logout", "/language", "/static/", "/stripe/")
# Enough for every page of the world: the crawl stops there, so it stays bounded.
MOST_PAGES = 400


def links_on(html: str, url: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    found = []
    for href in tree.xpath("//a/@href"):
        target = urlsplit(urljoin(url, href))
        if target.scheme not in ("", "http") or target.netloc not in ("", "localhost"):
            continue
        if target.path.startswith(SKIPPED):
            continue
        found.append(target.path + (f"?{target.query}" if target.query else ""))
    return found


def crawl(client) -> tuple[list[str], list[tuple[str, int]]]:
    """The pages reached from the home page, and those that answered 5xx."""
    queue, seen_paths, opened, failures = deque(["/"]), {"/"}, [], []
    while queue and len(opened) < MOST_PAGES:
        url = queue.popleft()
        response = client.get(url)
        opened.append(url)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
            continue
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for link in links_on(response.text, url):
            path = urlsplit(link).path
            if path not in seen_paths:
                seen_paths.add(path)
                queue.append(link)
    return opened, failures


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER, Role.TREASURER, Role.ADMIN])
def test_every_page_a_role_reaches_by_its_links_answers_without_a_server_error(client, make, role):
    _, users = every_state(make)
    user = users["member"] if role is Role.MEMBER else make.user(role)
    client.login_as(user)
    opened, failures = crawl(client)
    assert failures == []
    assert len(opened) > 10  # it did click through the app
    assert len(opened) < MOST_PAGES  # and reached the end of it
