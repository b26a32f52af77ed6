"""Server-side requests a technician or admin can aim from the web: the alert "send test"
button and advisory import by URL stay off loopback and private networks by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, csrf_of, login
from tests.web.test_actions_api import Worker, accepted, api, finished
from tests.web.test_channels import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_send_test_to_a_loopback_channel_is_refused(live: Live, receiver: Receiver) -> None:
    ada = login(live.base, "ada@agency.example")
    for host in ("127.0.0.1", "localhost"):
        url = f"json://{host}:{receiver.port}/hook"
        page = ada.post("/settings/test", data={"url": url, "csrf_token": csrf_of(ada)})
        assert page.status_code == 200
        assert "failed — refused by the egress policy:" in page.text
        assert "is loopback" in page.text
    assert receiver.messages == []


@pytest.fixture
def strict_worker(live: Live, db: Database, tmp_path: Path) -> Iterator[Worker]:
    """A task runner with the default egress policy (nothing but public addresses)."""
    running = Worker(db, tmp_path / "home", live, egress_allow=())
    yield running
    running.stop()


def test_advisory_import_from_a_loopback_url_fails_without_connecting(
    live: Live, world: World, strict_worker: Worker, receiver: Receiver
) -> None:
    client = api(live, world)
    url = f"http://127.0.0.1:{receiver.port}/advisories.json"
    task = finished(client, accepted(client.post("/api/advisories/import", json={"url": url})))
    assert task["status"] == "failed"
    assert "refused by the egress policy: 127.0.0.1 is loopback" in task["error"]
    assert "SITEKEEPER_EGRESS_ALLOW" in task["error"]
    assert receiver.requests == 0
