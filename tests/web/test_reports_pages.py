"""The dashboard's reports and work log: staff set a client's report recipients, log and
remove work on the client page, generate, preview and resend reports on its Reports page;
a client user reads its own archive in the portal and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sitekeeper.reports.period import previous_month
from sitekeeper.store.database import Database
from sitekeeper.store.report_tables import ClientReport
from tests.reports.conftest import Mailbox, mailbox_in_thread
from tests.web.conftest import Live, World, csrf_of, login
from tests.web.test_actions_api import api, finished
from tests.web.test_reports_api import mailing_worker

__all__ = ["mailing_worker"]


@pytest.fixture
def mail() -> Iterator[Mailbox]:
    with mailbox_in_thread() as box:
        yield box


def _stored(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ClientReport)) or 0


def test_recipients_and_the_work_log_on_the_client_page(live: Live, world: World) -> None:
    ada = login(live.base, "ada@agency.example")
    csrf = csrf_of(ada)
    saved = ada.post(
        f"/clients/{world.acme}",
        data={
            "csrf_token": csrf,
            "name": "Acme Corp",
            "report_recipients": "ceo@acme.example\r\nit@acme.example",
        },
    )
    assert saved.status_code == 303, saved.text[:500]
    shown = ada.get(f"/clients/{world.acme}").text
    assert "ceo@acme.example\nit@acme.example" in shown
    bad = ada.post(
        f"/clients/{world.acme}",
        data={"csrf_token": csrf, "name": "Acme Corp", "report_recipients": "nobody"},
    )
    assert bad.status_code == 400 and "invalid e-mail address" in bad.text

    logged = ada.post(
        f"/clients/{world.acme}/work",
        data={
            "csrf_token": csrf,
            "site": str(world.acme_sites[0]),
            "minutes": "45",
            "note": "Contact form fixed",
        },
    )
    assert logged.status_code == 303 and logged.headers["location"].endswith("#work")
    whole = ada.post(
        f"/clients/{world.acme}/work",
        data={"csrf_token": csrf, "site": "", "minutes": "15", "note": "Call with Acme"},
    )
    assert whole.status_code == 303
    page = ada.get(f"/clients/{world.acme}").text
    assert "Contact form fixed" in page and "Call with Acme" in page and "60 min this month" in page
    # A report's work entry links to the client page showing the entry's month.
    earlier = previous_month(datetime.now(UTC), "UTC")
    back = ada.post(
        f"/clients/{world.acme}/work",
        data={
            "csrf_token": csrf,
            "site": "",
            "minutes": "20",
            "note": "DNS move of last month",
            "date": earlier.first.replace(day=15).isoformat(),
        },
    )
    assert back.status_code == 303
    assert "DNS move of last month" not in ada.get(f"/clients/{world.acme}").text
    then = ada.get(f"/clients/{world.acme}", params={"work": earlier.label}).text
    assert "DNS move of last month" in then and "Contact form fixed" not in then
    assert f"20 min in {earlier.label}" in then
    assert "Call with Acme" in ada.get(f"/clients/{world.acme}", params={"work": "2026-13"}).text
    refused = ada.post(
        f"/clients/{world.acme}/work",
        data={"csrf_token": csrf, "site": str(world.globex_sites[0]), "minutes": "5", "note": "x"},
    )
    assert refused.status_code == 400 and "choose one of the client" in refused.text
    no_minutes = ada.post(
        f"/clients/{world.acme}/work", data={"csrf_token": csrf, "minutes": "lots", "note": "x"}
    )
    assert no_minutes.status_code == 400 and "whole number" in no_minutes.text
    entry = re.search(rf'action="/clients/{world.acme}/work/(\d+)/delete"', page)
    assert entry is not None
    wrong_client = ada.post(
        f"/clients/{world.globex}/work/{entry.group(1)}/delete", data={"csrf_token": csrf}
    )
    assert wrong_client.status_code == 404
    removed = ada.post(
        f"/clients/{world.acme}/work/{entry.group(1)}/delete", data={"csrf_token": csrf}
    )
    assert removed.status_code == 303
    assert ada.get(f"/clients/{world.acme}").text.count('/delete"') == 2  # one entry + client

    alice = login(live.base, "alice@acme.example")
    headers = {"X-CSRF-Token": csrf_of(alice)}
    sneaky = alice.post(
        f"/clients/{world.acme}/work", data={"minutes": "5", "note": "x"}, headers=headers
    )
    assert sneaky.status_code == 404


def _task(live: Live, world: World, redirect: httpx.Response) -> dict[str, Any]:
    """The task a page's 303 (``?queued=<id>``) queued, once the worker has run it."""
    assert redirect.status_code == 303, redirect.text[:500]
    queued = re.search(r"\?queued=(\d+)$", redirect.headers["location"])
    assert queued is not None, redirect.headers["location"]
    return finished(api(live, world), f"/api/tasks/{queued.group(1)}")


