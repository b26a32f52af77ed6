"""Bearer tokens for authenticated advisory sources (Wordfence Intelligence v2).

Loopback servers stand in for www.wordfence.com: one answers 401 unless the
right token comes, another is where a redirect leads and records whether the
token followed it. Hosts are told apart by address (127.0.0.1 vs 127.0.0.2).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.errors import FeedError
from sitekeeper.intel import importer
from sitekeeper.intel.fetch import FeedSettings, Fetcher, bearer_token
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import FeedState
from sitekeeper.store.tables import Event
from tests.intel.samples import sample
from tests.probes.conftest import Site, serve
from tests.store.factories import VAULT

TOKEN = "wf-s3cret-token-0123456789"
FEED = "/api/intelligence/v2/vulnerabilities/production"
WORDFENCE = sample("advisories/wordfence_v2_record_shape.json")


@dataclass
class Wordfence:
    """A stand-in for the feed's host: who sent which Authorization header."""

    token: str | None = TOKEN
    redirect_to: str | None = None
    seen: list[str | None] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        self.seen.append(auth)
        if self.redirect_to is not None:
            raise web.HTTPFound(self.redirect_to)
        if self.token is not None and auth != f"Bearer {self.token}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.Response(body=WORDFENCE, content_type="application/json")


@asynccontextmanager
async def wordfence(server: Wordfence, host: str = "127.0.0.1") -> AsyncIterator[Site]:
    app = web.Application()
    app.router.add_get("/{path:.*}", server.handle)
    async with serve(app, host=host) as site:
        yield site


def _fetcher(tokens: dict[str, str]) -> Fetcher:
    return Fetcher(FeedSettings(advisory_tokens=tokens))


async def test_the_wordfence_feed_is_read_with_its_hosts_token() -> None:
    vendor = Wordfence()
    async with wordfence(vendor) as site:
        async with _fetcher({"www.wordfence.com": TOKEN}) as fetcher:
            with pytest.raises(FeedError, match="HTTP 401, no token for this host") as caught:
                await importer.load_source(site.url(FEED), fetcher)
        assert TOKEN not in str(caught.value)
        async with _fetcher({"127.0.0.1": "wrong"}) as fetcher:
            with pytest.raises(FeedError, match="HTTP 401, token refused"):
                await importer.load_source(site.url(FEED), fetcher)
        async with _fetcher({"127.0.0.1": TOKEN}) as fetcher:
            found = await importer.load_source(site.url(FEED), fetcher)
    assert found and {a.source for a in found} == {"wordfence"}
    assert vendor.seen == [None, "Bearer wrong", f"Bearer {TOKEN}"]


async def test_the_token_does_not_follow_a_redirect_to_another_host() -> None:
    elsewhere = Wordfence(token=None)
    async with wordfence(elsewhere, host="127.0.0.2") as other:
        origin = Wordfence(redirect_to=other.url(FEED))
        async with wordfence(origin) as site, _fetcher({"127.0.0.1": TOKEN}) as fetcher:
            found = await importer.load_source(site.url(FEED), fetcher)
    assert found and {a.source for a in found} == {"wordfence"}
    assert origin.seen == [f"Bearer {TOKEN}"]
    assert elsewhere.seen == [None]


async def test_the_token_does_not_follow_a_redirect_to_another_port() -> None:
    # Same address, other server: aiohttp compares origins, so the token stays behind.
    elsewhere = Wordfence(token=None)
    async with wordfence(elsewhere) as other:
        origin = Wordfence(redirect_to=other.url(FEED))
        async with wordfence(origin) as site, _fetcher({"127.0.0.1": TOKEN}) as fetcher:
            await importer.load_source(site.url(FEED), fetcher)
    assert (origin.seen, elsewhere.seen) == ([f"Bearer {TOKEN}"], [None])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://www.wordfence.com{FEED}", TOKEN),
        (f"https://WWW.WordFence.com:443{FEED}", TOKEN),
        (f"http://www.wordfence.com{FEED}", None),  # never in clear text
        (f"https://wordfence.com{FEED}", None),
        (f"https://api.www.wordfence.com{FEED}", None),
        (f"https://www.wordfence.com.evil.example{FEED}", None),
        (f"https://www.wordfence.com@evil.example{FEED}", None),
        (f"https://evil.example/?host=www.wordfence.com{FEED}", None),
        ("http://127.0.0.1:8080/feed", "loop"),  # loopback: tests and local mirrors
        ("http://127.0.0.2:8080/feed", None),
    ],
)
def test_which_urls_get_a_token(url: str, expected: str | None) -> None:
    tokens = {"www.wordfence.com": TOKEN, "127.0.0.1": "loop"}
    assert bearer_token(url, tokens) == expected


def test_tokens_come_from_the_settings_and_stay_out_of_reprs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, advisory_tokens=f"www.wordfence.com={TOKEN}")
    feeds = FeedSettings.from_settings(settings)
    assert feeds.advisory_tokens == {"www.wordfence.com": TOKEN}
    assert TOKEN not in repr(feeds) and TOKEN not in str(feeds)


async def test_scheduled_refresh_sends_the_token_and_never_records_it(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vendor = Wordfence()
    caplog.set_level(logging.DEBUG)
    async with wordfence(vendor) as site:
        url = site.url(FEED)
        good = Settings(
            home=tmp_path / "home",
            advisory_sources=[url],
            advisory_tokens={"127.0.0.1": TOKEN},
            egress_allow=["loopback"],  # advisory sources are public-only by default
        )
        report = await IntelJobs(db, good, vault=VAULT).refresh_advisories()
        assert (report.errors, report.advisories > 0) == ([], True)
        vendor.token = "rotated-token-9876543210"  # ours is refused from now on
        report = await IntelJobs(db, good, vault=VAULT).refresh_advisories()
    assert len(report.errors) == 1 and "HTTP 401, token refused" in report.errors[0]
    assert vendor.seen == [f"Bearer {TOKEN}", f"Bearer {TOKEN}"]
    assert TOKEN not in " ".join(report.errors)
    assert TOKEN not in caplog.text
    with db.session() as session:
        states = session.scalars(select(FeedState)).all()
        events = session.scalars(select(Event)).all()
    assert [s.last_error for s in states if s.url == url] != [None]
    recorded = repr([(s.url, s.last_error) for s in states]) + repr([e.data for e in events])
    assert TOKEN not in recorded
