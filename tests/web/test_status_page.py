"""The public status page (/status/<token>): on, off and rotated from the dashboard and the
API, a bare 404 for any other token, the sites and their 90 days in Chromium, and nothing
internal on it — a test reads back every text, attribute and header the page has.

Acme's sites carry what must never show: software versions and findings (the seed's
inventory and advisory), an admin URL, an incident cause and a check detail with an IP
address; one site has a hostile name. Globex has its own page and sites: they must not
appear on Acme's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store import monitoring, sites, status_tokens
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Site, SiteState
from sitekeeper.web.ui.status_view import status_view
from tests.web.conftest import ADVISORY, Live, World, csrf_of, log_in, login, shot

HOSTILE = '<img src=x onerror="alert(1)">Shop & {client} </title><script>alert(2)</script>'
IP = "10.20.30.40"
ADMIN_URL = "https://acme-blog.example/wp-admin/admin.php?page=backup"
# What the page must never carry: addresses, software, findings, error texts, other clients.
SECRETS = [
    "acme-shop.example",
    "acme-blog.example",
    "wp-admin",
    "https://",
    "http://",
    IP,
    "127.0.0.1",
    "6.7.1",
    "8.2.26",
    "5.8.1",
    "5.8.2",
    "9.4.2",
    "MariaDB",
    "wordpress",
    "WordPress",
    "contact-form",
    "Contact Form",
    "woocommerce",
    "CVE-2026",
    ADVISORY,
    "SQL injection",
    "refused:",
    "Connection refused",
    "cannot connect",
    "ssh",
    "ops@acme.example",
    "Globex",
    "globex",
    "/sites/",
    "/clients",
    "/login",
    "/static/",
]


def _token(db: Database, client_id: int) -> str:
    with db.session() as s:
        client = s.get(Client, client_id)
        assert client is not None
        return status_tokens.turn_on(s, client)


def _leaky(db: Database, world: World) -> None:
    """Acme's blog down with an IP in its cause and detail, on an admin URL, with a version;
    a third Acme site with a hostile name, added ten days ago."""
    now = datetime.now(UTC)
    blog = world.acme_sites[1]
    with db.session() as s:
        site = s.get(Site, blog)
        assert site is not None and site.client is not None
        site.url, site.cms, site.cms_version = ADMIN_URL, "wordpress", "6.7.1"
        fields = sites.SiteFields(url="https://hostile.example/", name=HOSTILE, client=site.client)
        sites.add_site(s, fields, now - timedelta(days=10), default_interval=300)
    with db.engine.begin() as conn:
        monitoring.store_results(
            conn,
            [
                (
                    blog,
                    CheckResult(
                        url=ADMIN_URL,
                        up=False,
                        status=None,
                        error=ErrorCategory.REFUSED,
                        response_ms=None,
                        checked_at=now,
                        detail=f"connect to {IP}:443: Connection refused",
                        ip=IP,
                    ),
                )
            ],
        )
    with db.session() as s:
        cause = f"refused: cannot connect to {IP}:443"
        monitoring.open_incident(s, blog, IncidentKind.DOWN, cause, now - timedelta(minutes=20))
        state = s.get(SiteState, blog)
        assert state is not None and state.detail and IP in state.detail


@pytest.fixture
def leaky(db: Database, world: World) -> World:
    _leaky(db, world)
    return world


# --- turning it on, off, rotating -----------------------------------------------------------


def test_staff_turn_the_page_on_rotate_it_and_off_and_old_urls_404_at_once(
    live: Live, db: Database, world: World
) -> None:
    ada = login(live.base, "ada@agency.example")
    anonymous = httpx.Client(base_url=live.base, timeout=30)
    page = ada.get(f"/clients/{world.acme}")
    assert "Status page" in page.text and "is off" in page.text
    csrf = csrf_of(ada)

    def act(action: str) -> str | None:
        answer = ada.post(
            f"/clients/{world.acme}/status-page", data={"action": action, "csrf_token": csrf}
        )
        assert answer.status_code == 303, answer.text
        with db.session() as s:
            client = s.get(Client, world.acme)
            assert client is not None
            return client.status_token

    first = act("on")
    assert first is not None and len(first) >= 43
    assert act("on") == first  # on again keeps the URL
    shown = ada.get(f"/clients/{world.acme}").text
    assert f"http://127.0.0.1:8787/status/{first}" in shown  # no PUBLIC_URL: host and port
    assert anonymous.get(f"/status/{first}").status_code == 200

    second = act("rotate")
    assert second is not None and second != first
    assert anonymous.get(f"/status/{first}").status_code == 404  # though its page was cached
    assert anonymous.get(f"/status/{second}").status_code == 200

    assert act("off") is None
    assert anonymous.get(f"/status/{second}").status_code == 404
    assert "is off" in ada.get(f"/clients/{world.acme}").text


def test_the_api_reads_and_changes_the_page_for_staff_only(live: Live, world: World) -> None:
    api = httpx.Client(
        base_url=live.base, timeout=30, headers={"Authorization": f"Bearer {world.admin_token}"}
    )
    path = f"/api/clients/{world.acme}/status-page"
    assert api.get(path).json() == {"enabled": False, "url": None}
    on = api.put(path).json()
    assert on["enabled"] and on["url"].startswith("http://127.0.0.1:8787/status/")
    assert api.put(path).json() == on
    rotated = api.post(f"{path}/rotate").json()
    assert rotated["url"] != on["url"]

    def visit(url: str) -> int:
        return httpx.get(
            live.base + url.removeprefix("http://127.0.0.1:8787"), timeout=30
        ).status_code

    assert (visit(on["url"]), visit(rotated["url"])) == (404, 200)
    assert api.delete(path).status_code == 204
    assert visit(rotated["url"]) == 404

    alice = login(live.base, "alice@acme.example")  # Acme's own user: not hers to change
    assert alice.get(path).status_code == 404
    assert alice.put(path, headers={"X-CSRF-Token": csrf_of(alice)}).status_code == 404
    page = alice.get(f"/clients/{world.acme}")
    assert page.status_code != 200 or "status-page" not in page.text


def test_unknown_old_and_malformed_tokens_get_a_bare_404(
    live: Live, db: Database, world: World
) -> None:
    token = _token(db, world.acme)
    anonymous = httpx.Client(base_url=live.base, timeout=30)
    for wrong in (
        token[:-1],
        token + "x",
        token.upper() if token.upper() != token else token.lower(),
        "x" * 43,
        "x" * 500,
        "%00",
        "..%2f..%2fclients",
        "ä" * 20,
    ):
        answer = anonymous.get(f"/status/{wrong}")
        assert answer.status_code == 404, wrong
        assert answer.text == "Not found\n"  # nothing about why, no links into the dashboard
        assert answer.headers["x-robots-tag"].startswith("noindex")
        assert "set-cookie" not in answer.headers
    assert anonymous.get(f"/status/{token}").status_code == 200


def test_token_lookup_finds_only_whole_tokens(db: Database, world: World) -> None:
    acme, globex = _token(db, world.acme), _token(db, world.globex)
    assert acme != globex
    with db.session() as s:
        assert status_tokens.client_by_token(s, acme) == world.acme
        assert status_tokens.client_by_token(s, globex) == world.globex
        for wrong in ("", acme[:20], acme + acme, acme[1:], " " + acme, "é" * 43):
            assert status_tokens.client_by_token(s, wrong) is None
        client = s.get(Client, world.acme)
        assert client is not None
        status_tokens.turn_off(s, client)
        assert status_tokens.client_by_token(s, acme) is None


# --- what the page says, and what it never says ----------------------------------------------


def _check_headers(headers: httpx.Headers | dict[str, str]) -> None:
    h = {k.lower(): v for k, v in headers.items()}
    assert "set-cookie" not in h
    assert h["x-robots-tag"].startswith("noindex")
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-" not in csp
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
    for name, value in h.items():
        for secret in SECRETS:
            assert secret not in value, (name, value, secret)


def test_the_page_shows_state_and_90_days_and_escapes_names(
    live: Live, db: Database, leaky: World
) -> None:
    token = _token(db, leaky.acme)
    answer = httpx.get(f"{live.base}/status/{token}", timeout=30)
    assert answer.status_code == 200
    _check_headers(answer.headers)
    html = answer.text
    assert '<meta name="robots" content="noindex' in html
    assert "<script" not in html and "<img" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Shop &amp; {client}" in html
    assert html.count("<svg") == 3 and html.count("<rect") == 3 * 90
    # acme-shop: an HTTP 503 (a category with its status); acme-blog: refused, as a category
    assert "Error page (HTTP 503)" in html and "Connection failed" in html
    assert "Some websites are down." in html


def test_the_page_is_in_the_clients_language(live: Live, db: Database, leaky: World) -> None:
    with db.session() as s:
        client = s.get(Client, leaky.acme)
        assert client is not None
        client.language, client.timezone = "de", "Europe/Berlin"
    token = _token(db, leaky.acme)
    html = httpx.get(f"{live.base}/status/{token}", timeout=30).text
    assert '<html lang="de">' in html
    assert "Einige Websites sind nicht erreichbar." in html
    assert "Verfügbarkeit in den letzten 90 Tagen" in html
    assert re.search(r"\d+,\d\d\s%", html)  # German decimals


@pytest.mark.parametrize(("language", "lang"), [("pt-BR", "pt-BR"), ("xx", "en")])
def test_a_language_without_texts_is_english_in_its_own_formats(
    db: Database, world: World, language: str, lang: str
) -> None:
    with db.session() as s:
        client = s.get(Client, world.acme)
        assert client is not None
        client.language = language
        view = status_view(s, client, datetime.now(UTC))
    assert view.language == lang
    assert view.overall == "Some websites are down."


def test_the_page_is_rendered_once_per_ttl_and_then_afresh(
    db: Database, world: World, tmp_path: Path
) -> None:
    token = _token(db, world.acme)
    cached = Live(db, tmp_path / "cached", status_page_ttl=3600)
    fresh = Live(db, tmp_path / "fresh", status_page_ttl=0)
    try:
        url = f"/status/{token}"
        assert "acme-shop" in httpx.get(cached.base + url, timeout=30).text
        with db.session() as s:
            site = s.get(Site, world.acme_sites[0])
            assert site is not None
            site.name = "renamed-shop"
        assert "acme-shop" in httpx.get(cached.base + url, timeout=30).text  # from memory
        assert "renamed-shop" in httpx.get(fresh.base + url, timeout=30).text
    finally:
        cached.stop()
        fresh.stop()


# --- in Chromium: what a visitor sees, all of it ----------------------------------------------


@pytest.fixture
def browser_world(server: Live, sqlite_db: Database, site_world: World) -> str:
    _leaky(sqlite_db, site_world)
    _token(sqlite_db, site_world.globex)  # Globex has a page too: it must stay its own
    return f"{server.base}/status/{_token(sqlite_db, site_world.acme)}"


ENUMERATE = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode.textContent.trim();
    if (t) texts.push(t);
  }
  const attributes = [];
  for (const el of document.querySelectorAll('*'))
    for (const a of el.attributes) attributes.push([el.tagName.toLowerCase(), a.name, a.value]);
  return {texts, attributes, title: document.title, cookie: document.cookie};
}"""


