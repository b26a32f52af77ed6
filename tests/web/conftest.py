"""Web fixtures: the real app served by uvicorn on loopback, and named personas.

The agency (admin Ada, technician Tom) looks after two clients, Acme and
Globex; each client has a portal user (Alice at Acme, Gus at Globex), a plan,
a contract and sites in different states, so a leak between them shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Connection, insert

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.config import Settings
from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType
from sitekeeper.domain.checks import CheckResult, ErrorCategory, TlsInfo
from sitekeeper.domain.findings import UPDATE, VULNERABILITY, FindingSpec
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.store import (
    advisories,
    backups,
    clients,
    contracts,
    findings,
    inventories,
    monitoring,
    plans,
    sites,
    users,
)
from sitekeeper.store.database import Database
from sitekeeper.store.tables import CheckDaily, Site
from sitekeeper.web.app import create_app
from sitekeeper.web.server import serve_web
from tests.services import REQUIRE

PASSWORD = "correct horse battery"
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    """Ids of the personas' objects, for building URLs."""

    admin: int = 0
    tech: int = 0
    acme: int = 0
    globex: int = 0
    plan: int = 0
    acme_contract: int = 0
    globex_contract: int = 0
    acme_sites: list[int] = field(default_factory=list)
    globex_sites: list[int] = field(default_factory=list)
    admin_token_id: int = 0
    admin_token: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed(db: Database, now: datetime | None = None) -> World:
    """The agency, its two clients, users and sites (one down, one with a certificate expiring)."""
    now = now or datetime.now(UTC)
    vault_key = Fernet.generate_key()
    from sitekeeper.vault import Vault

    vault = Vault(vault_key)
    w = World()
    with db.session() as s:
        acme = clients.add_client(s, vault, name="Acme Corp", email="ops@acme.example", now=now)
        globex = clients.add_client(s, vault, name="Globex Inc", now=now)
        plan = plans.add_plan(
            s,
            name="Care",
            check_interval=60,
            price=Decimal(49),
            options={"backup": "daily", "restore_drill": "monthly"},
            now=now,
        )
        start = now.date() - timedelta(days=200)
        c1 = contracts.add_contract(s, client_id=acme.id, plan_id=plan.id, start=start, now=now)
        c2 = contracts.add_contract(
            s,
            client_id=globex.id,
            plan_id=plan.id,
            start=start,
            end=now.date() + timedelta(days=30),
            now=now,
        )
        w.acme, w.globex, w.plan = acme.id, globex.id, plan.id
        w.acme_contract, w.globex_contract = c1.id, c2.id
        for owner, deal, names, ids in (
            (acme, c1, ["acme-shop", "acme-blog"], w.acme_sites),
            (globex, c2, ["globex-portal", "globex-intranet"], w.globex_sites),
        ):
            for name in names:
                fields = sites.SiteFields(
                    url=f"https://{name}.example/",
                    name=name,
                    client=owner,
                    contract=deal,
                    tags=["wordpress"],
                )
                added = now - timedelta(days=400)  # a year of history to chart
                ids.append(sites.add_site(s, fields, added, default_interval=300).id)
        admin = users.add_user(
            s, email="ada@agency.example", role="admin", password=PASSWORD, now=now
        )
        tech = users.add_user(
            s,
            email="tom@agency.example",
            role="technician",
            password=PASSWORD,
            now=now,
        )
        users.add_user(
            s,
            email="alice@acme.example",
            role="client",
            password=PASSWORD,
            client_id=acme.id,
            now=now,
        )
        users.add_user(
            s,
            email="gus@globex.example",
            role="client",
            password=PASSWORD,
            client_id=globex.id,
            now=now,
        )
        w.admin, w.tech = admin.id, tech.id
        w.admin_token, token = users.create_token(s, admin, "tests", now)
        w.admin_token_id = token.id
    _observe(db, w, now)
    _software(db, w, now)
    _backups(db, w, now)
    return w


ADVISORY = "WF-2026-0142"


