"""Issue 5, point 7: the dashboard is accessible (labels, keyboard, contrast) and usable on
a phone. axe-core audits every page in Chromium against WCAG 2 A/AA (its script comes with
the axe-playwright-python test dependency, so nothing is downloaded); the keyboard alone
works the fleet; and at 390x844 no page scrolls sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.conftest import Live, World, log_in, shot

AXE_SCRIPT = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text("utf-8")
# WCAG 2.0, 2.1 and 2.2, levels A and AA (color-contrast is wcag2aa).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
KNOWN: set[tuple[str, str]] = set()  # (rule, element) to tolerate while a fix is pending
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on one page, with the elements that break it."""

    page: str
    rule: str
    impact: str
    help: str
    targets: list[str]
    summaries: list[str]

    def __str__(self) -> str:
        lines = [f"{self.page}: {self.rule} ({self.impact}) — {self.help}"]
        for target, summary in zip(self.targets, self.summaries, strict=True):
            lines.append(f"    {target}")
            lines.extend(f"        {line}" for line in summary.splitlines())
        return "\n".join(lines)


def audit(page: Page, name: str) -> list[Violation]:
    """axe-core's WCAG A/AA violations on the page as it is now."""
    page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    results: dict[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    return [
        Violation(
            page=name,
            rule=v["id"],
            impact=v["impact"] or "unknown",
            help=v["help"],
            targets=[" ".join(map(str, node["target"])) for node in v["nodes"]],
            summaries=[node.get("failureSummary") or "" for node in v["nodes"]],
        )
        for v in results["violations"]
    ]


def assert_clean(found: list[Violation]) -> None:
    blocking = [
        v
        for v in found
        if v.impact in BLOCKING and any((v.rule, t) not in KNOWN for t in v.targets)
    ]
    if blocking:
        report = "\n".join(map(str, blocking))
        pytest.fail(f"{len(blocking)} serious or critical axe violations:\n{report}", False)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(**PHONE)
    yield ctx
    ctx.close()


def visit(page: Page, url: str, heading: str | re.Pattern[str]) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


def test_the_login_page_passes_axe(context: BrowserContext, server: Live) -> None:
    page = context.new_page()
    visit(page, server.base + "/login", "Log in")
    found = audit(page, "login")
    page.get_by_label("E-mail address").fill("ada@agency.example")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    found += audit(page, "login, failed")
    assert_clean(found)


def test_every_staff_page_passes_axe(
    context: BrowserContext, server: Live, site_world: World
) -> None:
    page = context.new_page()
    log_in(page, server.base, "ada@agency.example")
    base, w = server.base, site_world
    found = audit(page, "fleet")
    # Every filter set, and the table htmx swapped in for it.
    page.get_by_label("Client", exact=True).select_option(label="Acme Corp")
    page.get_by_label("State", exact=True).select_option("down")
    page.get_by_label("Issue").select_option("vulns")
    page.get_by_label("Search").fill("shop")
    expect(page.locator("table.fleet tbody tr")).to_have_count(1)
    found += audit(page, "fleet, filtered")
    page.get_by_label("Search").fill("nothing like this")
    expect(page.locator("td.empty")).to_be_visible()
    found += audit(page, "fleet, no match")
    pages: list[tuple[str, str | re.Pattern[str], str]] = [
        (f"/sites/{w.acme_sites[0]}", re.compile("acme-shop"), "site detail"),
        ("/sites/new", "Add a site", "add a site"),
        (f"/sites/{w.acme_sites[0]}/edit", "Edit acme-shop", "edit a site"),
        ("/clients", "Clients", "clients"),
        (f"/clients/{w.acme}", "Acme Corp", "a client"),
        ("/plans", "Plans", "plans"),
        (f"/plans/{w.plan}", "Care", "a plan"),
        ("/contracts", "Contracts", "contracts"),
        (f"/contracts/{w.acme_contract}", re.compile("Contract #"), "a contract"),
        ("/business", "Business", "business"),
        ("/settings", "Settings", "settings"),
        ("/settings/workers", "Workers", "workers"),
        ("/users", "Users", "users"),
        ("/account", "Your account", "account"),
        ("/sites/999999", "Not found", "not found"),
    ]
    for path, heading, name in pages:
        visit(page, base + path, heading)
        found += audit(page, name)
    assert_clean(found)


def test_every_client_page_passes_axe(
    context: BrowserContext, server: Live, site_world: World
) -> None:
    page = context.new_page()
    log_in(page, server.base, "alice@acme.example")
    w = site_world
    found = audit(page, "client: fleet")
    pages: list[tuple[str, str | re.Pattern[str], str]] = [
        (f"/sites/{w.acme_sites[0]}", re.compile("acme-shop"), "client: site detail"),
        ("/contracts", "Contracts", "client: contracts"),
        (f"/contracts/{w.acme_contract}", re.compile("Contract #"), "client: a contract"),
        ("/account", "Your account", "client: account"),
    ]
    for path, heading, name in pages:
        visit(page, server.base + path, heading)
        found += audit(page, name)
    assert_clean(found)


def tab_to(page: Page, selector: str, most: int = 60) -> None:
    """Press Tab until the element matching selector has the focus (as a person would)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{most} presses of Tab never reached {selector}")


def luminance(rgb: str) -> float:
    """WCAG relative luminance of a computed CSS colour, "rgb(r, g, b)"."""
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


FOCUS_RING = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  let around = e.parentElement, background = 'rgb(255, 255, 255)';
  for (; around; around = around.parentElement) {
    const bg = getComputedStyle(around).backgroundColor;
    if (bg !== 'rgba(0, 0, 0, 0)') { background = bg; break; }
  }
  return {visible: e.matches(':focus-visible'), style: s.outlineStyle,
          width: parseFloat(s.outlineWidth), color: s.outlineColor, background};
}"""


def assert_focus_ring(page: Page) -> None:
    """The focused element shows app.css's :focus-visible outline, 3:1 against what is
    around it (WCAG 1.4.11)."""
    ring = page.evaluate(FOCUS_RING)
    assert ring["visible"], ring
    assert ring["style"] == "solid", ring
    assert ring["width"] >= 2, ring
    assert contrast(ring["color"], ring["background"]) >= 3, ring


def test_the_keyboard_alone_filters_the_fleet_and_opens_a_site(
    context: BrowserContext, server: Live, site_world: World
) -> None:
    page = context.new_page()
    log_in(page, server.base, "tom@agency.example")
    page.goto(server.base + "/")
    rows = page.locator("table.fleet tbody tr")
    expect(rows).to_have_count(4)
    # The skip link comes first and jumps past the menu, to the page's own first control.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Add site")).to_be_focused()
    # A filter, changed with the arrow keys: "Any state" → "Any problem" → "Compromised"
    # → "Down".
    tab_to(page, "#state")
    assert_focus_ring(page)
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(page.get_by_label("State", exact=True)).to_have_value("down")
    expect(rows).to_have_count(2)
    # On to the first site of the filtered table; a poll that swaps the table keeps the focus.
    first = rows.first.locator("td.site a")
    tab_to(page, "table.fleet tbody tr:first-child td.site a")
    assert_focus_ring(page)
    page.evaluate("() => { document.getElementById('fleet').dataset.stale = '1'; }")
    page.evaluate(
        "url => htmx.ajax('GET', url, {target: '#fleet', swap: 'outerHTML'})",
        "/fleet/rows?state=down",
    )
    expect(page.locator("#fleet[data-stale]")).to_have_count(0)
    expect(first).to_be_focused()
    name = first.inner_text()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(re.escape(name)), level=1)).to_be_visible()


