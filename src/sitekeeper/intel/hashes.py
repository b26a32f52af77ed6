"""What public static files look like in each release, learned from the vendors' own data.

A hardened site hides its generator tag and ``?ver=`` strings but still serves
core's static files, and those change between releases. Comparing their MD5
with what each release shipped narrows the version. The knowledge is learned,
never typed in: WordPress publishes per-version checksums; Joomla's update XML,
Joomla's TUF targets (5.1+) and Drupal's release history link the release
archives, which are downloaded once per version, checked against the digests
the vendor publishes, and reduced to the hashes of a few chosen files. The result
is a small JSON file in the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.drupal_releases import DrupalRelease, parse_release_history
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.intel.joomla_tuf import TufRelease, parse_tuf_targets
from sitekeeper.intel.joomla_updates import (
    JoomlaUpdate,
    parse_collection,
    parse_update_server,
)
from sitekeeper.intel.payload import parse_xml
from sitekeeper.intel.wordpress_api import parse_core_checksums, parse_stable_check

CACHE_FORMAT = 1
MAX_MEMBERS = 100_000  # a CMS archive has ~20k files; more is a bomb
MAX_UNPACKED = 1024 * 1024 * 1024  # sum of member sizes looked at in one archive
_ECOSYSTEMS = {"wordpress": Ecosystem.WORDPRESS, "joomla": Ecosystem.JOOMLA}
T = TypeVar("T")


class HashSources(BaseModel):
    """Where the vendors' data lives; every base URL is a setting (tests use loopback)."""

    model_config = ConfigDict(extra="forbid")

    wordpress_api_url: str = "https://api.wordpress.org"
    joomla_update_url: str = "https://update.joomla.org/core/list.xml"
    joomla_tuf_url: str = "https://update.joomla.org/cms/"
    joomla_tuf_root: Path | None = Field(
        default=None, description="Trusted root.json of Joomla's TUF repository (5.1+ releases)."
    )
    joomla_tuf_state: Path | None = Field(
        default=None, description="TUF metadata kept between runs (default: next to the cache)."
    )
    drupal_updates_url: str = "https://updates.drupal.org/release-history"
    timeout: float = Field(default=120.0, gt=0, description="Deadline (s) per download.")
    max_feed_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_archive_bytes: int = Field(default=128 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    parallel: int = Field(default=4, ge=1, description="Downloads at once.")
    user_agent: str = "sitekeeper/0.1 (+release hashes)"

    @classmethod
    def from_settings(cls, settings: object) -> HashSources:
        """The URLs from the process settings, for those fields ``config.Settings`` has."""
        names = (
            "wordpress_api_url",
            "joomla_update_url",
            "drupal_updates_url",
            "joomla_tuf_url",
            "joomla_tuf_root",
        )
        values = {n: getattr(settings, n) for n in names if getattr(settings, n, None)}
        return cls(**values)


class HashKnowledge:
    """cms -> version -> {path: md5} for the chosen static files, kept in one JSON file.

    A version learned with no chosen file in it is stored with an empty map, so
    it is not downloaded again.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._known: dict[str, dict[str, dict[str, str]]] = {}

    @classmethod
    def load(cls, path: Path) -> HashKnowledge:
        """The cache at ``path`` (empty if absent); InvalidFeed if it is not ours."""
        knowledge = cls(path)
        if not path.exists():
            return knowledge
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidFeed(f"hash cache {path}: unreadable ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            raise InvalidFeed(f"hash cache {path}: unknown format")
        for cms, versions in (data.get("cms") or {}).items():
            for version, files in versions.items():
                knowledge.add(cms, version, files)
        return knowledge

    @classmethod
    def in_home(cls, home: Path) -> HashKnowledge:
        """The cache in a data directory (``cache/release-hashes.json``)."""
        return cls.load(home / "cache" / "release-hashes.json")

    def save(self) -> None:
        """Write atomically, so a crash never leaves half a cache."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": CACHE_FORMAT, "cms": self._known}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".hashes-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, sort_keys=True)
        Path(tmp).replace(self.path)

    def add(self, cms: str, version: str, files: Mapping[str, str]) -> None:
        """Record what ``version`` of ``cms`` shipped (lower-case hex MD5 per path)."""
        self._known.setdefault(cms, {})[version] = {p: d.lower() for p, d in files.items()}

    def versions(self, cms: str) -> list[str]:
        """Versions learned for ``cms``, oldest first."""
        return _sorted(cms, self._known.get(cms, {}))

    def knows(self, cms: str, version: str) -> bool:
        """Whether ``version`` was learned (even if it had none of the files)."""
        return version in self._known.get(cms, {})

    def paths(self, cms: str) -> list[str]:
        """Files worth fetching from a site: those some learned version has, most common first."""
        counts: dict[str, int] = {}
        for files in self._known.get(cms, {}).values():
            for path in files:
                counts[path] = counts.get(path, 0) + 1
        return sorted(counts, key=lambda p: (-counts[p], p))

    def match(self, cms: str, observed: Mapping[str, str]) -> list[str]:
        """Versions whose files have exactly the observed hashes, oldest first.

        A version that lacks an observed file is out too: the site serves a file
        that release never shipped.
        """
        if not observed:
            return []
        found = [
            version
            for version, files in self._known.get(cms, {}).items()
            if all(files.get(path) == digest.lower() for path, digest in observed.items())
        ]
        return _sorted(cms, found)

    def snapshot(self) -> dict[str, dict[str, dict[str, str]]]:
        """A copy of everything learned: cms -> version -> {path: md5}."""
        return {cms: {v: dict(f) for v, f in known.items()} for cms, known in self._known.items()}

    def releases_with(self, cms: str, path: str, digest: str) -> list[str]:
        """Versions that shipped this exact file (for evidence lines)."""
        found = [v for v, f in self._known.get(cms, {}).items() if f.get(path) == digest.lower()]
        return _sorted(cms, found)