def test_chromium_shows_the_sites_and_their_bars_and_nothing_internal(
    browser: Browser, browser_world: str, site_world: World
) -> None:
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    answer = page.goto(browser_world)
    assert answer is not None and answer.status == 200
    _check_headers(answer.all_headers())

    expect(page.get_by_role("heading", level=1)).to_have_text("Status of Acme Corp's websites")
    expect(page.get_by_role("status")).to_have_text("Some websites are down.")
    names = page.get_by_role("heading", level=2)
    expect(names).to_have_count(3)
    expect(names.nth(0)).to_have_text(HOSTILE)  # shown as text, not run
    expect(names.nth(1)).to_have_text("acme-blog")
    expect(names.nth(2)).to_have_text("acme-shop")
    bars = page.locator("svg.bars")
    expect(bars).to_have_count(3)
    for i in range(3):
        expect(bars.nth(i).locator("rect")).to_have_count(90)
    # The seeded year of history: acme-shop's 89 past days all have data; the new site's
    # days before it was added are grey.
    expect(bars.nth(2).locator("rect.none")).to_have_count(0)
    assert bars.nth(0).locator("rect.none").count() >= 79
    box = bars.nth(2).bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 20
    shot(page, "status-page")

    seen: dict[str, Any] = page.evaluate(ENUMERATE)
    assert seen["cookie"] == "" and context.cookies() == []
    text = "\n".join(seen["texts"])
    assert text.count("Down") == 2 and "No data yet" in text  # the new site: no checks yet
    for secret in SECRETS:
        assert secret not in text, secret
        assert secret not in seen["title"], secret
    for tag, name, value in seen["attributes"]:
        assert name not in ("href", "src", "action", "srcset", "formaction", "xlink:href"), (
            tag,
            name,
            value,
        )
        assert not name.startswith("on"), (tag, name)
        for secret in SECRETS:
            assert secret not in value, (tag, name, value, secret)
    # The page loads nothing: no script, style sheet, image or font from anywhere.
    assert [u for u in requests if u != browser_world and not u.endswith("/favicon.ico")] == []
    assert errors == []  # the CSP blocked nothing the page needs
    context.close()


