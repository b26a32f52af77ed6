"""In Debian's Chromium: a hacked site leads the fleet with its own badge, tile and filter;
its page's Security panel lists the web shell, a technician acknowledges it as a false
positive with a reason and undoes that; every step passes axe (WCAG A/AA)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Browser, expect

from sitekeeper.store import findings
from sitekeeper.store.database import Database
from tests.store.factories import hack_spec
from tests.web.conftest import Live, World, log_in, shot
from tests.web.test_accessibility import assert_clean, audit

SHELL = "wp-content/uploads/2026/11/<img src=x onerror=alert(1)>.php"


def test_a_hacked_site_in_the_fleet_and_its_security_panel(
    browser: Browser, server: Live, site_world: World, sqlite_db: Database
) -> None:
    shop = site_world.acme_sites[0]
    with sqlite_db.session() as session:
        specs = [hack_spec(shop, "malware", SHELL, "critical", title="Web shell in uploads")]
        findings.reconcile(session, specs, datetime.now(UTC), site_ids=[shop], kinds=["malware"])
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, server.base, "tom@agency.example")
    rows = page.locator("table.fleet tbody tr")
    expect(rows.first).to_contain_text("acme-shop")
    expect(rows.first.locator(".pill-compromised")).to_have_text("⚠ Compromised")
    expect(page.locator(".tile-compromised .n")).to_have_text("1")
    expect(page.get_by_role("status")).to_contain_text("1 compromised")
    found = audit(page, "fleet with a compromised site")
    page.get_by_label("State", exact=True).select_option("compromised")
    expect(rows).to_have_count(1)
    shot(page, "fleet-compromised")

    rows.first.get_by_role("link", name="1 sign of a hack").click()
    expect(page).to_have_url(re.compile(rf"/sites/{shop}#security$"))
    panel = page.locator("#security")
    shell = panel.locator("tr", has_text="Web shell in uploads")
    expect(shell).to_contain_text(SHELL)  # shown as text, never run
    expect(shell).to_contain_text("sign of a hack")
    shell.locator("summary", has_text="Acknowledge").click()
    found += audit(page, "site security panel, acknowledge open")
    shell.get_by_label("Why is this not a problem?").fill("our scanner's test sample")
    shell.get_by_role("button", name="Acknowledge").click()

    acked = page.locator("table.acknowledged")
    expect(acked).to_contain_text("our scanner's test sample")
    expect(acked).to_contain_text("tom@agency.example")
    expect(page.get_by_role("heading", level=1).locator(".pill")).not_to_have_text(
        re.compile("Compromised")
    )
    expect(panel.locator("tr", has_text="Web shell in uploads")).to_have_count(1)  # the ack row
    expect(page.locator("#journal")).to_contain_text("Malware acknowledged as not a problem")
    found += audit(page, "site security panel, acknowledged")
    shot(page, "site-security-acknowledged")

    acked.get_by_role("button", name=re.compile("Undo")).click()
    expect(page.locator("table.acknowledged")).to_have_count(0)
    expect(page.get_by_role("heading", level=1).locator(".pill")).to_have_text("⚠ Compromised")
    expect(page.locator("#journal")).to_contain_text("Malware: acknowledgement undone")
    assert dialogs == []  # the hostile file name never ran
    assert_clean(found)