def _software(db: Database, w: World, now: datetime) -> None:
    """Inventories of the first site of each client; Acme's shop has a vulnerable plugin and
    a security update, Globex's portal an ordinary update."""
    acme_shop, acme_blog = w.acme_sites
    globex_portal = w.globex_sites[0]
    with db.session() as s:
        advisories.upsert(
            s,
            [
                Advisory(
                    id=ADVISORY,
                    aliases=("CVE-2026-31337",),
                    summary="Contact Form Pro <= 5.8.1: unauthenticated SQL injection",
                    severity="high",
                    cvss_score=8.6,
                    cvss_vector=None,
                    published=now - timedelta(days=3),
                    modified=None,
                    affected=(
                        AffectedPackage(
                            WORDPRESS,
                            "contact-form-pro",
                            PackageType.PLUGIN,
                            AffectedRanges(
                                WORDPRESS, (VersionRange(introduced="0", fixed="5.8.2"),)
                            ),
                        ),
                    ),
                    source="wordfence",
                )
            ],
            now,
        )
        for site_id, plugins in (
            (acme_shop, [("contact-form-pro", "Contact Form Pro", "5.8.1", True)]),
            (globex_portal, [("globex-sso", "Globex SSO", "2.0.0", True)]),
        ):
            extensions = [
                Extension(
                    type="plugin",
                    slug=slug,
                    name=name,
                    version=version,
                    active=active,
                    update_source="wordpress.org",
                )
                for slug, name, version, active in [
                    *plugins,
                    ("woocommerce", "WooCommerce", "9.4.2", True),
                    ("akismet", "Akismet Anti-spam", "5.3.5", False),
                ]
            ]
            extensions.append(
                Extension(
                    type="theme",
                    slug="storefront",
                    name="Storefront",
                    version="4.6.0",
                    update_source="wordpress.org",
                )
            )
            inventory = Inventory(
                cms="wordpress",
                version="6.7.1",
                php="8.2.26",
                database="MariaDB 10.11.6",
                extensions=extensions,
                collected_at=now - timedelta(hours=2),
            )
            site = s.get(Site, site_id)
            assert site is not None
            inventories.store_inventory(s, site, inventory)
        wp = str(WORDPRESS)
        specs = [
            FindingSpec(
                acme_shop, VULNERABILITY, wp, "plugin", "contact-form-pro", "5.8.1", "inventory",
                advisory_id=ADVISORY, aliases=("CVE-2026-31337",), severity="high",
                fixed_in="5.8.2",
            ),
            FindingSpec(
                acme_shop, UPDATE, wp, "plugin", "contact-form-pro", "5.8.1", "inventory",
                latest="5.8.2", security=True, advisory_ids=(ADVISORY,),
            ),
            FindingSpec(
                acme_shop, UPDATE, wp, "plugin", "woocommerce", "9.4.2", "inventory",
                latest="9.5.0",
            ),
            FindingSpec(
                globex_portal, UPDATE, wp, "plugin", "woocommerce", "9.4.2", "inventory",
                latest="9.5.0",
            ),
        ]  # fmt: skip
        findings.reconcile(s, specs, now, site_ids=[acme_shop, acme_blog, globex_portal])


def _backups(db: Database, w: World, now: datetime) -> None:
    """A week of nightly backups for three sites (one drill), the last one of Acme's blog
    failed; Globex's intranet has none at all."""
    acme_shop, acme_blog = w.acme_sites
    with db.session() as s:
        for site_id in (acme_shop, acme_blog, w.globex_sites[0]):
            site = s.get(Site, site_id)
            assert site is not None
            for back in range(7, 0, -1):
                started = now - timedelta(days=back - 1, hours=3)
                run = backups.start_run(s, site, None, "scheduled", started)
                if site_id == acme_blog and back == 1:
                    backups.fail_run(s, run.id, "ssh: connection refused", started)
                    continue
                figures = backups.RunFigures(
                    snapshot_id=hashlib.sha256(f"{site_id}-{back}".encode()).hexdigest(),
                    files=18_000 + 40 * back,
                    files_new=12 if back < 7 else 18_000,
                    files_changed=30,
                    bytes_total=1_900_000_000,
                    bytes_added=(2_400_000 + 150_000 * back) if back < 7 else 1_200_000_000,
                    bytes_transferred=2_000_000,
                    database_bytes=48_000_000,
                    duration=31.5 + back,
                )
                backups.finish_run(s, run.id, figures, started + timedelta(seconds=33))
            if site_id == acme_shop:
                latest = backups.runs_of(s, site_id, 1)[0]
                assert latest.snapshot_id is not None
                backups.mark_verified(
                    s,
                    site,
                    latest.snapshot_id,
                    ok=True,
                    detail="restored to a scratch site; home page answered 200 with the site title",
                    figures={},
                    now=now - timedelta(hours=1),
                )