def _sorted(cms: str, versions: Iterable[str]) -> list[str]:
    eco = _ECOSYSTEMS.get(cms, Ecosystem.DRUPAL)
    items = list(versions)
    try:
        return sorted(items, key=eco.sort_key())
    except ValueError:
        return sorted(items)


async def learn_all(
    knowledge: HashKnowledge, sources: HashSources, files: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Learn every CMS in ``files`` (cms -> static paths); returns the versions newly learned.

    A vendor that fails does not keep the others from being learned (all is saved);
    the failure is raised afterwards, so that a scheduled run logs it and retries.
    """
    learned: dict[str, list[str]] = {}
    failures: list[FeedError] = []
    async with Learner(knowledge, sources) as learner:
        for cms, learn in (
            ("wordpress", learner.learn_wordpress),
            ("joomla", learner.learn_joomla),
            ("drupal", learner.learn_drupal),
        ):
            try:
                learned[cms] = await learn(files[cms])
            except FeedError as exc:
                failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        permanent = all(f.permanent for f in failures)
        raise FeedError("; ".join(map(str, failures)), permanent=permanent) from failures[0]
    return learned


async def _every(jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Wait for all, then raise the first failure: a release that fails must not abandon
    the others half-way (their downloads would be lost, and redone next run)."""
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]


