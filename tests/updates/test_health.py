"""The update health check against the real site wp5, broken the ways bad updates break
sites: each break is seen, with a check that says what was seen."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sitekeeper.cms.wordpress.health import HEALTH
from sitekeeper.domain.updates import Check, HealthReport
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import connect
from sitekeeper.store.database import Database
from sitekeeper.updates.health import SLOW_RETRY_PAUSES, Baseline, Inside, check_after, check_before
from sitekeeper.updates.health_fetch import PageFetcher
from sitekeeper.updates.health_opcache import reset_web_opcache
from tests.realsites import private_key, ssh_access
from tests.updates import breakage
from tests.updates.sites import update_sites_up, wp5

__all__ = ["update_sites_up", "wp5"]

TITLE = "Realsites WordPress wp5 – Real WordPress test site wp5 (realsites)"


@pytest.fixture
async def fetcher() -> AsyncIterator[PageFetcher]:
    async with PageFetcher() as made:
        yield made


@pytest.fixture
async def inside(wp5: dict[str, Any], sqlite_db: Database) -> AsyncIterator[Inside]:
    conn = await connect(ssh_access(wp5), StoreHostKeyPins(sqlite_db), private_key=private_key(wp5))
    async with conn:
        yield Inside(conn, wp5["docroot"])


@pytest.fixture
async def baseline(wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside) -> Baseline:
    """wp5 healthy, as preflight sees it before an update."""
    report, taken = await check_before(
        fetcher, wp5["url"], HEALTH, keyword="Real WordPress test site", inside=inside
    )
    assert report.ok, report.failed
    assert taken is not None
    assert taken.home.title == TITLE
    assert taken.home.status == 200
    assert taken.login.status == 200
    assert "Log In" in taken.login.title
    return taken


async def after(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> HealthReport:
    """The check after a (bad) update: the web server's opcode cache reset first, as the
    update run does, so PHP-FPM runs what is on disk."""
    reset = await reset_web_opcache(inside.conn, wp5["docroot"], wp5["url"], fetcher)
    assert reset.ok, reset.detail
    return await check_after(fetcher, baseline, HEALTH, inside=inside)


def failed(report: HealthReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.failed}


def named(report: HealthReport, name: str) -> Check:
    return next(c for c in report.checks if c.name == name)


async def test_a_healthy_site_passes_against_its_baseline(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    report = await after(wp5, fetcher, inside, baseline)
    assert report.ok, failed(report)
    names = {c.name for c in report.checks}
    assert {"home.status", "home.title", "home.keyword", "home.fatal", "home.time"} <= names
    assert {"login.status", "login.maintenance", "database", "inside.maintenance"} <= names
    assert named(report, "home.title").detail == f"title {TITLE!r}"


async def test_a_plugin_that_fatals_on_load(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    breakage.activate(wp5, breakage.plugin(wp5, "sk-fatal", breakage.FATAL_ON_LOAD))
    report = await after(wp5, fetcher, inside, baseline)
    seen = failed(report)
    assert seen["home.status"] == "answered 500 (before: 200)"
    assert seen["login.status"] == "answered 500 (before: 200)"
    critical = "page says 'There has been a critical error on this website' (status 500)"
    assert seen["home.fatal"] == critical
    assert seen["login.fatal"] == critical
    assert "home.keyword" in seen


async def test_a_plugin_that_breaks_only_the_front_page(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    breakage.activate(wp5, breakage.plugin(wp5, "sk-front", breakage.FATAL_FRONT_PAGE))
    report = await after(wp5, fetcher, inside, baseline)
    seen = failed(report)
    assert seen["home.status"] == "answered 500 (before: 200)"
    assert "critical error" in seen["home.fatal"]
    assert not any(name.startswith("login.") for name in seen), seen


async def test_a_plugin_that_empties_the_front_page_with_200(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    breakage.activate(wp5, breakage.plugin(wp5, "sk-empty", breakage.EMPTY_FRONT_PAGE))
    report = await after(wp5, fetcher, inside, baseline)
    seen = failed(report)
    assert named(report, "home.status").ok  # a status-only rule would call this healthy
    assert seen["home.content"] == f"empty page (before: {baseline.home.size} bytes)"
    assert seen["home.title"] == f"title '', before {TITLE!r}"
    assert seen["home.keyword"] == "keyword 'Real WordPress test site' not found"


async def test_a_maintenance_file_left_behind(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    breakage.leave_maintenance(wp5)
    report = await after(wp5, fetcher, inside, baseline)
    seen = failed(report)
    assert seen["inside.maintenance"] == "maintenance flag left: .maintenance"
    maintenance = "page says 'Briefly unavailable for scheduled maintenance' (status 503)"
    assert seen["home.maintenance"] == maintenance
    assert seen["login.maintenance"] == maintenance
    assert seen["home.status"] == "answered 503 (before: 200)"


async def test_a_page_cache_does_not_hide_a_fatal(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    cached = breakage.stale_page_cache(wp5)
    breakage.activate(wp5, breakage.plugin(wp5, "sk-fatal", breakage.FATAL_ON_LOAD))
    await reset_web_opcache(inside.conn, wp5["docroot"], wp5["url"], fetcher)
    # A probe that does not bypass the cache sees yesterday's healthy page...
    status, body = breakage.naive_get(wp5["url"])
    assert (status, body) == (200, cached)
    assert TITLE.encode() in body.replace(b"&#8211;", "–".encode())
    # ...and the site is in fact down: the health check sees through the cache.
    report = await after(wp5, fetcher, inside, baseline)
    seen = failed(report)
    assert seen["home.status"] == "answered 500 (before: 200)"
    assert "critical error" in seen["home.fatal"]


async def test_a_pending_database_update(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    """Files of a newer core with the database not yet upgraded: wp-admin sends everyone
    to upgrade.php, while the front page still works."""
    breakage.root_sql(wp5, "UPDATE wp_options SET option_value='1' WHERE option_name='db_version'")
    report = await after(wp5, fetcher, inside, baseline)
    seen = failed(report)
    assert seen["database"].startswith("database update required: /wp-admin/ answered 302")
    assert "wp-admin/upgrade.php" in seen["database"]
    assert set(seen) == {"database"}


async def test_a_site_broken_before_the_update_is_not_healthy(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside
) -> None:
    """Preflight refuses a site already broken: the rollback would have no good state."""
    breakage.activate(wp5, breakage.plugin(wp5, "sk-fatal", breakage.FATAL_ON_LOAD))
    await reset_web_opcache(inside.conn, wp5["docroot"], wp5["url"], fetcher)
    report, taken = await check_before(fetcher, wp5["url"], HEALTH, inside=inside)
    assert not report.ok
    assert failed(report)["home.status"] == "answered 500"
    assert taken is not None and taken.home.status == 500


async def test_a_plugin_that_slows_the_front_page_down(
    wp5: dict[str, Any], fetcher: PageFetcher, inside: Inside, baseline: Baseline
) -> None:
    """Three times the usual time is the limit (the uptime checks' median when known);
    the sleep is well past it whatever this machine's speed."""
    usual_ms = 40
    known = dataclasses.replace(baseline, usual_ms=usual_ms)
    pause = max(2.0, 4 * baseline.home.seconds)
    slow = f"add_action('template_redirect', function () {{ usleep({int(pause * 1e6)}); }});\n"
    breakage.activate(wp5, breakage.plugin(wp5, "sk-slow", slow))
    report = await after(wp5, fetcher, inside, known)
    seen = failed(report)
    assert set(seen) == {"home.time"}, seen
    assert (
        f"(usual {usual_ms} ms from the uptime checks' recent median, limit 500 ms)"
        in (seen["home.time"])
    )
    # asked again after pauses: a slow first load or a busy moment is forgiven, this is not
    assert seen["home.time"].count(" ms") >= 1 + len(SLOW_RETRY_PAUSES)
    assert "; other tries " in seen["home.time"]
