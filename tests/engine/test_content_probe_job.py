"""The content probe as a job on a loopback site that gets hacked: the first run takes the
baselines and files nothing; spam links, a crawler-only page and a phone redirect then
open findings of kind ``seo`` with one alert per client; removing the hack resolves them;
``--accept`` takes a redesign as the new normal (journalled with who) and an
acknowledged finding stays quiet until its evidence changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.domain.seo import SEO, SeoEventKind
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.store import clients, contracts, finding_acks, page_baselines, plans, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Event, Notification
from tests.probes.conftest import serve
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROSE = " ".join(
    f"Our bakery in the old town bakes loaf number {n} each morning from local flour."
    for n in range(15)
)


@dataclass
class Shop:
    """A site whose home page the test hacks: extra markup for all, a page for crawlers,
    a redirect for phones."""

    extra: str = ""
    crawler: str | None = None
    phone_to: str | None = None
    body: str = PROSE
    sitemap: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        async def home(request: web.Request) -> web.StreamResponse:
            agent = request.headers.get("User-Agent", "")
            if self.phone_to and "iPhone" in agent:
                raise web.HTTPFound(self.phone_to)
            text = self.crawler if self.crawler and "Googlebot" in agent else self.body
            markup = f"<html><body><h1>Bakery</h1><p>{text}</p>{self.extra}</body></html>"
            return web.Response(text=markup, content_type="text/html")

        async def sitemap(request: web.Request) -> web.StreamResponse:
            base = f"http://{request.host}"
            urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in self.sitemap)
            xml = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            return web.Response(text=xml, content_type="application/xml")

        app = web.Application()
        app.router.add_get("/", home)
        app.router.add_get("/sitemap.xml", sitemap)
        return app


def _jobs(db: Database, tmp_path: Path) -> IntelJobs:
    settings = Settings(home=tmp_path / "home", alert_urls=["json://127.0.0.1:9/global"])
    return IntelJobs(db, settings, vault=VAULT, concurrency=2)


def _add(db: Database, url: str, words: list[str] | None = None) -> int:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Bäckerei", now=NOW)
        plan = plans.add_plan(session, name="Care", options={"forbidden_words": words or []})
        contract = contracts.add_contract(
            session, client_id=owner.id, plan_id=plan.id, start=NOW.date(), now=NOW
        )
        fields = sites.SiteFields(url=url, client=owner, contract=contract, name="shop")
        return sites.add_site(session, fields, NOW, default_interval=300).id


def _open(db: Database) -> dict[tuple[str, str], str]:
    with db.session() as session:
        rows = session.scalars(
            select(Finding).where(Finding.resolved_at.is_(None), Finding.kind == SEO)
        )
        return {(f.type, f.package): f.data["severity"] for f in rows}


async def test_a_hack_opens_findings_and_alerts_and_cleaning_it_resolves_them(
    db: Database, tmp_path: Path
) -> None:
    shop = Shop(sitemap=["/", "/about/"])
    async with serve(shop.app()) as running:
        site_id = _add(db, running.url("/"), words=["Competitor GmbH"])
        jobs = _jobs(db, tmp_path)
        report, changes = await jobs.probe_site_content(site_id)
        assert report.error is None and report.baselined and changes.opened == []

        shop.extra = (
            '<div style="position:absolute;left:-9999px"><a href="https://cheap-pills.test/">'
            "cheap viagra</a></div><p>Compare with Competitor GmbH.</p>"
        )
        shop.crawler = " ".join(["buy cheap viagra online pharmacy no prescription"] * 12)
        shop.phone_to = "https://casino-offers.test/"
        shop.sitemap.append("/cheap-cialis-online/")
        home = running.url("/")
        report, changes = await jobs.probe_site_content(site_id)
        assert report.error is None
        assert _open(db) == {
            ("hidden-link", "cheap-pills.test"): "high",
            ("forbidden-word", "competitor gmbh"): "medium",
            ("cloaking", f"{home} (crawler)"): "high",
            ("cloaking", f"{home} (phone)"): "high",
            ("spam-url", running.url("/cheap-cialis-online/")): "high",
        }
        with db.session() as session:
            [alert] = session.scalars(
                select(Event).where(Event.kind == str(SeoEventKind.SEO_ALERT))
            ).all()
            assert "cheap-pills.test" in alert.data["issues"]
            [note] = session.scalars(select(Notification)).all()
            assert note.title.startswith("SEO SPAM") and "[high]" in note.body

        # Seen again: nothing new, no second alert.
        _, again = await jobs.probe_site_content(site_id)
        assert again.opened == [] and again.resolved == []

        shop.extra, shop.crawler, shop.phone_to = "", None, None
        shop.sitemap.remove("/cheap-cialis-online/")
        _, cleaned = await jobs.probe_site_content(site_id)
        assert _open(db) == {}
        assert len(cleaned.resolved) == 5
        with db.session() as session:
            assert len(session.scalars(select(Notification)).all()) == 1


async def test_a_redesign_is_defacement_until_accepted_and_acks_hold_until_evidence_changes(
    db: Database, tmp_path: Path
) -> None:
    shop = Shop()
    async with serve(shop.app()) as running:
        site_id = _add(db, running.url("/"))
        jobs = _jobs(db, tmp_path)
        await jobs.probe_site_content(site_id)

        shop.body = " ".join(f"A completely new shop text, section {n} of many." for n in range(20))
        shop.extra = '<a href="https://partner.test/">our partner</a>'
        await jobs.probe_site_content(site_id)
        assert _open(db) == {
            ("defacement", running.url("/")): "high",
            ("spam-link", "partner.test"): "medium",
        }
        report, accepted = await jobs.probe_site_content(site_id, accept="anna")
        assert report.baselined == [running.url("/")]
        assert _open(db) == {} and len(accepted.resolved) == 2
        with db.session() as session:
            [event] = session.scalars(
                select(Event).where(Event.kind == str(SeoEventKind.BASELINE_ACCEPTED))
            ).all()
            assert event.data["by"] == "anna"

        # A new domain, acknowledged as ours: quiet while it is the same domain.
        shop.extra += '<a href="https://ours.test/">our other shop</a>'
        await jobs.probe_site_content(site_id)
        with db.session() as session:
            finding = session.scalars(select(Finding).where(Finding.package == "ours.test")).one()
            finding_acks.acknowledge(session, finding, "our second shop", "anna", NOW)
        _, quiet = await jobs.probe_site_content(site_id)
        assert quiet.opened == [] and _open(db) == {}


async def test_the_schedule_probes_each_site_once_per_interval_and_the_task_does_too(
    db: Database, tmp_path: Path
) -> None:
    from sitekeeper.engine.tasks import NoParams, TaskContext, handler_class
    from sitekeeper.store.dbthread import DbThread

    shop = Shop()
    async with serve(shop.app()) as running:
        site_id = _add(db, running.url("/"))
        jobs = _jobs(db, tmp_path)
        assert "content-probes" in {s.name for s in jobs.schedules()}
        assert await jobs.content_due() == 1
        assert await jobs.content_due() == 0  # a day has not passed
        with db.session() as session:
            assert len(page_baselines.stored(session, site_id).pages) == 1

        shop.extra = '<a hidden href="https://spam.test/">x</a>'
        handler = handler_class("probe-content")
        assert handler.needs_site
        context = TaskContext(
            settings=jobs.settings,
            dbthread=DbThread(db),
            vault=VAULT,
            checks=None,  # type: ignore[arg-type]  # not used by this task
            recorder=None,  # type: ignore[arg-type]
            intel_jobs=jobs,
        )
        done = await handler().run(context, site_id, NoParams())
    assert done.error is None
    assert done.result["issues"][0]["item"] == "spam.test"
    assert done.summary == "1 issue on 1 page · 1 opened, 0 resolved"