# --- the same numbers as the dashboard, every state in its public word --------------------------


def test_daily_figures_are_the_site_pages(live: Live, db: Database, world: World) -> None:
    """Each of the last 30 days on the status page carries the site page's figure."""
    public = httpx.get(f"{live.base}/status/{_token(db, world.acme)}", timeout=30).text
    ada = login(live.base, "ada@agency.example")
    for site_id, name in zip(world.acme_sites, ("acme-shop", "acme-blog"), strict=True):
        dashboard = ada.get(f"/sites/{site_id}").text
        theirs = {
            day: value
            for day, value in re.findall(r"<title>(\d{4}-\d\d-\d\d): ([\d.]+) %", dashboard)
        }
        assert len(theirs) == 30, name
        card = public.split(f"<h2>{name}</h2>", 1)[1].split("</li>", 1)[0]
        ours = {
            datetime.strptime(day, "%b %d, %Y").date().isoformat(): value
            for day, value in re.findall(r"<title>(\w{3} \d{1,2}, \d{4}): ([\d.]+)\xa0%", card)
        }
        assert len(ours) == 90, name  # a year of history: every day has its figure
        assert {day: ours[day] for day in theirs} == theirs, name


def test_each_state_has_its_public_word(db: Database, world: World) -> None:

    now = datetime.now(UTC)
    with db.session() as s:
        portal, intranet = (s.get(Site, i) for i in world.globex_sites)
        assert portal is not None and intranet is not None
        intranet.paused = True
        state = s.get(SiteState, world.acme_sites[1])
        assert state is not None
        state.tls_expires = now + timedelta(days=3)  # acme-blog: up, its certificate expiring
    with db.session() as s:
        globex, acme = s.get(Client, world.globex), s.get(Client, world.acme)
        assert globex is not None and acme is not None
        theirs = status_view(s, globex, now)
        ours = status_view(s, acme, now)
    assert [(x.name, x.state, x.state_text) for x in theirs.sites] == [
        ("globex-intranet", "paused", "Monitoring paused"),
        ("globex-portal", "down", "Down"),
    ]
    blog = next(x for x in ours.sites if x.name == "acme-blog")
    assert (blog.state, blog.state_text, blog.note) == (
        "degraded",
        "Degraded",
        "Certificate problem",
    )
    assert "globex" not in repr(ours)


