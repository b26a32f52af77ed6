"""Every file's MD5 of a CMS release, from its verified release archive, for the
integrity scan of CMSes whose vendor publishes no per-file list (Joomla, Drupal).

A release is downloaded once (streamed, checked against the vendor's digest by the
CMS's ``release_tree``) and kept as one gzip'd JSON file in
``cache/release-trees/<cms>/<version>.json.gz``. Unlike the fingerprint's public-file
hashes these hold every file (~20k for Drupal), so the cache keeps only the
``max_releases`` most recently used releases: a fleet runs a handful of versions.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import tempfile
from pathlib import Path

from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.hash_store import HashKnowledge
from sitekeeper.intel.hashes import HashSources, Learner
from sitekeeper.intel.release_files import RELEASE_FILES, ReleaseArchives

FORMAT = 1
MAX_FILES = 100_000  # as many members as an archive may have
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")  # the site's inventory says it
_HEX = re.compile(r"^[0-9a-f]{32}$")


class ReleaseTrees:
    """Release archives' file lists for one run: cached on disk (or in memory only),
    fetched with one :class:`Learner` (its egress policy and size caps)."""

    def __init__(
        self, root: Path | None, sources: HashSources | None = None, *, max_releases: int = 12
    ) -> None:
        self.root = root
        self.max_releases = max(1, max_releases)
        self.learner = Learner(HashKnowledge(None), sources)
        self._memory: dict[tuple[str, str], dict[str, str]] = {}

    @classmethod
    def in_home(cls, home: Path, sources: HashSources | None = None) -> ReleaseTrees:
        """The cache in a data directory (``cache/release-trees/``)."""
        return cls(home / "cache" / "release-trees", sources)

    async def __aenter__(self) -> ReleaseTrees:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.learner.__aexit__(*exc)

    async def tree(self, kind: str, version: str) -> dict[str, str] | None:
        """path -> MD5 of every file of ``kind``'s release ``version``; None when the CMS
        has no release archives or the vendor lists no such release. FeedError when it
        cannot be fetched, InvalidFeed when the archive is not what the vendor vouched for."""
        cms = RELEASE_FILES.find(kind)
        if not isinstance(cms, ReleaseArchives) or not _VERSION.match(version):
            return None
        key = (kind, version)
        if key in self._memory:
            return self._memory[key]
        found = self._read(kind, version)
        if found is None:
            found = await cms.release_tree(self.learner, version)
            if found is None:
                return None
            found = {p: d.lower() for p, d in list(found.items())[:MAX_FILES]}
            self._write(kind, version, found)
        self._memory[key] = found
        return found

    def _file(self, kind: str, version: str) -> Path | None:
        return None if self.root is None else self.root / kind / f"{version}.json.gz"

    def _read(self, kind: str, version: str) -> dict[str, str] | None:
        """A cached release (touched, so the least recently used goes first); a file that
        cannot be read is dropped and fetched again."""
        target = self._file(kind, version)
        if target is None or not target.is_file():
            return None
        try:
            data = json.loads(gzip.decompress(target.read_bytes()))
            files = data["files"] if data.get("format") == FORMAT else None
            if not isinstance(files, dict) or not all(
                isinstance(p, str) and isinstance(d, str) and _HEX.match(d)
                for p, d in files.items()
            ):
                raise InvalidFeed("not a release tree")
        except (OSError, ValueError, EOFError, KeyError, AttributeError, InvalidFeed):
            target.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(target)
        return files

    def _write(self, kind: str, version: str, files: dict[str, str]) -> None:
        """Keep it atomically, then drop the least recently used beyond the bound."""
        target = self._file(kind, version)
        if target is None:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"format": FORMAT, "files": files}, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tree-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(gzip.compress(payload, mtime=0))
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._evict()

    def _evict(self) -> None:
        assert self.root is not None
        kept = sorted(self.root.glob("*/*.json.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[self.max_releases :]:
            old.unlink(missing_ok=True)

    def cached(self) -> list[tuple[str, str]]:
        """The (cms, version) pairs on disk (for tests and ``status``-like views)."""
        if self.root is None:
            return []
        return sorted(
            (p.parent.name, p.name.removesuffix(".json.gz")) for p in self.root.glob("*/*.json.gz")
        )
