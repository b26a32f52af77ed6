"""What each CMS release's public static files hash to, kept per release in the data directory.

A release is learned once (from the vendor's checksums or its release archive) and kept
as one small gzip'd JSON file, ``cache/release-hashes/<cms>/<version>.json.gz``: the MD5
of every file a web server hands out as is (scripts, styles, text). Files are read only
for the releases a fingerprint still allows, so memory follows the candidate range, not
everything ever learned. The vendor's release list per CMS is kept beside them, so a
release that could not be learned stays a candidate instead of being ruled out.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.release_files import RELEASE_FILES

FORMAT = 2
# Served as they are by any web server (PHP and templates are executed or refused).
PUBLIC_SUFFIXES = (".js", ".css", ".svg", ".txt", ".xml", ".json", ".html", ".htm", ".md")
# Never reachable on a sane install: Composer's vendor tree (denied by its own .htaccess;
# core/assets/vendor is public), tooling, tests, the installer.
_PRIVATE_TOP = ("vendor/", "libraries/vendor/", "installation/", "build/")
_PRIVATE_DIRS = frozenset({"node_modules", "tests", "test", "scripts"})
_PRIVATE_NAMES = frozenset(
    {"composer.json", "composer.lock", "package.json", "package-lock.json", "yarn.lock",
     "web.config", "phpunit.xml", "phpunit.xml.dist", "phpcs.xml", "phpcs.xml.dist"}
)  # fmt: skip
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")
MAX_FILES = 50_000  # per release; core ships a few thousand public files


def is_public(path: str) -> bool:
    """Whether a web server serves ``path`` (relative to the docroot) as a static file."""
    parts = path.split("/")
    name = parts[-1]
    if not name.endswith(PUBLIC_SUFFIXES) or name in _PRIVATE_NAMES:
        return False
    if path.startswith(_PRIVATE_TOP):
        return False
    return not any(p.startswith(".") or p in _PRIVATE_DIRS for p in parts)


def md5_hex(data: bytes) -> str:
    """The MD5 a site's served file is compared with (what WordPress publishes; it
    identifies a file, it protects nothing)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def sort_versions(cms: str, versions: Iterable[str]) -> list[str]:
    """Oldest first by the CMS's own rules (text order for anything unreadable)."""
    known = RELEASE_FILES.find(cms)
    items = list(dict.fromkeys(versions))
    if known is None:
        return sorted(items)
    try:
        return sorted(items, key=known.ecosystem.sort_key())
    except ValueError:
        return sorted(items)


class HashKnowledge:
    """cms -> version -> {path: md5} of public files, on disk per release (or in memory only).

    A release learned with none of the files is kept with an empty map, so it is not
    downloaded again.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._loaded: dict[tuple[str, str], dict[str, str]] = {}
        self._releases: dict[str, list[str]] = {}

    @classmethod
    def in_home(cls, home: Path) -> HashKnowledge:
        """The knowledge in a data directory (``cache/release-hashes/``)."""
        return cls(home / "cache" / "release-hashes")

    def _file(self, cms: str, version: str) -> Path | None:
        if self.root is None or not _VERSION.match(version) or RELEASE_FILES.find(cms) is None:
            return None
        return self.root / cms / f"{version}.json.gz"

    def add(self, cms: str, version: str, files: Mapping[str, str]) -> None:
        """Record what ``version`` of ``cms`` shipped (lower-case hex MD5 per path), at once
        on disk (atomically), so an interrupted learning keeps what it finished."""
        if not _VERSION.match(version):
            raise InvalidFeed(f"{cms}: refusing to learn odd version {version[:70]!r}")
        known = {p: d.lower() for p, d in list(files.items())[:MAX_FILES]}
        self._loaded[(cms, version)] = known
        target = self._file(cms, version)
        if target is None:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"format": FORMAT, "files": known}, sort_keys=True).encode()
        _atomic_write(target, gzip.compress(payload, mtime=0))

    def knows(self, cms: str, version: str) -> bool:
        """Whether ``version`` was learned (even if it had none of the files)."""
        if (cms, version) in self._loaded:
            return True
        target = self._file(cms, version)
        return target is not None and target.is_file()

    def files(self, cms: str, version: str) -> dict[str, str] | None:
        """The learned files of one release (None if not learned); read from disk once."""
        if (cms, version) in self._loaded:
            return self._loaded[(cms, version)]
        target = self._file(cms, version)
        if target is None or not target.is_file():
            return None
        try:
            data = json.loads(gzip.decompress(target.read_bytes()))
        except (OSError, ValueError, EOFError) as exc:
            raise InvalidFeed(f"hash cache {target}: unreadable ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidFeed(f"hash cache {target}: unknown format")
        files = {str(p): str(d) for p, d in (data.get("files") or {}).items()}
        self._loaded[(cms, version)] = files
        return files

    def versions(self, cms: str) -> list[str]:
        """Releases learned for ``cms``, oldest first."""
        found = {v for c, v in self._loaded if c == cms}
        if self.root is not None and (self.root / cms).is_dir():
            found.update(
                p.name.removesuffix(".json.gz")
                for p in (self.root / cms).iterdir()
                if p.name.endswith(".json.gz")
            )
        return sort_versions(cms, found)

    def set_releases(self, cms: str, versions: Iterable[str]) -> None:
        """The vendor's release list as last read (what a candidate range may hold)."""
        listed = sort_versions(cms, (v for v in versions if _VERSION.match(v)))
        self._releases[cms] = listed
        if self.root is not None:
            (self.root / cms).mkdir(parents=True, exist_ok=True)
            _atomic_write(self.root / cms / "releases.json", json.dumps(listed).encode())

    def releases(self, cms: str) -> list[str]:
        """Every release the vendor listed when last asked, plus those learned, oldest first."""
        if cms not in self._releases and self.root is not None:
            path = self.root / cms / "releases.json"
            try:
                listed = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
            except (OSError, ValueError):
                listed = []  # a broken list only costs a download
            self._releases[cms] = [str(v) for v in listed if isinstance(v, str)]
        return sort_versions(cms, [*self._releases.get(cms, []), *self.versions(cms)])

    # --- the questions a fingerprint asks about all it knows (small sets, tests) ---

    def paths(self, cms: str) -> list[str]:
        """Files some learned release has, most common first."""
        counts: dict[str, int] = {}
        for version in self.versions(cms):
            for path in self.files(cms, version) or {}:
                counts[path] = counts.get(path, 0) + 1
        return sorted(counts, key=lambda p: (-counts[p], p))

    def match(self, cms: str, observed: Mapping[str, str]) -> list[str]:
        """Learned releases whose files have exactly the observed hashes, oldest first (a
        release that lacks an observed file is out too: it never shipped what is served)."""
        if not observed:
            return []
        return [
            v
            for v in self.versions(cms)
            if all((self.files(cms, v) or {}).get(p) == d.lower() for p, d in observed.items())
        ]

    def releases_with(self, cms: str, path: str, digest: str) -> list[str]:
        """Learned releases that shipped this exact file (for evidence lines)."""
        return [
            v for v in self.versions(cms) if (self.files(cms, v) or {}).get(path) == digest.lower()
        ]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it: never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hashes-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
