"""Loopback servers for the domain watch: an RDAP registry (aiohttp) with IANA's bootstrap
file pointing at it, and an authoritative DNS server (dnslib, UDP on 127.0.0.1) whose zone
a test edits between checks."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from dnslib import AAAA, CNAME, MX, NS, QTYPE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from tests.probes.conftest import Site, serve


def in_days(days: int) -> datetime:
    """An expiry ``days`` whole days from now (plus an hour, so the count is stable)."""
    return datetime.now(UTC) + timedelta(days=days, hours=1)


def rdap_domain(
    name: str,
    *,
    expires: datetime,
    registrar: str = "Example Registrar, Inc.",
    status: tuple[str, ...] = ("client transfer prohibited", "active"),
    signed: bool | None = True,
) -> dict[str, Any]:
    """A domain object shaped like RFC 9083's example (§5.3)."""
    document: dict[str, Any] = {
        "objectClassName": "domain",
        "handle": "XXXX",
        "ldhName": name,
        "rdapConformance": ["rdap_level_0"],
        "status": list(status),
        "nameservers": [
            {"objectClassName": "nameserver", "ldhName": f"ns1.{name}"},
            {"objectClassName": "nameserver", "ldhName": f"ns2.{name}"},
        ],
        "entities": [
            {
                "objectClassName": "entity",
                "handle": "XXXX",
                "roles": ["registrar"],
                "vcardArray": [
                    "vcard",
                    [
                        ["version", {}, "text", "4.0"],
                        ["fn", {}, "text", registrar],
                        ["kind", {}, "text", "org"],
                    ],
                ],
            },
            {
                "objectClassName": "entity",
                "handle": "XXXX",
                "roles": ["registrant"],
                "vcardArray": [
                    "vcard",
                    [["version", {}, "text", "4.0"], ["fn", {}, "text", "Joe"]],
                ],
            },
        ],
        "events": [
            {"eventAction": "registration", "eventDate": "1990-12-31T23:59:59Z"},
            {"eventAction": "last changed", "eventDate": "1991-12-31T23:59:59Z"},
            {"eventAction": "expiration", "eventDate": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        ],
    }
    if signed is not None:
        document["secureDNS"] = {"zoneSigned": signed, "delegationSigned": signed}
    return document


RELEASE = web.AppKey("release", asyncio.Event)
Handler = Callable[[web.Request], Any]


@dataclass
class Registry:
    """An RDAP server's domains (name -> object) and odd answers per name (a handler)."""

    domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    special: dict[str, Handler] = field(default_factory=dict)
    bootstrap_tlds: tuple[str, ...] = ("test", "example")
    asked: list[str] = field(default_factory=list)
    bootstraps: int = 0
    site: Site | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends stalled answers

    def app(self) -> web.Application:
        async def domain(request: web.Request) -> web.StreamResponse:
            name = request.match_info["name"]
            self.asked.append(name)
            if name in self.special:
                return await self.special[name](request)  # type: ignore[no-any-return]
            if name not in self.domains:
                return web.json_response({"errorCode": 404, "title": "Not Found"}, status=404)
            return web.Response(
                body=json.dumps(self.domains[name]).encode(),
                content_type="application/rdap+json",
            )

        async def bootstrap(request: web.Request) -> web.StreamResponse:
            self.bootstraps += 1
            assert self.site is not None
            return web.json_response(
                {
                    "version": "1.0",
                    "publication": "2026-11-01T00:00:00Z",
                    "description": "RDAP bootstrap file for Domain Name System registrations",
                    "services": [
                        [list(self.bootstrap_tlds), [self.site.url("/rdap/")]],
                        [["invalid"], ["ftp://nowhere/"]],
                    ],
                }
            )

        app = web.Application()
        app[RELEASE] = self.release
        app.router.add_get("/rdap/domain/{name}", domain)
        app.router.add_get("/dns.json", bootstrap)
        return app


@asynccontextmanager
async def registry_server(registry: Registry) -> AsyncIterator[Registry]:
    async with serve(registry.app()) as site:
        registry.site = site
        try:
            yield registry
        finally:
            registry.release.set()


class Zone(BaseResolver):  # type: ignore[misc]
    """An authoritative zone in memory: (name, type) -> answer records, edited by tests."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[RR]] = {}
        self.lock = threading.Lock()
        self.queries = 0

    def set(self, name: str, qtype: str, *values: str) -> None:
        """Replace the answers of one name and type (``MX``: "10 mx.example.test")."""
        rrs = [_rr(name, qtype, v) for v in values]
        with self.lock:
            self.records[(name.rstrip(".").lower(), qtype)] = rrs

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.queries += 1
            answers = list(self.records.get((qname, qtype), []))
            cname = self.records.get((qname, "CNAME"), [])
            known = any(n == qname for n, _ in self.records)
        if not answers and cname and qtype in ("A", "AAAA"):
            target = str(cname[0].rdata.label).rstrip(".").lower()
            with self.lock:
                answers = list(cname) + list(self.records.get((target, qtype), []))
        if not answers and not known:
            reply.header.rcode = 3  # NXDOMAIN
        for rr in answers:
            reply.add_answer(rr)
        return reply


def _rr(name: str, qtype: str, value: str) -> RR:
    data: Any
    if qtype == "A":
        data = A(value)
    elif qtype == "AAAA":
        data = AAAA(value)
    elif qtype == "CNAME":
        data = CNAME(value)
    elif qtype == "NS":
        data = NS(value)
    elif qtype == "MX":
        priority, exchange = value.split()
        data = MX(exchange, int(priority))
    else:
        raise ValueError(qtype)
    return RR(name, getattr(QTYPE, qtype), rdata=data, ttl=60)


@contextmanager
def dns_server(zone: Zone) -> Any:
    """The zone served over UDP on 127.0.0.1 (a free port); yields ``127.0.0.1:PORT``."""
    server = DNSServer(zone, port=0, address="127.0.0.1", logger=_Quiet())
    server.start_thread()
    try:
        yield f"127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.server.shutdown()
        server.server.server_close()


class _Quiet:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


async def stall(request: web.Request) -> web.StreamResponse:
    """An RDAP server that never answers (the client's deadline must end it)."""
    await request.app[RELEASE].wait()
    return web.Response(text="late")


async def garbage(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"<html>\x00not json", content_type="application/rdap+json")


async def huge(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/rdap+json"})
    await response.prepare(request)
    await response.write(b'{"objectClassName": "domain", "x": "')
    for _ in range(64):
        await response.write(b"a" * 65536)
    await response.write(b'"}')
    return response