@pytest.mark.usefixtures("mailing_worker")
def test_generate_preview_resend_and_the_client_portal(
    live: Live, world: World, db: Database, mail: Mailbox
) -> None:
    ada = login(live.base, "ada@agency.example")
    csrf = csrf_of(ada)
    period = previous_month(datetime.now(UTC), "UTC").label
    empty = ada.get(f"/clients/{world.acme}/reports")
    assert empty.status_code == 200 and "No reports yet." in empty.text
    assert "nobody yet" in empty.text  # no recipients set

    preview = ada.get(f"/clients/{world.acme}/reports/preview", params={"period": period})
    assert preview.status_code == 200 and "Acme Corp" in preview.text
    assert preview.headers["content-security-policy"].startswith("sandbox")
    assert _stored(db) == 0  # a preview stores nothing
    wrong = ada.get(
        f"/clients/{world.acme}/reports/preview",
        params={"period": period, "contract": str(world.globex_contract)},
    )
    assert wrong.status_code == 422

    queued = ada.post(f"/clients/{world.acme}/reports", data={"csrf_token": csrf, "period": period})
    assert queued.status_code == 303 and "?queued=" in queued.headers["location"]
    assert "Queued as task" in ada.get(queued.headers["location"]).text
    made = _task(live, world, queued)
    assert made["status"] == "ok" and made["result"]["new"] is True, made
    archive_page = ada.get(f"/clients/{world.acme}/reports").text
    report = made["result"]["report_id"]
    assert period in archive_page and f"/api/reports/{report}/pdf" in archive_page
    assert "not sent" in archive_page

    resend = ada.post(
        f"/clients/{world.acme}/reports/{report}/resend",
        data={"csrf_token": csrf, "to": "boss@acme.example"},
    )
    sent = _task(live, world, resend)
    assert sent["status"] == "ok" and mail.envelopes == [
        ("reports@agency.example", ["boss@acme.example"])
    ]
    assert "boss@acme.example" in ada.get(f"/clients/{world.acme}/reports").text
    again = ada.post(
        f"/clients/{world.acme}/reports/{report}/regenerate", data={"csrf_token": csrf}
    )
    redone = _task(live, world, again)
    assert redone["result"]["new"] is True and _stored(db) == 1

    # The client's portal: its own archive, downloads, no staff controls; nobody else's.
    alice = login(live.base, "alice@acme.example")
    home = alice.get("/").text
    assert f'href="/clients/{world.acme}/reports"' in home
    mine = alice.get(f"/clients/{world.acme}/reports")
    assert mine.status_code == 200 and period in mine.text
    assert f"/api/reports/{report}/pdf" in mine.text
    assert "/resend" not in mine.text and "Generate and store" not in mine.text
    assert "ada@" not in mine.text  # who sent it is the agency's business
    assert alice.get(f"/api/reports/{report}/pdf").content.startswith(b"%PDF")
    assert alice.get(f"/clients/{world.globex}/reports").status_code == 404
    preview_params = {"period": period}
    own_preview = alice.get(f"/clients/{world.acme}/reports/preview", params=preview_params)
    assert own_preview.status_code == 404
    gus = login(live.base, "gus@globex.example")
    assert gus.get(f"/clients/{world.acme}/reports").status_code == 404
    assert "Acme" not in gus.get(f"/clients/{world.globex}/reports").text
