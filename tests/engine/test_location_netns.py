"""Two check locations on one machine: one in a network namespace of its own.

The "us-east" location is a real ``sitekeeper check`` process inside a namespace
the test creates (``ip netns``, a veth pair to the host), while "eu-central" runs
on the host. A site on the host's loopback is really out of us-east's reach; a site
on the host's end of the veth is reachable from both, and ``tc netem`` on us-east's
end of the link adds latency or drops packets there only, as a far-away or
partitioned location would. Their results, recorded under their locations, make
"unreachable from us-east" incidents rather than "down", and response times that
tell the locations apart. Needs root: skipped with the reason without ``ip netns``
or ``tc``.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.engine.check_runner import outcome_of
from sitekeeper.engine.recorder import persist
from sitekeeper.store.database import Database
from sitekeeper.store.locations import by_location
from sitekeeper.store.monitoring import load_targets
from sitekeeper.store.tables import Incident
from tests.store.test_check_locations import _site

SITEKEEPER = str(Path(sys.executable).with_name("sitekeeper"))
DELAY_MS = 150  # netem's added latency on us-east's link


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@dataclass(frozen=True)
class Namespace:
    """A network namespace linked to the host: its name, its end of the veth pair, and
    the host's address on the link (which the namespace reaches)."""

    name: str
    link: str
    host_address: str


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    """A network namespace with its loopback up and a veth link to the host, on a /30 of
    its own (tests in other workers make theirs at the same time)."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("network namespaces need root and iproute2 (`ip netns`)")
    token = uuid.uuid4()
    name = f"skq{token.hex[:8]}"
    net, first = f"10.213.{token.bytes[0]}", token.bytes[1] & 0xFC  # a random /30
    host_ip, ns_ip = f"{net}.{first + 1}", f"{net}.{first + 2}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"`ip netns add` is not permitted here: {exc.stderr.decode().strip()}")
    host_end, ns_end = f"{name}h", f"{name}n"
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        _ip("link", "set", ns_end, "netns", name)
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_end)
        _ip("netns", "exec", name, "ip", "link", "set", ns_end, "up")
        _ip("addr", "add", f"{host_ip}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        yield Namespace(name, ns_end, host_ip)
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, check=False)
        _ip("netns", "del", name)


def _netem(ns: Namespace, *rules: str) -> str | None:
    """Shape what leaves the namespace (``tc qdisc replace … root netem RULES``); returns
    why it cannot (no ``tc``, or a kernel built without sch_netem), or None."""
    if shutil.which("tc") is None:
        return "`tc` (iproute2) is not installed"
    command = ["ip", "netns", "exec", ns.name, "tc", "qdisc", "replace", "dev", ns.link]
    done = subprocess.run(
        [*command, "root", "netem", *rules], capture_output=True, timeout=20, check=False
    )
    if done.returncode != 0:
        return f"`tc … netem` is not available here: {done.stderr.decode().strip()}"
    return None


def _partition(ns: Namespace) -> None:
    """Lose every packet the namespace sends: netem's 100 % loss, or where the kernel has
    no netem, a wrong hardware address for the host, so that its frames leave the link's
    end and the host's end discards them (nothing refused either way: a silent drop)."""
    if _netem(ns, "loss", "100%") is None:
        return
    nowhere = ["lladdr", "02:00:00:00:00:01", "dev", ns.link, "nud", "permanent"]
    _ip("netns", "exec", ns.name, "ip", "neigh", "replace", ns.host_address, *nowhere)


def _heal(ns: Namespace) -> None:
    """Undo ``_partition``."""
    for command in (
        ["tc", "qdisc", "del", "dev", ns.link, "root"],
        ["ip", "neigh", "del", ns.host_address, "dev", ns.link],
    ):
        subprocess.run(["ip", "netns", "exec", ns.name, *command], capture_output=True, check=False)


def _serve(address: str) -> Iterator[str]:
    """A small page served on ``address`` until the generator is closed."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<title>shop</title>")

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer((address, 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{address}:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def site_url() -> Iterator[str]:
    """A page on the host's loopback: out of the namespace's reach."""
    yield from _serve("127.0.0.1")


@pytest.fixture
def shared_url(namespace: Namespace) -> Iterator[str]:
    """A page on the host's end of the link: the host and the namespace both reach it."""
    yield from _serve(namespace.host_address)


