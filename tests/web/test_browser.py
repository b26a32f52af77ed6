"""End to end in Debian's Chromium: log in, the fleet, filters, live updates, a site,
creating a client and a site, and a client user's restricted view. Screenshots go to
test-artifacts/; the fleet, site-detail and client-portal-phone ones also refresh
docs/screenshots/."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Browser, expect

from sitekeeper.domain.checks import CheckResult
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store import monitoring
from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, log_in, shot


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
    # After the down sites, the ones at risk: a failed backup, none at all.
    expect(rows.nth(2)).to_contain_text("acme-blog")
    expect(rows.nth(2).locator("td").nth(8)).to_have_text("failed")
    expect(rows.nth(3).locator("td").nth(8)).to_have_text("none")
    shop = page.locator("tr", has_text="acme-shop")
    expect(shop.locator(".count-vuln")).to_have_text("1")
    expect(shop.locator(".count-sec")).to_have_text("1 sec")
    expect(shop).to_contain_text("wordpress 6.7.1")
    expect(page.locator(".issue-vulns .n")).to_have_text("1")
    expect(page.locator(".issue-backup .n")).to_have_text("2")
    shot(page, "02-fleet", docs="fleet")

    # The issue filter and a sortable software column, again without a reload.
    page.get_by_label("Issue").select_option("vulns")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("acme-shop")
    page.get_by_label("Issue").select_option("backup")
    expect(rows).to_have_count(2)
    page.get_by_label("Issue").select_option("")
    expect(rows).to_have_count(4)
    page.get_by_role("link", name="Backup", exact=True).click()
    expect(rows.first).to_contain_text("globex-intranet")
    expect(page).to_have_url(re.compile(r"sort=backup"))
    page.goto(server.base + "/")

    # Filter by state and by text, without a page reload (htmx swaps the table); the live
    # region is a short line outside the table, not the table itself.
    status = page.get_by_role("status")
    expect(status).to_have_text("4 sites · 2 down")
    expect(page.locator("#fleet")).not_to_have_attribute("aria-live", re.compile(".*"))
    page.get_by_label("State", exact=True).select_option("down")
    expect(rows).to_have_count(2)
    expect(status).to_have_text("Showing 2 of 4 sites · 2 down")
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
    expect(status).to_have_text("4 sites · 1 down")  # and the live region says so

    # Site detail.
    page.get_by_role("link", name="globex-portal").click()
    expect(page.get_by_role("heading", name=re.compile("globex-portal"))).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.get_by_text("http_status: 503")).to_be_visible()
    shot(page, "03-site")

    # The sections of later capabilities: software, findings, backups.
    page.goto(f"{server.base}/sites/{acme_shop}")
    findings = page.locator("#findings tbody tr")
    expect(findings).to_have_count(3)
    expect(findings.first).to_contain_text("vulnerability")
    expect(findings.first).to_contain_text("WF-2026-0142")
    expect(findings.first).to_contain_text("CVE-2026-31337")
    expect(findings.first).to_contain_text("fixed in 5.8.2")
    expect(findings.nth(1)).to_contain_text("security update")
    inventory = page.locator("#inventory")
    expect(inventory).to_contain_text("wordpress 6.7.1")
    expect(inventory).to_contain_text("8.2.26")
    expect(inventory).to_contain_text("MariaDB 10.11.6")
    expect(inventory.locator("tbody tr")).to_have_count(4)
    expect(inventory.locator("tr", has_text="Akismet")).to_contain_text("inactive")
    backups = page.locator("#backups")
    expect(backups).to_contain_text("latest restore drill")
    expect(backups.locator(".card-head")).to_contain_text("passed")
    expect(backups.locator("tbody tr")).to_have_count(7)
    expect(backups.locator("tbody tr").first).to_contain_text("verified")
    shot(page, "03b-site-software", docs="site-detail")

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
    expect(page.locator(".issue-updates .n")).to_have_text("1")  # her own shop only
    expect(page.get_by_role("link", name="Clients", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Add site")).to_have_count(0)
    shot(page, "06-client-phone", docs="client-portal-phone")
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
