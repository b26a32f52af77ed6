"""RDAP (RFC 9083) for a domain: expiry, registrar, statuses and DNSSEC from the registry.

The registry's server comes from IANA's bootstrap file (``probes.rdap_bootstrap``); the
answer is JSON, read bounded (size, one deadline per look-up, few redirects) and
defensively (any field may be missing or of the wrong type). No WHOIS: its free text
differs per registry and scraping it is neither stable nor allowed by many registries.
A failure is a :class:`Registration` with ``error``, never an exception.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import aiohttp

from sitekeeper.config import Settings
from sitekeeper.domain.registration import Registration
from sitekeeper.domain.untrusted import clean
from sitekeeper.egress.aio import connector_options
from sitekeeper.egress.bodies import BodyTooLarge, read_within
from sitekeeper.egress.policy import EgressPolicy, outbound_policy
from sitekeeper.intel.fetch import failure_text
from sitekeeper.probes.limits import KeyedLimiter
from sitekeeper.probes.rdap_bootstrap import (
    MAX_BOOTSTRAP_BYTES,
    Bootstrap,
    BootstrapCache,
    BootstrapError,
)

MAX_STATUSES = 30
MAX_NAMESERVERS = 20
MAX_ENTITIES = 50
PER_SERVER = 2  # look-ups at once per RDAP server: registries rate-limit (HTTP 429)
ACCEPT = "application/rdap+json, application/json;q=0.9"
log = logging.getLogger(__name__)


class RdapError(Exception):
    """A look-up failed; the message is ours (safe to show), never the server's bytes."""


@dataclass(frozen=True)
class RdapSettings:
    """Where and how RDAP is asked (``SITEKEEPER_RDAP_*``)."""

    bootstrap_url: str
    cache_path: Path
    overrides: Mapping[str, str] = field(default_factory=dict)
    bootstrap_max_age: float = 86400.0
    timeout: float = 20.0
    max_bytes: int = 1024 * 1024
    max_redirects: int = 3
    egress: EgressPolicy = field(default_factory=EgressPolicy.anywhere)
    user_agent: str = "sitekeeper/0.1 (+domain watch)"

    @classmethod
    def from_settings(cls, settings: Settings) -> RdapSettings:
        """The operator's RDAP settings; the bootstrap cached in the data directory."""
        return cls(
            bootstrap_url=settings.rdap_bootstrap_url,
            cache_path=settings.home / "cache" / "rdap-dns.json",
            overrides={k.lower().strip("."): v for k, v in settings.rdap_servers.items()},
            bootstrap_max_age=settings.rdap_bootstrap_max_age,
            timeout=settings.rdap_timeout,
            max_bytes=settings.rdap_max_bytes,
            egress=outbound_policy(settings),
        )


class RdapClient:
    """Looks domains up; share one per run (one HTTP session, the bootstrap read once)."""

    def __init__(self, settings: RdapSettings) -> None:
        self.settings = settings
        self._cache = BootstrapCache(settings.cache_path, settings.bootstrap_max_age)
        self._bootstrap: Bootstrap | None = None
        self._bootstrap_lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._slots = KeyedLimiter(PER_SERVER)
        # One look-up per domain per run: a client's www. and shop. sites share it.
        self._answers: dict[str, asyncio.Future[Registration]] = {}
        self.notes: list[str] = []  # what the run should know (a stale bootstrap in use)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def lookup(self, domain: str) -> Registration:
        """The registration of ``domain`` (a registrable domain, ASCII), asked once per run."""
        answer = self._answers.get(domain)
        if answer is None:
            answer = self._answers[domain] = asyncio.ensure_future(self._lookup(domain))
        return await asyncio.shield(answer)

    async def _lookup(self, domain: str) -> Registration:
        source = None
        try:
            base = await self._base(domain)
            source = f"{base}domain/{domain}"
            async with self._slots.hold(base), asyncio.timeout(self.settings.timeout):
                status, raw = await self._get(source)
            if status == 429:
                raise RdapError("the RDAP server asks to slow down (429); tried again next run")
            if status == 404:
                raise RdapError("the registry does not know this domain (404)")
            if status != 200:
                raise RdapError(f"the RDAP server answered HTTP {status}")
            return parse_domain(domain, raw, source)
        except RdapError as exc:
            return Registration(domain=domain, source=source, error=str(exc))
        except TimeoutError:
            error = f"no answer within {self.settings.timeout:g} s"
            return Registration(domain=domain, source=source, error=error)
        except (aiohttp.ClientError, OSError) as exc:
            return Registration(domain=domain, source=source, error=failure_text(exc))

    async def _base(self, domain: str) -> str:
        """The RDAP base URL for ``domain``'s registry."""
        override = Bootstrap({}).base_for(domain, self.settings.overrides)
        if override is not None:
            return override
        bootstrap = await self.bootstrap()
        base = bootstrap.base_for(domain)
        if base is None:
            tld = domain.rsplit(".", 1)[-1]
            raise RdapError(f"no RDAP server is registered for .{tld}")
        return base

    async def bootstrap(self) -> Bootstrap:
        """The bootstrap: the cached copy while fresh, else fetched (stale copy on failure)."""
        async with self._bootstrap_lock:
            if self._bootstrap is not None:
                return self._bootstrap
            cached = self._cache.load()
            if cached is not None and self._cache.fresh():
                self._bootstrap = cached
                return cached
            try:
                async with asyncio.timeout(self.settings.timeout):
                    status, raw = await self._get(self.settings.bootstrap_url, MAX_BOOTSTRAP_BYTES)
                if status != 200:
                    raise RdapError(f"HTTP {status}")
                fetched = Bootstrap.parse(raw)
            except (RdapError, BootstrapError, TimeoutError, aiohttp.ClientError, OSError) as exc:
                why = str(exc) if isinstance(exc, RdapError | BootstrapError) else failure_text(exc)
                if cached is None:
                    raise RdapError(f"cannot read the RDAP bootstrap file: {why}") from None
                self.notes.append(f"RDAP bootstrap not refreshed ({why}); the cached copy is used")
                log.warning("RDAP bootstrap not refreshed: %s", why)
                self._bootstrap = cached
                return cached
            self._cache.store(raw)
            self._bootstrap = fetched
            return fetched

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(**connector_options(self.settings.egress)),
                headers={"User-Agent": self.settings.user_agent, "Accept": ACCEPT},
                auto_decompress=True,
            )
        return self._session

    async def _get(self, url: str, cap: int | None = None) -> tuple[int, bytes]:
        """Status and body (capped) of a GET; the caller bounds the time."""
        cap = cap or self.settings.max_bytes
        if not url.startswith(("https://", "http://")):
            raise RdapError("the RDAP URL is not http(s)")
        async with self._client().get(
            url, max_redirects=self.settings.max_redirects, allow_redirects=True
        ) as response:
            if response.status != 200:
                return response.status, b""
            try:
                return response.status, await read_within(response, cap)
            except BodyTooLarge as exc:
                raise RdapError(f"the answer is {exc}") from None


