"""Two check locations on one machine: one in a network namespace of its own.

The "us-east" location is a real ``sitekeeper check`` process inside a namespace
the test creates (``ip netns``, a veth pair to the host), so the site on the host's
loopback is really out of its reach, while "eu-central" (the host) reaches it.
Their results, recorded under their locations, make one "unreachable from us-east"
incident, not "down". Needs root: skipped with the reason without ``ip netns``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.engine.check_runner import outcome_of
from sitekeeper.engine.recorder import persist
from sitekeeper.store.database import Database
from sitekeeper.store.monitoring import load_targets
from sitekeeper.store.tables import Incident
from tests.store.test_check_locations import _site

SITEKEEPER = str(Path(sys.executable).with_name("sitekeeper"))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A network namespace with its loopback up and a veth link to the host."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("network namespaces need root and iproute2 (`ip netns`)")
    name = f"skq{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"`ip netns add` is not permitted here: {exc.stderr.decode().strip()}")
    host_end, ns_end = f"{name}h", f"{name}n"
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        _ip("link", "set", ns_end, "netns", name)
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", name, "ip", "addr", "add", "10.213.7.2/30", "dev", ns_end)
        _ip("netns", "exec", name, "ip", "link", "set", ns_end, "up")
        _ip("addr", "add", "10.213.7.1/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        yield name
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, check=False)
        _ip("netns", "del", name)


@pytest.fixture
def site_url() -> Iterator[str]:
    """A page on the host's loopback."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<title>shop</title>")

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _check_from(url: str, home: Path, namespace: str | None) -> CheckResult:
    """``sitekeeper check URL --json`` run on the host or inside ``namespace``."""
    command = [SITEKEEPER, "check", url, "--json"]
    if namespace is not None:
        command = ["ip", "netns", "exec", namespace, *command]
    env = {**os.environ, "SITEKEEPER_HOME": str(home)}
    done = subprocess.run(command, capture_output=True, env=env, timeout=60, check=False)
    [found] = json.loads(done.stdout)
    return CheckResult(
        url=found["url"],
        up=found["up"],
        status=found["status"],
        error=ErrorCategory(found["error"]) if found["error"] else None,
        response_ms=found["response_ms"],
        checked_at=datetime.fromisoformat(found["checked_at"]),
        detail=found["detail"],
    )


def _record(db: Database, site_id: int, location: str, result: CheckResult) -> None:
    with db.session() as s:
        target = load_targets(s.connection(), [site_id])[site_id]
        persist(s, [outcome_of(target, result)], None, location)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_location_that_cannot_reach_the_site_makes_it_unreachable_not_down(
    db: Database, namespace: str, site_url: str, tmp_path: Path
) -> None:
    site = _site(db, 2)
    from_us = _check_from(site_url, tmp_path / "us", namespace)
    assert (from_us.up, from_us.error) == (False, ErrorCategory.REFUSED)  # really cut off
    _record(db, site, "us-east", from_us)
    from_eu = _check_from(site_url, tmp_path / "eu", None)
    assert from_eu.up
    _record(db, site, "eu-central", from_eu)
    _record(db, site, "us-east", _check_from(site_url, tmp_path / "us", namespace))
    with db.session() as s:
        found = [(i.kind, i.cause, i.closed_at) for i in s.scalars(select(Incident))]
    assert found == [
        ("unreachable", "refused: connection refused (unreachable from us-east)", None)
    ]
