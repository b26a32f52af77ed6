"""End to end in Debian's Chromium: log in, the fleet, filters, live updates, a site,
creating a client and a site, and a client user's restricted view. Screenshots go to
test-artifacts/ (the best are copied to docs/screenshots/ by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from sitekeeper.domain.checks import CheckResult
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store import monitoring
from sitekeeper.store.database import Database
from tests.services import REQUIRE
from tests.web.conftest import PASSWORD, Live, World, seed

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = "needs Debian's chromium (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site_world(sqlite_db: Database) -> World:
    return seed(sqlite_db)


@pytest.fixture
def server(sqlite_db: Database, site_world: World, tmp_path: Path) -> Iterator[Live]:
    live = Live(sqlite_db, tmp_path / "home")
    yield live
    live.stop()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Fleet")).to_be_visible()


def test_staff_journey(
    browser: Browser, server: Live, site_world: World, sqlite_db: Database
) -> None:
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.goto(server.base + "/")
    shot(page, "01-login")
    log_in(page, server.base, "ada@agency.example")
    rows = page.locator("table.fleet tbody tr")
    expect(rows).to_have_count(4)
    # Problems first: both down sites lead the table.
    expect(rows.nth(0)).to_contain_text("Down")
    expect(rows.nth(1)).to_contain_text("Down")
    expect(page.locator(".tile-down .n")).to_have_text("2")
    shot(page, "02-fleet")

    # Filter by state and by text, without a page reload (htmx swaps the table).
    page.get_by_label("State", exact=True).select_option("down")
    expect(rows).to_have_count(2)
    page.get_by_label("Search").fill("acme")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("acme-shop")
    page.get_by_label("State", exact=True).select_option("")
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(4)

    # Live update: the site recovers in the store; the polled table shows it.
    acme_shop = site_world.acme_sites[0]
    now = datetime.now(UTC)
    with sqlite_db.engine.begin() as conn:
        monitoring.store_results(
            conn,
            [(acme_shop, CheckResult("https://acme-shop.example/", True, 200, None, 99, now))],
        )
    with sqlite_db.session() as session:
        monitoring.close_incident(session, acme_shop, IncidentKind.DOWN, now)
    expect(page.locator(".tile-down .n")).to_have_text("2")  # tiles are not polled...
    expect(page.locator("tr.row-down")).to_have_count(1, timeout=20_000)  # ...the table is

    # Site detail.
    page.get_by_role("link", name="globex-portal").click()
    expect(page.get_by_role("heading", name=re.compile("globex-portal"))).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.get_by_text("http_status: 503")).to_be_visible()
    shot(page, "03-site")

    # Create a client, then a site for it.
    page.get_by_role("link", name="Clients", exact=True).click()
    page.get_by_label("Name").fill("Initech")
    page.get_by_label("E-mail (reports)").fill("it@initech.example")
    page.get_by_role("button", name="Add client").click()
    expect(page.get_by_role("heading", name="Initech")).to_be_visible()
    page.get_by_role("link", name="Add site").click()
    page.get_by_label("URL").fill("https://www.initech.example/")
    page.get_by_label("Tags").fill("drupal critical")
    shot(page, "04-add-site")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("heading", name=re.compile("www.initech.example"))).to_be_visible()
    expect(page.get_by_role("link", name="Initech", exact=True)).to_be_visible()

    # A bad URL comes back as a readable error, not a crash.
    page.goto(server.base + "/sites/new")
    page.get_by_label("URL").fill("ftp://nope.example")
    page.get_by_label("Client", exact=True).select_option(label="Initech")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("alert")).to_contain_text("scheme must be http or https")

    page.goto(server.base + "/business")
    expect(page.get_by_text("Monthly recurring revenue")).to_be_visible()
    shot(page, "05-business")
    page.close()


def test_a_client_users_view(browser: Browser, server: Live, site_world: World) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    log_in(page, server.base, "alice@acme.example")
    rows = page.locator("table.fleet tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("body")).not_to_contain_text("Globex")
    expect(page.get_by_role("link", name="Clients", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Add site")).to_have_count(0)
    shot(page, "06-client-phone")
    answer = page.goto(f"{server.base}/sites/{site_world.globex_sites[0]}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_the_keyboard_reaches_the_filters_with_a_visible_focus(
    browser: Browser, server: Live
) -> None:
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in(page, server.base, "tom@agency.example")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_label("Search").focus()
    outline = page.get_by_label("Search").evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    # htmx runs under the Content-Security-Policy without a single violation.
    page.get_by_label("Search").fill("acme")
    expect(page.locator("table.fleet tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/\?q=acme$"))
    assert problems == []
