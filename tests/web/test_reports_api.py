"""/api/reports through the served app: staff generate (as a task), read, download and
resend a client's archived report through a real SMTP server on loopback; a client user
and a client's API token see their own client's reports only, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from sitekeeper.config import ENV_PREFIX
from sitekeeper.reports.period import previous_month
from sitekeeper.store import users
from sitekeeper.store.database import Database
from sitekeeper.store.web_tables import User
from tests.reports.conftest import Mailbox, mailbox_in_thread
from tests.web.conftest import Live, World, csrf_of, login
from tests.web.test_actions_api import Worker, accepted, finished


@pytest.fixture
def mail() -> Iterator[Mailbox]:
    with mailbox_in_thread() as box:
        yield box


@pytest.fixture
def mailing_worker(
    live: Live, db: Database, tmp_path: Path, mail: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Worker]:
    """The service's task runner, as ``serve`` runs it, set to mail through ``mail``
    (the SMTP settings as an operator gives them: the environment)."""
    smtp = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail.port),
        "SMTP_SECURITY": "none",
        "SMTP_SENDER": "reports@agency.example",
    }
    for name, value in smtp.items():
        monkeypatch.setenv(ENV_PREFIX + name, value)
    running = Worker(db, tmp_path / "home", live)
    yield running
    running.stop()


def _token(db: Database, email: str) -> str:
    with db.session() as s:
        user = s.query(User).filter_by(email=email).one()
        token, _ = users.create_token(s, user, "reports", datetime.now(UTC))
    return token


def test_generate_read_download_and_resend(
    live: Live, world: World, db: Database, mail: Mailbox, mailing_worker: Worker
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
    made = finished(ada, accepted(queued))
    assert made["status"] == "ok" and made["result"]["new"] is True, made
    assert made["result"]["accepted"] == ["ops@acme.example"] and len(mail.messages) == 1

    [listed] = ada.get("/api/reports", params={"client_id": world.acme}).json()["items"]
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
    resent = finished(ada, accepted(again))
    assert resent["status"] == "ok" and mail.envelopes[-1][1] == ["boss@acme.example"], resent
    assert mail.messages[-1].get_payload()[1].get_content() == pdf.content  # type: ignore[index]

    kept = ada.post("/api/reports", json={"client_id": world.acme, "period": period})
    same = finished(ada, accepted(kept))["result"]
    assert same["new"] is False and same["report_id"] == report
    redo = {"client_id": world.acme, "period": period, "regenerate": True}
    redone = finished(ada, accepted(ada.post("/api/reports", json=redo)))["result"]
    assert redone["new"] is True and redone["report_id"] == report
    assert ada.get(f"/api/reports/{report}").json()["generated_at"] != listed["generated_at"]

    mail.refuse_data = "554 5.7.1 no thanks"
    refused = finished(ada, accepted(ada.post(f"/api/reports/{report}/resend", json={})))
    assert refused["status"] == "failed" and "554" in refused["error"], refused
    assert refused["result"]["report_id"] == report and refused["result"]["accepted"] == []
    assert "554" in ada.get(f"/api/reports/{report}").json()["sends"][-1]["error"]

    # The client's own people read it; another client's see nothing of it.
    alice = login(live.base, "alice@acme.example")
    assert [r["id"] for r in alice.get("/api/reports").json()["items"]] == [report]
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
        assert other.get("/api/reports").json()["items"] == []
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


def test_the_archive_list_is_paged_like_the_other_lists(
    live: Live, world: World, db: Database
) -> None:
    from sitekeeper.reports.period import month
    from sitekeeper.store import report_archive as store_archive

    with db.session() as s:
        for label in ("2026-07", "2026-08", "2026-09"):
            period = month(label, "Europe/Berlin")
            store_archive.store(
                s,
                client_id=world.acme,
                scope="client",
                first=period.first,
                last=period.last,
                rendered=store_archive.Rendered("en", {}, "<p>x</p>", b"%PDF-1.7 x"),
                now=datetime(2026, 10, 1, tzinfo=UTC),
                by="test",
            )
    ada = httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}, timeout=60
    )
    first = ada.get("/api/reports", params={"per_page": 2}).json()
    second = ada.get("/api/reports", params={"per_page": 2, "page": 2}).json()
    assert [r["period"] for r in first["items"]] == ["2026-09", "2026-08"]
    assert [r["period"] for r in second["items"]] == ["2026-07"]
    assert first["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert ada.get("/api/reports", params={"per_page": 501}).status_code == 422
