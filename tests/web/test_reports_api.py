"""/api/reports through the served app: staff generate (as a task), read, download and
resend a client's archived report through a real SMTP server on loopback; a client user
and a client's API token see their own client's reports only, and change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sitekeeper.config import Settings
from sitekeeper.engine.service import Service
from sitekeeper.engine.tasks import execute, handler_kinds
from sitekeeper.reports.period import previous_month
from sitekeeper.store import tasks as queue
from sitekeeper.store import users
from sitekeeper.store.database import Database
from sitekeeper.store.web_tables import User
from tests.reports.conftest import Mailbox, mailbox_in_thread
from tests.web.conftest import Live, World, csrf_of, login

WORKER = "api-test-worker"


@pytest.fixture
def mail() -> Iterator[Mailbox]:
    with mailbox_in_thread() as box:
        yield box


def run_tasks(db: Database, home: Path, box: Mailbox) -> list[dict[str, Any]]:
    """Run what the API queued, as serve's task runner would; each task's outcome."""

    async def drain() -> list[dict[str, Any]]:
        settings = Settings(
            home=home,
            database_url=db.url,
            worker_name=WORKER,
            smtp_host="127.0.0.1",
            smtp_port=box.port,
            smtp_security="none",
            smtp_sender="reports@agency.example",
        )
        service = Service(settings, db, software_intel=False, backups=False)
        outcomes = []
        try:
            now = datetime.now(UTC)
            claimed = await service.dbthread.call(queue.claim, WORKER, now, 10, handler_kinds())
            for task in claimed:
                done = await execute(service.tasks.ctx, task)
                if done.error is None:
                    await service.dbthread.call(queue.finish, task.id, WORKER, done.stored(), now)
                else:
                    await service.dbthread.call(queue.fail, task.id, WORKER, done.error, now)
                outcomes.append({"error": done.error, **done.stored()})
        finally:
            await service.probe.aclose()
            service.dbthread.close()
        return outcomes

    return asyncio.run(drain())


def _token(db: Database, email: str) -> str:
    with db.session() as s:
        user = s.query(User).filter_by(email=email).one()
        token, _ = users.create_token(s, user, "reports", datetime.now(UTC))
    return token


def test_generate_read_download_and_resend(
    live: Live, world: World, db: Database, tmp_path: Path, mail: Mailbox
) -> None:
    ada = httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}, timeout=60
    )
    told = ada.patch(f"/api/clients/{world.acme}", json={"report_recipients": ["ops@acme.example"]})
    assert told.status_code == 200, told.text
    assert told.json()["report_recipients"] == ["ops@acme.example"]
    period = previous_month(datetime.now(UTC), "UTC").label
    queued = ada.post(
        "/api/reports", json={"client_id": world.acme, "period": period, "send": True}
    )
    assert queued.status_code == 202, queued.text
    assert queued.headers["location"].startswith("/api/tasks/")
    [made] = run_tasks(db, tmp_path / "worker", mail)
    assert made["error"] is None and made["new"] is True, made
    assert made["accepted"] == ["ops@acme.example"] and len(mail.messages) == 1

    [listed] = ada.get("/api/reports", params={"client_id": world.acme}).json()
    assert (listed["client"], listed["period"], listed["scope"]) == ("Acme Corp", period, "client")
    [sent] = listed["sends"]
    assert (sent["recipients"], sent["by"], sent["error"]) == (
        ["ops@acme.example"],
        "ada@agency.example",
        None,
    )
    report = listed["id"]
    pdf = ada.get(f"/api/reports/{report}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert f"report-acme-corp-{period}.pdf" in pdf.headers["content-disposition"]
    attached = mail.messages[0].get_payload()[1].get_content()  # type: ignore[index]
    assert attached == pdf.content
    html = ada.get(f"/api/reports/{report}/html")
    assert html.status_code == 200 and "Acme Corp" in html.text
    assert html.headers["content-security-policy"].startswith("sandbox")
    figures = ada.get(f"/api/reports/{report}/json").json()
    assert figures["client"]["name"] == "Acme Corp" and figures["summary_text"]

    again = ada.post(f"/api/reports/{report}/resend", json={"to": ["boss@acme.example"]})
    assert again.status_code == 202
    [resent] = run_tasks(db, tmp_path / "worker", mail)
    assert resent["error"] is None and mail.envelopes[-1][1] == ["boss@acme.example"]
    assert mail.messages[-1].get_payload()[1].get_content() == pdf.content  # type: ignore[index]

    kept = ada.post("/api/reports", json={"client_id": world.acme, "period": period})
    assert kept.status_code == 202
    [same] = run_tasks(db, tmp_path / "worker", mail)
    assert same["new"] is False and same["report_id"] == report
    redo = {"client_id": world.acme, "period": period, "regenerate": True}
    assert ada.post("/api/reports", json=redo).status_code == 202
    [redone] = run_tasks(db, tmp_path / "worker", mail)
    assert redone["new"] is True and redone["report_id"] == report
    assert ada.get(f"/api/reports/{report}").json()["generated_at"] != listed["generated_at"]

    mail.refuse_data = "554 5.7.1 no thanks"
    assert ada.post(f"/api/reports/{report}/resend", json={}).status_code == 202
    [refused] = run_tasks(db, tmp_path / "worker", mail)
    assert "554" in refused["error"]
    assert "554" in ada.get(f"/api/reports/{report}").json()["sends"][-1]["error"]

    # The client's own people read it; another client's see nothing of it.
    alice = login(live.base, "alice@acme.example")
    assert [r["id"] for r in alice.get("/api/reports").json()] == [report]
    current = ada.get(f"/api/reports/{report}/pdf").content  # as rendered again above
    assert alice.get(f"/api/reports/{report}/pdf").content == current
    headers = {"X-CSRF-Token": csrf_of(alice)}
    refused_post = alice.post(f"/api/reports/{report}/resend", json={}, headers=headers)
    assert refused_post.status_code == 404
    gus = login(live.base, "gus@globex.example")
    gus_token = httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {_token(db, 'gus@globex.example')}"}
    )
    for other in (gus, gus_token):
        assert other.get("/api/reports").json() == []
        assert other.get("/api/reports", params={"client_id": world.acme}).status_code == 404
        for path in ("", "/pdf", "/html", "/json"):
            assert other.get(f"/api/reports/{report}{path}").status_code == 404
    assert gus_token.post(f"/api/reports/{report}/resend", json={}).status_code == 404
    generate = {"client_id": world.globex, "period": period}
    assert gus_token.post("/api/reports", json=generate).status_code == 404


def test_generate_refuses_bad_requests(live: Live, world: World) -> None:
    ada = httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"})
    bad = [
        {"client_id": world.acme},
        {"client_id": world.acme, "period": "2026-13x"},
        {"client_id": world.acme, "period": "2026-10", "contract_id": world.globex_contract},
        {"client_id": 999_999, "period": "2026-10"},
    ]
    assert [ada.post("/api/reports", json=body).status_code for body in bad] == [422, 422, 422, 404]
    assert ada.post("/api/reports/999/resend", json={}).status_code == 404
    assert ada.get("/api/reports/999/pdf").status_code == 404
