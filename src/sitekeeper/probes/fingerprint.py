"""The fingerprint probe: which CMS a site runs and which release, from outside, politely.

A handful of requests per site: the home page, then only what the clues so
far call for (a version-bearing public file, or a few static files to hash).
Every request obeys the same limits as the uptime probe (one total deadline,
capped bodies, capped redirects, a per-IP concurrency slot). A site that is
down or hostile yields a result with ``error`` set, never an exception.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Self, Unpack

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

from sitekeeper.config import Settings
from sitekeeper.domain.checks import CaBundle, CheckOptions
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.untrusted import clean
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.egress.policy import site_policy
from sitekeeper.intel.hashes import HashKnowledge, HashSources, learn_all
from sitekeeper.intel.narrowing import narrow
from sitekeeper.plugins import Registry
from sitekeeper.probes.client import ClientLimits, HttpClientBase
from sitekeeper.probes.http import classify_error


class CmsSignals(Protocol):
    """What the fingerprint asks of a CMS: where to look and how to read what it finds.

    Every CMS package provides it as part of its ``cms.protocol.Cms`` object, filed here
    by ``cms.registry`` under the CMS's kind; the probe names no CMS.
    """

    @property
    def kind(self) -> str:
        """The CMS's kind, as clues name it (``Fingerprint.cms``)."""
        ...

    @property
    def ecosystem(self) -> Ecosystem:
        """Whose version rules order and bound its releases."""
        ...

    @property
    def detect_path(self) -> str:
        """A public path fetched when the home page shows no CMS."""
        ...

    def read_signals(
        self, url: str, status: int, headers: Mapping[str, str], text: str
    ) -> list[Fingerprint]:
        """Clues about this CMS in one response (never raises on hostile input)."""
        ...

    def version_paths(self, clues: list[Fingerprint]) -> tuple[str, ...]:
        """Public files that may name the version, given the clues so far."""
        ...


CMS_SIGNALS: Registry[CmsSignals] = Registry("cms-signals", builtins=("sitekeeper.cms",))

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_EVIDENCE = 20  # lines kept per result


class FingerprintOptions(BaseModel):
    """Per-site fingerprint settings, stored as validated JSON."""

    model_config = ConfigDict(extra="forbid")

    timeout: float | None = Field(default=None, gt=0, le=300, description="Total deadline (s).")
    max_requests: int = Field(default=10, ge=1, le=30, description="Requests per fingerprint.")
    verify_tls: bool = True
    ca_bundle: CaBundle = None

    @classmethod
    def from_check(cls, check: CheckOptions) -> FingerprintOptions:
        """What a site's check options say about fingerprinting it: the site is trusted as
        its check trusts it (a self-signed site the agency marked ``verify_tls=false``, a
        site whose certificate comes from the agency's private CA in ``ca_bundle``)."""
        return cls(verify_tls=check.verify_tls, ca_bundle=check.ca_bundle)


class _TooManyRedirects(Exception):
    """A redirect chain longer than the cap."""


class _OutOfRequests(Exception):
    """The per-site request budget is spent; the result is built from what was seen."""


