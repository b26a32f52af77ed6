"""Notification channels: saved encrypted, and "send test" reaches a real receiver on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.store import users
from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, csrf_of, login


class Receiver:
    """A webhook endpoint on loopback that records what Apprise's json:// posts."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        received = self.messages
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.requests += 1
                self.send_response(404)
                self.end_headers()

            def do_POST(self) -> None:
                receiver.requests += 1
                length = int(self.headers.get("content-length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def live(db: Database, world: World, tmp_path: Path) -> Iterator[Live]:
    """The dashboard, with loopback allowed for alerts (SITEKEEPER_EGRESS_ALLOW) because the
    receiver listens there; tests/web/test_egress.py shows the default refusing it."""
    server = Live(db, tmp_path / "home", egress_allow=["loopback"])
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_global_channels_are_encrypted_and_tested(
    live: Live, receiver: Receiver, db: Database
) -> None:
    ada = login(live.base, "ada@agency.example")
    url = f"json://127.0.0.1:{receiver.port}/hook"
    saved = ada.post("/settings/alerts", data={"alert_urls": url, "csrf_token": csrf_of(ada)})
    assert saved.status_code == 303
    with db.session() as session:
        stored = users.get_setting(session, "alert_urls")["urls"]
    assert stored[0].startswith("enc:v1:") and str(receiver.port) not in stored[0]
    page = ada.post("/settings/test", data={"url": "", "csrf_token": csrf_of(ada)})
    assert page.status_code == 200
    assert ": sent" in page.text
    assert [m["title"] for m in receiver.messages] == ["sitekeeper test message"]
    dead = f"json://127.0.0.1:{_closed_port()}/hook"
    failed = ada.post("/settings/test", data={"url": dead, "csrf_token": csrf_of(ada)})
    assert ": failed" in failed.text
    assert len(receiver.messages) == 1


def test_a_bad_channel_is_refused(live: Live) -> None:
    ada = login(live.base, "ada@agency.example")
    bad = ada.post("/settings/alerts", data={"alert_urls": "nonsense", "csrf_token": csrf_of(ada)})
    assert bad.status_code == 400
    assert "invalid alert URL" in bad.text


def test_a_clients_channels_can_be_tested(live: Live, world: World, receiver: Receiver) -> None:
    tom = login(live.base, "tom@agency.example")
    url = f"json://127.0.0.1:{receiver.port}/acme"
    form = {"name": "Acme Corp", "alert_urls": url, "csrf_token": csrf_of(tom)}
    assert tom.post(f"/clients/{world.acme}", data=form).status_code == 303
    page = tom.post(f"/clients/{world.acme}/test", data={"csrf_token": csrf_of(tom)})
    assert page.status_code == 200 and ": sent" in page.text
    assert len(receiver.messages) == 1
