"""What public static files look like in each release, learned from the vendors' own data.

A hardened site hides its generator tag and ``?ver=`` strings but still serves
core's static files, and those change between releases. Comparing their MD5
with what each release shipped narrows the version. The knowledge is learned,
never typed in: WordPress publishes per-version checksums; Joomla's update XML,
Joomla's TUF targets (5.1+) and Drupal's release history link the release
archives, which are streamed (``intel.archive_stream``), checked against the
digests the vendor publishes, and reduced to the hashes of their public files
(``intel.hash_store``). Learning is lazy: a fingerprint that leaves a range asks
for the releases inside it only (``RangeLearner``), so a fleet costs the
releases its sites may run, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.egress.aio import connector_options
from sitekeeper.egress.bodies import BodyTooLarge, chunks_within
from sitekeeper.egress.policy import ALLOW_HINT, EgressPolicy
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.archive_stream import SpoolMeter, hash_archive
from sitekeeper.intel.fetch import failure_text
from sitekeeper.intel.hash_store import HashKnowledge, is_public, md5_hex
from sitekeeper.intel.release_files import RELEASE_FILES, Paths

__all__ = ["HashKnowledge", "HashSources", "Learner", "RangeLearner", "learn_all", "md5_hex"]
log = logging.getLogger(__name__)
T = TypeVar("T")


class HashSources(BaseModel):
    """Where the vendors' data lives; every base URL is a setting (tests use loopback)."""

    model_config = ConfigDict(extra="forbid")

    vendor: dict[str, Any] = Field(
        default_factory=dict,
        description="The CMS packages' own settings (release lists' URLs), by setting name.",
    )
    timeout: float = Field(default=120.0, gt=0, description="Deadline (s) per download.")
    max_feed_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_archive_bytes: int = Field(default=128 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    parallel: int = Field(default=4, ge=1, description="Downloads at once.")
    user_agent: str = "sitekeeper/0.1 (+release hashes)"
    egress_allow: list[str] | None = Field(
        default=None,
        description="Public addresses only, plus these networks (SITEKEEPER_EGRESS_ALLOW), "
        "as for feeds; None: no restriction (library use, tests).",
    )

    @classmethod
    def from_settings(cls, settings: object) -> HashSources:
        """The CMS packages' settings and the egress policy from the process settings."""
        vendor = dict(getattr(settings, "model_extra", None) or {})
        allow = getattr(settings, "egress_allow", None)
        return cls(vendor=vendor, egress_allow=None if allow is None else list(allow))

    @property
    def egress(self) -> EgressPolicy:
        """Where archives and release lists may be fetched from (after DNS), as feeds."""
        if self.egress_allow is None:
            return EgressPolicy.anywhere()
        return EgressPolicy.public_only(self.egress_allow, ALLOW_HINT)


async def learn_all(
    knowledge: HashKnowledge, sources: HashSources, files: Mapping[str, Paths] | None = None
) -> dict[str, list[str]]:
    """Learn every release of every CMS (``fingerprint --learn``, the optional schedule);
    returns the versions newly learned. ``files``: cms -> paths to keep (default: every
    public file). Fingerprints do not need this: they learn their range lazily.

    A vendor or release that fails does not keep the others from being learned (each
    is saved as it is done); the failure is raised afterwards, so a scheduled run logs
    it and retries.
    """
    wanted = files or {}
    learned: dict[str, list[str]] = {}
    failures: list[FeedError] = []
    async with Learner(knowledge, sources) as learner:
        for kind, cms in RELEASE_FILES.items():
            try:
                learned[kind] = await cms.learn(learner, wanted.get(kind), None)
            except FeedError as exc:
                failures.append(exc)
    raise_all(failures)
    return learned


def raise_all(failures: Sequence[FeedError]) -> None:
    """Raise the failures of a run as one (an invalid archive first: it is news)."""
    if not failures:
        return
    invalid = [f for f in failures if isinstance(f, InvalidFeed)]
    if invalid:
        raise invalid[0]
    if len(failures) == 1:
        raise failures[0]
    permanent = all(f.permanent for f in failures)
    raise FeedError("; ".join(map(str, failures)), permanent=permanent) from failures[0]


async def every(jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Wait for all, then raise the failures: a release that fails must not abandon the
    others half-way (their downloads would be lost, and redone next run)."""
    results = await asyncio.gather(*jobs, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    feed_errors = [f for f in failures if isinstance(f, FeedError)]
    if len(feed_errors) != len(failures):
        raise next(f for f in failures if not isinstance(f, FeedError))
    raise_all(feed_errors)
    return [r for r in results if not isinstance(r, BaseException)]


def keep(paths: Paths) -> Callable[[str], bool]:
    """Which archive members to hash: the given paths, or every public file."""
    if paths is None:
        return is_public
    chosen = set(paths)
    return chosen.__contains__


class Learner:
    """Fetches the vendors' data and fills a :class:`HashKnowledge` (each release saved as
    it is learned). ``spool`` measures the bytes of zip archives on disk at once."""

    def __init__(self, knowledge: HashKnowledge, sources: HashSources | None = None) -> None:
        self.knowledge = knowledge
        self.sources = sources or HashSources()
        self._session: aiohttp.ClientSession | None = None
        self.gate = asyncio.Semaphore(self.sources.parallel)
        self.spool = SpoolMeter()
        self._lists: dict[str, asyncio.Future[Any]] = {}

    async def once(self, key: str, read: Callable[[], Awaitable[T]]) -> T:
        """A vendor's release list read once per learner (concurrent callers share it)."""
        if key not in self._lists:
            self._lists[key] = asyncio.ensure_future(read())
        found: T = await asyncio.shield(self._lists[key])
        return found

    async def __aenter__(self) -> Learner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(**connector_options(self.sources.egress)),
                headers={"User-Agent": self.sources.user_agent},
                timeout=aiohttp.ClientTimeout(total=self.sources.timeout),
                trust_env=False,
            )
        return self._session

    # --- downloads ---

    async def get(self, url: str, max_bytes: int) -> bytes:
        """A bounded GET of a feed; FeedError if it fails, InvalidFeed if it is too big."""
        chunks = [chunk async for chunk in self._stream(url, max_bytes)]
        return b"".join(chunks)

    async def _stream(self, url: str, max_bytes: int) -> AsyncGenerator[bytes]:
        """The body of ``url`` chunk by chunk, at most ``max_bytes`` (InvalidFeed beyond)."""
        if not url.startswith(("https://", "http://")):
            raise InvalidFeed(f"refusing to download non-http URL {url[:80]!r}")
        try:
            async with self._client().get(url) as resp:
                if resp.status != 200:
                    raise FeedError(f"{url}: HTTP {resp.status}", permanent=resp.status == 404)
                try:
                    async for chunk in chunks_within(resp, max_bytes):
                        yield chunk
                except BodyTooLarge:
                    raise InvalidFeed(f"{url}: larger than {max_bytes} bytes") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise FeedError(f"{url}: download failed ({failure_text(exc)})") from exc

    async def archive_hashes(
        self,
        url: str,
        keep: Callable[[str], bool],
        *,
        strip: int,
        expected: Mapping[str, str],
        length: int | None = None,
    ) -> dict[str, str]:
        """MD5 of the kept files inside a release archive, read as it downloads (zip or
        tar.gz), after checking it against the vendor's ``expected`` digests and ``length``.
        The whole download and hashing holds one of ``parallel`` slots."""
        cap = self.sources.max_archive_bytes
        if length is not None:
            cap = min(length, cap)
        async with self.gate:
            stream = self._stream(url, cap + 1)
            try:
                return await hash_archive(
                    url,
                    stream,
                    wanted=keep,
                    strip=strip,
                    expected=expected,
                    length=length,
                    cap=cap,
                    max_file=self.sources.max_file_bytes,
                    spool=self.spool,
                )
            finally:
                await stream.aclose()


