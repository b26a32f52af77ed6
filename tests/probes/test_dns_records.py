"""The DNS watch's look-ups against a DNS server on loopback: the watched records read,
a missing name an empty answer, a flood of records capped, odd names dropped, a silent
server every type unknown (not empty)."""

from __future__ import annotations

from dnslib import QTYPE, RR, TXT

from sitekeeper.probes.dns_records import MAX_PER_TYPE, DnsReader
from tests.probes.domain_servers import Zone, dns_server


def _zone() -> Zone:
    zone = Zone()
    zone.set("www.example.test", "CNAME", "web.example.test")
    zone.set("web.example.test", "A", "192.0.2.10")
    zone.set("web.example.test", "AAAA", "2001:db8::10")
    zone.set("example.test", "NS", "ns2.example.test", "NS1.Example.Test")
    zone.set("example.test", "MX", "20 mx2.example.test", "10 mx1.example.test")
    return zone


async def test_the_watched_records_are_read() -> None:
    with dns_server(_zone()) as address:
        async with DnsReader([address], timeout=1.0) as reader:
            answer = await reader.read("www.example.test", "example.test")
    assert answer.failed == {}
    assert answer.records == {
        "A": ("192.0.2.10",),  # through the CNAME chain
        "AAAA": ("2001:db8::10",),
        "CNAME": ("web.example.test",),
        "NS": ("ns1.example.test", "ns2.example.test"),  # lower case, sorted
        "MX": ("10 mx1.example.test", "20 mx2.example.test"),
    }


async def test_a_missing_name_is_an_empty_answer_not_a_failure() -> None:
    with dns_server(_zone()) as address:
        async with DnsReader([address], timeout=1.0) as reader:
            answer = await reader.read("gone.example.test", "example.test")
    assert answer.failed == {}
    assert answer.records["A"] == () and answer.records["CNAME"] == ()
    assert answer.records["NS"] == ("ns1.example.test", "ns2.example.test")


async def test_a_flood_of_records_is_capped_and_odd_names_are_dropped() -> None:
    zone = _zone()
    zone.set("web.example.test", "A", *(f"192.0.2.{n}" for n in range(1, 101)))
    zone.set(
        "example.test", "NS", "ns1.example.test", "bad name.example.test", "evil!.example.test"
    )
    # A record of another type slipped into the MX answer is not an MX.
    zone.records[("example.test", "MX")].append(
        RR("example.test", QTYPE.TXT, rdata=TXT("10 mx.evil"), ttl=60)
    )
    with dns_server(zone) as address:
        async with DnsReader([address], timeout=1.0) as reader:
            answer = await reader.read("web.example.test", "example.test")
    assert len(answer.records["A"]) == MAX_PER_TYPE
    assert answer.records["NS"] == ("ns1.example.test",)
    assert answer.records["MX"] == ("10 mx1.example.test", "20 mx2.example.test")


async def test_a_silent_server_leaves_every_type_unknown() -> None:
    async with DnsReader(["127.0.0.1:9"], timeout=0.2, tries=1) as reader:
        answer = await reader.read("www.example.test", "example.test")
    assert set(answer.failed) == {"A", "AAAA", "CNAME", "NS", "MX"}
    assert answer.records == {}
