"""The DNS watch's look-ups: A/AAAA/CNAME of a site's host, NS and MX of its domain.

Through c-ares (aiodns, as the checks' resolver), asking the servers of the setting
(``SITEKEEPER_DNS_SERVERS``, else /etc/resolv.conf), each query bounded by its timeout
and tries and all of them by one deadline. Answers are hostile input: at most
``MAX_PER_TYPE`` values per type are kept, names must be plausible host names and
addresses must parse; anything else is dropped. "No such name" and "no data" are empty
answers; a timeout or a server failure leaves the type unknown (``failed``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Sequence
from typing import Any

import aiodns
from aiodns.error import DNSError

from sitekeeper.domain.dns_watch import DnsAnswer

MAX_PER_TYPE = 32
_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)
_EMPTY = {aiodns.error.ARES_ENODATA, aiodns.error.ARES_ENOTFOUND}


class DnsReader:
    """Reads the watched records; one per run (one c-ares channel)."""

    def __init__(
        self, servers: Sequence[str] = (), *, timeout: float = 2.0, tries: int = 2
    ) -> None:
        self._servers = list(servers)
        self._timeout = timeout
        self._tries = tries
        self._resolver: aiodns.DNSResolver | None = None

    async def __aenter__(self) -> DnsReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the c-ares channel."""
        if self._resolver is not None:
            await self._resolver.close()
            self._resolver = None

    def _channel(self) -> aiodns.DNSResolver:
        if self._resolver is None:
            self._resolver = aiodns.DNSResolver(
                nameservers=self._servers or None, timeout=self._timeout, tries=self._tries
            )
        return self._resolver

    async def read(self, host: str, domain: str) -> DnsAnswer:
        """Every watched record of ``host`` (A, AAAA, CNAME) and ``domain`` (NS, MX)."""
        asks = [(host, "A"), (host, "AAAA"), (host, "CNAME"), (domain, "NS"), (domain, "MX")]
        deadline = self._timeout * self._tries * max(1, len(self._servers)) + 1
        results = await asyncio.gather(*(self._ask(n, t, deadline) for n, t in asks))
        records: dict[str, tuple[str, ...]] = {}
        failed: dict[str, str] = {}
        for (_, kind), (values, error) in zip(asks, results, strict=True):
            if error is not None:
                failed[kind] = error
            else:
                records[kind] = values
        return DnsAnswer(host=host, domain=domain, records=records, failed=failed)

    async def _ask(
        self, name: str, kind: str, deadline: float
    ) -> tuple[tuple[str, ...], str | None]:
        """The values of one type, or the reason it is unknown."""
        try:
            async with asyncio.timeout(deadline):
                result = await self._channel().query_dns(name, kind)
        except DNSError as exc:
            code = exc.args[0] if exc.args else None
            if code in _EMPTY:
                return (), None
            return (), _reason(code)
        except TimeoutError:
            return (), "no answer in time"
        values = {v for record in result.answer if (v := _value(record, kind)) is not None}
        return tuple(sorted(values)[:MAX_PER_TYPE]), None


def _value(record: Any, kind: str) -> str | None:
    """One answer record of the asked type as text, or None if it is not one or is odd.

    A CNAME in the answer to an A question is the chain c-ares followed: not an A.
    """
    if getattr(record, "type", None) != _TYPE_CODES[kind]:
        return None
    data = record.data
    if kind in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(str(data.addr)))
        except ValueError:
            return None
    if kind == "CNAME":
        return _name(data.cname)
    if kind == "NS":
        return _name(data.nsdname)
    exchange = _name(data.exchange)
    priority = data.priority
    if exchange is None or not isinstance(priority, int) or not 0 <= priority <= 65535:
        return None
    return f"{priority} {exchange}"


def _name(value: object) -> str | None:
    text = (value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)).lower()
    text = text.rstrip(".")
    return text if _NAME.match(text) else None


def _reason(code: object) -> str:
    if code == aiodns.error.ARES_ETIMEOUT:
        return "no answer in time"
    if code == aiodns.error.ARES_ESERVFAIL:
        return "the DNS server failed (SERVFAIL)"
    if code == aiodns.error.ARES_EREFUSED:
        return "the DNS server refused the query"
    if code == aiodns.error.ARES_ECONNREFUSED:
        return "cannot reach the DNS server"
    return f"DNS error {code}"


_TYPE_CODES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "AAAA": 28}
