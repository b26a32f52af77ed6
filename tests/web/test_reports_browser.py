"""The client page → Reports in Chromium, as staff use it: the archive list, a preview in
a new tab, generating (a queued task), downloading the PDF, resending to another address
through a real SMTP server on loopback; every state of the page passes axe (WCAG A/AA)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from sitekeeper.config import ENV_PREFIX
from sitekeeper.reports.period import previous_month
from sitekeeper.store.database import Database
from tests.reports.conftest import Mailbox, mailbox_in_thread
from tests.web.conftest import Live, World, log_in, shot
from tests.web.test_accessibility import assert_clean, audit
from tests.web.test_actions_api import Worker, api, finished

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def mail() -> Iterator[Mailbox]:
    with mailbox_in_thread() as box:
        yield box


@pytest.fixture
def worker(
    server: Live,
    sqlite_db: Database,
    tmp_path: Path,
    mail: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Worker]:
    """The service's task runner, as ``serve`` runs it, mailing through ``mail``."""
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port), "SMTP_SECURITY": "none"}
    for name, value in (smtp | {"SMTP_SENDER": "reports@agency.example"}).items():
        monkeypatch.setenv(ENV_PREFIX + name, value)
    running = Worker(sqlite_db, tmp_path / "home", server)
    yield running
    running.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


def _wait_for_task(url: str, server: Live, world: World) -> None:
    """Wait for the task the page says it queued (``?queued=<id>``), through the API."""
    queued = re.search(r"\?queued=(\d+)", url)
    assert queued is not None, url
    task = finished(api(server, world), f"/api/tasks/{queued.group(1)}")
    assert task["status"] == "ok", task


@pytest.mark.usefixtures("worker")
def test_reports_pages_in_chromium(
    context: BrowserContext, server: Live, site_world: World, mail: Mailbox, tmp_path: Path
) -> None:
    page = context.new_page()
    log_in(page, server.base, "ada@agency.example")
    period = previous_month(datetime.now(UTC), "UTC").label

    page.goto(f"{server.base}/clients/{site_world.acme}")
    page.get_by_role("link", name="Reports").first.click()
    expect(page.get_by_role("heading", name=re.compile("^Reports"), level=1)).to_be_visible()
    expect(page.get_by_text("No reports yet.")).to_be_visible()
    found = audit(page, "reports, empty")

    with context.expect_page() as opened:  # the preview opens in a new tab, stores nothing
        page.get_by_role("button", name="Preview").click()
    preview = opened.value
    preview.wait_for_load_state()
    expect(preview.get_by_role("heading", name="Maintenance report")).to_be_visible()
    preview.close()
    expect(page.get_by_text("No reports yet.")).to_be_visible()

    page.get_by_label("Month").fill(period)
    page.get_by_role("button", name="Generate and store").click()
    expect(page.get_by_role("status")).to_contain_text("Queued as task")
    found += audit(page, "reports, queued")
    _wait_for_task(page.url, server, site_world)
    page.goto(f"{server.base}/clients/{site_world.acme}/reports")
    row = page.get_by_role("row", name=re.compile(period))
    expect(row).to_contain_text("not sent")
    found += audit(page, "reports, archive")
    shot(page, "reports-archive")

    with page.expect_download() as downloading:
        row.get_by_role("link", name="PDF").click()
    saved = tmp_path / "report.pdf"
    downloading.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    row.get_by_label("Send to").fill("boss@acme.example")
    row.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("status")).to_contain_text("Queued as task")
    _wait_for_task(page.url, server, site_world)
    page.goto(f"{server.base}/clients/{site_world.acme}/reports")
    expect(page.get_by_role("row", name=re.compile(period))).to_contain_text("boss@acme.example")
    assert mail.envelopes == [("reports@agency.example", ["boss@acme.example"])]
    found += audit(page, "reports, sent")
    assert_clean(found)