@dataclass(slots=True)
class Response:
    """One fetched URL after redirects: status, lower-cased headers, capped body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool

    @property
    def text(self) -> str:
        """The body as text (pages declare any charset; the markers we look for are ASCII)."""
        return self.body.decode("utf-8", "replace")


@dataclass
class _Run:
    """One fingerprint: what was fetched and concluded so far."""

    base: URL
    options: FingerprintOptions
    requests: int = 0
    clues: list[Fingerprint] = field(default_factory=list)
    fetched: dict[str, Response | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    hashed: list[str] | None = None  # versions the static-file hashes allow


class FingerprintProbe(HttpClientBase):
    """Fingerprints sites; share one per process (connections, DNS cache, per-IP slots)."""

    kind: ClassVar[str] = "fingerprint"
    Config: ClassVar[type[FingerprintOptions]] = FingerprintOptions
    force_close = False  # a fingerprint asks one site several questions in a row
    default_timeout = 20.0
    default_user_agent = "sitekeeper/0.1 (+fingerprint)"

    def __init__(
        self, *, hashes: HashKnowledge | None = None, **limits: Unpack[ClientLimits]
    ) -> None:
        """``timeout`` is the total deadline of one fingerprint, all requests included."""
        super().__init__(**limits)
        self._hashes = hashes
        self.requests = 0  # HTTP requests sent so far (diagnostics, politeness tests)

    @classmethod
    def from_settings(cls, settings: Settings, hashes: HashKnowledge | None = None) -> Self:
        """A probe with the operator's limits (a fingerprint gets twice a check's deadline)."""
        return cls(
            timeout=settings.check_timeout * 2,
            max_body_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
            user_agent=settings.user_agent,
            per_ip_concurrency=settings.per_ip_concurrency,
            dns_servers=settings.dns_servers,
            dns_timeout=settings.dns_timeout,
            egress=site_policy(settings),
            hashes=hashes,
        )

    @classmethod
    async def in_home(cls, settings: Settings) -> Self:
        """A probe with the operator's limits and the hash knowledge learned so far in the
        data directory (read now: open one per run to see what a later learning adds)."""
        hashes = await asyncio.to_thread(HashKnowledge.in_home, settings.home)
        return cls.from_settings(settings, hashes)

    async def fingerprint(
        self,
        url: str,
        options: FingerprintOptions | None = None,
        hashes: HashKnowledge | None = None,
    ) -> Fingerprint:
        """The CMS and version of the site at ``url``; failures are in ``error``."""
        opts = options or FingerprintOptions()
        knowledge = hashes if hashes is not None else self._hashes
        base = URL(url if url.endswith("/") else url + "/")
        run = _Run(base=base, options=opts)
        seconds = opts.timeout or self._timeout
        error: str | None = None
        try:
            async with asyncio.timeout(seconds):
                await self._investigate(run, knowledge)
        except TimeoutError:
            error = f"timeout: gave up after {seconds:g} s"
        except _TooManyRedirects as exc:
            error = f"too_many_redirects: {exc}"
        except _OutOfRequests:
            run.notes.append(f"stopped at the budget of {opts.max_requests} requests")
        except (aiohttp.ClientError, HttpProcessingError, OSError, ValueError) as exc:
            category, detail = classify_error(exc)
            error = f"{category}: {detail}"
        return _conclude(url, run, error)

    async def _investigate(self, run: _Run, hashes: HashKnowledge | None) -> None:
        """Home page; if no CMS shows, the detect paths; then version files; then hashes."""
        home = await self._fetch(run, "")
        if home.status >= 400:
            run.notes.append(f"{home.url}: home page answered HTTP {home.status}")
        run.base = URL(home.url).with_path(run.base.path)  # keep https/www the site moved to
        cms = _choose(run.clues)
        if cms is None:
            await self._fetch_many(run, [c.detect_path for _, c in CMS_SIGNALS.items()])
            cms = _choose(run.clues)
        if cms is None:
            return
        for path in CMS_SIGNALS.get(cms).version_paths(run.clues):
            if _exact(run.clues, cms):
                break
            await self._fetch_optional(run, path)
        if not _exact(run.clues, cms) and hashes is not None:
            await self._hash_static(run, cms, hashes)

    async def _hash_static(self, run: _Run, cms: str, hashes: HashKnowledge) -> None:
        """Fetch the public files that best split the releases still possible (learned from
        the vendors), until one is left or none differs (``intel.narrowing``)."""
        eco = CMS_SIGNALS.get(cms).ecosystem
        bounded = _bounded(run.clues, cms)
        possible = [v for v in hashes.releases(cms) if all(eco.within(v, r) for r in bounded)]

        async def fetch(path: str) -> bytes | None:
            await self._fetch_optional(run, path)
            response = run.fetched.get(path)
            if response is None or response.status != 200 or response.truncated:
                return None
            return response.body

        def progress(versions: list[str]) -> None:
            run.hashed = versions  # kept if the request budget ends the run half-way

        budget = run.options.max_requests - run.requests
        found = await narrow(hashes, cms, possible, fetch, budget=budget, on_progress=progress)
        run.notes.extend(found.notes)

    async def _fetch_many(self, run: _Run, paths: Sequence[str]) -> None:
        await asyncio.gather(*(self._fetch_optional(run, p) for p in paths))

    async def _fetch_optional(self, run: _Run, path: str) -> None:
        """A secondary file: its failure is a note, not the site's error."""
        if path in run.fetched:
            return
        try:
            await self._fetch(run, path)
        except _TooManyRedirects as exc:
            run.notes.append(str(exc))
        except (aiohttp.ClientError, HttpProcessingError, OSError, ValueError) as exc:
            run.fetched[path] = None
            run.notes.append(f"{path}: {classify_error(exc)[1]}")

    async def _fetch(self, run: _Run, path: str) -> Response:
        """GET one path under the site, following capped redirects; clues are collected."""
        run.fetched.setdefault(path, None)
        url = run.base.join(URL(path)) if path else run.base
        for _ in range(self._max_redirects + 1):
            if run.requests >= run.options.max_requests:
                raise _OutOfRequests
            run.requests += 1
            self.requests += 1
            response, location = await self._get(url, run.options)
            if location is None:
                break
            url = url.join(URL(location))
            if url.scheme not in ("http", "https") or not url.host:
                raise ValueError(f"redirect to non-http URL {clean(location, 80)!r}")
        else:
            raise _TooManyRedirects(f"{path or '/'}: more than {self._max_redirects} redirects")
        run.fetched[path] = response
        for _, cms in CMS_SIGNALS.items():
            run.clues.extend(
                cms.read_signals(response.url, response.status, response.headers, response.text)
            )
        return response

    async def _get(self, url: URL, opts: FingerprintOptions) -> tuple[Response, str | None]:
        """One request in the server's per-IP slot; a redirect returns its Location."""
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {url}")
        # Only https needs the context: a broken ca_bundle must not fail a plain-http site.
        context = (
            self._ssl_context(opts.verify_tls, opts.ca_bundle) if url.scheme == "https" else True
        )
        ip = await self._address(url.host, url.port or 80)
        async with (
            self._limiter.hold(ip),
            self._client().get(url, allow_redirects=False, ssl=context) as resp,
        ):
            # Header values are the site's words: no escape or newline reaches a clue.
            headers = {k.lower(): clean(v, 500) for k, v in resp.headers.items()}
            location = resp.headers.get("Location")
            if resp.status in _REDIRECTS and location:
                return Response(str(url), resp.status, headers, b"", False), location
            body, truncated = await self._read_capped(resp)
            return Response(str(url), resp.status, headers, body, truncated), None

    async def _address(self, host: str, port: int) -> str:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            answers = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
            if not answers:
                raise OSError(f"cannot resolve {host}") from None
            return str(answers[0]["host"])
        return host