class Learner:
    """Fetches the vendors' data and fills a :class:`HashKnowledge` (then saves it)."""

    def __init__(self, knowledge: HashKnowledge, sources: HashSources | None = None) -> None:
        self.knowledge = knowledge
        self.sources = sources or HashSources()
        self._session: aiohttp.ClientSession | None = None
        self._gate = asyncio.Semaphore(self.sources.parallel)

    async def __aenter__(self) -> Learner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        self.knowledge.save()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": self.sources.user_agent},
                timeout=aiohttp.ClientTimeout(total=self.sources.timeout),
                trust_env=False,
            )
        return self._session

    async def learn_wordpress(
        self, paths: Sequence[str], versions: Iterable[str] | None = None, oldest: str = "3.7"
    ) -> list[str]:
        """Learn from ``/core/checksums/1.0/``; if no versions are given, those stable-check
        lists from ``oldest`` on (older sites are rare and cost a request each).
        """
        base = self.sources.wordpress_api_url.rstrip("/")
        if versions is None:
            body = await self._get(f"{base}/core/stable-check/1.0/", self.sources.max_feed_bytes)
            eco = Ecosystem.WORDPRESS
            versions = [v for v in parse_stable_check(body) if eco.compare(v, oldest) >= 0]
        todo = [v for v in versions if not self.knowledge.knows("wordpress", v)]

        async def one(version: str) -> str | None:
            url = f"{base}/core/checksums/1.0/?version={version}&locale=en_US"
            async with self._gate:
                body = await self._get(url, self.sources.max_feed_bytes)
            checksums = parse_core_checksums(body)
            if checksums is None:
                return None  # WordPress does not know it: nothing to learn
            self.knowledge.add(
                "wordpress", version, {p: checksums[p] for p in paths if p in checksums}
            )
            return version

        done = await _every(one(v) for v in todo)
        return [v for v in done if v is not None]

    async def learn_joomla(self, paths: Sequence[str]) -> list[str]:
        """Learn from the legacy core update feed (3.x, 4.x) and, when a trusted root is
        configured, the TUF repository (5.1+): each listed release's package, verified.
        """
        updates = await self._joomla_updates(self.sources.joomla_update_url)
        todo: dict[str, JoomlaUpdate] = {}
        for update in updates:
            if update.element == "joomla" and not self.knowledge.knows("joomla", update.version):
                todo.setdefault(update.version, update)
        tuf: dict[str, TufRelease] = {}
        if self.sources.joomla_tuf_root is not None:
            for release in await self._joomla_tuf_releases():
                version = release.info.version
                if version not in todo and not self.knowledge.knows("joomla", version):
                    tuf.setdefault(version, release)

        async def one(update: JoomlaUpdate) -> str:
            url = next(d.url for d in update.downloads if not d.source)
            files = await self._archive_hashes(url, paths, strip=0, expected=update.hashes)
            self.knowledge.add("joomla", update.version, files)
            return update.version

        async def one_tuf(release: TufRelease) -> str:
            files = await self._tuf_archive_hashes(release, paths)
            self.knowledge.add("joomla", release.info.version, files)
            return release.info.version

        return await _every([*(one(u) for u in todo.values()), *(one_tuf(r) for r in tuf.values())])

    async def _joomla_tuf_releases(self) -> list[TufRelease]:
        """Core releases of the TUF targets, verified by python-tuf exactly as the poller does."""
        from sitekeeper.intel.pollers.joomla import tuf_targets  # noqa: PLC0415 - pulls in tuf

        settings = FeedSettings(
            joomla_tuf_url=self.sources.joomla_tuf_url,
            joomla_tuf_root=self.sources.joomla_tuf_root,
        )
        state = self.sources.joomla_tuf_state
        if state is None and self.knowledge.path is not None:
            state = self.knowledge.path.parent / "joomla-tuf-hashes"
        if state is not None:
            targets = await asyncio.to_thread(tuf_targets, settings, state)
        else:
            with tempfile.TemporaryDirectory(prefix="sitekeeper-tuf-") as tmp:
                targets = await asyncio.to_thread(tuf_targets, settings, Path(tmp))
        releases = parse_tuf_targets(targets, max_bytes=self.sources.max_feed_bytes)
        return [r for r in releases if r.info.element == "joomla"]

    async def _tuf_archive_hashes(
        self, release: TufRelease, paths: Sequence[str]
    ) -> dict[str, str]:
        """The package from the first mirror that answers, checked against the signed target.

        A mirror that is down is skipped; one that serves other bytes is not
        (InvalidFeed): the target's length and hashes are what TUF vouched for.
        """
        urls = [d.url for d in release.info.downloads if d.type == "full"] or [
            d.url for d in release.info.downloads
        ]
        if not urls:
            raise InvalidFeed(f"Joomla TUF target {release.filename}: no download link")
        failures: list[str] = []
        for url in urls:
            try:
                return await self._archive_hashes(
                    url, paths, strip=0, expected=release.hashes, length=release.length
                )
            except InvalidFeed:
                raise
            except FeedError as exc:
                failures.append(str(exc))
        raise FeedError(
            f"Joomla {release.info.version}: no mirror answered ({'; '.join(failures)})"
        )

    async def _joomla_updates(self, url: str) -> list[JoomlaUpdate]:
        """An ``<updates>`` server, or a collection whose entries point at them."""
        body = await self._get(url, self.sources.max_feed_bytes)
        root = parse_xml(
            body, what="Joomla core update feed", max_bytes=self.sources.max_feed_bytes
        )
        if root.tag == "updates":
            return parse_update_server(body, max_bytes=self.sources.max_feed_bytes)
        entries = parse_collection(body, max_bytes=self.sources.max_feed_bytes)
        details = sorted({e.detailsurl for e in entries if e.element == "joomla"})
        found: list[JoomlaUpdate] = []
        for detail in details:
            text = await self._get(detail, self.sources.max_feed_bytes)
            found.extend(parse_update_server(text, max_bytes=self.sources.max_feed_bytes))
        return found

    async def learn_drupal(
        self, paths: Sequence[str], branches: Sequence[str] = ("current", "7.x")
    ) -> list[str]:
        """Learn from ``release-history/drupal/<branch>``: each published release's tarball."""
        base = self.sources.drupal_updates_url.rstrip("/")
        todo: dict[str, DrupalRelease] = {}
        for branch in branches:
            body = await self._get(f"{base}/drupal/{branch}", self.sources.max_feed_bytes)
            history = parse_release_history(body, max_bytes=self.sources.max_feed_bytes)
            if history is None:
                continue
            for release in history.releases:
                link = release.download_link
                if (
                    link
                    and link.endswith(".tar.gz")
                    and release.status == "published"
                    and "dev" not in release.version
                    and not self.knowledge.knows("drupal", release.version)
                ):
                    todo.setdefault(release.version, release)

        async def one(release: DrupalRelease) -> str:
            link = release.download_link or ""
            md5, size = release.digest_of(link)
            if md5 is None:
                # Every release on updates.drupal.org has one; a history without
                # it cannot vouch for what a mirror hands us.
                raise InvalidFeed(f"{link}: the release history publishes no MD5 for it")
            files = await self._archive_hashes(
                link, paths, strip=1, expected={"md5": md5}, length=size
            )
            self.knowledge.add("drupal", release.version, files)
            return release.version

        return await _every(one(r) for r in todo.values())

    async def _get(self, url: str, max_bytes: int) -> bytes:
        """A bounded GET of a feed; FeedError if it fails, InvalidFeed if it is too big."""
        with tempfile.TemporaryFile() as handle:
            await self._download(url, handle, max_bytes)
            handle.seek(0)
            return handle.read()

    async def _download(self, url: str, handle: IO[bytes], max_bytes: int) -> None:
        if not url.startswith(("https://", "http://")):
            raise InvalidFeed(f"refusing to download non-http URL {url[:80]!r}")
        try:
            async with self._client().get(url) as resp:
                if resp.status != 200:
                    raise FeedError(f"{url}: HTTP {resp.status}", permanent=resp.status == 404)
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise InvalidFeed(f"{url}: larger than {max_bytes} bytes")
                    handle.write(chunk)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise FeedError(f"{url}: download failed ({type(exc).__name__}: {exc})") from exc

    async def _archive_hashes(
        self,
        url: str,
        paths: Sequence[str],
        *,
        strip: int,
        expected: Mapping[str, str],
        length: int | None = None,
    ) -> dict[str, str]:
        """MD5 of the wanted files inside a release archive (zip or tar.gz), after checking
        the archive against the vendor's ``expected`` digests and ``length``.
        """
        cap = (
            self.sources.max_archive_bytes
            if length is None
            else min(length, self.sources.max_archive_bytes)
        )
        with tempfile.TemporaryFile() as handle:
            async with self._gate:
                await self._download(url, handle, cap)
            if length is not None and handle.tell() != length:
                raise InvalidFeed(
                    f"{url}: {handle.tell()} bytes, the vendor says {length}; archive rejected"
                )
            handle.seek(0)
            _verify(handle, expected, url)
            handle.seek(0)
            return await asyncio.to_thread(
                _hash_members, handle, set(paths), strip, self.sources.max_file_bytes, url
            )


