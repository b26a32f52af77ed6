"""Response times per check location on the site page and in the API's daily history
(issue 13 §3): one series per location, named in words, where a site was checked from
more than one; the single-location charts and figures stay as they were."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import insert

from sitekeeper.domain.checks import CheckResult
from sitekeeper.store.database import Database
from sitekeeper.store.location_tables import CheckDailyByLocation
from sitekeeper.store.monitoring import store_raw
from tests.web.conftest import Live, World, log_in, login, shot, today
from tests.web.test_accessibility import assert_clean, audit
from tests.web.test_pages_and_api import api


def _from_us_east(db: Database, site_id: int) -> None:
    """A day of us-east's checks (slower: farther away) and five rolled-up days of both
    locations, as a second location's worker and the roll-up leave them."""
    now = datetime.now(UTC)
    results = [
        (
            site_id,
            CheckResult(
                url="https://acme-blog.example/",
                up=True,
                status=200,
                error=None,
                response_ms=400 + minutes % 7,
                checked_at=now - timedelta(minutes=minutes, seconds=5),
            ),
        )
        for minutes in range(0, 24 * 60, 10)
    ]
    rows = [
        {
            "site_id": site_id,
            "day": today() - timedelta(days=back),
            "location": location,
            "checks": 1440,
            "up_checks": 1440,
            "avg_ms": ms,
            "p50_ms": ms,
            "p95_ms": ms * 2,
            "p99_ms": ms * 3,
            "max_ms": ms * 4,
        }
        for back in range(1, 6)
        for location, ms in (("", 150), ("us-east", 410))
    ]
    with db.engine.begin() as conn:
        store_raw(conn, results, "us-east")
        conn.execute(insert(CheckDailyByLocation), rows)


def _card(page: lxml.html.HtmlElement, heading: str) -> lxml.html.HtmlElement:
    [card] = page.xpath(f'//section[h2[normalize-space()="{heading}"]]')
    return card


def _legend(card: lxml.html.HtmlElement) -> list[str]:
    """The legend's entries: each location's name, then its median."""
    return [
        li.text_content().strip() for li in card.xpath('.//ul[@class="legend series-legend"]/li')
    ]


def test_the_site_page_draws_one_response_line_per_location_named_in_words(
    live: Live, world: World, db: Database
) -> None:
    multi, single = world.acme_sites[1], world.acme_sites[0]
    _from_us_east(db, multi)
    browser = login(live.base, "ada@agency.example")
    page = lxml.html.fromstring(browser.get(f"/sites/{multi}").text)
    for heading in ("Last 24 hours", "Last 30 days"):
        card = _card(page, heading)
        assert [entry.split(" · ")[0] for entry in _legend(card)] == ["default", "us-east"]
        [chart] = card.xpath('.//svg[contains(@class, "lines")]')
        assert chart.get("aria-label").endswith("one line per location: default, us-east")
        lines = chart.xpath(".//polyline")
        assert [(line.get("class"), line.findtext("title")) for line in lines] == [
            ("stroke s0", "default"),
            ("stroke s1", "us-east"),  # a style of its own: another colour and a dash
        ]
        assert "per check location" in card.text_content()
    # Each bucket tells every location's figure by name (hover, screen readers).
    hours = _card(page, "Last 24 hours").xpath('.//svg[contains(@class, "lines")]/rect/title')
    assert any("default" in t.text and "us-east 40" in t.text for t in hours)
    days = _card(page, "Last 30 days").xpath('.//svg[contains(@class, "lines")]/rect/title')
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert f"{yesterday}: default 150 ms, us-east 410 ms" in [t.text for t in days]
    assert _legend(_card(page, "Last 30 days"))[1] == "us-east · median 410 ms"

    # A site checked from one place keeps its one line, without a legend.
    other = lxml.html.fromstring(browser.get(f"/sites/{single}").text)
    for heading in ("Last 24 hours", "Last 30 days"):
        card = _card(other, heading)
        assert _legend(card) == [] and not card.xpath('.//svg[contains(@class, "lines")]')
        assert len(card.xpath('.//svg[contains(@class, "line")]//polyline')) == 1


def test_the_daily_history_gives_each_locations_figures(
    live: Live, world: World, db: Database
) -> None:
    multi, single = world.acme_sites[1], world.acme_sites[0]
    _from_us_east(db, multi)
    client = api(live, world)
    days = client.get(f"/api/sites/{multi}/uptime", params={"days": 7}).json()
    yesterday = days[-2]
    assert yesterday["checks"] == 1440  # the site's own day, as before
    assert [(f["location"], f["p50_ms"], f["uptime_pct"]) for f in yesterday["locations"]] == [
        ("default", 150, 100.0),
        ("us-east", 410, 100.0),
    ]
    assert set(yesterday["locations"][0]) == {
        "location", "checks", "uptime_pct", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"
    }  # fmt: skip
    # Today is not rolled up: both locations from the raw results.
    assert {f["location"] for f in days[-1]["locations"]} == {"default", "us-east"}
    # Days before us-east checked it: the default location's alone (the site's rows).
    assert [f["location"] for f in days[0]["locations"]] == ["default"]
    alone = client.get(f"/api/sites/{single}/uptime", params={"days": 7}).json()
    assert all(day["locations"] == [] for day in alone)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_chart_per_location_passes_axe_and_reads_its_names(
    browser: Browser, live: Live, world: World, db: Database
) -> None:
    _from_us_east(db, world.acme_sites[1])
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    try:
        page = context.new_page()
        log_in(page, live.base, "ada@agency.example")
        page.goto(f"{live.base}/sites/{world.acme_sites[1]}")
        charts = page.get_by_role("img", name=re.compile("one line per location: default, us-east"))
        expect(charts).to_have_count(2)
        legends = page.locator("ul.series-legend")
        expect(legends.first).to_have_text(
            re.compile(r"default · median \d+ ms\s*us-east · median 40\d ms")
        )
        expect(legends.first).to_be_visible()
        shot(page, "site-locations")
        assert_clean(audit(page, "site checked from two locations"))
    finally:
        context.close()