class RangeLearner:
    """Learns, for a fingerprint that left a range, the releases inside it: each vendor's
    release list is read once per learner, each release downloaded once even when many
    sites of a run need it at the same time. Failures become notes, never errors."""

    def __init__(self, knowledge: HashKnowledge, sources: HashSources | None = None) -> None:
        self.learner = Learner(knowledge, sources)
        self.knowledge = knowledge
        self._lists: dict[str, asyncio.Task[list[str]]] = {}
        self._versions: dict[tuple[str, str], asyncio.Task[bool]] = {}

    async def __aenter__(self) -> RangeLearner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.learner.__aexit__(*exc)

    async def learn_for(self, found: Fingerprint) -> tuple[list[str], list[str]]:
        """Learn the releases ``found``'s candidates allow; returns (newly learned, notes)."""
        cms = found.cms
        known = RELEASE_FILES.find(cms) if cms else None
        if cms is None or known is None or found.version:
            return [], []
        if not found.candidates and not known.learns_unranged:
            return [], []  # no range yet, and learning every release is not cheap
        notes: list[str] = []
        try:
            listed = await self._listed(cms)
        except FeedError as exc:
            return [], [f"release hashes: the {cms} release list could not be read ({exc})"]
        wanted = [v for v in listed if allowed(cms, v, found.candidates)]
        todo = [v for v in wanted if not self.knowledge.knows(cms, v)]
        results = await asyncio.gather(*(self._learn(cms, v) for v in todo), return_exceptions=True)
        learned = [v for v, r in zip(todo, results, strict=True) if r is True]
        failed = [(v, r) for v, r in zip(todo, results, strict=True) if isinstance(r, Exception)]
        if failed:
            notes.append(
                f"release hashes: {len(failed)} release(s) could not be learned "
                f"(e.g. {failed[0][0]}: {failed[0][1]})"
            )
        return learned, notes

    async def _listed(self, cms: str) -> list[str]:
        if cms not in self._lists:
            self._lists[cms] = asyncio.ensure_future(self._read_list(cms))
        return await asyncio.shield(self._lists[cms])

    async def _read_list(self, cms: str) -> list[str]:
        return await RELEASE_FILES.get(cms).releases(self.learner)

    async def _learn(self, cms: str, version: str) -> bool:
        key = (cms, version)
        if key not in self._versions:
            self._versions[key] = asyncio.ensure_future(self._learn_one(cms, version))
        return await asyncio.shield(self._versions[key])

    async def _learn_one(self, cms: str, version: str) -> bool:
        done = await RELEASE_FILES.get(cms).learn(self.learner, None, {version}.__contains__)
        return version in done


def allowed(cms: str, version: str, candidates: Sequence[str]) -> bool:
    """Whether ``version`` fits a fingerprint's candidates: every range (">=10.0 <11.0")
    holds, and it is one of the listed versions if any are listed."""
    eco = RELEASE_FILES.get(cms).ecosystem
    ranges = [c for c in candidates if c[:1] in "<>="]
    listed = [c for c in candidates if c[:1] not in "<>="]
    if listed and not any(_same(eco, version, v) for v in listed):
        return False
    return all(eco.within(version, r) for r in ranges)


def _same(eco: Ecosystem, left: str, right: str) -> bool:
    try:
        return eco.compare(left, right) == 0
    except ValueError:
        return False