def test_staff_turn_it_on_in_the_dashboard_and_open_it(
    browser: Browser, server: Live, site_world: World
) -> None:
    page = browser.new_page()
    log_in(page, server.base, "tom@agency.example")
    page.goto(f"{server.base}/clients/{site_world.acme}")
    section = page.locator("#status-page")
    expect(section).to_contain_text("The public status page is off")
    section.get_by_role("button", name="Turn on").click()
    link = page.locator("#status-page a")
    expect(link).to_have_text(re.compile(r"^http://127\.0\.0\.1:8787/status/[\w-]{43}$"))
    shot(page, "status-page-controls")
    path = "/status/" + (link.text_content() or "").rsplit("/status/", 1)[1]
    public = browser.new_page()
    public.goto(server.base + path)
    expect(public.get_by_role("heading", level=1)).to_have_text("Status of Acme Corp's websites")

    page.locator("#status-page").get_by_role("button", name="New address").click()
    expect(page.locator("#status-page a")).not_to_have_text(re.compile(re.escape(path) + "$"))
    assert public.goto(server.base + path).status == 404  # type: ignore[union-attr]
    page.locator("#status-page").get_by_role("button", name="Turn off").click()
    expect(page.locator("#status-page")).to_contain_text("The public status page is off")
    public.close()
    page.close()
