"""Configured key pages: the content probe looks at the home page and exactly those pages
(not the sitemap's), and a changed list baselines the new pages on the next run without
alerting, forgetting the dropped ones."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.store import clients, page_baselines, sites
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Notification
from tests.probes.conftest import serve
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAGES = ("/", "/shop", "/contact", "/about/", "/blog/")


def _app(seen: Counter[str]) -> web.Application:
    async def page(request: web.Request) -> web.StreamResponse:
        seen[request.path] += 1
        text = " ".join(f"The {request.path} page of our bakery, line {n}." for n in range(20))
        # An outbound link, in every page's baseline from its first sight: no finding.
        body = f'<html><body><p>{text}</p><a href="https://partner.test/">partner</a></body>'
        return web.Response(text=body + "</html>", content_type="text/html")

    async def sitemap(request: web.Request) -> web.StreamResponse:
        seen[request.path] += 1
        base = f"http://{request.host}"
        urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in PAGES)
        xml = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        return web.Response(text=xml, content_type="application/xml")

    app = web.Application()
    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_get("/sitemap.xml", sitemap)
    return app


def _jobs(db: Database, tmp_path: Path) -> IntelJobs:
    settings = Settings(home=tmp_path / "home", alert_urls=["json://127.0.0.1:9/global"])
    return IntelJobs(db, settings, vault=VAULT, concurrency=2)


def _add(db: Database, url: str, key_pages: list[str]) -> int:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Bäckerei", now=NOW)
        fields = sites.SiteFields(url=url, client=owner, name="shop", key_pages=key_pages)
        return sites.add_site(session, fields, NOW, default_interval=300).id


def _set_key_pages(db: Database, site_id: int, key_pages: list[str]) -> None:
    with db.session() as session:
        site = sites.get_site(session, str(site_id))
        change = sites.SiteFields(key_pages=key_pages)
        sites.update_site(session, site, change, NOW, default_interval=300)


def _baselined(db: Database, site_id: int) -> set[str]:
    with db.session() as session:
        return set(page_baselines.stored(session, site_id).pages)


async def test_the_probe_looks_at_exactly_the_configured_pages(
    db: Database, tmp_path: Path
) -> None:
    seen: Counter[str] = Counter()
    async with serve(_app(seen)) as running:
        site_id = _add(db, running.url("/"), ["/shop", running.url("/contact")])
        report, changes = await _jobs(db, tmp_path).probe_site_content(site_id)
    urls = [running.url(p) for p in ("/", "/shop", "/contact")]
    assert report.error is None and report.pages == urls
    assert sorted(report.baselined) == sorted(urls) and changes.opened == []
    # The visitor, the crawler and the phone each read those pages, and no other page.
    assert {p for p in seen if p != "/sitemap.xml"} == {"/", "/shop", "/contact"}
    assert seen["/shop"] == 3 and seen["/contact"] == 3
    assert _baselined(db, site_id) == set(urls)


async def test_a_changed_list_baselines_the_new_pages_without_alerting(
    db: Database, tmp_path: Path
) -> None:
    seen: Counter[str] = Counter()
    async with serve(_app(seen)) as running:
        site_id = _add(db, running.url("/"), ["/shop", "/contact"])
        jobs = _jobs(db, tmp_path)
        await jobs.probe_site_content(site_id)

        _set_key_pages(db, site_id, ["/shop", "/blog/"])
        contact = seen["/contact"]
        report, changes = await jobs.probe_site_content(site_id)
        assert report.baselined == [running.url("/blog/")]
        assert changes.opened == [] and report.issues == []
        assert seen["/contact"] == contact  # dropped: not read again
        assert _baselined(db, site_id) == {running.url(p) for p in ("/", "/shop", "/blog/")}

        # Added back later, a dropped page is baselined afresh, not compared with old data.
        _set_key_pages(db, site_id, ["/shop", "/blog/", "/contact"])
        report, changes = await jobs.probe_site_content(site_id)
        assert report.baselined == [running.url("/contact")] and changes.opened == []
    with db.session() as session:
        assert session.scalars(select(Notification)).all() == []