def _verify(handle: IO[bytes], expected: Mapping[str, str], url: str) -> None:
    """Check the vendor's published digests (Joomla's sha256/384/512, Drupal's md5)."""
    for name, digest in expected.items():
        if name not in hashlib.algorithms_available:
            raise InvalidFeed(f"{url}: unknown digest algorithm {name[:40]!r}; archive rejected")
        # Drupal only publishes MD5; it is checked for integrity, the TLS link vouches for origin.
        hasher = hashlib.new(name, usedforsecurity=name != "md5")
        handle.seek(0)
        while chunk := handle.read(1024 * 1024):
            hasher.update(chunk)
        if hasher.hexdigest() != digest.lower():
            raise InvalidFeed(f"{url}: {name} does not match the feed; archive rejected")


def _hash_members(
    handle: IO[bytes], wanted: set[str], strip: int, max_file: int, url: str
) -> dict[str, str]:
    """Read only the wanted members, each capped; the archive is never extracted."""
    magic = handle.read(4)
    handle.seek(0)
    try:
        if magic.startswith(b"PK"):
            return _from_zip(handle, wanted, strip, max_file)
        return _from_tar(handle, wanted, strip, max_file)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidFeed(f"{url}: not a readable release archive ({exc})") from exc


def _relative(name: str, strip: int) -> str:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts[strip:])


