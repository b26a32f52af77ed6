"""The loopback fleet: distinct addresses, down/up, TLS, failure rates, manifest, counters."""

from __future__ import annotations

import asyncio
import csv
import ipaddress
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sitekeeper.simulator import Fleet, parse_latency, site_address


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that opens a fresh connection per request, like a first check would."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
        yield s


async def get(session: aiohttp.ClientSession, url: str, **kwargs: object) -> tuple[int, str]:
    async with session.get(url, **kwargs) as resp:  # type: ignore[arg-type]
        return resp.status, await resp.text()


@pytest.mark.parametrize(
    ("index", "address"),
    [
        (0, "127.0.0.2"),
        (252, "127.0.0.254"),
        (253, "127.0.1.1"),
        (507, "127.0.2.1"),
        (254 * 256 - 1, "127.1.0.1"),
    ],
)
def test_site_address_table(index: int, address: str) -> None:
    assert site_address(index) == address


def test_site_addresses_are_distinct_loopback_hosts() -> None:
    addresses = [site_address(i) for i in range(20_000)]
    assert len(set(addresses)) == len(addresses)
    for text in addresses:
        ip = ipaddress.IPv4Address(text)
        assert ip in ipaddress.IPv4Network("127.0.0.0/8")
        assert text != "127.0.0.1"
        assert text.rsplit(".", 1)[1] not in ("0", "255")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20ms", (20, 20)), ("5-50ms", (5, 50)), ("0.1-1s", (100, 1000)), ("0", (0, 0))],
)
def test_parse_latency(text: str, expected: tuple[float, float]) -> None:
    assert parse_latency(text) == expected


@pytest.mark.parametrize("text", ["fast", "50-5ms", "-5ms", "5-ms"])
def test_parse_latency_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="latency"):
        parse_latency(text)


async def test_sites_answer_on_distinct_addresses(session: aiohttp.ClientSession) -> None:
    async with Fleet(n=50) as fleet:
        hosts = {aiohttp.client.URL(u).host for u in fleet.urls}
        assert len(hosts) == 50
        assert {aiohttp.client.URL(u).port for u in fleet.urls} == {fleet.port}
        for i, url in enumerate(fleet.urls):
            status, body = await get(session, url)
            assert status == 200
            assert f"<title>sim-{i:05d}</title>" in body
            assert f"sitekeeper-sim-ok-{i}" in body
        assert fleet.requests == [1] * 50


async def test_set_down_answers_503_and_set_up_restores(session: aiohttp.ClientSession) -> None:
    async with Fleet(n=3) as fleet:
        fleet.set_down(1)
        assert (await get(session, fleet.urls[1]))[0] == 503
        assert (await get(session, fleet.urls[0]))[0] == 200
        fleet.set_up(1)
        assert (await get(session, fleet.urls[1]))[0] == 200


async def test_set_down_refuse_closes_the_port_and_set_up_reopens() -> None:
    # A keep-alive client: its open connection must be dropped too.
    async with Fleet(n=2) as fleet, aiohttp.ClientSession() as keepalive:
        assert (await get(keepalive, fleet.urls[0]))[0] == 200
        fleet.set_down(0, "refuse")
        with pytest.raises(aiohttp.ClientConnectorError):
            await get(keepalive, fleet.urls[0])
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(fleet.sites[0].address, fleet.port)
        fleet.set_up(0)
        assert (await get(keepalive, fleet.urls[0]))[0] == 200
        assert (await get(keepalive, fleet.urls[1]))[0] == 200


