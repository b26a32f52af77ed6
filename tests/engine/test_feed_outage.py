"""Offline or with a failing vendor: packages of polled sources say "feed not reachable
since …" and open no finding, the error of each feed is said once, and ``feeds poll``'s exit
status tells a script whether anything could be read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select
from typer.testing import CliRunner

from sitekeeper.cli.context import AppContext
from sitekeeper.cli.main import app
from sitekeeper.config import settings as process_settings
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.store import findings, inventories
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import FeedState, Finding
from sitekeeper.store.tables import Site
from tests.engine.test_intel_jobs import AKISMET, VERSION_CHECK, _fleet, _jobs, _serve_wordpress
from tests.intel.feedserver import FeedServer, feed_server
from tests.intel.threaded import serve_in_thread

STABLE_CHECK_PATH = "/wp/core/stable-check/1.0/"


async def test_offline_every_polled_package_is_feed_not_reachable_and_no_finding(
    db: Database, tmp_path: Path
) -> None:
    _fleet(db)
    async with feed_server() as server:  # every vendor feed down
        server.failing = {VERSION_CHECK: 503, STABLE_CHECK_PATH: 503, AKISMET: 503}
        report = await _jobs(db, tmp_path, server).poll_feeds()
    assert report.all_failed and (report.polled, report.failed) == (2, 2)
    assert len(report.errors) == 2  # one line per feed, not per site or per package
    with db.session() as session:
        kinds = {(f.package, f.kind) for f in session.scalars(select(Finding))}
        rows = findings.update_rows(session)
    # only the premium plugin (a source we never poll) is an unknown source
    assert kinds == {("premium", "unknown-source")}
    unreachable = [(r.site, r.package, r.status) for r in rows if r.status != "unknown source"]
    assert unreachable == [
        ("new", "akismet", "feed not reachable"),
        ("new", "wordpress", "feed not reachable"),
        ("old", "akismet", "feed not reachable"),
        ("old", "wordpress", "feed not reachable"),
    ]
    note = next(r.note for r in rows if r.package == "akismet")
    assert note is not None and note.startswith("feed not reachable since 20")
    assert "HTTP 503" in note
    assert all("not in the catalogue" not in (r.note or "") for r in rows)


async def test_a_feed_read_before_keeps_its_data_and_recovers(db: Database, tmp_path: Path) -> None:
    _fleet(db)
    async with feed_server() as server:
        _serve_wordpress(server)
        jobs = _jobs(db, tmp_path, server)
        await jobs.poll_feeds()
        server.failing[AKISMET] = 500
        jobs.feeds = jobs.feeds.model_copy(update={"backoff_first": 0.001})
        partial = await jobs.poll_feeds()
        with db.session() as session:
            during = {(r.site, r.package): r for r in findings.update_rows(session)}
        del server.failing[AKISMET]
        healed = await jobs.poll_feeds()
    assert (partial.polled, partial.failed, partial.all_failed) == (2, 1, False)
    # akismet was read before: its update stays, from the last data read
    assert (during["old", "akismet"].status, during["old", "akismet"].latest) == ("update", "5.3.5")
    assert healed.failed == 0
    with db.session() as session:
        rows = findings.update_rows(session)
    assert {r.status for r in rows} == {"update", "unknown source"}


def test_feeds_poll_prints_each_error_once_and_exits_by_outcome(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    _a_wordpress_site_with_akismet(runner)
    vendor = FeedServer()
    _serve_wordpress(vendor)
    app_of_vendor = web.Application()
    app_of_vendor.router.add_route("*", "/{tail:.*}", vendor.handle)
    with serve_in_thread(app_of_vendor) as base:
        monkeypatch.setenv("SITEKEEPER_WORDPRESS_API_URL", base + "wp")
        monkeypatch.setenv("SITEKEEPER_EGRESS_ALLOW", "127.0.0.0/8")  # the loopback vendor
        process_settings.cache_clear()
        vendor.failing = {VERSION_CHECK: 503, STABLE_CHECK_PATH: 503, AKISMET: 503}
        offline = runner.invoke(app, ["feeds", "poll"])
        vendor.failing = {AKISMET: 503}
        _forget_backoff()
        partial = runner.invoke(app, ["feeds", "poll"])
        vendor.failing = {}
        _forget_backoff()
        ok = runner.invoke(app, ["feeds", "poll", "--json"])
    assert offline.exit_code == 1, offline.output
    assert offline.stderr.count("HTTP 503") == 2  # two feeds failed: each said once
    assert partial.exit_code == 3, partial.output
    assert partial.stderr.count("HTTP 503") == 1
    assert ok.exit_code == 0, ok.output
    assert ok.stderr == ""


def _a_wordpress_site_with_akismet(runner: CliRunner) -> None:
    """A site whose stored inventory runs WordPress core and akismet (no SSH needed)."""
    assert runner.invoke(app, ["client", "add", "Acme"]).exit_code == 0
    added = runner.invoke(app, ["site", "add", "https://old.example", "--client", "Acme"])
    assert added.exit_code == 0, added.output
    with AppContext().session() as session:
        site = session.scalars(select(Site)).one()
        inventory = Inventory(
            cms="wordpress", version="6.1.8", collected_at=datetime(2026, 3, 1, tzinfo=UTC),
            extensions=[
                Extension(
                    type="plugin", slug="akismet", name="Akismet", version="5.3.4",
                    update_source="wordpress.org",
                )
            ],
        )  # fmt: skip
        inventories.store_inventory(session, site, inventory)


def _forget_backoff() -> None:
    """A failed feed waits before its next try; the test does not want to wait."""
    with AppContext().session() as session:
        for row in session.scalars(select(FeedState)):
            row.next_attempt_at = 0.0


async def test_serve_logs_a_failing_poll_once_until_it_changes_and_keeps_each_feeds_state(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sitekeeper")
    _fleet(db)
    async with feed_server() as server:
        _serve_wordpress(server)
        jobs = _jobs(db, tmp_path, server, backoff_first=0.001)
        await jobs.poll_feeds_logged()
        with db.session() as session:
            state = session.get(FeedState, server.url(AKISMET))
            assert state is not None
            read_at = state.fetched_at
        server.failing[AKISMET] = 500
        caplog.clear()
        for _ in range(3):
            _forget_backoff_of(db)
            await jobs.poll_feeds_logged()
        warned = [r for r in caplog.records if "release feeds" in r.getMessage()]
        del server.failing[AKISMET]
        _forget_backoff_of(db)
        caplog.clear()
        await jobs.poll_feeds_logged()
        healed = [r.getMessage() for r in caplog.records if "release feeds" in r.getMessage()]
    assert len(warned) == 1  # three failing polls, one warning
    assert "1 of 2 packages could not be read" in warned[0].getMessage()
    assert healed == ["release feeds: every feed read again"]
    with db.session() as session:
        state = session.get(FeedState, server.url(AKISMET))
        assert state is not None and state.last_error is None and state.fetched_at != read_at


def _forget_backoff_of(db: Database) -> None:
    with db.session() as session:
        for row in session.scalars(select(FeedState)):
            row.next_attempt_at = 0.0