def _from_zip(handle: IO[bytes], wanted: set[str], strip: int, max_file: int) -> dict[str, str]:
    found: dict[str, str] = {}
    with zipfile.ZipFile(handle) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InvalidFeed(f"archive has {len(infos)} members")
        for info in infos:
            path = _relative(info.filename, strip)
            if path in wanted and not info.is_dir() and info.file_size <= max_file:
                with archive.open(info) as member:
                    found[path] = _md5_capped(member, max_file)
    return found


def _from_tar(handle: IO[bytes], wanted: set[str], strip: int, max_file: int) -> dict[str, str]:
    found: dict[str, str] = {}
    seen = unpacked = 0
    with tarfile.open(fileobj=handle, mode="r:*") as archive:
        for member in archive:
            seen += 1
            unpacked += max(member.size, 0)
            if seen > MAX_MEMBERS or unpacked > MAX_UNPACKED:
                raise InvalidFeed("archive is larger than any CMS release")
            path = _relative(member.name, strip)
            if path in wanted and member.isfile() and member.size <= max_file:
                extracted = archive.extractfile(member)
                if extracted is not None:
                    with contextlib.closing(extracted):
                        found[path] = _md5_capped(extracted, max_file)
    return found


def _md5_capped(stream: IO[bytes], max_file: int) -> str:
    # MD5 because that is what WordPress publishes; it identifies, it does not protect.
    digest = hashlib.md5(usedforsecurity=False)
    data = stream.read(max_file + 1)
    if len(data) > max_file:
        raise InvalidFeed(f"archive member larger than {max_file} bytes")
    digest.update(data)
    return digest.hexdigest()


def md5_hex(data: bytes) -> str:
    """The MD5 a site's served file is compared with."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