def parse_domain(domain: str, raw: bytes, source: str | None = None) -> Registration:
    """A domain object (RFC 9083 §5.3) as a Registration; RdapError if it is not one."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: 30,000 '[' in a row
        raise RdapError("the answer is not JSON") from None
    if not isinstance(document, dict) or document.get("objectClassName") != "domain":
        raise RdapError("the answer is not an RDAP domain object")
    events = _events(document.get("events"))
    secure = document.get("secureDNS")
    signed = secure.get("delegationSigned") if isinstance(secure, dict) else None
    statuses = document.get("status")
    return Registration(
        domain=domain,
        registrar=_registrar(document.get("entities")),
        expires=events.get("expiration"),
        registered=events.get("registration"),
        statuses=tuple(
            clean(s, 80).lower()
            for s in (statuses if isinstance(statuses, list) else [])[:MAX_STATUSES]
            if isinstance(s, str)
        ),
        dnssec=signed if isinstance(signed, bool) else None,
        nameservers=_nameservers(document.get("nameservers")),
        source=source,
    )


def _events(events: Any) -> dict[str, datetime]:
    """eventAction -> eventDate (aware UTC) for the events that parse."""
    found: dict[str, datetime] = {}
    for event in events[:100] if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        action, date = event.get("eventAction"), event.get("eventDate")
        if not (isinstance(action, str) and isinstance(date, str) and len(date) <= 40):
            continue
        try:
            moment = datetime.fromisoformat(date)
        except ValueError:
            continue
        found.setdefault(action, moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return found


def _registrar(entities: Any) -> str | None:
    """The ``fn`` of the entity with the registrar role (its vCard, RFC 7095)."""
    for entity in entities[:MAX_ENTITIES] if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        roles = entity.get("roles")
        if not (isinstance(roles, list) and "registrar" in roles):
            continue
        name = _vcard_fn(entity.get("vcardArray"))
        if name:
            return name
        handle = entity.get("handle")
        return clean(handle, 200) if isinstance(handle, str) and handle else None
    return None


def _vcard_fn(vcard: Any) -> str | None:
    if not (isinstance(vcard, list) and len(vcard) == 2 and isinstance(vcard[1], list)):
        return None
    for prop in vcard[1][:100]:
        if isinstance(prop, list) and len(prop) >= 4 and prop[0] == "fn":
            value = prop[3]
            return (clean(value, 200) or None) if isinstance(value, str) else None
    return None


def _nameservers(nameservers: Any) -> tuple[str, ...]:
    names = []
    for ns in nameservers[:MAX_NAMESERVERS] if isinstance(nameservers, list) else []:
        name = ns.get("ldhName") if isinstance(ns, dict) else None
        if isinstance(name, str) and 0 < len(name) <= 253:
            names.append(clean(name, 253).lower().rstrip("."))
    return tuple(sorted(set(names)))
