"""YARA over one file's bytes, bounded: a size cap, a timeout, a few short escaped snippets.

A hacked server chooses its files' sizes, names and contents: a file over the cap
or one that makes YARA run past its timeout is reported as *not scanned* (never
as clean), and what a match shows is cut short with every control character
escaped, so printing it cannot drive the technician's terminal.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yara

from sitekeeper.domain.untrusted import visible
from sitekeeper.scan.results import FileScan, Hit, RuleMatch
from sitekeeper.scan.rules import RuleInfo, RuleSet, load_rules

if TYPE_CHECKING:
    from sitekeeper.config import Settings

DEFAULT_MAX_BYTES = 16 * 1024 * 1024  # as Settings.scan_max_file_bytes
DEFAULT_TIMEOUT = 10.0
MAX_HITS = 5  # per rule: enough to find the spot, not a dump of an obfuscated file
SNIPPET_CHARS = 120


class Scanner:
    """Scans with one compiled rule set; safe to share between threads (YARA releases
    the GIL while it scans, so a thread pool scans files in parallel)."""

    def __init__(
        self,
        rules: RuleSet,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.rules = rules
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._yara_timeout = max(1, math.ceil(timeout))  # YARA counts whole seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> Scanner:
        """The process's rule set (built-in plus SCAN_RULE_DIRS) with the configured bounds."""
        return cls(
            load_rules(settings.scan_rule_dirs),
            max_bytes=settings.scan_max_file_bytes,
            timeout=settings.scan_file_timeout,
        )

    def scan_bytes(self, data: bytes, path: str = "") -> FileScan:
        """Match ``data`` (the content of ``path``, which rules may test by name)."""
        if len(data) > self.max_bytes:
            return self._too_large(path, len(data))
        try:
            found = self.rules.compiled.match(
                data=data, externals=_externals(path), timeout=self._yara_timeout
            )
        except yara.TimeoutError:
            return FileScan(path, len(data), not_scanned=f"timed out after {self.timeout:g} s")
        except yara.Error as exc:
            return FileScan(path, len(data), not_scanned=f"YARA could not scan it: {exc}")
        matches = sorted(
            (self._match(m, data) for m in found), key=lambda m: (-m.severity.rank, m.rule)
        )
        return FileScan(path, len(data), tuple(matches))

    def scan_file(self, path: Path, name: str | None = None) -> FileScan:
        """Read and match a local file without following a symbolic link or waiting on a
        FIFO; ``name`` is how it is reported (default: ``path``)."""
        shown = name if name is not None else str(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            return FileScan(shown, 0, not_scanned=_os_reason(exc))
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return FileScan(shown, 0, not_scanned="not a regular file")
        with os.fdopen(fd, "rb") as file:
            if info.st_size > self.max_bytes:
                return self._too_large(shown, info.st_size)
            data = file.read(self.max_bytes + 1)  # it may have grown since fstat
        return self.scan_bytes(data, shown)

    def _too_large(self, path: str, size: int) -> FileScan:
        return FileScan(path, size, not_scanned=f"larger than the {self.max_bytes:,} byte cap")

    def _match(self, match: Any, data: bytes) -> RuleMatch:
        info = RuleInfo.of(match.rule, match.meta)
        places = sorted(
            (
                (instance.offset, string.identifier, instance.matched_data)
                for string in match.strings
                for instance in string.instances
            ),
            key=lambda place: place[0],
        )[:MAX_HITS]
        hits = [
            Hit(name, offset, data.count(b"\n", 0, offset) + 1, _snippet(data, offset, matched))
            for offset, name, matched in places
        ]
        return RuleMatch(
            rule=match.rule,
            namespace=match.namespace,
            severity=info.severity,
            description=visible(info.description, 300),
            hits=tuple(hits),
        )


def _externals(path: str) -> dict[str, str]:
    name = PurePosixPath(path).name
    suffix = PurePosixPath(name).suffix
    return {"filename": name, "filepath": path, "extension": suffix[1:].lower()}


def _snippet(data: bytes, offset: int, matched: bytes) -> str:
    """The match and what follows it (the payload's start), as one short line with every
    control character escaped."""
    end = offset + max(len(matched), SNIPPET_CHARS * 4)
    return visible(data[offset:end].decode("utf-8", errors="replace"), SNIPPET_CHARS)


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW on a link (EMLINK on BSD)
        return "a symbolic link (not followed)"
    return f"unreadable: {exc.strerror or exc}"