def _check_from(
    url: str, home: Path, namespace: Namespace | None, times: int = 1, timeout_s: int = 10
) -> list[CheckResult]:
    """``sitekeeper check URL… --json`` (``times`` checks at once) run on the host or
    inside ``namespace``."""
    command = [SITEKEEPER, "check", *[url] * times, "--json"]
    if namespace is not None:
        command = ["ip", "netns", "exec", namespace.name, *command]
    env = {**os.environ, "SITEKEEPER_HOME": str(home), "SITEKEEPER_CHECK_TIMEOUT": str(timeout_s)}
    done = subprocess.run(command, capture_output=True, env=env, timeout=60, check=False)
    return [
        CheckResult(
            url=found["url"],
            up=found["up"],
            status=found["status"],
            error=ErrorCategory(found["error"]) if found["error"] else None,
            response_ms=found["response_ms"],
            checked_at=datetime.fromisoformat(found["checked_at"]),
            detail=found["detail"],
        )
        for found in json.loads(done.stdout)
    ]


def _record(db: Database, site_id: int, location: str, results: list[CheckResult]) -> None:
    with db.session() as s:
        target = load_targets(s.connection(), [site_id])[site_id]
        persist(s, [outcome_of(target, result) for result in results], None, location)


def _incidents(db: Database) -> list[tuple[str, str | None, bool]]:
    with db.session() as s:
        return [(i.kind, i.cause, i.closed_at is None) for i in s.scalars(select(Incident))]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_location_that_cannot_reach_the_site_makes_it_unreachable_not_down(
    db: Database, namespace: Namespace, site_url: str, tmp_path: Path
) -> None:
    site = _site(db, 2)
    [from_us] = _check_from(site_url, tmp_path / "us", namespace)
    assert (from_us.up, from_us.error) == (False, ErrorCategory.REFUSED)  # really cut off
    _record(db, site, "us-east", [from_us])
    _record(db, site, "eu-central", _check_from(site_url, tmp_path / "eu", None))
    _record(db, site, "us-east", _check_from(site_url, tmp_path / "us", namespace))
    assert _incidents(db) == [
        ("unreachable", "refused: connection refused (unreachable from us-east)", True)
    ]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_latency_on_one_locations_link_shows_in_its_response_times_only(
    db: Database, namespace: Namespace, shared_url: str, tmp_path: Path
) -> None:
    if (why := _netem(namespace, "delay", f"{DELAY_MS}ms")) is not None:
        pytest.skip(why)
    site = _site(db, 2)
    started = datetime.now(UTC) - timedelta(seconds=1)
    from_us = _check_from(shared_url, tmp_path / "us", namespace, times=3)
    from_eu = _check_from(shared_url, tmp_path / "eu", None, times=3)
    assert all(r.up for r in from_us + from_eu)  # slower is not down
    _record(db, site, "us-east", from_us)
    _record(db, site, "eu-central", from_eu)
    with db.engine.connect() as conn:
        figures = by_location(conn, site, started)
    assert set(figures) == {"eu-central", "us-east"}
    us, eu = figures["us-east"], figures["eu-central"]
    # A request crosses the delayed link at least once (the connection's SYN, then the
    # request itself), so every us-east time holds the added latency at least once.
    assert us.checks == 3 and min(r.response_ms or 0 for r in from_us) >= DELAY_MS
    assert us.p50_ms is not None and us.p50_ms >= DELAY_MS
    # The host's own checks never cross it: the same site answers eu-central far sooner.
    assert eu.checks == 3 and eu.p50_ms is not None and eu.p50_ms < DELAY_MS
    assert _incidents(db) == []


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_packets_lost_on_one_locations_link_make_it_unreachable_from_there_only(
    db: Database, namespace: Namespace, shared_url: str, tmp_path: Path
) -> None:
    site = _site(db, 2)
    _partition(namespace)  # packets vanish, nothing is refused
    [lost] = _check_from(shared_url, tmp_path / "us", namespace, timeout_s=2)
    assert (lost.up, lost.error) == (False, ErrorCategory.TIMEOUT)
    _record(db, site, "us-east", [lost])
    _record(db, site, "eu-central", _check_from(shared_url, tmp_path / "eu", None))
    _record(db, site, "us-east", _check_from(shared_url, tmp_path / "us", namespace, timeout_s=2))
    assert _incidents(db) == [
        ("unreachable", "timeout: no response within 2 s (unreachable from us-east)", True)
    ]
    _heal(namespace)
    [back] = _check_from(shared_url, tmp_path / "us", namespace)
    assert back.up
    _record(db, site, "us-east", [back])
    assert [(kind, is_open) for kind, _, is_open in _incidents(db)] == [("unreachable", False)]