def _observe(db: Database, w: World, now: datetime) -> None:
    """Check results: one site of each client down (an open incident), the rest up."""

    def result(up: bool, ms: int, days: int, at: datetime) -> CheckResult:
        return CheckResult(
            url="https://x.example/",
            up=up,
            status=200 if up else 503,
            error=None if up else ErrorCategory.HTTP_STATUS,
            response_ms=ms,
            checked_at=at,
            tls=TlsInfo(valid=True, expires=now + timedelta(days=days), days_left=days),
        )

    down = {w.acme_sites[0], w.globex_sites[0]}
    with db.engine.begin() as conn:
        for minutes in range(0, 24 * 60, 10):
            at = now - timedelta(minutes=minutes)
            monitoring.store_results(
                conn,
                [
                    (sid, result(sid not in down or minutes > 90, 180 + (minutes * 7) % 90, 60, at))
                    for sid in (*w.acme_sites, *w.globex_sites)
                ],
            )
        monitoring.store_results(
            conn,
            [
                (sid, result(sid not in down, 150, 5 if sid == w.acme_sites[1] else 60, now))
                for sid in (*w.acme_sites, *w.globex_sites)
            ],
        )
        _history(conn, [*w.acme_sites, *w.globex_sites], now.date())
    with db.session() as s:
        for sid in down:
            monitoring.open_incident(
                s, sid, IncidentKind.DOWN, "http_status: 503", now - timedelta(minutes=90)
            )


def _history(conn: Connection, site_ids: list[int], today: date) -> None:
    """A year of daily roll-ups (as the rollup job leaves them), mostly good, some bad days."""
    rows = []
    for sid in site_ids:
        rng = random.Random(sid)
        for back in range(1, 400):
            bad = rng.random()
            up = 1440 if bad > 0.1 else (1436 if bad > 0.03 else 1300)
            p50 = 160 + rng.randint(0, 80)
            rows.append(
                {
                    "site_id": sid,
                    "day": today - timedelta(days=back),
                    "checks": 1440,
                    "up_checks": up,
                    "avg_ms": p50 + 20,
                    "p50_ms": p50,
                    "p95_ms": p50 * 2,
                    "p99_ms": p50 * 3,
                    "max_ms": p50 * 5,
                }
            )
    conn.execute(insert(CheckDaily), rows)


class Live:
    """A running server: its base URL, and a way to stop it."""

    def __init__(self, db: Database, home: Path, **settings_: Any) -> None:
        """``settings_``: Settings fields beyond the home and database (e.g. egress_allow)."""
        settings = Settings(home=home, database_url=db.url, **settings_)
        self.app = create_app(db, settings)
        self.base = f"http://127.0.0.1:{_free_port()}"
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        ready = threading.Event()
        self._error: BaseException | None = None
        port = int(self.base.rsplit(":", 1)[1])

        async def main() -> None:
            self._stop = asyncio.Event()
            started = asyncio.Event()
            waiter = asyncio.ensure_future(started.wait())
            waiter.add_done_callback(lambda _: ready.set())
            try:
                await serve_web(self.app, "127.0.0.1", port, self._stop, ready=started)
            except BaseException as exc:
                self._error = exc
                ready.set()
                raise

        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(main(),))
        self._thread.start()
        ready.wait(30)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Ask the server to stop and wait for it (again: nothing)."""
        if self._loop.is_closed():
            return
        stop = self._stop
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(30)
        self._loop.close()


@pytest.fixture
def world(db: Database) -> World:
    """The personas, on SQLite and PostgreSQL."""
    return seed(db)


@pytest.fixture
def live(db: Database, world: World, tmp_path: Path) -> Iterator[Live]:
    """The dashboard served on loopback over the seeded database."""
    server = Live(db, tmp_path / "home")
    yield server
    server.stop()


def login(base: str, email: str, password: str = PASSWORD) -> httpx.Client:
    """An HTTP client logged in through the real login form (cookies kept)."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    form = client.get("/login")
    token = _CSRF_INPUT.search(form.text)
    assert token, form.text
    answer = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, read from a page as a browser would."""
    found = _CSRF_INPUT.search(client.get("/account").text)
    assert found
    return found.group(1)


def today() -> date:
    """UTC today."""
    return datetime.now(UTC).date()


# The browser tests drive Debian's Chromium (no browser download); screenshots go to
# test-artifacts/, and a few also refresh docs/screenshots/ (the project's pictures).
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = "needs Debian's chromium (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site_world(sqlite_db: Database) -> World:
    return seed(sqlite_db)


@pytest.fixture
def server(sqlite_db: Database, site_world: World, tmp_path: Path) -> Iterator[Live]:
    live = Live(sqlite_db, tmp_path / "home")
    yield live
    live.stop()


def shot(page: Page, name: str, docs: str | None = None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if docs is not None:
        page.screenshot(path=str(DOCS / f"{docs}.png"), full_page=True)


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Fleet")).to_be_visible()
