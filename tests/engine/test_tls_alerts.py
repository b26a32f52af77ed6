"""Certificate alerts through `serve`: expiring within the plan's warning days, and invalid.

Real HTTPS on loopback with certificates from a test CA (trustme), the plan's
warning days from the contract, alerts delivered to a real webhook receiver.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from sqlalchemy import select

from sitekeeper.config import load_settings
from sitekeeper.engine.service import Service
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Contract, Incident, Job, Plan, Site
from sitekeeper.vault import Vault


async def _start(app: web.Application, context: ssl.SSLContext | None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@pytest.fixture
async def hook() -> AsyncIterator[tuple[str, asyncio.Queue[dict[str, Any]]]]:
    alerts: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await alerts.put(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner, port = await _start(app, None)
    yield f"json://127.0.0.1:{port}/hook", alerts
    await runner.cleanup()


async def _https_site(cert: trustme.LeafCert) -> tuple[web.AppRunner, str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="<title>shop</title>")

    app = web.Application()
    app.router.add_get("/", page)
    runner, port = await _start(app, context)
    return runner, f"https://127.0.0.1:{port}/"


def _register(db: Database, home: Path, url: str, ca_file: Path, hook_url: str) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        client = Client(
            name="c", alert_urls=[Vault.from_home(home).encrypt(hook_url)], created_at=now
        )
        plan = Plan(name="Pro", check_interval=60, tls_warn_days=14, created_at=now)
        contract = Contract(client=client, plan=plan, start=date(2026, 1, 1), created_at=now)
        site = Site(
            name="shop",
            url=url,
            client=client,
            contract=contract,
            check_options={"ca_bundle": str(ca_file)},
            created_at=now,
        )
        s.add(site)
        s.flush()
        s.add(Job(kind="check", site_id=site.id, interval=3600, next_run_at=time.time()))


async def _first_alert(
    db: Database, home: Path, alerts: asyncio.Queue[dict[str, Any]]
) -> dict[str, Any]:
    service = Service(
        # The alert hook listens on loopback, which alerts may not reach by default.
        load_settings(home=home, confirm_delay=0, egress_allow=["loopback"]),
        db,
        delivery_interval=0.1,
        software_intel=False,
        backups=False,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        return await asyncio.wait_for(alerts.get(), timeout=20)
    finally:
        stop.set()
        await task


def _incident_kinds(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(Incident.kind).where(Incident.closed_at.is_(None))))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_certificate_expiring_within_the_plans_warning_days(
    db: Database, tmp_path: Path, ca: trustme.CA, hook: tuple[str, asyncio.Queue[dict[str, Any]]]
) -> None:
    now = datetime.now(UTC)
    cert = ca.issue_cert(
        "127.0.0.1", not_before=now - timedelta(days=80), not_after=now + timedelta(days=5)
    )
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    runner, url = await _https_site(cert)
    try:
        _register(db, tmp_path, url, ca_file, hook[0])
        alert = await _first_alert(db, tmp_path, hook[1])
    finally:
        await runner.cleanup()
    assert "shop" in alert["title"]
    assert "4 days" in alert["message"] or "5 days" in alert["message"]
    assert _incident_kinds(db) == ["tls_expiring"]  # the site itself is up


async def test_expired_certificate_is_down_with_a_certificate_alert(
    db: Database, tmp_path: Path, ca: trustme.CA, hook: tuple[str, asyncio.Queue[dict[str, Any]]]
) -> None:
    now = datetime.now(UTC)
    cert = ca.issue_cert(
        "127.0.0.1", not_before=now - timedelta(days=90), not_after=now - timedelta(days=1)
    )
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    runner, url = await _https_site(cert)
    try:
        _register(db, tmp_path, url, ca_file, hook[0])
        alert = await _first_alert(db, tmp_path, hook[1])
    finally:
        await runner.cleanup()
    assert "certificate" in (alert["title"] + alert["message"]).lower()
    assert "expired" in alert["message"]
    assert _incident_kinds(db) == ["down"]