# The page's widths, and what reaches past its right edge (for the failure message).
OVERFLOW = """() => {
  const root = document.scrollingElement, width = root.clientWidth;
  const out = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .slice(0, 6).map(e => e.outerHTML.slice(0, 100));
  return {scroll: root.scrollWidth, client: width, out};
}"""


def assert_no_sideways_scroll(page: Page, name: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["client"] + 1, f"{name} scrolls sideways: {found}"


def test_a_phone_gets_the_whole_dashboard_without_sideways_scrolling(
    phone: BrowserContext, server: Live, site_world: World
) -> None:
    page = phone.new_page()
    page.goto(server.base + "/login")
    assert_no_sideways_scroll(page, "login")
    shot(page, "07-phone-login")
    log_in(page, server.base, "ada@agency.example")
    assert_no_sideways_scroll(page, "fleet")
    # The whole menu is in sight (it wraps, there is nothing to open), with the account.
    menu = page.get_by_role("navigation", name="Main").get_by_role("link")
    expect(menu).to_have_count(8)
    for link in menu.all():
        expect(link).to_be_in_viewport()
    expect(page.get_by_role("link", name="ada@agency.example")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    # Each site is a card that fits the screen and keeps every column, labelled.
    rows = page.locator("table.fleet tbody tr")
    expect(rows).to_have_count(4)
    blog = page.locator("tr", has_text="acme-blog")
    expect(blog.locator("td[data-label='Backup']")).to_have_text("failed")
    expect(blog.locator("td[data-label='Certificate']")).to_have_text(re.compile(r"^\d+ d$"))
    widths = page.evaluate(
        """() => { const t = document.querySelector('table.fleet');
        return [t.scrollWidth, t.parentElement.clientWidth]; }"""
    )
    assert widths[0] <= widths[1], widths
    shot(page, "07-phone-fleet", docs="fleet-phone")
    found = audit(page, "phone: fleet")
    page.get_by_role("link", name="acme-blog").tap()
    expect(page.get_by_role("heading", name=re.compile("acme-blog"), level=1)).to_be_visible()
    assert_no_sideways_scroll(page, "site detail")
    shot(page, "08-phone-site")
    found += audit(page, "phone: site detail")
    page.get_by_role("link", name="Users", exact=True).tap()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    w = site_world
    for path in [
        "/clients",
        f"/clients/{w.acme}",
        "/plans",
        f"/plans/{w.plan}",
        "/contracts",
        f"/contracts/{w.acme_contract}",
        "/business",
        "/settings",
        "/users",
        "/account",
        "/sites/new",
    ]:
        page.goto(server.base + path)
        assert_no_sideways_scroll(page, path)
        found += audit(page, f"phone: {path}")
    assert_clean(found)