async def test_https_sites_verify_with_the_ca_file(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    async with Fleet(n=30, https_fraction=0.5, seed=3, ca_path=ca_file, sans_per_cert=4) as fleet:
        https = [u for u in fleet.urls if u.startswith("https://")]
        assert len(https) == 15
        assert fleet.ca_path == ca_file
        assert ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
        context = ssl.create_default_context(cafile=str(ca_file))
        for url in https:
            assert (await get(session, url, ssl=context))[0] == 200
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await get(session, https[0], ssl=ssl.create_default_context())


async def test_failure_rate_is_honoured_and_seeded(session: aiohttp.ClientSession) -> None:
    async def statuses(seed: int) -> list[int]:
        async with Fleet(n=2, fail_rate=0.2, fail_mode="500", seed=seed) as fleet:
            return [(await get(session, fleet.urls[i % 2]))[0] for i in range(1000)]

    first = await statuses(7)
    counts = Counter(first)
    assert set(counts) == {200, 500}
    # 1000 draws at p=0.2: sd ~ 12.6, so 150..250 is about four sd either side.
    assert 150 <= counts[500] <= 250
    assert await statuses(7) == first
    assert await statuses(8) != first


async def test_reset_failures_drop_the_connection(session: aiohttp.ClientSession) -> None:
    async with Fleet(n=1, fail_rate=1.0, fail_mode="reset") as fleet:
        with pytest.raises(aiohttp.ClientOSError):
            await get(session, fleet.urls[0])
        # aiohttp may retry a GET once on a dropped connection; every try was reset.
        assert fleet.outcomes["reset"] == fleet.requests[0] >= 1
        assert fleet.outcomes["200"] == 0


async def test_flapping_site_is_down_during_its_down_phase(
    session: aiohttp.ClientSession,
) -> None:
    async with Fleet(n=1, flap_fraction=1.0, flap_period=1000, flap_down=500) as fleet:
        fleet.sites[0].flap_phase = 0.0  # just started: inside the 500 s down window
        assert (await get(session, fleet.urls[0]))[0] == 503
        fleet.sites[0].flap_phase = 500.0  # past it
        assert (await get(session, fleet.urls[0]))[0] == 200


async def test_latency_delays_the_answer(session: aiohttp.ClientSession) -> None:
    async with Fleet(n=1, latency_ms="80ms") as fleet:
        start = time.perf_counter()
        assert (await get(session, fleet.urls[0]))[0] == 200
        assert time.perf_counter() - start >= 0.08


async def test_counters_track_concurrent_requests(session: aiohttp.ClientSession) -> None:
    async with Fleet(n=2, latency_ms="300ms") as fleet:
        results = await asyncio.gather(*(get(session, fleet.urls[0]) for _ in range(5)))
        assert [status for status, _ in results] == [200] * 5
        assert fleet.requests == [5, 0]
        assert fleet.max_in_flight[0] == 5
        assert fleet.in_flight == [0, 0]
        assert fleet.stats()["max_in_flight"] == 5


async def test_keepalive_connection_serves_several_requests() -> None:
    async with Fleet(n=1) as fleet, aiohttp.ClientSession() as keepalive:
        for _ in range(3):
            assert (await get(keepalive, fleet.urls[0]))[0] == 200
        assert fleet.connections_total == 1
        assert fleet.requests == [3]


async def test_manifest_lists_every_site(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    async with Fleet(n=20, https_fraction=0.25, flap_fraction=0.1, seed=1) as fleet:
        fleet.write_manifest(path, client="Bench")
        urls = fleet.urls
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["url", "name", "tags", "client"]
    assert [r["url"] for r in rows] == urls
    assert len({r["name"] for r in rows}) == 20
    assert {r["client"] for r in rows} == {"Bench"}
    tags = [set(r["tags"].split(";")) for r in rows]
    assert sum("https" in t for t in tags) == 5
    assert sum("flapping" in t for t in tags) == 2
    for tag_set, row in zip(tags, rows, strict=True):
        assert ("https" in tag_set) == row["url"].startswith("https://")


async def test_manifest_without_client_has_three_columns(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    async with Fleet(n=2) as fleet:
        fleet.write_manifest(path)
    assert path.read_text().splitlines()[0] == "url,name,tags"


async def test_close_drops_open_connections() -> None:
    fleet = Fleet(n=1)
    await fleet.start()
    reader, writer = await asyncio.open_connection(fleet.sites[0].address, fleet.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    assert fleet.stats()["open_connections"] == 1
    await fleet.close()
    await asyncio.wait_for(reader.read(), 5)  # returns only once the server side is gone
    assert reader.at_eof()
    assert fleet.stats()["open_connections"] == 0
    writer.close()


async def test_one_listener_per_port_answers_each_site_as_itself(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    async with Fleet(n=40, https_fraction=0.5, ca_path=ca_file, listeners="port") as fleet:
        assert fleet.listener_count == 1
        context = ssl.create_default_context(cafile=str(ca_file))
        for i, url in enumerate(fleet.urls):
            status, body = await get(session, url, ssl=context)
            assert status == 200
            assert f"<title>sim-{i:05d}</title>" in body
        assert fleet.requests == [1] * 40


async def test_one_listener_per_port_resets_a_refused_site_and_restores_it(
    session: aiohttp.ClientSession,
) -> None:
    async with Fleet(n=2, listeners="port") as fleet:
        fleet.set_down(0, "refuse")
        with pytest.raises(aiohttp.ClientOSError):
            await get(session, fleet.urls[0])
        assert (await get(session, fleet.urls[1]))[0] == 200
        fleet.set_up(0)
        assert (await get(session, fleet.urls[0]))[0] == 200


async def test_one_listener_per_port_drops_connections_to_other_addresses() -> None:
    async with Fleet(n=1, listeners="port") as fleet:

        async def ask_no_site() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", fleet.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return await asyncio.wait_for(reader.read(), 5)

        # 127.0.0.1 is no site's; on loopback the reset may arrive before connect returns.
        with pytest.raises(ConnectionResetError):
            await ask_no_site()
        assert fleet.requests == [0]


_MORE_SITES_THAN_FILES = """
import asyncio, resource, urllib.request
from sitekeeper.simulator import Fleet

resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

async def main() -> None:
    async with Fleet(n=3000) as fleet:
        assert fleet.listeners == "port" and fleet.listener_count == 1
        for i in (0, 1, 1499, 2999):
            page = await asyncio.to_thread(lambda: urllib.request.urlopen(fleet.url(i)).read())
            assert f"<title>sim-{i:05d}</title>".encode() in page, i
    print("ok")

asyncio.run(main())
"""


def test_more_sites_than_open_files_share_one_listener() -> None:
    # 3,000 sites under a 1,024-file limit: one listener per site could not even start.
    done = subprocess.run(
        [sys.executable, "-c", _MORE_SITES_THAN_FILES],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