def _choose(clues: Sequence[Fingerprint]) -> str | None:
    """The CMS with the most weight: a clue with a version weighs three."""
    score: dict[str, int] = {}
    for clue in clues:
        if clue.cms is not None:
            score[clue.cms] = score.get(clue.cms, 0) + (3 if clue.version else 1)
    if not score:
        return None
    ranked = sorted(score.items(), key=lambda item: -item[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # a tie is no answer
    return ranked[0][0]


def _exact(clues: Sequence[Fingerprint], cms: str) -> bool:
    return any(c.cms == cms and c.version for c in clues)


def _conclude(url: str, run: _Run, error: str | None) -> Fingerprint:
    """The result, its evidence capped (a hostile page could yield thousands of clues)."""
    result = _judge(url, run, error)
    result.evidence = result.evidence[:MAX_EVIDENCE]
    return result


def _bounded(clues: Sequence[Fingerprint], cms: str) -> list[str]:
    """The version ranges the clues give, the bounded ones only if any ("Drupal 10" beats
    "8+")."""
    ranges = sorted({r for c in clues if c.cms == cms for r in c.candidates})
    return [r for r in ranges if "<" in r] or ranges


def _judge(url: str, run: _Run, error: str | None) -> Fingerprint:
    """The CMS, one version if every exact clue agrees, else the narrowest set."""
    cms = _choose(run.clues)
    if cms is None:
        evidence = [e for c in run.clues for e in c.evidence] + run.notes
        return Fingerprint(url=url, cms=None, evidence=evidence, error=error)
    eco = CMS_SIGNALS.get(cms).ecosystem
    mine = [c for c in run.clues if c.cms == cms]
    evidence = [e for c in mine for e in c.evidence] + run.notes
    bounded = _bounded(run.clues, cms)
    exact = sorted({c.version for c in mine if c.version}, key=eco.sort_key())
    if len(exact) == 1:
        return Fingerprint(url=url, cms=cms, version=exact[0], evidence=evidence, error=error)
    if exact:
        evidence.append("the public files disagree on the version")
        return Fingerprint(url=url, cms=cms, candidates=exact, evidence=evidence, error=error)
    if run.hashed is not None:
        allowed = [v for v in run.hashed if all(eco.within(v, r) for r in bounded)]
        if len(allowed) == 1:
            return Fingerprint(url=url, cms=cms, version=allowed[0], evidence=evidence, error=error)
        if allowed:
            return Fingerprint(url=url, cms=cms, candidates=allowed, evidence=evidence, error=error)
    return Fingerprint(url=url, cms=cms, candidates=bounded, evidence=evidence, error=error)


async def learn_release_hashes(settings: Settings) -> dict[str, list[str]]:
    """Learn the static files of releases not yet in the data directory's cache (what
    ``fingerprint --learn`` and ``serve`` do); returns the versions newly learned."""
    hashes = await asyncio.to_thread(HashKnowledge.in_home, settings.home)
    return await learn_all(hashes, HashSources.from_settings(settings))


async def fingerprint(
    url: str,
    *,
    settings: Settings | None = None,
    options: FingerprintOptions | None = None,
    hashes: HashKnowledge | None = None,
    probe: FingerprintProbe | None = None,
) -> Fingerprint:
    """Fingerprint one site (with a shared ``probe``, or a temporary one from ``settings``)."""
    if probe is not None:
        return await probe.fingerprint(url, options, hashes)
    made = FingerprintProbe.from_settings(settings) if settings else FingerprintProbe()
    async with made:
        return await made.fingerprint(url, options, hashes)
